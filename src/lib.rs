//! imprimatur decides what may be printed: it verifies signed reviews of docs-as-code pages
//! against each space's policy and publishes only approved versions.
//!
//! The folders follow the data, one way:
//!
//! - `trust/` — what a version is (`version`, `store`), who signs (`keyring`, `keyfile`;
//!   passkeys through `webauthn`), what they signed (`record`), the rules (`policy`, `authority`), and the pure review
//!   engine that replays records into each page's state and live version (`review`).
//! - `site/` — a site on disk (`config`, `content`) judged at one `now`: every page's
//!   `Judgement`, with URLs resolved.
//! - `workflow/` — actions on a judged site: the signing commands (`sign`) write records
//!   through the same rules, `restore` puts an earlier version back as the draft, and
//!   `governance` holds the admins' changes to the trust root and keyring.
//! - `publish/` — render the live versions (`markdown`, `links`, `theme`, `render`) and
//!   replace `output/` atomically (`output`), in `build`.
//! - `report/` — status, findings, dashboard, outdated list, notifications outbox, page log.
//! - `notify/` — deliver the outbox (e-mail, chat, signed webhook) once each, kept in a ledger.
//! - `cli/` — one small file per subcommand; `main.rs` only parses arguments.
//!
//! `yaml`, `fs` (safe file reads and writes) and `time` serve all of them; `cache` keeps what
//! one run lends the next, and says who can write each kept file.

pub(crate) mod cache;
pub mod cli;
pub mod error;
pub(crate) mod escape;
pub(crate) mod fs;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub(crate) mod notify;
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
