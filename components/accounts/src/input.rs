//! Validated inputs: an [`Email`], a [`Password`] and a display [`Name`].
//!
//! Each is a newtype whose constructor is the only way in, so the use-cases can take them
//! by type and never re-check.

use crate::AuthError;

/// The shortest password accepted, in characters.
pub const PASSWORD_MIN_CHARS: usize = 8;
/// The longest password accepted, in characters (bounds hashing work).
pub const PASSWORD_MAX_CHARS: usize = 128;
/// The longest e-mail address accepted, in bytes (RFC 5321 path limit).
pub const EMAIL_MAX_BYTES: usize = 254;
/// The longest display name accepted, in characters.
pub const NAME_MAX_CHARS: usize = 100;

/// A syntactically valid e-mail address, trimmed and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Trims, lower-cases and checks `raw`: one `@`, a non-empty local part, a dotted domain
    /// of letters, digits and hyphens, no spaces or control characters.
    pub fn parse(raw: &str) -> Result<Email, AuthError> {
        let email = raw.trim().to_lowercase();
        let bad = |message: &str| AuthError::invalid("email", message);
        if email.is_empty() {
            return Err(bad("must not be empty"));
        }
        if email.len() > EMAIL_MAX_BYTES {
            return Err(bad("must be at most 254 characters"));
        }
        let Some((local, domain)) = email.split_once('@') else {
            return Err(bad("must be a valid email address"));
        };
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && local.chars().all(|c| !c.is_whitespace() && !c.is_control() && !"@<>()[]\\,;:\"".contains(c));
        let domain_ok = domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if local_ok && domain_ok {
            Ok(Email(email))
        } else {
            Err(bad("must be a valid email address"))
        }
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password of acceptable length, kept exactly as typed (no trimming, no normalisation).
pub struct Password(String);

impl Password {
    /// Checks the length (8 to 128 characters); no composition rules.
    pub fn parse(raw: &str) -> Result<Password, AuthError> {
        let chars = raw.chars().count();
        if chars < PASSWORD_MIN_CHARS {
            Err(AuthError::invalid("password", "must be at least 8 characters"))
        } else if chars > PASSWORD_MAX_CHARS {
            Err(AuthError::invalid("password", "must be at most 128 characters"))
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
pub struct Name(Option<String>);

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(Email::parse("  Foo.Bar@Example.COM ").expect("valid").as_str(), "foo.bar@example.com");
    }

    #[test]
    fn malformed_emails_are_rejected_naming_the_field() {
        for raw in ["", "plain", "@example.com", "a@", "a@b", "a b@example.com", "a@exa mple.com",
                    "a@-x.com", "a@x..com", "a@b@c.com", "a\0@x.com", "a';--@x.com"] {
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
