//! The machine: what it is (for the report) and whether it is quiet enough to measure.
//!
//! Before every measured run [`wait_until_quiet`] looks for compilers (`cargo`, `rustc`,
//! linkers) other than the bench's own ancestors, and samples `/proc/stat` for half a
//! second while the servers are idle. If either shows someone else working it waits and
//! tries again, up to a limit; a run that had to start anyway is flagged in the report.

use std::collections::HashSet;
use std::time::Duration;

/// Process names that mean "a build is running".
const BUILDERS: &[&str] = &["cargo", "rustc", "cc", "cc1", "ld", "lld", "clang", "rust-lld", "wasm-ld"];
/// Busy CPU share (all cores) above which the machine is not quiet, in percent.
const BUSY_LIMIT: f64 = 15.0;
/// How many times to wait for quiet before measuring anyway.
const ATTEMPTS: u32 = 60;
/// How long to wait between attempts.
const PAUSE: Duration = Duration::from_secs(5);

/// What the machine is.
#[derive(Debug, Clone)]
pub struct Info {
    /// Logical CPUs.
    pub cpus: usize,
    /// CPU model name.
    pub model: String,
    /// Total memory, GiB.
    pub memory_gib: f64,
    /// Kernel release.
    pub kernel: String,
    /// `wrk` version line.
    pub wrk: String,
}

/// Reads [`Info`] from `/proc` and `wrk -v`.
pub fn info() -> Info {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map_or_else(|| "unknown".to_owned(), |(_, model)| model.trim().to_owned());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_kib: f64 = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0.0);
    let wrk = std::process::Command::new("wrk")
        .arg("-v")
        .output()
        .map(|out| {
            let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
            text.lines().next().unwrap_or("wrk").trim().to_owned()
        })
        .unwrap_or_else(|_| "wrk: not found".to_owned());
    Info {
        cpus: std::thread::available_parallelism().map_or(1, usize::from),
        model,
        memory_gib: memory_kib / (1024.0 * 1024.0),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_owned(),
        wrk,
    }
}

/// How quiet the machine was before a run.
#[derive(Debug, Clone, Copy)]
pub struct Quiet {
    /// Busy share of all CPUs over the sample, percent.
    pub busy_percent: f64,
    /// False if the run started although the machine was not quiet.
    pub quiet: bool,
}

/// Waits (up to [`ATTEMPTS`] × [`PAUSE`]) until no build runs and the CPUs are idle.
pub fn wait_until_quiet() -> Quiet {
    let mut last = Quiet { busy_percent: 0.0, quiet: false };
    for attempt in 0..ATTEMPTS {
        let builders = running_builders();
        let busy = busy_percent(Duration::from_millis(500));
        last = Quiet { busy_percent: busy, quiet: builders.is_empty() && busy < BUSY_LIMIT };
        if last.quiet {
            return last;
        }
        if attempt == 0 || attempt % 6 == 0 {
            eprintln!(
                "  waiting for a quiet machine (CPU {busy:.0}% busy; builds running: {})",
                if builders.is_empty() { "none".to_owned() } else { builders.join(", ") }
            );
        }
        std::thread::sleep(PAUSE);
    }
    eprintln!("  measuring although the machine is not quiet; the report flags this run");
    last
}

/// One-minute load average.
pub fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0.0)
}

/// Names of build processes that are not this process or its ancestors.
fn running_builders() -> Vec<String> {
    let mine = ancestors();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| !mine.contains(pid))
        .filter_map(|pid| {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
            let comm = comm.trim().to_owned();
            BUILDERS.contains(&comm.as_str()).then_some(comm)
        })
        .collect();
    found.sort();
    found.dedup();
    found
}

/// This process and its ancestors (`make bench` runs us through `cargo run`).
fn ancestors() -> HashSet<u32> {
    let mut pids = HashSet::new();
    let mut pid = std::process::id();
    while pid > 1 && pids.insert(pid) {
        let Some(parent) = parent_of(pid) else { break };
        pid = parent;
    }
    pids
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid ...`; comm may contain spaces and parentheses.
    let after = stat.rsplit_once(')')?.1;
    after.split_whitespace().nth(1)?.parse().ok()
}

/// Busy share of all CPUs over `window`, from `/proc/stat`.
fn busy_percent(window: Duration) -> f64 {
    let sample = || -> Option<(u64, u64)> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let fields: Vec<u64> = stat.lines().next()?.split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
        let total: u64 = fields.iter().sum();
        // idle + iowait
        let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
        Some((total, idle))
    };
    let Some((total0, idle0)) = sample() else {
        return 0.0;
    };
    std::thread::sleep(window);
    let Some((total1, idle1)) = sample() else {
        return 0.0;
    };
    let total = total1.saturating_sub(total0);
    if total == 0 {
        return 0.0;
    }
    100.0 * (total - idle1.saturating_sub(idle0).min(total)) as f64 / total as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn we_are_our_own_ancestor_and_not_a_builder() {
        assert!(ancestors().contains(&std::process::id()));
        let busy = busy_percent(Duration::from_millis(50));
        assert!((0.0..=100.0).contains(&busy));
    }
}
