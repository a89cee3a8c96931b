//! `spin.toml` and the component agree: every variable the component reads is declared
//! with the host's default (secrets required and marked secret, never defaulted), mapped
//! into the component, and nothing else; the component gets only the `default` SQLite
//! database, no outbound hosts, and both route prefixes; README's `spin up` applies every
//! migration. Spin itself is not installable here, so this is what keeps the manifest
//! honest between releases.

use itsor_accounts::config::VARIABLES;
use toml::Value;

fn manifest() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../spin.toml");
    let text = std::fs::read_to_string(path).expect("spin.toml at the repository root");
    Value::Table(toml::from_str::<toml::Table>(&text).expect("spin.toml is valid TOML"))
}

#[test]
fn declares_every_variable_with_the_hosts_default() {
    let manifest = manifest();
    assert_eq!(manifest["spin_manifest_version"].as_integer(), Some(2));
    let declared = manifest["variables"].as_table().expect("[variables]");
    let component = manifest["component"]["itsor"]["variables"].as_table().expect("[component.itsor.variables]");
    for variable in VARIABLES {
        let entry = declared.get(variable.name).unwrap_or_else(|| panic!("{} is not declared", variable.name));
        if variable.secret {
            assert_eq!(entry.get("required").and_then(Value::as_bool), Some(true), "{} must be required", variable.name);
            assert_eq!(entry.get("secret").and_then(Value::as_bool), Some(true), "{} must be secret", variable.name);
            assert!(entry.get("default").is_none(), "{} must have no default", variable.name);
        } else {
            // Spin needs a default for every optional variable; unset means "".
            let expected = variable.default.unwrap_or("");
            assert_eq!(entry.get("default").and_then(Value::as_str), Some(expected), "default of {}", variable.name);
        }
        let mapped = component.get(variable.name).and_then(Value::as_str);
        assert_eq!(mapped, Some(format!("{{{{ {} }}}}", variable.name).as_str()), "{} is not mapped", variable.name);
    }
    assert_eq!(declared.len(), VARIABLES.len(), "spin.toml declares variables the component does not read");
    assert_eq!(component.len(), VARIABLES.len());
}

#[test]
fn serves_both_prefixes_from_the_built_component_with_only_its_database() {
    let manifest = manifest();
    let routes: Vec<&str> = manifest["trigger"]["http"]
        .as_array()
        .expect("[[trigger.http]]")
        .iter()
        .inspect(|trigger| assert_eq!(trigger["component"].as_str(), Some("itsor")))
        .filter_map(|trigger| trigger["route"].as_str())
        .collect();
    assert_eq!(routes, ["/auth/...", "/api/..."]);
    let component = &manifest["component"]["itsor"];
    assert_eq!(component["source"].as_str(), Some("target/wasm32-wasip2/component/itsor_auth.wasm"));
    assert_eq!(component["sqlite_databases"].as_array().map(Vec::len), Some(1));
    assert_eq!(component["sqlite_databases"][0].as_str(), Some("default"));
    assert_eq!(component["allowed_outbound_hosts"].as_array().map(Vec::len), Some(0));
    let build = component["build"]["command"].as_str().expect("a build command");
    for part in ["-p itsor-auth", "--target wasm32-wasip2", "--profile component", "--target-dir target"] {
        assert!(build.contains(part), "the build command lacks {part}: {build}");
    }
}

#[test]
fn the_readme_spin_up_command_applies_every_migration_in_order() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).expect("README.md");
    let listed: Vec<&str> = readme
        .lines()
        .filter_map(|line| line.trim().strip_prefix("--sqlite @migrations/"))
        .map(|rest| rest.trim_end_matches('\\').trim().trim_end_matches(".sql"))
        .collect();
    let migrations: Vec<&str> = itsor_accounts::schema::MIGRATIONS.iter().map(|(version, _)| *version).collect();
    assert_eq!(listed, migrations, "README's `spin up --sqlite @migrations/...` list");
}
