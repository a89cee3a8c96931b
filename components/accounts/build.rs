//! Embeds the SQL migrations of `../../migrations` (SQLite) and `../../migrations/postgres`
//! (their PostgreSQL twins) into the crate ([`schema::MIGRATIONS`],
//! [`schema::POSTGRES_MIGRATIONS`]).
//!
//! Writes `$OUT_DIR/migrations.rs` and `$OUT_DIR/postgres_migrations.rs`: each a slice expression of `(name, sql)` pairs, one per
//! `*.sql` file, sorted by file name, each SQL text pulled in with `include_str!` so the
//! binary needs no files at run time. Names are checked at run time (and by a unit test) in
//! the host's `migrate` module; this script only lists files. Cargo re-runs it whenever anything in the
//! folder changes.

use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn Error>> {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").ok_or("CARGO_MANIFEST_DIR unset")?);
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").ok_or("OUT_DIR unset")?);
    println!("cargo:rerun-if-changed=../../migrations");
    println!("cargo:rerun-if-changed=../../migrations/postgres");
    for (folder, out) in [("migrations", "migrations.rs"), ("migrations/postgres", "postgres_migrations.rs")] {
        let code = embed(&manifest_dir, folder)?;
        std::fs::write(out_dir.join(out), code)?;
    }
    Ok(())
}

/// The slice expression of the `*.sql` files in `folder` (relative to the repository).
fn embed(manifest_dir: &Path, folder: &str) -> Result<String, Box<dyn Error>> {
    let dir = manifest_dir.join("../..").join(folder);
    let mut files = Vec::new();
    if dir.is_dir() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|ext| ext == "sql") && path.is_file() {
                let file = path
                    .file_name()
                    .and_then(|s| s.to_str())
                    .ok_or_else(|| format!("migration file name is not UTF-8: {}", path.display()))?;
                let name = file.strip_suffix(".sql").unwrap_or(file);
                files.push((name.to_owned(), file.to_owned()));
            }
        }
    }
    files.sort();

    let mut code = String::from("&[\n");
    // Paths are resolved when the crate compiles, from *its* manifest directory: an
    // absolute path written here would outlive a move of the checkout, or point into
    // another checkout that shares the target directory.
    for (name, file) in &files {
        let path = format!("/../../{folder}/{file}");
        writeln!(code, "    ({name:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), {path:?}))),")?;
    }
    code.push(']');
    Ok(code)
}
