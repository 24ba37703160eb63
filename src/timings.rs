//! Where a build's time goes, for whoever profiles it: with `IMPRIMATUR_TIMINGS=1` in the
//! environment, each named phase prints `timing: <phase> <ms> ms` to standard error when it
//! ends. Off by default, and nothing else changes either way (`bench/README.md`).

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
            eprintln!("timing: {} {} ms", self.name, started.elapsed().as_millis());
        }
    }
}
