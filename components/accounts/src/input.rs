//! Validated inputs: an [`Email`], a [`Password`] and a display [`Name`].
//!
//! Each is a newtype whose constructor is the only way in, so the use-cases can take them
//! by type and never re-check.

use crate::AuthError;

/// The shortest password accepted, in characters.
pub(crate) const PASSWORD_MIN_CHARS: usize = 8;
/// The longest password accepted, in characters (bounds hashing work).
pub(crate) const PASSWORD_MAX_CHARS: usize = 128;
/// The longest e-mail address accepted, in bytes (RFC 5321 path limit).
pub const EMAIL_MAX_BYTES: usize = 254;
/// The longest display name accepted, in characters.
pub(crate) const NAME_MAX_CHARS: usize = 100;

/// A syntactically valid e-mail address in its one canonical form, so that one mailbox can
/// hold one account however its address is spelt.
///
/// The rule (also in README, "Security"):
/// - surrounding white space is trimmed and the address is split at its `@`;
/// - the **local part** is normalised to NFC and lower-cased; it is refused if it contains
///   white space, a control character (`Cc`), a format character (`Cf`: zero-width
///   spaces and joiners, bidi overrides, the soft hyphen), a private-use or unassigned code
///   point, or one of `@<>()[]\,;:"`;
/// - the **domain** goes through IDNA (UTS #46, non-transitional) to its ASCII form:
///   full-width and upper-case letters fold (`ＥＸＡＭＰＬＥ.com` is `example.com`) and
///   internationalised labels become `xn--` labels; it must then be dotted labels of
///   letters, digits and inner hyphens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Checks `raw` and returns its canonical form (see [`Email`]).
    pub fn parse(raw: &str) -> Result<Email, AuthError> {
        let bad = |message: &str| AuthError::invalid("email", message);
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(bad("must not be empty"));
        }
        // Bound the Unicode work before doing it; the canonical form is checked again below.
        if raw.len() > 4 * EMAIL_MAX_BYTES {
            return Err(bad("must be at most 254 characters"));
        }
        let invalid = || bad("must be a valid email address");
        let (local, domain) = raw.split_once('@').ok_or_else(invalid)?;
        let local = canonical_local_part(local).ok_or_else(invalid)?;
        let domain = canonical_domain(domain).ok_or_else(invalid)?;
        let email = format!("{local}@{domain}");
        if email.len() > EMAIL_MAX_BYTES {
            return Err(bad("must be at most 254 characters"));
        }
        Ok(Email(email))
    }

    /// The canonical address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The local part in NFC, lower-cased, or `None` if it may not be used (see [`Email`]).
fn canonical_local_part(local: &str) -> Option<String> {
    use unicode_normalization::UnicodeNormalization as _;
    let local: String = local.nfc().collect::<String>().to_lowercase();
    let acceptable = !local.is_empty()
        && local.len() <= 64
        && local.chars().all(|c| !c.is_whitespace() && !is_invisible_or_unassigned(c) && !"@<>()[]\\,;:\"".contains(c));
    acceptable.then_some(local)
}

/// Control, format, private-use and unassigned code points: invisible or meaningless in an
/// address, and the material of look-alike spellings.
fn is_invisible_or_unassigned(c: char) -> bool {
    use unicode_properties::{GeneralCategory, UnicodeGeneralCategory as _};
    matches!(
        c.general_category(),
        GeneralCategory::Control | GeneralCategory::Format | GeneralCategory::PrivateUse | GeneralCategory::Unassigned
    )
}

/// The domain's ASCII form under UTS #46, or `None` if it is not a usable host name.
fn canonical_domain(domain: &str) -> Option<String> {
    let ascii = idna::domain_to_ascii(domain).ok()?;
    let acceptable = ascii.contains('.')
        && ascii.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    acceptable.then_some(ascii)
}

/// Why a password is refused: fewer than 8 characters.
pub const PASSWORD_TOO_SHORT: &str = "must be at least 8 characters";

/// Why a password is refused: more than 128 characters.
pub const PASSWORD_TOO_LONG: &str = "must be at most 128 characters";

/// Why a password change is refused: the current password given is not the current one.
pub const NOT_THE_CURRENT_PASSWORD: &str = "is not the current password";

/// A password of acceptable length, kept exactly as typed (no trimming, no normalisation).
pub struct Password(String);

impl Password {
    /// Checks the length (8 to 128 characters); no composition rules.
    pub fn parse(raw: &str) -> Result<Password, AuthError> {
        let chars = raw.chars().count();
        if chars < PASSWORD_MIN_CHARS {
            Err(AuthError::invalid("password", PASSWORD_TOO_SHORT))
        } else if chars > PASSWORD_MAX_CHARS {
            Err(AuthError::invalid("password", PASSWORD_TOO_LONG))
        } else {
            Ok(Password(raw.to_owned()))
        }
    }

    /// The password's bytes, for hashing.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// An optional display name: trimmed, empty means none, at most 100 characters, no
/// control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Name(Option<String>);

impl Name {
    /// Validates an optional raw name.
    pub fn parse(raw: Option<&str>) -> Result<Name, AuthError> {
        let Some(name) = raw.map(str::trim).filter(|name| !name.is_empty()) else {
            return Ok(Name(None));
        };
        if name.chars().count() > NAME_MAX_CHARS {
            return Err(AuthError::invalid("name", "must be at most 100 characters"));
        }
        if name.chars().any(char::is_control) {
            return Err(AuthError::invalid("name", "must not contain control characters"));
        }
        Ok(Name(Some(name.to_owned())))
    }

    /// The name, if any.
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

/// Whether `id` is a UUID in the one form itsor writes and compares: 36 characters,
/// lower-case hex digits with hyphens after the 8th, 12th, 16th and 20th. Ids that come
/// from a request (a token's claims, a path) are checked with this before they reach a
/// query: a PostgreSQL `uuid` parameter cannot carry anything else, and SQLite compares
/// ids as text, so both backends see exactly the same ids.
pub fn is_uuid(id: &str) -> bool {
    id.len() == 36
        && id.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_checked_in_their_one_written_form() {
        let id = uuid::Uuid::new_v4().to_string();
        assert!(is_uuid(&id), "{id}");
        assert!(is_uuid("00000000-0000-0000-0000-000000000000"));
        for bad in [
            "",
            "u1",
            &id.to_uppercase(),
            &id.replace('-', ""),
            &format!("{id} "),
            "0000000-00000-0000-0000-000000000000",
        ] {
            assert!(!is_uuid(bad), "{bad:?}");
        }
    }

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(Email::parse("  Foo.Bar@Example.COM ").expect("valid").as_str(), "foo.bar@example.com");
    }

    #[test]
    fn look_alike_domains_fold_to_one_address() {
        let canonical = |raw: &str| Email::parse(raw).expect(raw).as_str().to_owned();
        // Full-width letters (U+FF45...) map to ASCII under UTS #46.
        assert_eq!(
            canonical("victim@\u{ff45}\u{ff58}\u{ff41}\u{ff4d}\u{ff50}\u{ff4c}\u{ff45}.com"),
            "victim@example.com"
        );
        assert_eq!(canonical("Victim@EXAMPLE.com"), "victim@example.com");
        // Internationalised domains are kept in their ASCII (Punycode) form.
        assert_eq!(canonical("ada@B\u{fc}cher.de"), "ada@xn--bcher-kva.de");
        assert_eq!(canonical("ada@xn--bcher-kva.de"), "ada@xn--bcher-kva.de");
    }

    #[test]
    fn local_parts_are_nfc_and_refuse_invisible_characters() {
        // "é" as e + combining acute (NFD) and as one code point (NFC) are one address.
        assert_eq!(
            Email::parse("jose\u{301}@example.com").expect("valid"),
            Email::parse("jos\u{e9}@example.com").expect("valid")
        );
        for invisible in ['\u{200b}', '\u{200d}', '\u{202e}', '\u{ad}', '\u{feff}', '\u{e000}', '\u{378}', '\u{7f}'] {
            let raw = format!("vic{invisible}tim@example.com");
            assert!(Email::parse(&raw).is_err(), "{:?} is refused", invisible);
        }
        // In a domain, UTS #46 deletes or refuses such characters: never a second spelling.
        for raw in ["victim@exa\u{200b}mple.com", "victim@exa\u{ad}mple.com", "victim@exa\u{202e}mple.com"] {
            match Email::parse(raw) {
                Ok(email) => assert_eq!(email.as_str(), "victim@example.com", "{raw:?}"),
                Err(AuthError::InvalidInput { field, .. }) => assert_eq!(field, "email"),
                Err(other) => panic!("{raw:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn malformed_emails_are_rejected_naming_the_field() {
        for raw in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@b",
            "a b@example.com",
            "a@exa mple.com",
            "a@-x.com",
            "a@x..com",
            "a@b@c.com",
            "a\0@x.com",
            "a';--@x.com",
        ] {
            match Email::parse(raw) {
                Err(AuthError::InvalidInput { field, .. }) => assert_eq!(field, "email", "{raw:?}"),
                other => panic!("{raw:?} gave {other:?}"),
            }
        }
        assert!(Email::parse(&format!("{}@x.com", "a".repeat(65))).is_err());
    }

    #[test]
    fn password_length_is_counted_in_characters_and_kept_as_typed() {
        assert!(Password::parse("1234567").is_err());
        assert!(Password::parse("12345678").is_ok());
        assert!(Password::parse(&"é".repeat(128)).is_ok());
        assert!(Password::parse(&"x".repeat(129)).is_err());
        assert_eq!(Password::parse("  spaced  ").expect("valid").as_bytes(), b"  spaced  ");
    }

    #[test]
    fn names_are_optional_bounded_and_printable() {
        assert_eq!(Name::parse(None).expect("ok").as_deref(), None);
        assert_eq!(Name::parse(Some("   ")).expect("ok").as_deref(), None);
        assert_eq!(Name::parse(Some(" Ada ")).expect("ok").as_deref(), Some("Ada"));
        assert!(Name::parse(Some(&"n".repeat(101))).is_err());
        assert!(Name::parse(Some("a\u{0}b")).is_err());
    }
}
