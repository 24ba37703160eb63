//! The phases of a command a person may wait on — reading the site, verifying its records,
//! rendering its pages — told to whoever shows progress. The floors that do the work only
//! count (`begin`, `advance` per item, `end` with the counts); the CLI decides what a person
//! sees (`cli::progress`: a bar on a terminal, one line per phase in a CI log), so no floor
//! below it prints or reads the clock for this.

/// A phase of `build`, `status` or `verify` that grows with the site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Reading `content/` and `approvals/records/` (pages and record files).
    Read,
    /// Checking every record's signature and authority.
    Verify,
    /// Rendering every published page (or, for `--drafts`, every page).
    Render,
}

impl Phase {
    /// The name a person sees, first on the phase's line (`render: 1180 pages in 2.31 s`).
    pub fn name(self) -> &'static str {
        match self {
            Phase::Read => "read",
            Phase::Verify => "verify",
            Phase::Render => "render",
        }
    }

    /// What `advance` counts in this phase.
    pub fn unit(self) -> &'static str {
        match self {
            Phase::Read | Phase::Render => "pages",
            Phase::Verify => "records",
        }
    }

    /// Its place in `[_; Phase::ALL.len()]` tables.
    pub fn index(self) -> usize {
        self as usize
    }

    pub const ALL: [Phase; 3] = [Phase::Read, Phase::Verify, Phase::Render];
}

/// Whoever watches a command's phases. Items of a phase are done in parallel, so `advance` is
/// called from many threads, once per item: it must cost no more than an atomic add.
pub trait Progress: Sync {
    /// `phase` begins, with `total` items when they are known in advance.
    fn begin(&self, _phase: Phase, _total: Option<u64>) {}
    /// One item of `phase` is done.
    fn advance(&self, _phase: Phase) {}
    /// `phase` ended; `counts` says what it went through (`[(1204, "pages"), (3310,
    /// "records")]`).
    fn end(&self, _phase: Phase, _counts: &[(u64, &str)]) {}
}

/// Nobody watches: `serve`, `init` and the library's own callers.
pub struct Unwatched;

impl Progress for Unwatched {}
