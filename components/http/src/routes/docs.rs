//! The API's description and its reference page: `GET /openapi.json` (OpenAPI 3.1, kept by
//! hand in `src/openapi.json`, which a test holds to the route table) and `GET /docs`, a
//! page of our own (`src/docs/`) that renders that description and can try each operation
//! from the browser. Both are compiled in, so every host serves them; they touch no storage.
//!
//! The page loads only its own files and fetches only from its own origin, confined as
//! every page is (see [`super::page`]).

use super::page;
use crate::Response;

/// The OpenAPI description of every route.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// How long caches may keep the description, in seconds: it changes only with a release.
const DESCRIPTION_MAX_AGE_SECONDS: u32 = 300;

/// One file of the API's documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum File {
    /// `/openapi.json`.
    Description,
    /// `/docs`.
    Page,
    /// `/docs/app.js`.
    Script,
    /// `/docs/app.css`.
    Style,
}

impl File {
    /// Every file.
    pub const ALL: [File; 4] = [File::Description, File::Page, File::Script, File::Style];

    /// The file's path: also its route template.
    pub fn path(self) -> &'static str {
        match self {
            File::Description => "/openapi.json",
            File::Page => "/docs",
            File::Script => "/docs/app.js",
            File::Style => "/docs/app.css",
        }
    }

    /// The file serving `path`, if any.
    pub fn resolve(path: &str) -> Option<File> {
        File::ALL.into_iter().find(|file| file.path() == path)
    }

    fn content(self) -> (&'static str, &'static str) {
        match self {
            File::Description => ("application/json", OPENAPI),
            File::Page => ("text/html; charset=utf-8", include_str!("../docs/index.html")),
            File::Script => ("text/javascript; charset=utf-8", include_str!("../docs/app.js")),
            File::Style => ("text/css; charset=utf-8", include_str!("../docs/app.css")),
        }
    }
}

/// `GET` of `file`.
pub fn serve(file: File) -> Response {
    let (content_type, body) = file.content();
    match file {
        File::Description => Response::bytes(200, content_type, body.as_bytes().to_vec())
            .with_only_header("cache-control", format!("public, max-age={DESCRIPTION_MAX_AGE_SECONDS}")),
        File::Page | File::Script | File::Style => page::file(content_type, body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_only_its_own_files() {
        let file = |file: File| (file.path(), file.content().1);
        page::assert_confined(File::Page.content().1, file(File::Script), file(File::Style));
        let (_, script) = File::Script.content();
        assert!(script.contains(&format!("'{}'", File::Description.path())), "the page reads the description");
        assert!(File::ALL.iter().all(|file| File::resolve(file.path()) == Some(*file)));
    }
}
