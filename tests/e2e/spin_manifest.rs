//! `spin.toml` (SQLite) and `spin-postgres.toml` (PostgreSQL) and the component agree:
//! every variable the component reads is declared with the host's default (secrets marked
//! secret, never defaulted to a value), mapped into the component, and nothing else; the
//! SQLite manifest gives only the `default` database and no outbound hosts, the PostgreSQL
//! one no SQLite database and exactly the database host; both route every path the component
//! serves ([`itsor_http::served_paths`]) and nothing else;
//! README's `spin up` applies every migration. Spin itself is not installable here, so this
//! is what keeps the manifests honest between releases.

use itsor_accounts::config::VARIABLES;
use toml::Value;

/// The manifests, and what each may declare beyond the component's variables.
const MANIFESTS: &[(&str, &[&str])] = &[("spin.toml", &[]), ("spin-postgres.toml", &["database_host"])];

fn manifest(name: &str) -> Value {
    let path = format!("{}/../{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name} at the repository root: {e}"));
    Value::Table(toml::from_str::<toml::Table>(&text).unwrap_or_else(|e| panic!("{name} is not valid TOML: {e}")))
}

#[test]
fn declares_every_variable_with_the_hosts_default() {
    for (name, extra) in MANIFESTS {
        let manifest = manifest(name);
        assert_eq!(manifest["spin_manifest_version"].as_integer(), Some(2), "{name}");
        let declared = manifest["variables"].as_table().expect("[variables]");
        let component = manifest["component"]["itsor"]["variables"].as_table().expect("[component.itsor.variables]");
        for variable in VARIABLES {
            let entry =
                declared.get(variable.name).unwrap_or_else(|| panic!("{name}: {} is not declared", variable.name));
            let required = entry.get("required").and_then(Value::as_bool) == Some(true);
            if variable.secret {
                assert_eq!(
                    entry.get("secret").and_then(Value::as_bool),
                    Some(true),
                    "{name}: {} must be secret",
                    variable.name
                );
            }
            match (variable.secret, variable.default) {
                // A secret with a development default (`jwt_secret`) must be given.
                (true, Some(_)) => {
                    assert!(required, "{name}: {} must be required", variable.name);
                    assert!(entry.get("default").is_none(), "{name}: {} must have no default", variable.name);
                }
                // An optional secret (`database_url`): required where the manifest needs it.
                (true, None) => assert!(
                    required || entry.get("default").and_then(Value::as_str) == Some(""),
                    "{name}: {} must be required or default to \"\"",
                    variable.name
                ),
                // Spin needs a default for every optional variable; unset means "".
                (false, default) => assert_eq!(
                    entry.get("default").and_then(Value::as_str),
                    Some(default.unwrap_or("")),
                    "{name}: default of {}",
                    variable.name
                ),
            }
            let mapped = component.get(variable.name).and_then(Value::as_str);
            assert_eq!(
                mapped,
                Some(format!("{{{{ {} }}}}", variable.name).as_str()),
                "{name}: {} is not mapped",
                variable.name
            );
        }
        for only_manifest in *extra {
            assert!(declared.contains_key(*only_manifest), "{name}: {only_manifest} is not declared");
        }
        assert_eq!(
            declared.len(),
            VARIABLES.len() + extra.len(),
            "{name} declares variables the component does not read"
        );
        assert_eq!(component.len(), VARIABLES.len(), "{name}");
    }
}

#[test]
fn serves_every_prefix_from_the_built_component_with_only_its_database() {
    for (name, _) in MANIFESTS {
        let manifest = manifest(name);
        let routes: Vec<&str> = manifest["trigger"]["http"]
            .as_array()
            .expect("[[trigger.http]]")
            .iter()
            .inspect(|trigger| assert_eq!(trigger["component"].as_str(), Some("itsor")))
            .filter_map(|trigger| trigger["route"].as_str())
            .collect();
        // Spin matches a route exactly, or by prefix where it ends in `/...`.
        let matches = |route: &str, path: &str| match route.strip_suffix("/...") {
            Some(prefix) => path.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('/')),
            None => route == path,
        };
        let served = itsor_http::served_paths();
        for (path, _) in &served {
            assert!(routes.iter().any(|route| matches(route, path)), "{name}: no route reaches {path}");
        }
        for route in &routes {
            assert!(served.iter().any(|(path, _)| matches(route, path)), "{name}: {route} reaches no served path");
        }
        let component = &manifest["component"]["itsor"];
        assert_eq!(component["source"].as_str(), Some("target/wasm32-wasip2/component/itsor_auth.wasm"), "{name}");
        let build = component["build"]["command"].as_str().expect("a build command");
        for part in ["-p itsor-auth", "--target wasm32-wasip2", "--profile component", "--target-dir target"] {
            assert!(build.contains(part), "{name}: the build command lacks {part}: {build}");
        }
    }
    let sqlite = &manifest("spin.toml")["component"]["itsor"];
    assert_eq!(sqlite["sqlite_databases"].as_array().map(Vec::len), Some(1));
    assert_eq!(sqlite["sqlite_databases"][0].as_str(), Some("default"));
    assert_eq!(sqlite["allowed_outbound_hosts"].as_array().map(Vec::len), Some(0));
    let postgres = manifest("spin-postgres.toml");
    let component = &postgres["component"]["itsor"];
    assert!(component.get("sqlite_databases").is_none_or(|d| d.as_array().is_some_and(Vec::is_empty)));
    let hosts: Vec<&str> = component["allowed_outbound_hosts"]
        .as_array()
        .expect("allowed_outbound_hosts")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(hosts, ["postgres://{{ database_host }}"]);
    assert_eq!(postgres["variables"]["database_url"]["required"].as_bool(), Some(true));
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
