//! `imprimatur log PAGE`: every record about one page, and whether it counted.

use std::io::Write;
use std::path::Path;

use super::{print, Format, EXIT_OK};
use crate::error::Result;
use crate::report::Style;
use crate::site::Site;
use crate::time::Instant;

/// `imprimatur log PAGE`.
pub fn log(
    site_root: &Path,
    now: Instant,
    format: Format,
    page: &str,
    out: &mut dyn Write,
) -> Result<i32> {
    let site = Site::load(site_root)?;
    let log = crate::report::log::page_log(&site, now, page)?;
    match format {
        Format::Json => {
            let mut json = serde_json::to_string_pretty(&log).expect("logs serialize");
            json.push('\n');
            print(out, &json)?
        }
        Format::Text => print(out, &log.to_text(&Style::detect()))?,
    }
    Ok(EXIT_OK)
}
