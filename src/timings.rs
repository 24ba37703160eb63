//! Where a build's time goes, for whoever profiles it: with `IMPRIMATUR_TIMINGS=1` in the
//! environment, each named phase prints `timing: <phase> <ms> ms, rss <MiB> MiB, peak <MiB> MiB`
//! to standard error when it ends (the resident and peak resident memory of the process then,
//! from `/proc/self/status`). Off by default, and nothing else changes either way
//! (`bench/README.md`).

use std::sync::OnceLock;
use std::time::Instant;

fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("IMPRIMATUR_TIMINGS").is_some_and(|v| v != "0"))
}

/// A phase under way; prints its duration when dropped (only when timings are on).
pub(crate) struct Phase {
    name: &'static str,
    started: Option<Instant>,
}

pub(crate) fn phase(name: &'static str) -> Phase {
    Phase {
        name,
        started: enabled().then(Instant::now),
    }
}

impl Drop for Phase {
    fn drop(&mut self) {
        if let Some(started) = self.started {
            let (rss, peak) = memory_mib();
            eprintln!(
                "timing: {} {} ms, rss {rss} MiB, peak {peak} MiB",
                self.name,
                started.elapsed().as_millis()
            );
        }
    }
}

/// Resident and peak resident memory of this process in MiB (0 where `/proc` does not say).
fn memory_mib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kib| kib / 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}
