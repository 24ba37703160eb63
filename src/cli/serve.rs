//! `imprimatur serve`: a local preview and review server (see `serve`).

use std::io::Write;

use super::EXIT_OK;
use crate::error::Result;
pub use crate::serve::ServeOptions;

pub fn serve(opts: &ServeOptions, out: &mut dyn Write) -> Result<i32> {
    crate::serve::serve(opts, out)?;
    Ok(EXIT_OK)
}
