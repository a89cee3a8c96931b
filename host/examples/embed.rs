//! Embedding itsor in a Rust program: the same `.wasm` the server runs, called through its
//! typed `itsor:auth/accounts` export, with no HTTP in between.
//!
//! The store holds the server's own per-store state ([`RequestState`]: WASI 0.2, the
//! SQLite, PostgreSQL and variables providers of [`itsor::add_to_linker`]);
//! [`Embedded`] gives typed `signup`, `login`, `authenticate`, `authorize` and `logout`.
//! The calls are asynchronous (`spin:postgres`'s host side waits on the network), so the
//! example runs on a Tokio runtime. It stores in SQLite; with a `postgres://`
//! `database_url` variable and a [`Storage::Postgres`] it would store in PostgreSQL. Run it
//! with
//!
//! ```text
//! make component && cargo run --release -p itsor --example embed [path/to/itsor_auth.wasm]
//! ```
//!
//! It exits non-zero if any step does not behave as documented, so `make test` runs it.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, ensure};
use itsor::{AccountsError, ComponentVariables, DatabaseTarget, Embedded, RequestState, Storage};
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store};

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let wasm = match std::env::args_os().nth(1).or_else(|| std::env::var_os("ITSOR_COMPONENT")) {
        Some(path) => PathBuf::from(path),
        // This example lives in `$CARGO_TARGET_DIR/release/examples/`.
        None => itsor::default_component_path(std::env::current_exe()?.parent()),
    };
    let dir = tempfile::tempdir()?;
    let db_path = dir.path().join("itsor.db");
    itsor::migrate_sqlite(&db_path)?;

    let engine = Engine::default();
    let component = Component::from_file(&engine, &wasm)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("cannot load {}", wasm.display()))?;
    let mut linker = Linker::<RequestState>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    itsor::add_to_linker(&mut linker)?;

    let variables = ComponentVariables::from_pairs([
        ("backend_env", "production"),
        ("jwt_secret", "an-embedder-secret-of-at-least-32-bytes"),
        ("jwt_access_minutes", "15"),
    ]);
    // The server's own store state: WASI without files, environment or network, outgoing
    // HTTP refused, the SQLite and variables providers, a memory cap.
    let storage = Storage::open(&DatabaseTarget::Sqlite(db_path), 1, std::time::Duration::from_secs(30))?;
    let state = RequestState::new(&storage, Arc::new(variables));
    let mut store = Store::new(&engine, state);
    store.limiter(|state| state.limits());
    let itsor = Embedded::instantiate_async(&mut store, &component, &linker).await?;
    let accounts = itsor.itsor_auth_accounts();

    let user = accounts
        .call_signup(&mut store, " Ada@Example.com ", "correct horse battery", Some("Ada"))
        .await?
        .map_err(|e| anyhow::anyhow!("signup: {e:?}"))?;
    println!("signup       -> {} <{}>", user.id, user.email);
    ensure!(user.email == "ada@example.com", "e-mails are normalised");

    let duplicate = accounts.call_signup(&mut store, "ada@example.com", "another password", None).await?;
    println!("signup again -> {duplicate:?}");
    ensure!(matches!(duplicate, Err(AccountsError::EmailTaken)), "a second sign-up is email-taken");

    let login = accounts
        .call_login(&mut store, "ada@example.com", "correct horse battery")
        .await?
        .map_err(|e| anyhow::anyhow!("login: {e:?}"))?;
    println!("login        -> {} token, expires in {} s", login.token_type, login.expires_in);
    ensure!(login.expires_in == 15 * 60, "the lifetime comes from the variables");

    let me = accounts.call_authenticate(&mut store, &login.access_token).await?;
    println!("authenticate -> {:?}", me.as_ref().map(|u| &u.email));
    ensure!(me.as_ref().is_ok_and(|me| me.id == user.id), "the token names the user");

    let own = accounts.call_authorize(&mut store, &login.access_token, &user.id).await?;
    let other = accounts.call_authorize(&mut store, &login.access_token, "someone-else").await?;
    println!("authorize    -> own: {}, other: {other:?}", own.is_ok());
    ensure!(own.is_ok() && matches!(other, Err(AccountsError::Forbidden)), "ownership is enforced");

    accounts.call_logout(&mut store, &login.access_token).await?.map_err(|e| anyhow::anyhow!("logout: {e:?}"))?;
    let after = accounts.call_authenticate(&mut store, &login.access_token).await?;
    println!("after logout -> {after:?}");
    ensure!(matches!(after, Err(AccountsError::InvalidToken)), "logout revokes the session");

    println!("ok: the component ran embedded, no HTTP");
    Ok(())
}
