//! The account use-cases: sign-up, login, refresh, authenticate, authorize, logout,
//! managing one's password and sessions, and the deployment's signing keys.
//!
//! [`Accounts`] is what both the HTTP routes and the typed WIT export call; it owns the
//! order of every check (rate limits, then validation, then hashing, then storage) and the
//! enumeration defences: unknown e-mails and wrong passwords fail alike after the same
//! hashing work, and taken e-mails cost the same work as new ones.

use crate::AuthError;
use crate::clock::{Clock, Timestamp, WallClock};
use crate::config::Settings;
use crate::db::Database;
use crate::input::{Email, NOT_THE_CURRENT_PASSWORD, Name, Password, is_uuid};
use crate::keys::KeyRing;
use crate::limits::{Bucket, Limiter};
use crate::password::PasswordPolicy;
use crate::refresh::RefreshToken;
use crate::store::{Session, Store, StoredRefresh, User};
use crate::token::{Claims, KeySource, SecretOnly, TokenSigner};

/// The longest user agent kept with a session, in characters.
pub(crate) const USER_AGENT_MAX_CHARS: usize = 256;

/// How many expired rows of each kind (sessions, rate-limit windows) one sign-up, login or
/// password change deletes. Each such request creates at most one session and two counters,
/// so the tables stay bounded by what is live (see [`Accounts::sweep`]).
pub(crate) const SWEEP_BATCH: u32 = 16;

/// Who is calling, as far as the transport knows. Embedders that have no such notion pass
/// [`Client::default`], which skips the per-address rate limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Client<'a> {
    /// The client's IP address.
    pub addr: Option<&'a str>,
    /// The client's `User-Agent`.
    pub user_agent: Option<&'a str>,
}

/// A successful login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// Who logged in.
    pub user: User,
    /// The signed access token.
    pub access_token: String,
    /// Token lifetime in seconds.
    pub expires_in: u32,
    /// When the token expires, RFC 3339 UTC.
    pub expires_at: String,
    /// The refresh token that renews the session, when the deployment issues them
    /// (`jwt_refresh_days` > 0).
    pub refresh_token: Option<String>,
}

/// A fresh access token for a live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// The signed token.
    pub token: String,
    /// Its lifetime in seconds.
    pub expires_in: u32,
    /// When it expires, RFC 3339 UTC.
    pub expires_at: String,
}

/// One of the user's live sessions, as the sessions list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionView {
    /// The session.
    pub session: Session,
    /// Whether it is the session of the token that asked.
    pub current: bool,
}

/// The account logic of one deployment over one database, telling time by `C` (the
/// component and the hosts use the [`WallClock`]).
pub struct Accounts<D, C = WallClock> {
    store: Store<D>,
    settings: Settings,
    signer: TokenSigner,
    policy: PasswordPolicy,
    clock: C,
}

impl<D: Database, C: Clock> Accounts<D, C> {
    /// Account logic over `db` under `settings` (whose password policy hashes), reading the
    /// current time from `clock`.
    pub fn new(db: D, settings: Settings, clock: C) -> Accounts<D, C> {
        let signer = TokenSigner::new(&settings);
        let policy = settings.password_policy;
        Accounts { store: Store::new(db), settings, signer, policy, clock }
    }

    /// Replaces the password policy (hashes under other policies are upgraded at login).
    /// Tests only: it bypasses the production floor [`Settings::load`] enforces.
    #[cfg(test)]
    pub(crate) fn with_policy(mut self, policy: PasswordPolicy) -> Accounts<D, C> {
        self.policy = policy;
        self
    }

    /// The tasks of `owner`, who must be authorised already (see [`Accounts::authorize`]).
    pub fn tasks<'a>(&'a self, owner: &'a User) -> crate::Tasks<'a, &'a D> {
        crate::Tasks::of(self.store.database(), &owner.id, &self.clock)
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Whether storage answers a trivial statement: the component's own health probe.
    pub fn check_storage(&self) -> Result<(), AuthError> {
        Ok(self.store.ping()?)
    }

    fn limiter(&self) -> Limiter<&D> {
        Limiter::new(self.store.database())
    }

    /// The deployment's signing keys as they stand at `now` (EdDSA and ES256).
    pub(crate) fn keys(&self, now: Timestamp) -> KeyRing<'_, D> {
        KeyRing::new(&self.store, &self.settings, now)
    }

    /// What signs and verifies tokens at `now`: the key ring, or for HMAC the secret alone
    /// (which needs no storage).
    fn key_source(&self, now: Timestamp) -> Box<dyn KeySource + '_> {
        if self.settings.jwt_algorithm.is_asymmetric() { Box::new(self.keys(now)) } else { Box::new(SecretOnly) }
    }

    /// Deletes up to [`SWEEP_BATCH`] expired sessions and as many rate-limit windows that
    /// are over; returns how many rows went. Runs with every sign-up, login and password
    /// change, so no host needs a timer (Spin has none), and the work per request is bounded.
    pub(crate) fn sweep(&self, now: Timestamp) -> Result<usize, AuthError> {
        let longest =
            self.settings.auth_requests_limit.window_seconds.max(self.settings.login_failures_limit.window_seconds);
        let refresh_tokens = self.store.sweep_expired_refresh_tokens(now, SWEEP_BATCH)?;
        let sessions = self.store.sweep_expired_sessions(now, SWEEP_BATCH)?;
        let windows = self.limiter().sweep(now.unix() - i64::from(longest), SWEEP_BATCH)?;
        Ok(refresh_tokens + sessions + windows)
    }

    /// Counts one sign-up, login or password-change request from `client`, then
    /// [`sweep`](Accounts::sweep)s: a request refused here costs one statement, no more.
    fn count_auth_request(&self, client: &Client<'_>) -> Result<(), AuthError> {
        if let Some(addr) = client.addr {
            let limit = self.settings.auth_requests_limit;
            self.limiter().hit(Bucket::AuthRequests { client: addr }, limit, self.clock.now())?;
        }
        self.sweep(self.clock.now())?;
        Ok(())
    }

    /// Registers an account. Hashing happens before the insert, so an address that is
    /// already taken costs the same work as a new one.
    pub fn signup(
        &self,
        email: &str,
        password: &str,
        name: Option<&str>,
        client: &Client<'_>,
    ) -> Result<User, AuthError> {
        self.count_auth_request(client)?;
        self.register(email, password, name)
    }

    /// [`signup`](Accounts::signup), then opens the new account's first session, as a login
    /// would (without hashing the password a second time): sign-up that signs in.
    pub fn signup_and_login(
        &self,
        email: &str,
        password: &str,
        name: Option<&str>,
        client: &Client<'_>,
    ) -> Result<Login, AuthError> {
        self.count_auth_request(client)?;
        let user = self.register(email, password, name)?;
        self.open_session(user, self.clock.now(), client)
    }

    fn register(&self, email: &str, password: &str, name: Option<&str>) -> Result<User, AuthError> {
        let email = Email::parse(email)?;
        let password = Password::parse(password)?;
        let name = Name::parse(name)?;
        let hash = self.policy.hash(&password)?;
        let now = self.clock.now().to_rfc3339();
        let user = User {
            id: uuid::Uuid::new_v4().to_string(),
            email: email.as_str().to_owned(),
            name: name.as_deref().map(str::to_owned),
            created_at: now.clone(),
            updated_at: now,
        };
        if self.store.insert_user(&user, &hash)? { Ok(user) } else { Err(AuthError::EmailTaken) }
    }

    /// Verifies the password and opens a session. Unknown e-mails and wrong passwords fail
    /// alike, after the same hashing work. Every attempt on an account is counted before any
    /// hashing (one atomic upsert), so concurrent guesses cannot race past the limit, and a
    /// success forgets the count.
    pub fn login(&self, email: &str, password: &str, client: &Client<'_>) -> Result<Login, AuthError> {
        self.count_auth_request(client)?;
        // Attempts are counted per canonical address whether or not it is registered, so the
        // limit itself reveals nothing.
        let email = Email::parse(email).ok();
        let attempts = email.as_ref().map(|email| Bucket::LoginFailures { account: email.as_str() });
        if let Some(bucket) = attempts {
            self.limiter().hit(bucket, self.settings.login_failures_limit, self.clock.now())?;
        }
        let credentials = match &email {
            Some(email) => self.store.credentials_by_email(email.as_str())?,
            None => None,
        };
        let verified = match &credentials {
            Some(credentials) => self.policy.verify(password.as_bytes(), &credentials.password_hash),
            None => {
                self.policy.burn(password.as_bytes());
                None
            }
        };
        let (Some(credentials), Some(verified)) = (credentials, verified) else {
            return Err(AuthError::InvalidCredentials);
        };
        if let Some(bucket) = attempts {
            self.limiter().clear(bucket)?;
        }
        let now = self.clock.now();
        if verified.needs_rehash {
            // The password was just proven, so it satisfies the length rules it was set under.
            if let Ok(password) = Password::parse(password) {
                self.store.set_password_hash(&credentials.user.id, &self.policy.hash(&password)?, now)?;
            }
        }
        self.open_session(credentials.user, now, client)
    }

    /// Opens a session for `user`: it lives as long as its access token or, with refresh
    /// tokens, `refresh_seconds` since its last refresh, and starts its refresh chain.
    fn open_session(&self, user: User, now: Timestamp, client: &Client<'_>) -> Result<Login, AuthError> {
        let lifetime = self.settings.refresh_seconds.unwrap_or(self.settings.access_seconds);
        let session = Session {
            id: uuid::Uuid::new_v4().to_string(),
            user_id: user.id.clone(),
            created_at: now.to_rfc3339(),
            expires_at: now.plus_seconds(lifetime).to_rfc3339(),
            user_agent: client.user_agent.map(|ua| ua.chars().take(USER_AGENT_MAX_CHARS).collect()),
            client_addr: client.addr.map(str::to_owned),
        };
        self.store.insert_session(&session)?;
        let refresh_token = match self.settings.refresh_seconds {
            Some(_) => {
                let token = RefreshToken::generate()?;
                self.store.insert_refresh_token(&token.hash(), &session.id, now)?;
                Some(token.as_str().to_owned())
            }
            None => None,
        };
        let access = self.sign_access_token(&user.id, &session.id, now.plus_seconds(lifetime), now)?;
        Ok(Login {
            user,
            access_token: access.token,
            expires_in: access.expires_in,
            expires_at: access.expires_at,
            refresh_token,
        })
    }

    /// An access token for the session `sid` of `user_id`, which lives until
    /// `session_expires_at`: for `access_seconds`, or less if the session ends sooner.
    fn sign_access_token(
        &self,
        user_id: &str,
        sid: &str,
        session_expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<AccessToken, AuthError> {
        let expires_at = now.plus_seconds(self.settings.access_seconds).min(session_expires_at);
        let token = self.signer.sign(
            &Claims {
                sub: user_id.to_owned(),
                sid: sid.to_owned(),
                iat: now.unix(),
                exp: expires_at.unix(),
                iss: self.settings.jwt_issuer.clone(),
                aud: self.settings.jwt_audience.clone(),
            },
            &*self.key_source(now),
        )?;
        let expires_in = u32::try_from(expires_at.unix() - now.unix()).unwrap_or(0);
        Ok(AccessToken { token, expires_in, expires_at: expires_at.to_rfc3339() })
    }

    /// Trades a refresh token for a new access token and the token's successor, sliding the
    /// session's expiry (see [`crate::refresh`] for the rotation and reuse rules). Unknown,
    /// malformed and revoked tokens, and reuse past the grace window (which revokes the
    /// session), are [`AuthError::InvalidToken`]; a session past its expiry is
    /// [`AuthError::TokenExpired`].
    pub fn refresh(&self, presented: &str) -> Result<Login, AuthError> {
        let Some(refresh_seconds) = self.settings.refresh_seconds else {
            return Err(AuthError::InvalidToken);
        };
        let now = self.clock.now();
        let parent = RefreshToken::parse(presented).ok_or(AuthError::InvalidToken)?;
        let stored = self.store.refresh_token(&parent.hash())?.ok_or(AuthError::InvalidToken)?;
        if stored.session_revoked {
            return Err(AuthError::InvalidToken);
        }
        if stored.session_expires_at <= now {
            return Err(AuthError::TokenExpired);
        }
        let successor = match stored.used_at {
            None => match self.rotate_refresh_token(&parent, &stored, now)? {
                Some(successor) => successor,
                // Another refresh claimed it a moment ago: this one is a reuse within the window.
                None => {
                    let stored = self.store.refresh_token(&parent.hash())?.ok_or(AuthError::InvalidToken)?;
                    self.reused_refresh_token(&parent, &stored, now)?
                }
            },
            Some(_) => self.reused_refresh_token(&parent, &stored, now)?,
        };
        let session_expires_at = now.plus_seconds(refresh_seconds);
        if !self.store.extend_session(&stored.session_id, session_expires_at)? {
            return Err(AuthError::InvalidToken);
        }
        let user =
            self.store.session_of_user(&stored.session_id, &stored.user_id)?.ok_or(AuthError::InvalidToken)?.user;
        let access = self.sign_access_token(&user.id, &stored.session_id, session_expires_at, now)?;
        Ok(Login {
            user,
            access_token: access.token,
            expires_in: access.expires_in,
            expires_at: access.expires_at,
            refresh_token: Some(successor.as_str().to_owned()),
        })
    }

    /// Claims the unused `parent` for a new successor; `None` if another refresh claimed
    /// it first. The successor's row exists before the claim, so whoever reads the claim
    /// finds a successor that works.
    fn rotate_refresh_token(
        &self,
        parent: &RefreshToken,
        stored: &StoredRefresh,
        now: Timestamp,
    ) -> Result<Option<RefreshToken>, AuthError> {
        let successor = RefreshToken::generate()?;
        self.store.insert_refresh_token(&successor.hash(), &stored.session_id, now)?;
        if self.store.claim_refresh_token(&parent.hash(), &parent.seal(&successor)?, now)? {
            Ok(Some(successor))
        } else {
            self.store.delete_refresh_token(&successor.hash())?;
            Ok(None)
        }
    }

    /// A used `parent` presented again: within the grace window, its successor; later, a
    /// replay, which revokes the session.
    fn reused_refresh_token(
        &self,
        parent: &RefreshToken,
        stored: &StoredRefresh,
        now: Timestamp,
    ) -> Result<RefreshToken, AuthError> {
        let within_grace = stored
            .used_at
            .is_some_and(|used| now.unix() - used.unix() <= i64::from(self.settings.refresh_reuse_seconds));
        let successor = stored.successor.as_deref().and_then(|sealed| parent.open(sealed));
        match successor {
            Some(successor) if within_grace => Ok(successor),
            _ => {
                self.store.revoke_session(&stored.session_id, &stored.user_id, now)?;
                Err(AuthError::InvalidToken)
            }
        }
    }

    /// A fresh access token for the session of `token` (Better Auth's `GET /api/auth/token`).
    pub fn access_token(&self, token: &str) -> Result<AccessToken, AuthError> {
        let (user, session) = self.current_session(token)?;
        let session_expires_at = Timestamp::parse_rfc3339(&session.expires_at)?;
        self.sign_access_token(&user.id, &session.id, session_expires_at, self.clock.now())
    }

    /// Makes a new signing key, which signs new tokens from now on (tokens of the previous
    /// key verify until they expire); returns its `kid`. EdDSA and ES256 only.
    pub fn rotate_signing_key(&self) -> Result<String, AuthError> {
        self.keys(self.clock.now()).rotate()
    }

    /// The `kid` of the key that signs now, made first if there is none; `None` with an
    /// HMAC algorithm, which signs with the secret.
    pub fn signing_key_id(&self) -> Result<Option<String>, AuthError> {
        if !self.settings.jwt_algorithm.is_asymmetric() {
            return Ok(None);
        }
        self.keys(self.clock.now()).current_kid().map(Some)
    }

    /// The published verification keys, as a JWK Set (empty with an HMAC algorithm).
    pub fn key_set(&self) -> Result<serde_json::Value, AuthError> {
        self.keys(self.clock.now()).key_set()
    }

    /// A token's claims, once its signature and times check out and it names its user and
    /// session by UUID (ours always do; see [`crate::input::is_uuid`]).
    fn verified_claims(&self, token: &str) -> Result<Claims, AuthError> {
        let claims = self.signer.verify(token, &*self.key_source(self.clock.now()))?;
        if is_uuid(&claims.sub) && is_uuid(&claims.sid) { Ok(claims) } else { Err(AuthError::InvalidToken) }
    }

    /// The user and the session behind a token whose session is live.
    pub fn current_session(&self, token: &str) -> Result<(User, Session), AuthError> {
        let claims = self.verified_claims(token)?;
        let found = self.store.session_of_user(&claims.sid, &claims.sub)?.ok_or(AuthError::InvalidToken)?;
        if found.revoked {
            return Err(AuthError::InvalidToken);
        }
        if Timestamp::parse_rfc3339(&found.session.expires_at)? <= self.clock.now() {
            return Err(AuthError::TokenExpired);
        }
        Ok((found.user, found.session))
    }

    /// The user behind a token whose session is live.
    pub fn authenticate(&self, token: &str) -> Result<User, AuthError> {
        self.current_session(token).map(|(user, _)| user)
    }

    /// The id of the session a token of ours names, once its signature and times check out
    /// (the session itself may since have been revoked).
    pub fn session_id(&self, token: &str) -> Result<String, AuthError> {
        self.verified_claims(token).map(|claims| claims.sid)
    }

    /// [`authenticate`](Accounts::authenticate), and the user must be `owner_id`.
    pub fn authorize(&self, token: &str, owner_id: &str) -> Result<User, AuthError> {
        let user = self.authenticate(token)?;
        if user.id == owner_id { Ok(user) } else { Err(AuthError::Forbidden) }
    }

    /// Revokes the token's session. Revoking twice, or logging out with an expired token,
    /// succeeds; a token that is not ours is [`AuthError::InvalidToken`].
    pub fn logout(&self, token: &str) -> Result<(), AuthError> {
        match self.verified_claims(token) {
            Ok(claims) => {
                self.store.revoke_session(&claims.sid, &claims.sub, self.clock.now())?;
                Ok(())
            }
            Err(AuthError::TokenExpired) => Ok(()),
            Err(err) => Err(err),
        }
    }

    /// Revokes every session of the token's user, this one included.
    pub fn logout_all(&self, token: &str) -> Result<(), AuthError> {
        let (user, _) = self.current_session(token)?;
        self.store.revoke_sessions_except(&user.id, None, self.clock.now())?;
        Ok(())
    }

    /// Revokes every session of the token's user except this one; returns how many went.
    pub fn logout_others(&self, token: &str) -> Result<usize, AuthError> {
        let (user, session) = self.current_session(token)?;
        Ok(self.store.revoke_sessions_except(&user.id, Some(&session.id), self.clock.now())?)
    }

    /// Changes the password after checking the current one, and revokes every other
    /// session of the user (the one asking stays signed in). The check counts against the
    /// account's login attempts, before any hashing, exactly as a login does.
    pub fn change_password(&self, token: &str, current: &str, new: &str, client: &Client<'_>) -> Result<(), AuthError> {
        let (user, session) = self.current_session(token)?;
        self.count_auth_request(client)?;
        let new = Password::parse(new).map_err(|err| match err {
            AuthError::InvalidInput { message, .. } => AuthError::invalid("new_password", message),
            other => other,
        })?;
        let attempts = Bucket::LoginFailures { account: &user.email };
        self.limiter().hit(attempts, self.settings.login_failures_limit, self.clock.now())?;
        let credentials = self.store.credentials_by_email(&user.email)?.ok_or(AuthError::InvalidToken)?;
        if self.policy.verify(current.as_bytes(), &credentials.password_hash).is_none() {
            return Err(AuthError::invalid("current_password", NOT_THE_CURRENT_PASSWORD));
        }
        self.limiter().clear(attempts)?;
        let now = self.clock.now();
        self.store.set_password_hash(&user.id, &self.policy.hash(&new)?, now)?;
        self.store.revoke_sessions_except(&user.id, Some(&session.id), now)?;
        Ok(())
    }

    /// The token's user's live sessions, newest first, marking the token's own.
    pub fn sessions(&self, token: &str) -> Result<Vec<SessionView>, AuthError> {
        let (user, current) = self.current_session(token)?;
        let sessions = self.store.live_sessions(&user.id, self.clock.now())?;
        Ok(sessions.into_iter().map(|session| SessionView { current: session.id == current.id, session }).collect())
    }

    /// Revokes one of the token's user's sessions; anyone else's (or an unknown id) is
    /// [`AuthError::NotFound`].
    pub fn revoke_session(&self, token: &str, session_id: &str) -> Result<(), AuthError> {
        let (user, _) = self.current_session(token)?;
        if is_uuid(session_id) && self.store.revoke_session(session_id, &user.id, self.clock.now())? {
            Ok(())
        } else {
            Err(AuthError::NotFound)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::TestClock;
    use crate::password::PasswordPolicy;

    /// A client with no address and no user agent.
    const NOBODY: Client<'static> = Client { addr: None, user_agent: None };

    /// Cheap hashing so the use-case tests stay fast; the OWASP policy is tested in
    /// `password`.
    const FAST: PasswordPolicy = PasswordPolicy { memory_kib: 256, iterations: 1, parallelism: 1 };

    fn database() -> rusqlite::Connection {
        crate::schema::migrated_in_memory().expect("migrates")
    }

    fn accounts<'a>(db: &'a rusqlite::Connection, pairs: &[(&str, &str)]) -> Accounts<&'a rusqlite::Connection> {
        accounts_on(db, pairs, WallClock)
    }

    /// Accounts telling time by `clock`. Tokens' `exp` is still checked by jsonwebtoken
    /// against the system clock, so test clocks start at the wall clock's time.
    fn accounts_on<'a, C: Clock>(
        db: &'a rusqlite::Connection,
        pairs: &[(&str, &str)],
        clock: C,
    ) -> Accounts<&'a rusqlite::Connection, C> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let settings = Settings::load(&move |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
            .expect("settings");
        Accounts::new(db, settings, clock).with_policy(FAST)
    }

    #[test]
    fn signup_login_authenticate_logout() {
        let db = database();
        let accounts = accounts(&db, &[]);
        let user = accounts.signup(" Ada@Example.com ", "correct horse", Some("Ada"), &NOBODY).expect("signs up");
        assert_eq!(user.email, "ada@example.com");
        assert!(uuid::Uuid::parse_str(&user.id).is_ok());
        let login = accounts.login("ADA@example.com", "correct horse", &NOBODY).expect("logs in");
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
        accounts.signup("a@b.co", "password-1", None, &NOBODY).expect("first");
        assert_eq!(accounts.signup(" A@B.CO", "password-2", None, &NOBODY), Err(AuthError::EmailTaken));
    }

    #[test]
    fn unknown_email_and_wrong_password_fail_alike() {
        let db = database();
        let accounts = accounts(&db, &[]);
        accounts.signup("a@b.co", "password-1", None, &NOBODY).expect("signs up");
        assert_eq!(accounts.login("a@b.co", "password-2", &NOBODY), Err(AuthError::InvalidCredentials));
        assert_eq!(accounts.login("nobody@b.co", "password-1", &NOBODY), Err(AuthError::InvalidCredentials));
        assert_eq!(accounts.login("not an email", "password-1", &NOBODY), Err(AuthError::InvalidCredentials));
    }

    #[test]
    fn sessions_end_at_expiry_even_within_token_leeway() {
        let db = database();
        let clock = TestClock::at(WallClock.now());
        let accounts = accounts_on(&db, &[("jwt_access_seconds", "1"), ("jwt_leeway_seconds", "30")], &clock);
        accounts.signup("a@b.co", "password-1", None, &NOBODY).expect("signs up");
        let login = accounts.login("a@b.co", "password-1", &NOBODY).expect("logs in");
        assert!(accounts.authenticate(&login.access_token).is_ok());
        clock.advance(1);
        assert_eq!(accounts.authenticate(&login.access_token), Err(AuthError::TokenExpired));
    }

    #[test]
    fn deleted_sessions_and_users_invalidate_tokens() {
        let db = database();
        let accounts = accounts(&db, &[]);
        accounts.signup("a@b.co", "password-1", None, &NOBODY).expect("signs up");
        let login = accounts.login("a@b.co", "password-1", &NOBODY).expect("logs in");
        db.execute("DELETE FROM users", []).expect("deletes");
        assert_eq!(accounts.authenticate(&login.access_token), Err(AuthError::InvalidToken));
    }

    #[test]
    fn password_change_keeps_this_session_and_ends_the_others() {
        let db = database();
        let accounts = accounts(&db, &[]);
        accounts.signup("a@b.co", "password-1", None, &NOBODY).expect("signs up");
        let here = accounts.login("a@b.co", "password-1", &NOBODY).expect("logs in").access_token;
        let there = accounts.login("a@b.co", "password-1", &NOBODY).expect("logs in").access_token;
        let wrong = accounts.change_password(&here, "not-it-at-all", "password-2", &NOBODY);
        assert!(matches!(wrong, Err(AuthError::InvalidInput { field, .. }) if field == "current_password"));
        accounts.change_password(&here, "password-1", "password-2", &NOBODY).expect("changes");
        assert!(accounts.authenticate(&here).is_ok());
        assert_eq!(accounts.authenticate(&there), Err(AuthError::InvalidToken));
        assert_eq!(accounts.login("a@b.co", "password-1", &NOBODY), Err(AuthError::InvalidCredentials));
        accounts.login("a@b.co", "password-2", &NOBODY).expect("the new password works");
    }

    #[test]
    fn sessions_are_listed_revoked_one_by_one_or_all_at_once() {
        let db = database();
        let accounts = accounts(&db, &[]);
        accounts.signup("a@b.co", "password-1", None, &NOBODY).expect("signs up");
        accounts.signup("z@b.co", "password-1", None, &NOBODY).expect("signs up");
        let browser = Client { addr: Some("192.0.2.1"), user_agent: Some("Firefox") };
        let first = accounts.login("a@b.co", "password-1", &browser).expect("logs in").access_token;
        let second = accounts.login("a@b.co", "password-1", &NOBODY).expect("logs in").access_token;
        let stranger = accounts.login("z@b.co", "password-1", &NOBODY).expect("logs in").access_token;
        let listed = accounts.sessions(&second).expect("lists");
        assert_eq!(listed.len(), 2);
        assert_eq!(listed.iter().filter(|s| s.current).count(), 1);
        let firefox = listed.iter().find(|s| s.session.user_agent.as_deref() == Some("Firefox")).expect("kept");
        assert_eq!(firefox.session.client_addr.as_deref(), Some("192.0.2.1"));
        assert_eq!(accounts.revoke_session(&stranger, &firefox.session.id), Err(AuthError::NotFound));
        accounts.revoke_session(&second, &firefox.session.id).expect("revokes its own");
        assert_eq!(accounts.authenticate(&first), Err(AuthError::InvalidToken));
        accounts.logout_all(&second).expect("logs out everywhere");
        assert_eq!(accounts.authenticate(&second), Err(AuthError::InvalidToken));
        assert!(accounts.authenticate(&stranger).is_ok());
    }

    #[test]
    fn repeated_failures_lock_the_account_before_any_hashing() {
        let db = database();
        let accounts = accounts(&db, &[("rate_limit_login_failures", "3")]);
        accounts.signup("a@b.co", "password-1", None, &NOBODY).expect("signs up");
        for _ in 0..3 {
            assert_eq!(accounts.login("a@b.co", "wrong-password", &NOBODY), Err(AuthError::InvalidCredentials));
        }
        assert!(matches!(accounts.login("a@b.co", "password-1", &NOBODY), Err(AuthError::RateLimited { .. })));
        // Unknown accounts lock the same way, so the lock reveals nothing.
        for _ in 0..3 {
            let _ = accounts.login("ghost@b.co", "wrong-password", &NOBODY);
        }
        assert!(matches!(accounts.login("ghost@b.co", "x", &NOBODY), Err(AuthError::RateLimited { .. })));
    }

    #[test]
    fn a_correct_password_clears_the_attempts_and_a_locked_account_stays_locked() {
        let db = database();
        let accounts = accounts(&db, &[("rate_limit_login_failures", "3")]);
        accounts.signup("a@b.co", "password-1", None, &NOBODY).expect("signs up");
        for _ in 0..2 {
            assert_eq!(accounts.login("a@b.co", "wrong-password", &NOBODY), Err(AuthError::InvalidCredentials));
        }
        accounts.login("a@b.co", "password-1", &NOBODY).expect("the third attempt is allowed");
        for _ in 0..3 {
            assert_eq!(accounts.login("a@b.co", "wrong-password", &NOBODY), Err(AuthError::InvalidCredentials));
        }
        // Locked: even the right password is refused until the window ends.
        assert!(matches!(accounts.login("a@b.co", "password-1", &NOBODY), Err(AuthError::RateLimited { .. })));
    }

    #[test]
    fn password_changes_share_the_login_attempt_budget() {
        let db = database();
        let accounts = accounts(&db, &[("rate_limit_login_failures", "2")]);
        accounts.signup("a@b.co", "password-1", None, &NOBODY).expect("signs up");
        let token = accounts.login("a@b.co", "password-1", &NOBODY).expect("logs in").access_token;
        for _ in 0..2 {
            let wrong = accounts.change_password(&token, "not-it-at-all", "password-2", &NOBODY);
            assert!(matches!(wrong, Err(AuthError::InvalidInput { .. })), "{wrong:?}");
        }
        let locked = accounts.change_password(&token, "password-1", "password-2", &NOBODY);
        assert!(matches!(locked, Err(AuthError::RateLimited { .. })), "{locked:?}");
        assert!(matches!(accounts.login("a@b.co", "password-1", &NOBODY), Err(AuthError::RateLimited { .. })));
    }

    #[test]
    fn logins_sweep_expired_sessions_and_windows_a_batch_at_a_time() {
        let db = database();
        let accounts = accounts(&db, &[]);
        let user = accounts.signup("a@b.co", "password-1", None, &NOBODY).expect("signs up");
        let live = accounts.login("a@b.co", "password-1", &NOBODY).expect("logs in").access_token;
        for i in 0..40 {
            db.execute(
                "INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES (?1, ?2, '2000-01-01T00:00:00Z', '2000-01-01T01:00:00Z')",
                rusqlite::params![format!("old-{i}"), user.id],
            )
            .expect("inserts");
            db.execute("INSERT INTO rate_limits (bucket, window_start, hits) VALUES (?1, 0, 1)", [format!("old-{i}")])
                .expect("inserts");
        }
        let count = |table: &str| -> i64 {
            db.query_row(
                &format!(
                    "SELECT count(*) FROM {table} WHERE {}",
                    if table == "sessions" { "id LIKE 'old-%'" } else { "window_start = 0" }
                ),
                [],
                |r| r.get(0),
            )
            .expect("counts")
        };
        let _ = accounts.login("a@b.co", "wrong-password", &NOBODY);
        assert_eq!(
            (count("sessions"), count("rate_limits")),
            (40 - i64::from(SWEEP_BATCH), 40 - i64::from(SWEEP_BATCH))
        );
        for _ in 0..3 {
            let _ = accounts.login("a@b.co", "wrong-password", &NOBODY);
        }
        assert_eq!((count("sessions"), count("rate_limits")), (0, 0));
        assert!(accounts.authenticate(&live).is_ok(), "live sessions stay");
    }

    #[test]
    fn login_upgrades_hashes_made_under_another_policy() {
        let db = database();
        accounts(&db, &[]).signup("a@b.co", "password-1", None, &NOBODY).expect("signs up");
        let stronger = PasswordPolicy { memory_kib: 512, iterations: 2, parallelism: 1 };
        let upgraded = accounts(&db, &[]).with_policy(stronger);
        upgraded.login("a@b.co", "password-1", &NOBODY).expect("logs in");
        let stored: String = db.query_row("SELECT password_hash FROM users", [], |row| row.get(0)).expect("reads");
        assert!(stored.starts_with("$argon2id$v=19$m=512,t=2,p=1$"), "{stored}");
        upgraded.login("a@b.co", "password-1", &NOBODY).expect("the upgraded hash verifies");
    }
}
