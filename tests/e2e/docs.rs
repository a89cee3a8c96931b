//! The documentation's commands, run: every fenced block marked `bash tested` in README.md
//! and docs/FRONTEND.md runs in bash against a fresh server (its address in place of
//! `http://127.0.0.1:3002`), and every `# => TEXT` line under a command must appear in
//! what the commands before it (since the previous check) printed. The SQL of docs/RUNBOOKS.md (blocks `sql tested <backend> <name>`)
//! runs on the database of this run's backend, and each procedure is checked for its
//! effect.

use std::path::Path;
use std::process::Command;

use serde_json::json;

use crate::support::db::{Backend, backend};
use crate::support::http::{get, post};
use crate::support::jwt;
use crate::support::server::TEST_SECRET;
use crate::support::{PASSWORD, Server, assert_invalid_token, assert_status};

/// The address the documentation's commands name.
const DOCUMENTED_URL: &str = "http://127.0.0.1:3002";

/// A fenced block: the words after the backticks, and its lines.
struct Block {
    info: Vec<String>,
    code: String,
}

fn read_doc(path: &str) -> String {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path);
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// The fenced blocks of `markdown` whose info string starts with `language tested`.
fn tested_blocks(markdown: &str, language: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut lines = markdown.lines();
    while let Some(line) = lines.next() {
        let Some(info) = line.trim_start().strip_prefix("```") else { continue };
        let info: Vec<String> = info.split_whitespace().map(str::to_owned).collect();
        let code: Vec<&str> = lines.by_ref().take_while(|l| !l.trim_start().starts_with("```")).collect();
        if info.first().map(String::as_str) == Some(language) && info.get(1).map(String::as_str) == Some("tested") {
            blocks.push(Block { info, code: code.join("\n") });
        }
    }
    blocks
}

/// Marks, in the output, where a run of `# => ` lines is checked.
const CHECK: &str = "@@docs-check@@";

/// Runs the `bash tested` blocks of `path` against a fresh server, one bash process, and
/// checks their `# => ` lines: each must appear, in order, in what the commands since the
/// previous such run of lines printed.
fn run_shell_blocks(path: &str) {
    let blocks = tested_blocks(&read_doc(path), "bash");
    assert!(!blocks.is_empty(), "{path} has no `bash tested` block");
    let server = Server::start();
    let url = format!("http://{}", server.addr());
    let mut script = String::from("set -euo pipefail\n");
    let mut expected: Vec<Vec<&str>> = Vec::new();
    for line in blocks.iter().flat_map(|b| b.code.lines()) {
        match line.trim_start().strip_prefix("# => ") {
            Some(text) => {
                if script.ends_with(&format!("{CHECK}'\n")) {
                    expected.last_mut().expect("a group").push(text);
                } else {
                    script.push_str(&format!("printf '\\n%s\\n' '{CHECK}'\n"));
                    expected.push(vec![text]);
                }
            }
            None => {
                script.push_str(&line.replace(DOCUMENTED_URL, &url));
                script.push('\n');
            }
        }
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = Command::new("bash").args(["-c", &script]).current_dir(dir.path()).output().expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{path}: the commands failed ({}):\n{stdout}\n{stderr}", out.status);
    let segments: Vec<&str> = stdout.split(&format!("\n{CHECK}\n")).collect();
    assert_eq!(segments.len(), expected.len() + 1, "{path}: every check ran:\n{stdout}");
    for (segment, lines) in segments.iter().zip(&expected) {
        let mut rest = *segment;
        for line in lines {
            let at = rest
                .find(line)
                .unwrap_or_else(|| panic!("{path}: expected `{line}` in\n{segment}\n--- all output ---\n{stdout}"));
            rest = &rest[at + line.len()..];
        }
    }
    server.assert_alive();
}

#[test]
fn readme_commands_run_as_written() {
    run_shell_blocks("README.md");
}

#[test]
fn frontend_guide_commands_run_as_written() {
    run_shell_blocks("docs/FRONTEND.md");
}

/// The runbook's SQL for this run's backend, by name.
fn runbook_sql(name: &str) -> String {
    let wanted = match backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let blocks = tested_blocks(&read_doc("docs/RUNBOOKS.md"), "sql");
    for block in &blocks {
        let known = ["revoke-user", "revoke-everyone", "bcrypt-accounts", "hash-census", "retire-old-keys"];
        assert!(
            block.info.len() == 4 && known.contains(&block.info[3].as_str()),
            "an SQL block this test does not run: {:?}",
            block.info
        );
    }
    let mut found = blocks.into_iter().filter(|b| b.info[2] == wanted && b.info[3] == name);
    let block = found.next().unwrap_or_else(|| panic!("RUNBOOKS.md has no `sql tested {wanted} {name}` block"));
    assert!(found.next().is_none(), "two `{wanted} {name}` blocks");
    block.code
}

fn sign_in(server: &Server, email: &str) -> String {
    let resp = server.send(post("/api/auth/sign-in/email").json(&json!({ "email": email, "password": PASSWORD })));
    assert_status(&resp, 200);
    resp.json()["token"].as_str().expect("a token").to_owned()
}

#[test]
fn runbook_sql_does_what_it_says() {
    let server = Server::start();
    let db = server.database();
    for email in ["user@example.com", "other@example.com", "third@example.com"] {
        server.signup_ok(email, PASSWORD);
    }
    let users = [sign_in(&server, "user@example.com"), sign_in(&server, "user@example.com")];
    let other = sign_in(&server, "other@example.com");

    db.execute(&runbook_sql("revoke-user"), &[]);
    for token in &users {
        assert_invalid_token(&server.me_bearer(token));
    }
    assert_status(&server.me_bearer(&other), 200);
    // Revoked sessions are gone from the user's list too; a new sign-in works.
    let fresh = sign_in(&server, "user@example.com");
    let list = server.send(get("/api/auth/list-sessions").bearer(&fresh));
    assert_eq!(list.json().as_array().map(Vec::len), Some(1));

    db.execute(&runbook_sql("revoke-everyone"), &[]);
    for token in [&fresh, &other] {
        assert_invalid_token(&server.me_bearer(token));
    }

    // A bcrypt hash as the seed's backend left it ("password", cost 4).
    let bcrypt = "$2b$04$eI5CnFNdbbM7c1KhQNiLdOB/XGePq0OtoF1e5vYzMumHHbdXkP3q2";
    db.execute(&format!("UPDATE users SET password_hash = '{bcrypt}' WHERE email = 'other@example.com'"), &[]);
    let listed = db.query(&runbook_sql("bcrypt-accounts"), &[]);
    assert_eq!(listed, vec![vec![Some("other@example.com".to_owned())]]);
    let census = db.query(&runbook_sql("hash-census"), &[]);
    assert_eq!(
        census,
        vec![
            vec![Some("m=19456,t=2,p=1".to_owned()), Some("2".to_owned())],
            vec![Some("bcrypt".to_owned()), Some("1".to_owned())]
        ],
        "the OWASP policy of the test server, and the carried-over bcrypt account"
    );
}

#[test]
fn runbook_secret_rotation_keeps_sessions_then_retires_the_old_secret() {
    let mut server = Server::start();
    server.signup_ok("rotate@example.com", PASSWORD);
    let before = sign_in(&server, "rotate@example.com");
    // Step 2: the current secret moves to JWT_SECRET_PREVIOUS, a new one signs.
    let new_secret = "a-new-secret-from-openssl-rand-base64-32-Zq9";
    server.restart_with("JWT_SECRET_PREVIOUS", TEST_SECRET);
    server.restart_with("JWT_SECRET", new_secret);
    assert_status(&server.me_bearer(&before), 200);
    let after = sign_in(&server, "rotate@example.com");
    let signed_with = |token: &str, secret: &str| {
        let (input, signature) = token.rsplit_once('.').expect("a compact JWT");
        signature == jwt::b64(&jwt::hmac("HS256", secret.as_bytes(), input.as_bytes()))
    };
    assert!(signed_with(&before, TEST_SECRET) && signed_with(&after, new_secret), "only the new secret signs");
    // Step 3: the previous secret goes; its tokens with it.
    server.restart_with("JWT_SECRET_PREVIOUS", "");
    assert_invalid_token(&server.me_bearer(&before));
    assert_status(&server.me_bearer(&after), 200);
}

#[test]
fn runbook_leaked_secret_rotation_signs_everybody_out() {
    let mut server = Server::start();
    server.signup_ok("leak@example.com", PASSWORD);
    let before = sign_in(&server, "leak@example.com");
    server.restart_with("JWT_SECRET", "a-new-secret-from-openssl-rand-base64-32-Zq9");
    assert_invalid_token(&server.me_bearer(&before));
    let after = sign_in(&server, "leak@example.com");
    assert_status(&server.me_bearer(&after), 200);
}

#[test]
fn runbook_key_rotation_signs_nobody_out_and_the_leak_procedure_retires_the_old_keys() {
    let mut server = Server::builder().env("JWT_ALGORITHM", "EdDSA").start();
    server.signup_ok("keys@example.com", PASSWORD);
    let first = sign_in(&server, "keys@example.com");
    let old_kid = jwt::header_of(&first)["kid"].as_str().expect("a kid").to_owned();
    assert_eq!(server.run_command(&["keys", "current"]).trim(), old_kid);

    // The scheduled rotation: a new key signs, the old one's tokens keep working.
    let new_kid = server.run_command(&["keys", "rotate"]).trim().to_owned();
    assert_ne!(new_kid, old_kid);
    let second = sign_in(&server, "keys@example.com");
    assert_eq!(jwt::header_of(&second)["kid"], new_kid.as_str());
    assert_status(&server.me_bearer(&first), 200);

    // With a secret rotation: the key is rotated while the previous secret is still set, so
    // the hosts can sign once it goes.
    let new_secret = "a-new-secret-from-openssl-rand-base64-32-Zq9";
    server.restart_with("JWT_SECRET_PREVIOUS", TEST_SECRET);
    server.restart_with("JWT_SECRET", new_secret);
    assert_status(&server.me_bearer(&sign_in(&server, "keys@example.com")), 200);
    let sealed_under_new = server.run_command(&["keys", "rotate"]).trim().to_owned();
    server.restart_with("JWT_SECRET_PREVIOUS", "");
    let third = sign_in(&server, "keys@example.com");
    assert_eq!(jwt::header_of(&third)["kid"], sealed_under_new.as_str());

    // A leak: every key but the newest goes, and with them every token they signed.
    server.database().execute(&runbook_sql("retire-old-keys"), &[]);
    for token in [&first, &second] {
        assert_invalid_token(&server.me_bearer(token));
    }
    assert_status(&server.me_bearer(&third), 200);
    let set = server.send(get("/.well-known/jwks.json")).json();
    let kids: Vec<&str> = set["keys"].as_array().expect("keys").iter().filter_map(|k| k["kid"].as_str()).collect();
    assert_eq!(kids, [sealed_under_new.as_str()]);
}

#[test]
fn the_backend_guides_make_targets_do_what_ours_do() {
    let dry_run = |target: &str| {
        let out = Command::new("make")
            .args(["--dry-run", "--always-make", "--no-print-directory", target])
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
            .output()
            .expect("make runs");
        assert!(out.status.success(), "make {target}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    for (theirs, ours) in [("backend-migrate", "migrate"), ("backend-dev", "dev"), ("backend-test", "test")] {
        let commands = dry_run(theirs);
        assert!(commands.contains("cargo"), "make {theirs} runs something: {commands}");
        assert_eq!(commands, dry_run(ours), "make {theirs} does what make {ours} does");
    }
    let install = dry_run("backend-install");
    assert!(install.contains("wasm32-wasip2") && install.contains("build --release -p itsor"), "{install}");
}
