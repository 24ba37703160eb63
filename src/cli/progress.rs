//! What a person waiting on `build`, `status` or `verify` sees on standard error, phase by
//! phase (`crate::progress`): on a terminal, a bar (a spinner while the total is unknown) for
//! each phase still running after a second, redrawn ten times a second and cleared when it
//! ends; anywhere else (a CI log), one line per phase with its counts and time —
//! `render: 1180 pages in 2.31 s`; with `--quiet`, nothing. Items are counted with one atomic
//! add each; only the drawing thread of a shown bar reads the count.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use crate::progress::{Phase, Progress};

/// How long a phase runs before its bar appears: most are over before a bar would help.
const SHOW_AFTER: Duration = Duration::from_secs(1);
/// How often a shown bar is redrawn.
const REDRAW: Duration = Duration::from_millis(100);

/// How progress is shown.
pub(crate) enum Shown {
    /// Bars, drawn by indicatif into `target` (standard error, or a test's terminal).
    Bars {
        target: Box<dyn Fn() -> indicatif::ProgressDrawTarget + Send + Sync>,
        show_after: Duration,
    },
    /// One line per phase, written to `out` as the phase ends.
    Lines(Mutex<Box<dyn Write + Send>>),
    Nothing,
}

/// The phases of one command, shown as `shown` says.
pub(crate) struct Reporter {
    shown: Shown,
    phases: [Slot; Phase::ALL.len()],
}

#[derive(Default)]
struct Slot {
    /// Items done in the phase under way.
    done: Arc<AtomicU64>,
    running: Mutex<Option<Running>>,
}

struct Running {
    started: Instant,
    /// Dropped to stop the drawing thread of a bar, which clears it.
    stop: Option<mpsc::Sender<()>>,
    drawer: Option<std::thread::JoinHandle<()>>,
}

impl Reporter {
    /// For standard error: bars on a terminal, lines anywhere else, nothing when `quiet`.
    pub(crate) fn for_stderr(quiet: bool) -> Reporter {
        let shown = if quiet {
            Shown::Nothing
        } else if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            Shown::Bars {
                target: Box::new(|| indicatif::ProgressDrawTarget::stderr_with_hz(10)),
                show_after: SHOW_AFTER,
            }
        } else {
            Shown::Lines(Mutex::new(Box::new(std::io::stderr())))
        };
        Reporter::new(shown)
    }

    pub(crate) fn new(shown: Shown) -> Reporter {
        Reporter {
            shown,
            phases: Default::default(),
        }
    }

    fn slot(&self, phase: Phase) -> &Slot {
        &self.phases[phase.index()]
    }
}

impl Running {
    /// Stops and clears the phase's bar, if one is drawn; how long the phase ran.
    fn stop(mut self) -> Duration {
        let took = self.started.elapsed();
        drop(self.stop.take());
        if let Some(drawer) = self.drawer.take() {
            // A drawing thread that panicked drew nothing more; the command goes on.
            let _ = drawer.join();
        }
        took
    }
}

impl Progress for Reporter {
    fn begin(&self, phase: Phase, total: Option<u64>) {
        let slot = self.slot(phase);
        slot.done.store(0, Ordering::Relaxed);
        let (stop, drawer) = match &self.shown {
            Shown::Bars { target, show_after } => {
                let (stop, stopped) = mpsc::channel();
                let bar = Bar {
                    phase,
                    total,
                    done: Arc::clone(&slot.done),
                    target: target(),
                    show_after: *show_after,
                };
                let drawer = std::thread::Builder::new()
                    .name(format!("progress: {}", phase.name()))
                    .spawn(move || bar.draw(&stopped))
                    .ok();
                (Some(stop), drawer)
            }
            Shown::Lines(_) | Shown::Nothing => (None, None),
        };
        *lock(&slot.running) = Some(Running {
            started: Instant::now(),
            stop,
            drawer,
        });
    }

    fn advance(&self, phase: Phase) {
        self.slot(phase).done.fetch_add(1, Ordering::Relaxed);
    }

    fn end(&self, phase: Phase, counts: &[(u64, &str)]) {
        let Some(running) = lock(&self.slot(phase).running).take() else {
            return;
        };
        let took = running.stop();
        if let Shown::Lines(out) = &self.shown {
            let line = phase_line(phase, counts, took);
            // Progress is no part of the command's result: a closed stderr loses the line only.
            let _ = lock(out).write_all(line.as_bytes());
        }
    }
}

impl Drop for Reporter {
    /// A phase left running by an error: its bar is cleared before the error is printed.
    fn drop(&mut self) {
        for slot in &self.phases {
            if let Some(running) = lock(&slot.running).take() {
                running.stop();
            }
        }
    }
}

/// `read: 1204 pages, 3310 records in 0.41 s`.
fn phase_line(phase: Phase, counts: &[(u64, &str)], took: Duration) -> String {
    let counts: Vec<String> = counts
        .iter()
        .map(|(n, unit)| format!("{n} {unit}"))
        .collect();
    format!(
        "{}: {} in {:.2} s\n",
        phase.name(),
        counts.join(", "),
        took.as_secs_f64()
    )
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The bar of one phase, drawn on its own thread until told to stop.
struct Bar {
    phase: Phase,
    total: Option<u64>,
    done: Arc<AtomicU64>,
    target: indicatif::ProgressDrawTarget,
    show_after: Duration,
}

impl Bar {
    fn draw(self, stopped: &mpsc::Receiver<()>) {
        // Nothing for a phase that ends within `show_after`.
        if stopped.recv_timeout(self.show_after) != Err(mpsc::RecvTimeoutError::Timeout) {
            return;
        }
        let template = match self.total {
            // Under 80 columns, so it never wraps on a terminal of the usual width.
            Some(_) => "{msg:>6} [{bar:30}] {pos}/{len} {prefix} ({eta} left)",
            None => "{msg:>6} {spinner} {pos} {prefix} ({elapsed})",
        };
        let style = indicatif::ProgressStyle::with_template(template)
            .expect("a valid progress template")
            .progress_chars("=> ");
        let bar = indicatif::ProgressBar::with_draw_target(self.total, self.target)
            .with_style(style)
            .with_message(self.phase.name())
            .with_prefix(self.phase.unit());
        loop {
            bar.set_position(self.done.load(Ordering::Relaxed));
            bar.tick();
            match stopped.recv_timeout(REDRAW) {
                Err(mpsc::RecvTimeoutError::Timeout) => continue,
                _ => break,
            }
        }
        bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A terminal that keeps every line drawn on it.
    #[derive(Debug, Default, Clone)]
    struct Screen(Arc<Mutex<Vec<String>>>);

    impl indicatif::TermLike for Screen {
        fn width(&self) -> u16 {
            100
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            lock(&self.0).push(s.to_string());
            Ok(())
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            self.write_line(s)
        }
        fn clear_line(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Screen {
        /// Everything drawn, once `needle` is among it (redrawn every `REDRAW`; a loaded
        /// machine may take a while to schedule the drawing thread).
        fn wait_for(&self, needle: &str) -> String {
            for _ in 0..100 {
                let drawn = lock(&self.0).join("\n");
                if drawn.contains(needle) {
                    return drawn;
                }
                std::thread::sleep(REDRAW);
            }
            panic!("{needle:?} never drawn: {:?}", lock(&self.0));
        }
    }

    fn on_screen(show_after: Duration) -> (Reporter, Screen) {
        let screen = Screen::default();
        let to = screen.clone();
        let shown = Shown::Bars {
            target: Box::new(move || {
                indicatif::ProgressDrawTarget::term_like(Box::new(to.clone()))
            }),
            show_after,
        };
        (Reporter::new(shown), screen)
    }

    #[test]
    fn on_a_terminal_a_phase_still_running_shows_a_bar_of_its_items() {
        let (reporter, screen) = on_screen(Duration::ZERO);
        reporter.begin(Phase::Render, Some(8));
        for _ in 0..5 {
            reporter.advance(Phase::Render);
        }
        let drawn = screen.wait_for("5/8 pages");
        reporter.end(Phase::Render, &[(8, "pages")]);
        assert!(drawn.contains("render ["), "{drawn}");
        // No summary line on a terminal: the bar is cleared, nothing stays.
        assert!(!drawn.contains("in 0."), "{drawn}");

        // A phase without a total spins.
        reporter.begin(Phase::Read, None);
        reporter.advance(Phase::Read);
        reporter.advance(Phase::Read);
        screen.wait_for(" 2 pages (");
        reporter.end(Phase::Read, &[(2, "pages"), (3, "records")]);
    }

    #[test]
    fn on_a_terminal_a_quick_phase_draws_nothing() {
        let (reporter, screen) = on_screen(Duration::from_secs(60));
        reporter.begin(Phase::Verify, Some(3));
        reporter.advance(Phase::Verify);
        reporter.end(Phase::Verify, &[(3, "records")]);
        assert_eq!(*lock(&screen.0), Vec::<String>::new());
    }

    #[test]
    fn elsewhere_each_phase_is_one_line_of_counts_and_time() {
        assert_eq!(
            phase_line(
                Phase::Read,
                &[(1204, "pages"), (3310, "records")],
                Duration::from_millis(410)
            ),
            "read: 1204 pages, 3310 records in 0.41 s\n"
        );
        assert_eq!(
            phase_line(
                Phase::Render,
                &[(1180, "pages")],
                Duration::from_millis(2310)
            ),
            "render: 1180 pages in 2.31 s\n"
        );
    }
}
