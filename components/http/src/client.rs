//! Who is calling: the client address and user agent a request carries.
//!
//! The address comes the way Spin passes it, in `spin-client-addr`. Our host sets it from
//! the socket and drops any copy the client sent; Spin 4 keeps the client's copies and
//! *appends* its own, so only the **last** value is the platform's (see [`address`]). `X-Forwarded-For` is believed only
//! through proxies listed in `TRUSTED_PROXIES`: walking from the nearest hop outwards, the
//! first address that is not a trusted proxy is the client.

use std::net::{IpAddr, SocketAddr};

use itsor_accounts::config::Settings;

use crate::Request;

/// The client's IP address, or `None` when the request carries none. The peer is the last
/// `spin-client-addr` value: the one the platform added after whatever the client sent.
pub fn address(request: &Request, settings: &Settings) -> Option<String> {
    let peer = parse_ip(request.header_values("spin-client-addr").last()?)?;
    let trusted = |ip: IpAddr| settings.trusted_proxies.iter().any(|net| net.contains(ip));
    if !trusted(peer) {
        return Some(peer.to_string());
    }
    let forwarded: Vec<&str> = request.header_values("x-forwarded-for").flat_map(|v| v.split(',')).collect();
    let mut client = peer;
    for hop in forwarded.iter().rev() {
        match parse_ip(hop) {
            Some(ip) if trusted(ip) => client = ip,
            Some(ip) => return Some(ip.to_string()),
            // A malformed hop ends what can be believed.
            None => break,
        }
    }
    Some(client.to_string())
}

/// An IP address, with or without a port (`1.2.3.4:5`, `[::1]:5`, `::1`).
fn parse_ip(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    text.parse::<SocketAddr>().map(|s| s.ip()).or_else(|_| text.parse::<IpAddr>()).ok().map(|ip| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Body;

    fn settings(trusted: &str) -> Settings {
        let trusted = trusted.to_owned();
        Settings::load(&move |name: &str| (name == "trusted_proxies").then(|| trusted.clone())).expect("settings")
    }

    fn request(peer: &str, forwarded: &[&str]) -> Request {
        let mut headers = vec![("spin-client-addr".to_owned(), peer.as_bytes().to_vec())];
        headers.extend(forwarded.iter().map(|v| ("x-forwarded-for".to_owned(), v.as_bytes().to_vec())));
        Request { method: "POST".into(), path: "/".into(), query: None, headers, body: Body::Complete(vec![]) }
    }

    #[test]
    fn forwarded_for_is_ignored_without_trusted_proxies() {
        let addr = address(&request("203.0.113.9:5000", &["1.1.1.1"]), &settings(""));
        assert_eq!(addr.as_deref(), Some("203.0.113.9"));
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let s = settings("10.0.0.0/8");
        let req = request("10.0.0.2:443", &["6.6.6.6, 198.51.100.7", "10.0.0.1"]);
        assert_eq!(address(&req, &s).as_deref(), Some("198.51.100.7"));
        // An untrusted peer's header is never believed.
        assert_eq!(address(&request("198.51.100.1:1", &["6.6.6.6"]), &s).as_deref(), Some("198.51.100.1"));
        // Garbage stops the walk at the last trusted hop.
        assert_eq!(address(&request("10.0.0.2:1", &["6.6.6.6, garbage"]), &s).as_deref(), Some("10.0.0.2"));
    }

    #[test]
    fn the_platform_s_address_is_the_last_one() {
        // As Spin 4 passes it: the client's forged copy first, the platform's appended.
        let mut req = request("9.9.9.9", &[]);
        req.headers.push(("spin-client-addr".to_owned(), b"203.0.113.5:41000".to_vec()));
        assert_eq!(address(&req, &settings("")).as_deref(), Some("203.0.113.5"));
        req.headers.push(("spin-client-addr".to_owned(), b"not an address".to_vec()));
        assert_eq!(address(&req, &settings("")), None, "a malformed platform value is no address, not the client's");
    }

    #[test]
    fn ipv4_mapped_and_bracketed_addresses_are_normalised() {
        assert_eq!(address(&request("[::ffff:192.0.2.1]:80", &[]), &settings("")).as_deref(), Some("192.0.2.1"));
        assert_eq!(address(&request("[::1]:80", &[]), &settings("")).as_deref(), Some("::1"));
        let mut none = request("x", &[]);
        none.headers.clear();
        assert_eq!(address(&none, &settings("")), None);
    }
}
