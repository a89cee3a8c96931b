//! `/account`: a small self-service page (sign up, sign in, the session list, sign out) for
//! trying a deployment from a browser. Plain HTML, CSS and JavaScript compiled into the
//! component, so it is there under every host, Spin included; served only where the
//! `account_page` setting allows (by default in local, dev and test).
//!
//! The page only talks to `/api/auth` on its own origin, and is confined as every page is
//! (see [`super::page`]).

use itsor_accounts::config::Settings;

use super::page;
use crate::{ApiError, Response};

/// One file of the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asset {
    /// `/account`.
    Page,
    /// `/account/app.js`.
    Script,
    /// `/account/app.css`.
    Style,
}

impl Asset {
    /// Every file.
    pub const ALL: [Asset; 3] = [Asset::Page, Asset::Script, Asset::Style];

    /// The file's path: also its route template.
    pub fn path(self) -> &'static str {
        match self {
            Asset::Page => "/account",
            Asset::Script => "/account/app.js",
            Asset::Style => "/account/app.css",
        }
    }

    /// The file serving `path`, if any.
    pub fn resolve(path: &str) -> Option<Asset> {
        Asset::ALL.into_iter().find(|asset| asset.path() == path)
    }

    fn content(self) -> (&'static str, &'static str) {
        match self {
            Asset::Page => ("text/html; charset=utf-8", include_str!("../account/index.html")),
            Asset::Script => ("text/javascript; charset=utf-8", include_str!("../account/app.js")),
            Asset::Style => ("text/css; charset=utf-8", include_str!("../account/app.css")),
        }
    }
}

/// `GET` of `asset`, or `404` where the page is off.
pub fn serve(asset: Asset, settings: &Settings) -> Result<Response, ApiError> {
    if !settings.account_page {
        return Err(ApiError::not_found());
    }
    let (content_type, body) = asset.content();
    Ok(page::file(content_type, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_only_its_own_files() {
        let file = |asset: Asset| (asset.path(), asset.content().1);
        page::assert_confined(Asset::Page.content().1, file(Asset::Script), file(Asset::Style));
        assert!(Asset::ALL.iter().all(|asset| Asset::resolve(asset.path()) == Some(*asset)));
    }
}
