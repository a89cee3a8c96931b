//! What itsor's two pages (the account page and the API reference at `/docs`) share: each
//! is an HTML file, a script and a style sheet compiled into the component, and each is
//! confined the same way. Its `Content-Security-Policy` lets it load only its own files and
//! `fetch` only its own origin (no inline script or style, nothing from elsewhere), and it
//! may not be framed or leak a referrer.

use crate::Response;

/// What a page may load and do: its own files and `fetch` to its own origin, nothing else.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// `200` with one of a page's files, under the page's confinement.
pub fn file(content_type: &'static str, body: &'static str) -> Response {
    Response::bytes(200, content_type, body.as_bytes().to_vec())
        .with_header("content-security-policy", CONTENT_SECURITY_POLICY)
        .with_header("x-frame-options", "DENY")
        .with_header("referrer-policy", "no-referrer")
}

/// Checks that `page` links `script` and `style` (by path), runs no inline script or
/// style (the policy forbids them) and names nothing on another origin.
#[cfg(test)]
pub fn assert_confined(page: &str, script: (&str, &str), style: (&str, &str)) {
    for (path, _) in [script, style] {
        assert!(page.contains(&format!("\"{path}\"")), "the page links {path}");
    }
    let scripts: Vec<&str> = page.split("<script").skip(1).collect();
    assert!(
        !scripts.is_empty()
            && scripts.iter().all(|tag| tag.split('>').next().is_some_and(|attrs| attrs.contains(" src="))),
        "scripts are files: the policy forbids inline ones"
    );
    assert!(!page.contains("<style") && !page.contains("style="), "no inline style: the policy forbids it");
    for (path, text) in [("the page", page), script, style] {
        assert!(!text.contains("http://") && !text.contains("https://"), "{path}: nothing from elsewhere");
    }
}
