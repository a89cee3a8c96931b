//! The `itsor:auth/accounts` and `itsor:auth/signing-keys` exports: the typed API, one
//! call per use-case.

use itsor_accounts::{AuthError, Client, Login, User};

use crate::Component;
use crate::bindings::exports::itsor::auth::accounts as wit;
use crate::bindings::exports::itsor::auth::accounts::Guest;
use crate::bindings::exports::itsor::auth::signing_keys;
use crate::platform::accounts;

impl Guest for Component {
    fn signup(email: String, password: String, name: Option<String>) -> Result<wit::User, wit::Error> {
        // Embedders have no client address: only the per-account limits apply.
        Ok(accounts()?.signup(&email, &password, name.as_deref(), &Client::default())?.into())
    }

    fn login(email: String, password: String) -> Result<wit::LoginResult, wit::Error> {
        Ok(accounts()?.login(&email, &password, &Client::default())?.into())
    }

    fn authenticate(token: String) -> Result<wit::User, wit::Error> {
        Ok(accounts()?.authenticate(&token)?.into())
    }

    fn authorize(token: String, owner_id: String) -> Result<wit::User, wit::Error> {
        Ok(accounts()?.authorize(&token, &owner_id)?.into())
    }

    fn logout(token: String) -> Result<(), wit::Error> {
        Ok(accounts()?.logout(&token)?)
    }

    fn refresh(refresh_token: String) -> Result<wit::LoginResult, wit::Error> {
        Ok(accounts()?.refresh(&refresh_token)?.into())
    }
}

impl signing_keys::Guest for Component {
    fn rotate() -> Result<String, wit::Error> {
        Ok(accounts()?.rotate_signing_key()?)
    }

    fn current() -> Result<Option<String>, wit::Error> {
        Ok(accounts()?.signing_key_id()?)
    }

    fn key_set() -> Result<String, wit::Error> {
        Ok(accounts()?.key_set()?.to_string())
    }
}

impl From<User> for wit::User {
    fn from(user: User) -> wit::User {
        wit::User {
            id: user.id,
            email: user.email,
            name: user.name,
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

impl From<Login> for wit::LoginResult {
    fn from(login: Login) -> wit::LoginResult {
        wit::LoginResult {
            user: login.user.into(),
            access_token: login.access_token,
            token_type: "bearer".to_owned(),
            expires_in: login.expires_in,
            expires_at: login.expires_at,
            refresh_token: login.refresh_token,
        }
    }
}

impl From<AuthError> for wit::Error {
    fn from(err: AuthError) -> wit::Error {
        match err {
            AuthError::InvalidInput { field, message } => wit::Error::InvalidInput(wit::FieldError { field, message }),
            AuthError::EmailTaken => wit::Error::EmailTaken,
            AuthError::InvalidCredentials => wit::Error::InvalidCredentials,
            AuthError::InvalidToken => wit::Error::InvalidToken,
            AuthError::TokenExpired => wit::Error::TokenExpired,
            AuthError::Forbidden => wit::Error::Forbidden,
            AuthError::NotFound => wit::Error::NotFound,
            AuthError::RateLimited { retry_after } => wit::Error::RateLimited(retry_after),
            // The embedder is the operator: it gets the setting's name or the storage fault
            // (never a secret: neither message ever carries one), where HTTP clients get a
            // generic detail.
            AuthError::Misconfigured(message) => wit::Error::Misconfigured(message),
            AuthError::Unavailable(message) => wit::Error::Unavailable(message),
            AuthError::Internal(message) => wit::Error::Internal(message),
        }
    }
}
