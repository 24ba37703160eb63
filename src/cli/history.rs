//! `imprimatur history PAGE`: every version of a page, its state, approvers and live times.

use std::io::Write;
use std::path::Path;

use super::{load_site, print, Format, EXIT_OK};
use crate::error::Result;
use crate::report::Style;
use crate::time::Instant;

pub fn history(
    site_root: &Path,
    now: Instant,
    format: Format,
    page: &str,
    out: &mut dyn Write,
) -> Result<i32> {
    let site = load_site(site_root)?;
    let history = crate::site::history::page_history(&site, now, page)?;
    match format {
        Format::Json => {
            let mut json = serde_json::to_string_pretty(&history).expect("history serializes");
            json.push('\n');
            print(out, &json)?
        }
        Format::Text => print(out, &history.to_text(&Style::detect()))?,
    }
    Ok(EXIT_OK)
}
