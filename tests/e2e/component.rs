//! The component's surface: what it imports and exports, read from the built `.wasm`.
//!
//! The promise that one file runs in our host, under Spin and in any component host rests
//! on importing nothing beyond WASI 0.2 and the three synchronous Spin interfaces. This fails the build
//! the day a dependency starts pulling in, say, `wasi:filesystem` or outgoing HTTP.

use wasmtime::component::Component;
use wasmtime::{Config, Engine};

/// The `.wasm` the `itsor` binary under test serves.
fn component_path() -> std::path::PathBuf {
    match std::env::var_os("ITSOR_COMPONENT") {
        Some(path) => path.into(),
        None => itsor::default_component_path(Some(std::path::Path::new(env!("CARGO_BIN_EXE_itsor")))),
    }
}

/// WASI 0.2 packages whose every interface the component may import, at any 0.2.x.
const WASI_PACKAGES: &[&str] = &["wasi:cli", "wasi:clocks", "wasi:random", "wasi:io"];
/// Single WASI 0.2 interfaces allowed (any 0.2.x): the types of the exported HTTP handler.
const WASI_INTERFACES: &[&str] = &["wasi:http/types"];
/// The Spin interfaces, at exactly these versions.
const SPIN_IMPORTS: &[&str] =
    &["spin:sqlite/sqlite@3.0.0", "spin:postgres/postgres@4.0.0", "fermyon:spin/variables@2.0.0"];
/// Exports that must be there: the HTTP handler both ways (`wasi:http` for Spin, typed for
/// `itsor serve`) and the typed API.
const REQUIRED_EXPORTS: &[&str] = &[
    "wasi:http/incoming-handler@0.2.0",
    "itsor:auth/http-handler@0.2.0",
    "itsor:auth/accounts@0.2.0",
    "itsor:auth/signing-keys@0.2.0",
];

fn surface() -> (Vec<String>, Vec<String>) {
    let mut config = Config::new();
    config.wasm_component_model(true);
    let engine = Engine::new(&config).expect("engine");
    let component = Component::from_file(&engine, component_path()).expect("the component compiles");
    let ty = component.component_type();
    let imports = ty.imports(&engine).map(|(name, _)| name.to_owned()).collect();
    let exports = ty.exports(&engine).map(|(name, _)| name.to_owned()).collect();
    (imports, exports)
}

fn allowed(import: &str) -> bool {
    if SPIN_IMPORTS.contains(&import) {
        return true;
    }
    let Some((interface, version)) = import.split_once('@') else { return false };
    let package = interface.split_once('/').map_or(interface, |(package, _)| package);
    version.starts_with("0.2.") && (WASI_PACKAGES.contains(&package) || WASI_INTERFACES.contains(&interface))
}

#[test]
fn imports_only_wasi_0_2_and_the_three_spin_interfaces() {
    let (imports, _) = surface();
    eprintln!("component imports: {imports:#?}");
    let stray: Vec<&String> = imports.iter().filter(|import| !allowed(import)).collect();
    assert!(stray.is_empty(), "imports outside the allow-list: {stray:?}");
    for needed in SPIN_IMPORTS {
        assert!(imports.iter().any(|i| i == needed), "{needed} is not imported: {imports:?}");
    }
}

#[test]
fn exports_the_http_handler_and_the_typed_api() {
    let (_, exports) = surface();
    eprintln!("component exports: {exports:#?}");
    for needed in REQUIRED_EXPORTS {
        assert!(exports.iter().any(|e| e == needed), "{needed} is not exported: {exports:?}");
    }
}

#[test]
fn the_allow_list_rejects_what_it_should() {
    for import in [
        "wasi:filesystem/types@0.2.0",
        "wasi:sockets/tcp@0.2.0",
        "wasi:http/outgoing-handler@0.2.0",
        "wasi:cli/environment@0.3.0",
        "spin:sqlite/sqlite@2.0.0",
        "itsor:auth/types@0.2.0",
    ] {
        assert!(!allowed(import), "{import}");
    }
    for import in
        ["wasi:cli/environment@0.2.0", "wasi:io/streams@0.2.6", "wasi:http/types@0.2.4", "spin:sqlite/sqlite@3.0.0"]
    {
        assert!(allowed(import), "{import}");
    }
}

/// jsonwebtoken's ready-made crypto backend would bring RSA, ECDSA and `getrandom` 0.2,
/// and with it the whole WASI preview-1 adapter: one more core module instantiated for every
/// request, and a component twice the size. `itsor-accounts` installs an HMAC-only provider
/// instead; this keeps it that way.
#[test]
fn embeds_no_preview_1_adapter() {
    let bytes = std::fs::read(component_path()).expect("read the component");
    let needle = b"wasi_snapshot_preview1";
    assert!(
        !bytes.windows(needle.len()).any(|window| window == needle),
        "the component embeds the WASI preview-1 adapter: a dependency calls preview-1 WASI \
         (jsonwebtoken's `rust_crypto` feature, getrandom 0.2, ...)"
    );
}

/// Spin 4.0.2's published WIT files that `wit/deps/` copies, with the SHA-256 of each as
/// published (`git show v4.0.2:<path> | sha256sum` in spinframework/spin): an edited copy
/// would let the component and Spin disagree on names or types.
const SPIN_WIT: &[(&str, &str, &str)] = &[
    (
        "spin-postgres@4.0.0/postgres.wit",
        "wit/deps/spin-postgres@4.0.0/postgres.wit",
        "a5c11ba0962812b670d52ab0dbdab5af0df1a460f671cdf5157cbe8e0abf8b8f",
    ),
    (
        "spin-sqlite@3.0.0/sqlite.wit",
        "wit/deps/spin-sqlite@3.0.0/sqlite.wit",
        "c019c0d0c19617ceac35081008f1b8cd5811d7582faddddf51cfdbfd08a210ae",
    ),
    (
        "spin-variables@2.0.0/variables.wit",
        "wit/deps/spin@2.0.0/variables.wit",
        "eefddabbedf8f71899ffc6a1499ed4b5ed0d2d4dbff1aa40525b8eb2a743fff2",
    ),
];

#[test]
fn the_spin_wit_is_spins_published_files_verbatim() {
    use sha2::{Digest, Sha256};
    for (ours, theirs, sha256) in SPIN_WIT {
        let path = format!("{}/../wit/deps/{ours}", env!("CARGO_MANIFEST_DIR"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let digest: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(&digest, sha256, "wit/deps/{ours} differs from Spin 4.0.2's {theirs}");
    }
}
