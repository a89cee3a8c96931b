//! The account use-cases: sign-up, login, authenticate, authorize, logout.
//!
//! [`Accounts`] is what both the HTTP routes and the typed WIT export call; it owns the
//! order of every check (validate, then hash, then store) and the enumeration defences.

use crate::clock::Timestamp;
use crate::config::Settings;
use crate::db::Database;
use crate::input::{Email, Name, Password};
use crate::password::{PasswordPolicy, OWASP_2025};
use crate::store::{Store, User};
use crate::token::{Claims, TokenSigner};
use crate::AuthError;

/// A successful login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// Who logged in.
    pub user: User,
    /// The signed access token.
    pub access_token: String,
    /// Token lifetime in seconds.
    pub expires_in: u32,
    /// RFC 3339 UTC.
    pub expires_at: String,
}

/// The account logic of one deployment over one database.
pub struct Accounts<D> {
    store: Store<D>,
    settings: Settings,
    signer: TokenSigner,
    policy: PasswordPolicy,
}

impl<D: Database> Accounts<D> {
    /// Account logic over `db` under `settings`, hashing with [`OWASP_2025`].
    pub fn new(db: D, settings: Settings) -> Accounts<D> {
        let signer = TokenSigner::new(&settings);
        Accounts { store: Store::new(db), settings, signer, policy: OWASP_2025 }
    }

    /// Replaces the password policy (hashes under other policies are upgraded at login).
    pub fn with_policy(mut self, policy: PasswordPolicy) -> Accounts<D> {
        self.policy = policy;
        self
    }

    /// The tasks of `owner`, who must be authorised already (see [`Accounts::authorize`]).
    pub fn tasks<'o>(&self, owner: &'o User) -> crate::Tasks<'o, &D> {
        crate::Tasks::of(self.store.database(), &owner.id)
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Registers an account. Hashing happens before the insert, so an address that is
    /// already taken costs the same work as a new one.
    pub fn signup(&self, email: &str, password: &str, name: Option<&str>) -> Result<User, AuthError> {
        let email = Email::parse(email)?;
        let password = Password::parse(password)?;
        let name = Name::parse(name)?;
        let hash = self.policy.hash(&password)?;
        let now = Timestamp::now().to_rfc3339();
        let user = User {
            id: uuid::Uuid::new_v4().to_string(),
            email: email.as_str().to_owned(),
            name: name.as_deref().map(str::to_owned),
            created_at: now.clone(),
            updated_at: now,
        };
        if self.store.insert_user(&user, &hash)? {
            Ok(user)
        } else {
            Err(AuthError::EmailTaken)
        }
    }

    /// Verifies the password and opens a session. Unknown e-mails and wrong passwords fail
    /// alike, after the same hashing work.
    pub fn login(&self, email: &str, password: &str) -> Result<Login, AuthError> {
        let credentials = match Email::parse(email) {
            Ok(email) => self.store.credentials_by_email(email.as_str())?,
            Err(_) => None,
        };
        let Some(credentials) = credentials else {
            self.policy.burn(password.as_bytes());
            return Err(AuthError::InvalidCredentials);
        };
        let verified = self
            .policy
            .verify(password.as_bytes(), &credentials.password_hash)
            .ok_or(AuthError::InvalidCredentials)?;
        let now = Timestamp::now();
        if verified.needs_rehash {
            // The password was just proven, so it satisfies the length rules it was set under.
            if let Ok(password) = Password::parse(password) {
                self.store.set_password_hash(&credentials.user.id, &self.policy.hash(&password)?, now)?;
            }
        }
        self.open_session(credentials.user, now)
    }

    fn open_session(&self, user: User, now: Timestamp) -> Result<Login, AuthError> {
        let expires_in = self.settings.access_seconds;
        let expires_at = now.plus_seconds(expires_in);
        let sid = uuid::Uuid::new_v4().to_string();
        self.store.insert_session(&sid, &user.id, now, expires_at)?;
        let access_token = self.signer.sign(&Claims {
            sub: user.id.clone(),
            sid,
            iat: now.unix(),
            exp: expires_at.unix(),
            iss: self.settings.jwt_issuer.clone(),
        })?;
        Ok(Login { user, access_token, expires_in, expires_at: expires_at.to_rfc3339() })
    }

    /// The user behind a token whose session is live.
    pub fn authenticate(&self, token: &str) -> Result<User, AuthError> {
        let claims = self.signer.verify(token)?;
        let session = self.store.session_of_user(&claims.sid, &claims.sub)?.ok_or(AuthError::InvalidToken)?;
        if session.revoked {
            return Err(AuthError::InvalidToken);
        }
        if Timestamp::parse_rfc3339(&session.expires_at)? <= Timestamp::now() {
            return Err(AuthError::TokenExpired);
        }
        Ok(session.user)
    }

    /// [`authenticate`](Accounts::authenticate), and the user must be `owner_id`.
    pub fn authorize(&self, token: &str, owner_id: &str) -> Result<User, AuthError> {
        let user = self.authenticate(token)?;
        if user.id == owner_id { Ok(user) } else { Err(AuthError::Forbidden) }
    }

    /// Revokes the token's session. Revoking twice, or logging out with an expired token,
    /// succeeds; a token that is not ours is [`AuthError::InvalidToken`].
    pub fn logout(&self, token: &str) -> Result<(), AuthError> {
        match self.signer.verify(token) {
            Ok(claims) => Ok(self.store.revoke_session(&claims.sid, &claims.sub, Timestamp::now())?),
            Err(AuthError::TokenExpired) => Ok(()),
            Err(err) => Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password::PasswordPolicy;

    /// Cheap hashing so the use-case tests stay fast; the OWASP policy is tested in
    /// `password`.
    const FAST: PasswordPolicy = PasswordPolicy { memory_kib: 256, iterations: 1, parallelism: 1 };

    fn database() -> rusqlite::Connection {
        let db = rusqlite::Connection::open_in_memory().expect("opens");
        for migration in [include_str!("../../../migrations/0001_users.sql"), include_str!("../../../migrations/0002_sessions.sql")] {
            db.execute_batch(migration).expect("migrates");
        }
        db
    }

    fn accounts<'a>(db: &'a rusqlite::Connection, pairs: &[(&str, &str)]) -> Accounts<&'a rusqlite::Connection> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let settings = Settings::load(&move |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
            .expect("settings");
        Accounts::new(db, settings).with_policy(FAST)
    }

    #[test]
    fn signup_login_authenticate_logout() {
        let db = database();
        let accounts = accounts(&db, &[]);
        let user = accounts.signup(" Ada@Example.com ", "correct horse", Some("Ada")).expect("signs up");
        assert_eq!(user.email, "ada@example.com");
        assert!(uuid::Uuid::parse_str(&user.id).is_ok());
        let login = accounts.login("ADA@example.com", "correct horse").expect("logs in");
        assert_eq!(login.expires_in, 3600);
        assert_eq!(accounts.authenticate(&login.access_token).expect("authenticates"), user);
        assert_eq!(accounts.authorize(&login.access_token, &user.id).expect("owner"), user);
        assert_eq!(accounts.authorize(&login.access_token, "someone-else"), Err(AuthError::Forbidden));
        accounts.logout(&login.access_token).expect("logs out");
        assert_eq!(accounts.authenticate(&login.access_token), Err(AuthError::InvalidToken));
        accounts.logout(&login.access_token).expect("logging out twice is harmless");
    }

    #[test]
    fn duplicate_signup_is_email_taken_whatever_the_spelling() {
        let db = database();
        let accounts = accounts(&db, &[]);
        accounts.signup("a@b.co", "password-1", None).expect("first");
        assert_eq!(accounts.signup(" A@B.CO", "password-2", None), Err(AuthError::EmailTaken));
    }

    #[test]
    fn unknown_email_and_wrong_password_fail_alike() {
        let db = database();
        let accounts = accounts(&db, &[]);
        accounts.signup("a@b.co", "password-1", None).expect("signs up");
        assert_eq!(accounts.login("a@b.co", "password-2"), Err(AuthError::InvalidCredentials));
        assert_eq!(accounts.login("nobody@b.co", "password-1"), Err(AuthError::InvalidCredentials));
        assert_eq!(accounts.login("not an email", "password-1"), Err(AuthError::InvalidCredentials));
    }

    #[test]
    fn sessions_end_at_expiry_even_within_token_leeway() {
        let db = database();
        let accounts = accounts(&db, &[("jwt_access_seconds", "1"), ("jwt_leeway_seconds", "30")]);
        accounts.signup("a@b.co", "password-1", None).expect("signs up");
        let login = accounts.login("a@b.co", "password-1").expect("logs in");
        std::thread::sleep(std::time::Duration::from_millis(2100));
        assert_eq!(accounts.authenticate(&login.access_token), Err(AuthError::TokenExpired));
    }

    #[test]
    fn deleted_sessions_and_users_invalidate_tokens() {
        let db = database();
        let accounts = accounts(&db, &[]);
        accounts.signup("a@b.co", "password-1", None).expect("signs up");
        let login = accounts.login("a@b.co", "password-1").expect("logs in");
        db.execute("DELETE FROM users", []).expect("deletes");
        assert_eq!(accounts.authenticate(&login.access_token), Err(AuthError::InvalidToken));
    }

    #[test]
    fn login_upgrades_hashes_made_under_another_policy() {
        let db = database();
        accounts(&db, &[]).signup("a@b.co", "password-1", None).expect("signs up");
        let stronger = PasswordPolicy { memory_kib: 512, iterations: 2, parallelism: 1 };
        let upgraded = accounts(&db, &[]).with_policy(stronger);
        upgraded.login("a@b.co", "password-1").expect("logs in");
        let stored: String =
            db.query_row("SELECT password_hash FROM users", [], |row| row.get(0)).expect("reads");
        assert!(stored.starts_with("$argon2id$v=19$m=512,t=2,p=1$"), "{stored}");
        upgraded.login("a@b.co", "password-1").expect("the upgraded hash verifies");
    }
}
