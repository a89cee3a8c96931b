//! Start-up: refusal of unsafe configurations, `.env` handling, restarts.

use crate::support::*;

#[test]
fn refuses_production_with_the_default_secret() {
    let exit = Server::builder()
        .env("BACKEND_ENV", "production")
        .env("JWT_SECRET", "dev-secret-change-me")
        .run_expecting_exit();
    assert_refused_naming(&exit, &["JWT_SECRET"], &["dev-secret-change-me"]);
}

#[test]
fn refuses_production_with_no_secret_set() {
    // Unset: the default applies, and the default is refused.
    let exit = Server::builder().env("BACKEND_ENV", "production").unset("JWT_SECRET").run_expecting_exit();
    assert_refused_naming(&exit, &["JWT_SECRET"], &["dev-secret-change-me"]);
}

#[test]
fn refuses_production_with_an_empty_secret() {
    let exit = Server::builder().env("BACKEND_ENV", "production").env("JWT_SECRET", "").run_expecting_exit();
    assert_refused_naming(&exit, &["JWT_SECRET"], &[]);
}

#[test]
fn refuses_production_with_a_short_secret() {
    let short = "Short-Secret-31-bytes-long-xxxx";
    assert_eq!(short.len(), 31);
    let exit = Server::builder().env("BACKEND_ENV", "production").env("JWT_SECRET", short).run_expecting_exit();
    assert_refused_naming(&exit, &["JWT_SECRET"], &[short]);
}

#[test]
fn refuses_other_non_development_environments_too() {
    for env in ["staging", "Production", "prod"] {
        let exit =
            Server::builder().env("BACKEND_ENV", env).env("JWT_SECRET", "dev-secret-change-me").run_expecting_exit();
        assert_refused_naming(&exit, &["JWT_SECRET"], &["dev-secret-change-me"]);
    }
}

#[test]
fn starts_in_production_with_a_strong_secret() {
    let strong = "0123456789abcdef0123456789abcdef"; // exactly 32 bytes
    let server = Server::builder().env("BACKEND_ENV", "production").env("JWT_SECRET", strong).start();
    let user = server.signup_ok("prod@example.com", PASSWORD);
    // Outside local/dev/test the cookie is forced `Secure` and bound to the host by the
    // `__Host-` prefix, whatever SESSION_COOKIE_SECURE says.
    let resp = server.login("prod@example.com", PASSWORD);
    let login = crate::support::login_of(&resp, "__Host-itsor_session");
    let set_cookie = resp.header("set-cookie").expect("set-cookie");
    assert!(set_cookie.contains("; Secure") && set_cookie.contains("Path=/"), "{set_cookie}");
    assert!(!set_cookie.to_ascii_lowercase().contains("domain="), "{set_cookie}");
    assert_eq!(server.me_bearer(&login.token).json(), user);
    // Signed with the configured secret.
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_issuer(&["itsor"]);
    jsonwebtoken::decode::<serde_json::Value>(
        &login.token,
        &jsonwebtoken::DecodingKey::from_secret(strong.as_bytes()),
        &validation,
    )
    .expect("the token is HS256 under JWT_SECRET");
    let (stdout, stderr) = server.output();
    assert!(!stdout.contains(strong) && !stderr.contains(strong), "the secret was printed");
}

#[test]
fn development_environments_accept_the_default_secret() {
    for env in ["local", "dev", "test"] {
        let server = Server::builder().env("BACKEND_ENV", env).env("JWT_SECRET", "dev-secret-change-me").start();
        server.signup_ok("dev@example.com", PASSWORD);
        let login = server.login_ok("dev@example.com", PASSWORD);
        assert_status(&server.me_bearer(&login.token), 200);
    }
    // BACKEND_ENV unset means local.
    let server = Server::builder().unset("BACKEND_ENV").unset("JWT_SECRET").start();
    server.assert_alive();
}

#[test]
fn refuses_an_unknown_algorithm() {
    for alg in ["none", "RS256", "HS1024"] {
        let exit = Server::builder().env("JWT_ALGORITHM", alg).run_expecting_exit();
        assert_refused_naming(&exit, &["JWT_ALGORITHM"], &[]);
    }
}

#[test]
fn refuses_a_cookie_name_that_could_inject_headers() {
    for name in ["itsor session", "itsor_session\r\nX-Injected: 1", "a;b"] {
        let exit = Server::builder().env("SESSION_COOKIE_NAME", name).run_expecting_exit();
        assert_refused_naming(&exit, &["SESSION_COOKIE_NAME"], &[]);
    }
}

#[test]
fn dotenv_is_read_and_the_environment_wins() {
    let dotenv = "JWT_ACCESS_MINUTES=5\nSESSION_COOKIE_NAME=from_dotenv\n";
    let server = Server::builder().dotenv(dotenv).start();
    server.signup_ok("env@example.com", PASSWORD);
    let login = login_of(&server.login("env@example.com", PASSWORD), "from_dotenv");
    assert_eq!(login.body["expires_in"], 300, "JWT_ACCESS_MINUTES from .env: {}", login.body);

    let server = Server::builder().dotenv(dotenv).env("JWT_ACCESS_MINUTES", "7").start();
    server.signup_ok("env@example.com", PASSWORD);
    let login = login_of(&server.login("env@example.com", PASSWORD), "from_dotenv");
    assert_eq!(login.body["expires_in"], 420, "the environment overrides .env: {}", login.body);

    // An unsafe .env is refused like an unsafe environment.
    let exit = Server::builder()
        .dotenv("BACKEND_ENV=production\nJWT_SECRET=dev-secret-change-me\n")
        .unset("BACKEND_ENV")
        .unset("JWT_SECRET")
        .run_expecting_exit();
    assert_refused_naming(&exit, &["JWT_SECRET"], &["dev-secret-change-me"]);
}

#[test]
fn reports_every_problem_in_one_start() {
    let secret = "Short-Secret-31-bytes-long-xxxx";
    let exit = Server::builder()
        .env("BACKEND_ENV", "production")
        .env("JWT_SECRET", secret)
        .env("JWT_ALGORITHM", "RS256")
        .env("SESSION_COOKIE_NAME", "a;b")
        .env("ITSOR_MAX_CONCURRENT", "0")
        .run_expecting_exit();
    assert_refused_naming(
        &exit,
        &["JWT_SECRET", "JWT_ALGORITHM", "SESSION_COOKIE_NAME", "ITSOR_MAX_CONCURRENT"],
        &[secret],
    );
    assert!(exit.stderr.contains("refusing to start, 4 problems in the configuration:"), "{}", exit.stderr);
    // One line per problem, each starting with the variable to fix.
    let problems: Vec<&str> = exit.stderr.lines().filter(|line| line.starts_with("  ")).collect();
    assert_eq!(problems.len(), 4, "{}", exit.stderr);

    // Under an alias, a problem names the alias: the name the user set.
    let exit = Server::builder()
        .env("BACKEND_ENV", "production")
        .unset("JWT_SECRET")
        .dotenv(&format!("BETTER_AUTH_SECRET={secret}\nJWT_ISSUER=\n"))
        .run_expecting_exit();
    assert_refused_naming(&exit, &["BETTER_AUTH_SECRET", "JWT_ISSUER"], &[secret]);
}

#[test]
fn misspelt_settings_get_a_warning_naming_the_closest_one() {
    let server = Server::builder().dotenv("JWT_ACCES_MINUTES=4242\n").env("SESSION_COOKIE_SAME_SITE", "strict").start();
    server.log_line("the misspelt JWT_ACCES_MINUTES", |line| {
        line.contains("WARN")
            && line.contains(
                "JWT_ACCES_MINUTES, set in .env, is not a setting of itsor (did you mean JWT_ACCESS_MINUTES?)",
            )
    });
    server.log_line("the misspelt SESSION_COOKIE_SAME_SITE", |line| {
        line.contains("SESSION_COOKIE_SAME_SITE, set in the environment, is not a setting of itsor")
            && line.contains("did you mean SESSION_COOKIE_SAMESITE?")
    });
    // Ignored otherwise: the default lifetime applies, and the value is never printed.
    server.signup_ok("typo@example.com", PASSWORD);
    let login = server.login_ok("typo@example.com", PASSWORD);
    assert_eq!(login.body["expires_in"], 3600, "JWT_ACCES_MINUTES must not be read: {}", login.body);
    assert_status(&server.me_bearer(&login.token), 200);
    let (stdout, stderr) = server.output();
    assert!(!stdout.contains("4242") && !stderr.contains("4242"), "a value was printed:\n{stderr}");
}

#[test]
fn restart_keeps_users_and_sessions() {
    let mut server = Server::start();
    let user = server.signup_ok("keep@example.com", PASSWORD);
    let login = server.login_ok("keep@example.com", PASSWORD);
    let revoked = server.login_ok("keep@example.com", PASSWORD);
    assert_status(&server.logout_bearer(&revoked.token), 204);

    server.restart();
    assert!(server.is_running());

    // The account survives: logging in works, and signing up again conflicts.
    let fresh = server.login_ok("keep@example.com", PASSWORD);
    assert_eq!(server.me_bearer(&fresh.token).json(), user);
    assert_error(&server.signup("keep@example.com", PASSWORD), 409, "EMAIL_TAKEN");
    // Sessions survive too: the old token still works, the revoked one stays revoked.
    assert_eq!(server.me_bearer(&login.token).json(), user);
    assert_invalid_token(&server.me_bearer(&revoked.token));

    // And a second restart (migrations already applied) is fine.
    server.restart();
    assert_eq!(server.me_cookie(&login.token).json(), user);
}
