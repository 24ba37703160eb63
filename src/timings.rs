//! Where a build's time goes, for whoever profiles it: with `IMPRIMATUR_TIMINGS=1` in the
//! environment, each named phase prints `timing: <phase> <ms> ms, cpu <ms> ms, rss <MiB> MiB,
//! peak <MiB> MiB` to standard error when it ends: its wall time, the CPU time all threads of
//! the process spent meanwhile (twice the wall time is both cores busy on this machine), and
//! the resident and peak resident memory of the process then, from `/proc/self/status`. Off by default, and nothing else changes either way
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
    /// When it started, by the wall clock and by the process's CPU clock.
    started: Option<(Instant, std::time::Duration)>,
}

pub(crate) fn phase(name: &'static str) -> Phase {
    Phase {
        name,
        started: enabled().then(|| (Instant::now(), cpu_time())),
    }
}

/// The CPU time of every thread of this process so far (zero where it is not read).
fn cpu_time() -> std::time::Duration {
    #[cfg(target_os = "linux")]
    {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
        std::time::Duration::new(
            u64::try_from(t.tv_sec).unwrap_or(0),
            u32::try_from(t.tv_nsec).unwrap_or(0),
        )
    }
    #[cfg(not(target_os = "linux"))]
    std::time::Duration::ZERO
}

impl Drop for Phase {
    fn drop(&mut self) {
        if let Some((started, cpu)) = self.started {
            let (rss, peak) = memory_mib();
            eprintln!(
                "timing: {} {} ms, cpu {} ms, rss {rss} MiB, peak {peak} MiB",
                self.name,
                started.elapsed().as_millis(),
                cpu_time().saturating_sub(cpu).as_millis()
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
