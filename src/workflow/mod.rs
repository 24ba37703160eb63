//! Actions on a judged site: what people do to a site once `site/` has read and judged it.
//! Signing a record (`sign`, which replays the page through the same review engine the build
//! asks), putting an earlier version back as the draft (`restore`) and the admins' changes
//! to who may sign (`governance`) each load what they need from the floors below and write
//! through the same safe file writes; the team review server lands each record it writes in
//! git (`git`: commit, push, pull). This floor stands on `site/` and `trust/`; publishing,
//! reports and the CLI stand on it, and it never imports them.

pub(crate) mod git;
pub(crate) mod governance;
pub(crate) mod keyring;
pub(crate) mod restore;
pub mod sign;
