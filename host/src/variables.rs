//! Host implementation of `fermyon:spin/variables@2.0.0`.
//!
//! # Design
//!
//! The component asks for its settings by lower-snake-case name on every request. The
//! answers come from a [`ComponentVariables`] snapshot taken once at start-up (see
//! [`crate::config`]) and shared by every store through an [`Arc`], so a request never
//! reads the process environment and the values the component sees are exactly the ones
//! the host validated before it started serving.
//!
//! `get(name)` answers:
//!
//! * the value, for a variable of `itsor_accounts::config::VARIABLES` that is set;
//! * `undefined(name)` for one that is unset (the component then applies its default), and
//!   for any other well-formed name: the component may read only its own variables;
//! * `invalid-name(name)` for a name that is not a Spin variable name (see
//!   [`is_valid_name`]).
//!
//! Values never appear in logs or errors.

use std::sync::Arc;

use crate::bindings::fermyon::spin::variables::{Error, Host};
use crate::config::ComponentVariables;

/// The per-store view of the variables snapshot (cheap to create: one `Arc` clone).
#[derive(Debug, Clone)]
pub struct VariablesHost {
    values: Arc<ComponentVariables>,
}

impl VariablesHost {
    /// A view of `values`.
    pub fn new(values: Arc<ComponentVariables>) -> VariablesHost {
        VariablesHost { values }
    }

    /// What `get(name)` answers; also the body of the host function.
    pub fn lookup(&self, name: &str) -> Result<String, Error> {
        if !is_valid_name(name) {
            return Err(Error::InvalidName(name.to_owned()));
        }
        match self.values.get(name) {
            Some(value) if ComponentVariables::is_known(name) => Ok(value.to_owned()),
            _ => Err(Error::Undefined(name.to_owned())),
        }
    }
}

impl Host for VariablesHost {
    fn get(&mut self, name: String) -> Result<String, Error> {
        self.lookup(&name)
    }
}

/// Whether `name` is a Spin variable name: lower-case ASCII letters, digits and single
/// underscores, starting with a letter and not ending with an underscore.
pub fn is_valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let Some(first) = bytes.first() else {
        return false;
    };
    first.is_ascii_lowercase()
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_')
        && !name.contains("__")
        && !name.ends_with('_')
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test.
mod tests {
    use super::*;
    use crate::config::Environment;

    fn host(pairs: &[(&str, &str)]) -> VariablesHost {
        let env = Environment::from_pairs(pairs.iter().copied());
        VariablesHost::new(Arc::new(ComponentVariables::from_env(&env)))
    }

    #[test]
    fn set_variables_are_returned() {
        let mut host = host(&[("JWT_ALGORITHM", "HS384"), ("BACKEND_ENV", "")]);
        assert_eq!(host.get("jwt_algorithm".into()).unwrap(), "HS384");
        // An empty value is still a value: the component decides what it means.
        assert_eq!(host.get("backend_env".into()).unwrap(), "");
    }

    #[test]
    fn unset_and_unknown_variables_are_undefined() {
        let host = host(&[("SOME_OTHER_VAR", "x")]);
        assert!(matches!(host.lookup("jwt_secret"), Err(Error::Undefined(n)) if n == "jwt_secret"));
        assert!(matches!(host.lookup("some_other_var"), Err(Error::Undefined(_))));
        assert!(matches!(host.lookup("path"), Err(Error::Undefined(_))));
    }

    #[test]
    fn invalid_names_are_rejected() {
        let host = host(&[]);
        for name in ["", "JWT_SECRET", "1abc", "_abc", "abc_", "a__b", "a-b", "a.b", "é"] {
            assert!(matches!(host.lookup(name), Err(Error::InvalidName(_))), "{name:?}");
        }
        for name in ["a", "jwt_secret", "a1_b2"] {
            assert!(is_valid_name(name), "{name:?}");
        }
    }
}
