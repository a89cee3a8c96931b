//! Hand-made JWTs for attack cases: any header, any claims, HMAC signatures computed here
//! (so the test controls every byte), and unverified decoding of the server's tokens.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::Value;

/// base64url without padding, as JWTs use.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes one base64url segment as JSON.
#[track_caller]
pub fn segment_json(segment: &str) -> Value {
    let bytes = URL_SAFE_NO_PAD.decode(segment).unwrap_or_else(|e| panic!("segment {segment:?} is not base64url: {e}"));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("segment {segment:?} is not JSON: {e}"))
}

/// The (unverified) header of a compact JWT.
#[track_caller]
pub fn header_of(token: &str) -> Value {
    segment_json(token.split('.').next().expect("a header segment"))
}

/// The (unverified) claims of a compact JWT.
#[track_caller]
pub fn claims_of(token: &str) -> Value {
    segment_json(token.split('.').nth(1).unwrap_or_else(|| panic!("no payload segment in {token:?}")))
}

/// The HMAC of `input` under `secret` with `alg` (`HS256`, `HS384` or `HS512`).
pub fn hmac(alg: &str, secret: &[u8], input: &[u8]) -> Vec<u8> {
    fn mac<M: Mac + hmac::digest::KeyInit>(secret: &[u8], input: &[u8]) -> Vec<u8> {
        let mut m = <M as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
        m.update(input);
        m.finalize().into_bytes().to_vec()
    }
    match alg {
        "HS256" => mac::<Hmac<sha2::Sha256>>(secret, input),
        "HS384" => mac::<Hmac<sha2::Sha384>>(secret, input),
        "HS512" => mac::<Hmac<sha2::Sha512>>(secret, input),
        other => panic!("no HMAC for {other}"),
    }
}

/// A token with `header` and `claims`, signed with HMAC `sign_alg` under `secret`
/// (`sign_alg` may differ from the header's `alg`, for confusion attacks).
pub fn sign_with(sign_alg: &str, secret: &[u8], header: &Value, claims: &Value) -> String {
    let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
    let sig = hmac(sign_alg, secret, input.as_bytes());
    format!("{input}.{}", b64(&sig))
}

/// A token whose header is `{"alg": alg, "typ": "JWT"}`, signed with `alg` under `secret`.
pub fn sign(alg: &str, secret: &[u8], claims: &Value) -> String {
    sign_with(alg, secret, &serde_json::json!({ "alg": alg, "typ": "JWT" }), claims)
}

/// An unsigned token (`header.payload.`) with the given header.
pub fn unsigned(header: &Value, claims: &Value) -> String {
    format!("{}.{}.", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()))
}

/// Replaces the payload of `token`, keeping its header and signature.
pub fn with_payload(token: &str, claims: &Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "not a compact JWT: {token}");
    format!("{}.{}.{}", parts[0], b64(claims.to_string().as_bytes()), parts[2])
}

/// `token` with one character in the middle of its signature changed (a real change of the
/// signature bytes, not of base64 padding bits).
pub fn flip_signature(token: &str) -> String {
    let (input, sig) = token.rsplit_once('.').expect("a signature segment");
    let mut sig: Vec<char> = sig.chars().collect();
    assert!(sig.len() > 4, "signature too short to tamper with: {token}");
    let i = sig.len() / 2;
    sig[i] = if sig[i] == 'A' { 'B' } else { 'A' };
    format!("{input}.{}", sig.into_iter().collect::<String>())
}
