//! What each subcommand does, in terms of the library (SPEC §8), one small file each.
//! `args` is the command line as clap reads it, `invocation` checks it once and runs it;
//! `main.rs` only calls the two. Every command returns the code it wants (0, 3 for findings,
//! 4 for a failed delivery) or an `Error`, which carries its own (`Error::code`: 1, or 2 for
//! usage).

mod args;
mod build;
mod completions;
mod governance;
mod history;
mod inbox;
mod init;
mod invocation;
mod log;
mod notify;
mod progress;
mod restore;
mod serve;
mod sign;
mod status;
mod submit;
mod whoami;

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};
use crate::site::config::SiteConfig;
use crate::site::Site;
use crate::time::{self, Instant};

pub use args::LowArgs;
pub use build::{build, BuildOptions};
pub use completions::{completions, man};
pub use governance::{
    audit, governance_sign, governance_status, keyring_add, keyring_revoke, root_new, root_sign,
    KeyringAdd,
};
pub use history::history;
pub use inbox::{inbox, Who};
pub use init::init;
pub use invocation::{run, Invocation};
pub use log::{log, LogFilter, LogFormat};
pub use notify::{notify, EXIT_DELIVERY_FAILED};
pub use restore::restore;
pub use serve::{serve, ServeOptions};
pub use sign::{keygen, keygen_ssh, sign};
pub use status::{status, status_mine, verify, StatusOptions};
pub use submit::{parse_assign, parse_reviewer_list, submit_changed};
pub use whoami::whoami;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

pub const EXIT_OK: i32 = 0;
pub const EXIT_FINDINGS: i32 = 3;

pub fn resolve_now(flag: Option<&str>) -> Result<Instant> {
    time::resolve_now(flag).map_err(Error::Usage)
}

/// The site at `site_root`, loaded with its `notifications:` section checked too: the site
/// floor keeps that section unparsed for `notify`, and a section `notify` would refuse fails
/// every command that loads the site, as any other config error does.
fn load_site(site_root: &Path) -> Result<Site> {
    load_site_watched(site_root, &crate::progress::Unwatched)
}

/// [`load_site`], telling `progress` of the read.
fn load_site_watched(site_root: &Path, progress: &dyn crate::progress::Progress) -> Result<Site> {
    let site = Site::load_watched(site_root, progress)?;
    crate::notify::config::load(&site.config)?;
    Ok(site)
}

/// For the commands that load the site below the CLI (`build`, the signing commands, `keyring
/// revoke`): refuses a `notifications:` section `notify` would refuse. A config that does not
/// load is left for the command's own load to report, with its own message.
fn check_notifications(site_root: &Path) -> Result<()> {
    match SiteConfig::load(site_root) {
        Ok(config) => crate::notify::config::load(&config).map(drop),
        Err(_) => Ok(()),
    }
}

fn print(out: &mut dyn Write, text: &str) -> Result<()> {
    out.write_all(text.as_bytes())
        .map_err(|e| Error::io("<stdout>", e))
}
