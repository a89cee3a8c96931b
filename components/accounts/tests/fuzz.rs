//! Fuzz targets for the token parser and the input validators: arbitrary and mangled input
//! never panics, never verifies, and validated e-mails are always in canonical form.
//! Case counts follow `PROPTEST_CASES` (`make fuzz` runs many more than `make test`).

// A test crate: a failed expectation panics, which is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use itsor_accounts::AuthError;
use itsor_accounts::config::Settings;
use itsor_accounts::input::Email;
use itsor_accounts::token::{Claims, SecretOnly, TokenSigner};
use proptest::prelude::*;

fn signer() -> TokenSigner {
    TokenSigner::new(&Settings::load(&|_: &str| None).expect("default settings"))
}

fn genuine(signer: &TokenSigner) -> String {
    let now = i64::try_from(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_secs(),
    )
    .expect("fits");
    signer
        .sign(
            &Claims { sub: "u".into(), sid: "s".into(), iat: now, exp: now + 600, iss: "itsor".into(), aud: None },
            &SecretOnly,
        )
        .expect("signs")
}

/// Compact-JWT-shaped text: three base64url-ish segments.
fn jwt_shaped() -> impl Strategy<Value = String> {
    ("[A-Za-z0-9_=+/-]{0,60}", "[A-Za-z0-9_=+/-]{0,80}", "[A-Za-z0-9_=+/-]{0,60}")
        .prop_map(|(h, p, s)| format!("{h}.{p}.{s}"))
}

proptest! {
    // A failure is shrunk and printed; it is then written below as a plain test.
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_tokens_never_verify(token in prop_oneof![jwt_shaped(), ".{0,200}"]) {
        let verdict = signer().verify(&token, &SecretOnly);
        prop_assert!(matches!(verdict, Err(AuthError::InvalidToken | AuthError::TokenExpired)), "{token:?}: {verdict:?}");
    }

    #[test]
    fn a_genuine_token_with_any_byte_changed_never_verifies(at in any::<prop::sample::Index>(), with in any::<u8>()) {
        let signer = signer();
        let token = genuine(&signer);
        let mut bytes = token.clone().into_bytes();
        let at = at.index(bytes.len());
        prop_assume!(bytes[at] != with);
        bytes[at] = with;
        let mangled = String::from_utf8_lossy(&bytes).into_owned();
        prop_assert!(signer.verify(&mangled, &SecretOnly).is_err(), "{mangled:?} verified");
    }

    #[test]
    fn valid_emails_are_canonical_and_stable(raw in "[ \\PC]{0,40}@[ \\PC]{0,40}") {
        if let Ok(email) = Email::parse(&raw) {
            prop_assert!(email.as_str().len() <= itsor_accounts::input::EMAIL_MAX_BYTES);
            prop_assert_eq!(email.as_str().trim(), email.as_str());
            // Parsing the canonical form gives the canonical form back.
            let again = Email::parse(email.as_str());
            prop_assert_eq!(again.as_ref().map(Email::as_str), Ok(email.as_str()));
            let domain = email.as_str().rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
            prop_assert!(domain.is_ascii(), "{}", email.as_str());
        }
    }
}
