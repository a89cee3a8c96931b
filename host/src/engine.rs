//! The wasmtime [`Engine`], its epoch clock, and the compiled-component cache.
//!
//! # Design
//!
//! **Engine.** One engine for the process, configured for a server that instantiates the
//! component once per request:
//!
//! * the *pooling allocator* pre-reserves one slot per component instance allowed to run
//!   at once (`ITSOR_MAX_CONCURRENT`, at most [`MAX_INSTANCES`]), so instantiation is a few memory-mapping tweaks rather than
//!   fresh `mmap`s; each linear memory may grow to [`MAX_MEMORY_BYTES`]. Linear memories
//!   start from a copy-on-write mapping of the component's data segments
//!   (`memory_init_cow`, wasmtime's default, kept: turning it off costs ~13 % per request);
//! * *resetting a released memory* is the largest per-request cost the engine controls
//!   (see `docs/BENCHMARKS.md`). With Linux's `PAGEMAP_SCAN` ioctl (kernel ≥ 6.7,
//!   [`pagemap_scan`](PoolingAllocationConfig::pagemap_scan) `Auto`), wasmtime asks the
//!   kernel which pages the guest actually wrote and restores only those, in place, up to
//!   [`KEEP_RESIDENT_BYTES`]; anything dirtied beyond that is returned to the OS with
//!   `madvise`. Without the ioctl, the first [`KEEP_RESIDENT_BYTES`] of the memory's
//!   accessible size are restored with `memset` and the rest is decommitted. Either way the
//!   next instance sees exactly the component's initial memory: isolation between requests
//!   does not depend on this setting, only speed and resident memory do. The pages kept
//!   stay resident while the slot is idle (at most [`KEEP_RESIDENT_BYTES`] per slot that
//!   has ever been in use; slots are reused most-recently-freed first, so this follows the
//!   peak number of concurrent requests);
//! * *epoch interruption*: compiled code checks a global epoch counter, which
//!   [`EpochTicker`] advances every [`EPOCH_TICK`]. Each store decides what happens when its
//!   deadline passes (the server's guest run yields to other requests, then traps after a time limit);
//! * async support is always on in wasmtime 48 (the `async` feature), which the per-request
//!   stores rely on.
//!
//! **Compiled-component cache.** Compiling the component with Cranelift takes seconds;
//! loading precompiled code takes milliseconds. [`load_component`] keeps the output of
//! [`Engine::precompile_component`] in a cache directory, named by the hex SHA-256 of the
//! `.wasm` bytes, the engine's [`Engine::precompile_compatibility_hash`] (compiler, target,
//! tunables, enabled features, and wasmtime's exact version) and this crate's version. A
//! changed component or engine therefore never reuses stale code. Files are written to a
//! temporary name and renamed into place, so a cache file is never seen half-written and
//! is never modified once published. Any failure to load a cache file falls back to
//! compiling; any failure to write one only logs a warning. Only the newest
//! [`CACHE_KEEP`] entries are kept.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// Concurrent component instances the pool holds (one per in-flight request).
pub const MAX_INSTANCES: u32 = 1000;
/// Core wasm instances budgeted per component instance (the main module plus the small
/// shim modules `wit-component` generates).
const CORE_INSTANCES_PER_COMPONENT: u32 = 4;
/// Tables budgeted per component instance.
const TABLES_PER_COMPONENT: u32 = 4;
/// The largest a guest linear memory may grow.
pub const MAX_MEMORY_BYTES: usize = 64 << 20;
/// Bytes of each released linear memory restored in place (and kept resident) for the next
/// instance rather than decommitted: a login's Argon2id working set (19 MiB under the OWASP
/// policy) plus the guest's own stack and heap, with room to spare. Measured: `/auth/me`
/// and the 404 gain nothing above a few MiB, logins gain ~10 % CPU from 16 MiB up.
pub const KEEP_RESIDENT_BYTES: usize = 32 << 20;
/// How often the epoch advances.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);
/// How many compiled components the cache keeps.
pub const CACHE_KEEP: usize = 8;
/// File extension of cache entries.
const CACHE_EXTENSION: &str = "cwasm";

/// Builds the process's engine, its pool holding `instances` component instances (kept
/// within 1 and [`MAX_INSTANCES`]; see the module documentation for the settings). Each
/// slot reserves address space for a whole linear memory and its guard, so a pool no
/// larger than the server's concurrency cap reserves only what can be used.
pub fn new_engine(instances: u32) -> anyhow::Result<Engine> {
    let instances = instances.clamp(1, MAX_INSTANCES);
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(instances)
        .total_core_instances(instances * CORE_INSTANCES_PER_COMPONENT)
        .total_memories(instances)
        .total_tables(instances * TABLES_PER_COMPONENT)
        .total_stacks(instances)
        .max_memory_size(MAX_MEMORY_BYTES)
        .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
        .table_keep_resident(64 << 10)
        .pagemap_scan(Enabled::Auto);

    let mut config = Config::new();
    config
        .epoch_interruption(true)
        .parallel_compilation(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Ok(Engine::new(&config)?)
}

/// A background thread advancing the engine's epoch every [`EPOCH_TICK`]; stops when dropped.
#[derive(Debug)]
pub struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl EpochTicker {
    /// Starts ticking `engine`'s epoch.
    pub fn start(engine: &Engine) -> std::io::Result<EpochTicker> {
        let stop = Arc::new(AtomicBool::new(false));
        let engine = engine.clone();
        let flag = Arc::clone(&stop);
        std::thread::Builder::new().name("itsor-epoch".into()).spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        })?;
        Ok(EpochTicker { stop })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Feeds everything a [`Hash`] implementation writes into a SHA-256.
struct ShaHasher<'a>(&'a mut Sha256);

impl Hasher for ShaHasher<'_> {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
    fn finish(&self) -> u64 {
        // Unused: the digest is read from the `Sha256` itself.
        0
    }
}

/// The cache file name (without extension) for `wasm` compiled by `engine`.
pub fn cache_key(engine: &Engine, wasm: &[u8]) -> String {
    let mut sha = Sha256::new();
    sha.update(wasm);
    engine.precompile_compatibility_hash().hash(&mut ShaHasher(&mut sha));
    sha.update(concat!("itsor-", env!("CARGO_PKG_VERSION")).as_bytes());
    hex(&sha.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Loads the component at `wasm_path`, through the cache in `cache_dir` if there is one.
pub fn load_component(engine: &Engine, wasm_path: &Path, cache_dir: Option<&Path>) -> anyhow::Result<Component> {
    let started = Instant::now();
    let wasm = std::fs::read(wasm_path).with_context(|| format!("cannot read component {}", wasm_path.display()))?;
    let Some(dir) = cache_dir else {
        let component = Component::new(engine, &wasm)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("cannot compile component {}", wasm_path.display()))?;
        tracing::info!(cache = "disabled", elapsed_ms = started.elapsed().as_millis(), "component compiled");
        return Ok(component);
    };

    let path = dir.join(format!("{}.{CACHE_EXTENSION}", cache_key(engine, &wasm)));
    if path.is_file() {
        match deserialize_cached(engine, &path) {
            Ok(component) => {
                tracing::info!(
                    cache = "hit",
                    path = %path.display(),
                    elapsed_ms = started.elapsed().as_millis(),
                    "component loaded"
                );
                return Ok(component);
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "ignoring unusable cache entry")
            }
        }
    }

    let compiled = engine
        .precompile_component(&wasm)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("cannot compile component {}", wasm_path.display()))?;
    if let Err(e) = publish(dir, &path, &compiled) {
        tracing::warn!(dir = %dir.display(), error = %e, "cannot write the component cache");
    } else {
        prune(dir, CACHE_KEEP);
    }
    let component = deserialize_fresh(engine, &compiled)?;
    tracing::info!(
        cache = "miss",
        path = %path.display(),
        elapsed_ms = started.elapsed().as_millis(),
        "component compiled"
    );
    Ok(component)
}

/// Loads a cache entry.
#[allow(unsafe_code)]
fn deserialize_cached(engine: &Engine, path: &Path) -> anyhow::Result<Component> {
    // SAFETY: `Component::deserialize_file` requires a file produced by
    // `Engine::precompile_component` (or `Component::serialize`) that is not modified while
    // mapped. Only `publish` writes into the cache directory: it writes the output of
    // `precompile_component` under a temporary name and renames it into place, so every
    // `.cwasm` file is complete and never rewritten (a newer entry is a new inode). The file
    // name binds the entry to this engine's configuration and wasmtime version, and wasmtime
    // itself re-checks the header and refuses code compiled for another configuration.
    Ok(unsafe { Component::deserialize_file(engine, path) }?)
}

/// Loads code that `precompile_component` has just produced in memory.
#[allow(unsafe_code)]
fn deserialize_fresh(engine: &Engine, compiled: &[u8]) -> anyhow::Result<Component> {
    // SAFETY: `compiled` is the unmodified output of `engine.precompile_component` on this
    // very engine, which is exactly what `Component::deserialize` requires.
    Ok(unsafe { Component::deserialize(engine, compiled) }?)
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, then rename.
fn publish(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = temp_name(path);
    let written = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

fn temp_name(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.tmp", std::process::id()));
    path.with_file_name(name)
}

/// Removes all but the `keep` most recently modified cache entries (best effort).
fn prune(dir: &Path, keep: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|ext| ext == CACHE_EXTENSION))
        .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
        .collect();
    files.sort_by_key(|(modified, _)| std::cmp::Reverse(*modified));
    for (_, old) in files.into_iter().skip(keep) {
        let _ = std::fs::remove_file(old);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test.
mod tests {
    use super::*;

    #[test]
    fn the_costliest_password_hash_allowed_fits_the_guest_memory() {
        // The hash's blocks, plus room for the component's own heap, stack and data.
        let hash_bytes = itsor_accounts::config::MAX_PASSWORD_MEMORY_KIB as usize * 1024;
        assert!(hash_bytes + (8 << 20) <= MAX_MEMORY_BYTES);
    }

    /// A minimal valid component: the empty component.
    const EMPTY_COMPONENT: &[u8] = b"\0asm\x0d\0\x01\0";

    /// `(module (memory (export "m") 1))`.
    const MEMORY_MODULE: &[u8] = &[
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // header
        0x05, 0x03, 0x01, 0x00, 0x01, // memory section: one memory, min 1 page
        0x07, 0x05, 0x01, 0x01, b'm', 0x02, 0x00, // export "m" = memory 0
    ];

    #[test]
    fn released_memories_come_back_pristine() {
        // Writes below and above KEEP_RESIDENT_BYTES: the part restored in place and the
        // part decommitted must both read as zero in the next instance of the slot.
        let engine = new_engine(MAX_INSTANCES).unwrap();
        let module = wasmtime::Module::new(&engine, MEMORY_MODULE).unwrap();
        let offsets = [0, 4096, 20 << 20, KEEP_RESIDENT_BYTES + 4096, MAX_MEMORY_BYTES - 1];
        for round in 0..3 {
            let mut store = wasmtime::Store::new(&engine, ());
            let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
            let memory = instance.get_memory(&mut store, "m").unwrap();
            assert_eq!(memory.size(&store), 1, "round {round}: the memory shrank back");
            let pages = (MAX_MEMORY_BYTES >> 16) as u64;
            memory.grow(&mut store, pages - 1).unwrap();
            for &offset in &offsets {
                assert_eq!(memory.data(&store)[offset], 0, "round {round}: byte {offset} leaked");
                memory.data_mut(&mut store)[offset] = 0xA5;
            }
        }
    }

    #[test]
    fn cache_keys_depend_on_the_bytes() {
        let engine = Engine::default();
        let a = cache_key(&engine, b"one");
        assert_eq!(a, cache_key(&engine, b"one"));
        assert_ne!(a, cache_key(&engine, b"two"));
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn cache_keys_depend_on_the_engine() {
        let plain = Engine::default();
        let pooled = new_engine(MAX_INSTANCES).unwrap();
        assert_ne!(cache_key(&plain, b"x"), cache_key(&pooled, b"x"));
    }

    #[test]
    fn components_are_cached_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let wasm = dir.path().join("c.wasm");
        std::fs::write(&wasm, EMPTY_COMPONENT).unwrap();
        let cache = dir.path().join("cache");
        let engine = new_engine(MAX_INSTANCES).unwrap();
        load_component(&engine, &wasm, Some(&cache)).unwrap();
        let entry = cache.join(format!("{}.cwasm", cache_key(&engine, EMPTY_COMPONENT)));
        assert!(entry.is_file());
        load_component(&engine, &wasm, Some(&cache)).unwrap();
        // A corrupt entry is ignored and replaced.
        std::fs::write(&entry, b"garbage").unwrap();
        load_component(&engine, &wasm, Some(&cache)).unwrap();
        assert_ne!(std::fs::read(&entry).unwrap(), b"garbage");
        let leftovers = std::fs::read_dir(&cache).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary files are left behind");
    }

    #[test]
    fn prune_keeps_the_newest_entries() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..5 {
            std::fs::write(dir.path().join(format!("{i}.cwasm")), b"x").unwrap();
            std::thread::sleep(Duration::from_millis(20));
        }
        std::fs::write(dir.path().join("other.txt"), b"x").unwrap();
        prune(dir.path(), 2);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["3.cwasm", "4.cwasm", "other.txt"]);
    }

    #[test]
    fn missing_component_is_an_error() {
        let engine = Engine::default();
        let err = load_component(&engine, Path::new("/nonexistent/x.wasm"), None).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/x.wasm"));
    }
}
