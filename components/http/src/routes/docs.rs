//! The API's description and its reference page: `GET /openapi.json` (OpenAPI 3.1, kept by
//! hand in `src/openapi.json`, which a test holds to the route table) and `GET /docs`, a
//! page of our own (`src/docs/`) that renders that description and can try each operation
//! from the browser. Both are compiled in, so every host serves them; they touch no storage.
//!
//! The page loads only its own files and fetches only from its own origin, under the same
//! `Content-Security-Policy` as the account page.

use super::account_page::CONTENT_SECURITY_POLICY;
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
    let response = Response::bytes(200, content_type, body.as_bytes().to_vec());
    match file {
        File::Description => {
            response.with_only_header("cache-control", format!("public, max-age={DESCRIPTION_MAX_AGE_SECONDS}"))
        }
        File::Page | File::Script | File::Style => response
            .with_header("content-security-policy", CONTENT_SECURITY_POLICY)
            .with_header("x-frame-options", "DENY")
            .with_header("referrer-policy", "no-referrer"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_only_its_own_files() {
        let (_, page) = File::Page.content();
        for file in [File::Script, File::Style] {
            assert!(page.contains(&format!("\"{}\"", file.path())), "the page links {}", file.path());
        }
        let scripts: Vec<&str> = page.split("<script").skip(1).collect();
        assert!(
            !scripts.is_empty()
                && scripts.iter().all(|tag| tag.split('>').next().is_some_and(|attrs| attrs.contains(" src="))),
            "scripts are files: the CSP forbids inline ones"
        );
        assert!(!page.contains("<style") && !page.contains("style="), "no inline style: the CSP forbids it");
        let (_, script) = File::Script.content();
        assert!(script.contains(&format!("'{}'", File::Description.path())), "the page reads the description");
        for file in [File::Page, File::Script, File::Style] {
            let (_, text) = file.content();
            assert!(!text.contains("http://") && !text.contains("https://"), "{}: nothing from elsewhere", file.path());
        }
        assert!(File::ALL.iter().all(|file| File::resolve(file.path()) == Some(*file)));
    }
}
