//! `/account`: a small self-service page (sign up, sign in, the session list, sign out) for
//! trying a deployment from a browser. Plain HTML, CSS and JavaScript compiled into the
//! component, so it is there under every host, Spin included; served only where the
//! `account_page` setting allows (by default in local, dev and test).
//!
//! The page only talks to `/api/auth` on its own origin, and says so in its
//! `Content-Security-Policy`: no inline script, nothing from elsewhere, no framing.

use itsor_accounts::config::Settings;

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

/// What the page may load and do: its own files and `fetch` to its own origin, nothing else.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// `GET` of `asset`, or `404` where the page is off.
pub fn serve(asset: Asset, settings: &Settings) -> Result<Response, ApiError> {
    if !settings.account_page {
        return Err(ApiError::not_found());
    }
    let (content_type, body) = asset.content();
    Ok(Response::bytes(200, content_type, body.as_bytes().to_vec())
        .with_header("content-security-policy", CONTENT_SECURITY_POLICY)
        .with_header("x-frame-options", "DENY")
        .with_header("referrer-policy", "no-referrer"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_only_its_own_files() {
        let (_, page) = Asset::Page.content();
        for asset in [Asset::Script, Asset::Style] {
            assert!(page.contains(&format!("\"{}\"", asset.path())), "the page links {}", asset.path());
        }
        let scripts: Vec<&str> = page.split("<script").skip(1).collect();
        assert!(
            !scripts.is_empty()
                && scripts.iter().all(|tag| tag.split('>').next().is_some_and(|attrs| attrs.contains(" src="))),
            "scripts are files: the CSP forbids inline ones"
        );
        assert!(!page.contains("<style") && !page.contains("style="), "no inline style: the CSP forbids it");
        assert!(Asset::ALL.iter().all(|asset| Asset::resolve(asset.path()) == Some(*asset)));
    }
}
