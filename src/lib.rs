//! imprimatur decides what may be printed: it verifies signed reviews of docs-as-code pages
//! against each space's policy and publishes only approved versions.
//!
//! The folders are floors, and each imports only the floors below it (README, "Map";
//! `tests/floors.rs` checks it):
//!
//! - ground — `fs` (reads beneath a folder, atomic writes, fingerprints), `error` (typed
//!   errors and their exit codes), `escape`, `progress` (the phases a person waits on, counted
//!   for the CLI to show), `time`, `timings`, `yaml`.
//! - `trust/` — what a version is (`version`, `store`), who signs (`keyring`, `keyfile`;
//!   passkeys through `webauthn`), what they signed (`record`), the rules (`policy`,
//!   `authority`, and `reachable`: can anyone still complete each step), and the pure review
//!   engine that replays records into each page's state and live version (`review`).
//! - `cache/` — what one run lends the next, and who can write each kept file.
//! - `site/` — a site on disk (`config`, `content`) judged at one `now`: every page's
//!   `Judgement`, with URLs resolved.
//! - `workflow/` — actions on a judged site: the signing commands (`sign`) write records
//!   through the same rules, `restore` puts an earlier version back as the draft,
//!   `governance` holds the admins' changes to the trust root and keyring, `keyring` adds
//!   reviewers and keys to it from key files, and `git` lands the team review server's
//!   records (commit, push, pull).
//! - `publish/` — render the live versions (`markdown`, `links`, `theme`, `render`) and
//!   replace `output/` atomically (`output`), in `build`.
//! - `report/` — status, findings, dashboard, outdated list, notifications outbox, page log.
//! - `notify/`, `serve/` — deliver the outbox once each; serve the site and review pages.
//! - `cli/` — clap's arguments, one checked invocation, one small file per subcommand.

pub(crate) mod cache;
pub mod cli;
pub mod error;
pub(crate) mod escape;
pub(crate) mod fs;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub(crate) mod notify;
pub mod progress;
pub(crate) mod publish;
pub(crate) mod report;
pub(crate) mod serve;
pub mod site;
pub mod time;
pub(crate) mod timings;
pub mod trust;
pub mod workflow;
pub(crate) mod yaml;

pub use error::{Error, Result};

/// What integration tests and outside tools build on: the formats and the build lock.
pub use publish::output::BuildLock;
