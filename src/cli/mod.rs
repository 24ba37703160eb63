//! What each subcommand does, in terms of the library (SPEC §8), one small file each.
//! `args` is the command line as clap reads it, `invocation` checks it once and runs it;
//! `main.rs` only calls the two. Every command returns the code it wants (0, 3 for findings,
//! 4 for a failed delivery) or an `Error`, which carries its own (`Error::code`: 1, or 2 for
//! usage).

mod args;
mod build;
mod governance;
mod history;
mod inbox;
mod init;
mod invocation;
mod log;
mod notify;
mod restore;
mod serve;
mod sign;
mod status;
mod submit;
mod whoami;

use std::io::Write;

use crate::error::{Error, Result};
use crate::time::{self, Instant};

pub use args::LowArgs;
pub use build::{build, BuildOptions};
pub use governance::{
    audit, governance_sign, governance_status, keyring_revoke, root_new, root_sign,
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
pub use status::{status, status_mine, verify};
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

fn print(out: &mut dyn Write, text: &str) -> Result<()> {
    out.write_all(text.as_bytes())
        .map_err(|e| Error::io("<stdout>", e))
}
