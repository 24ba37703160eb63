//! `imprimatur notify [--dry-run]`: judge the site and deliver every notification that is due
//! through the channels of `imprimatur.yaml`, each once (`crate::notify`).

use std::io::Write;
use std::path::Path;

use super::{load_site, print, Format, EXIT_OK};
use crate::error::Result;
use crate::time::Instant;

/// Something due was not delivered (a channel down, a secret missing): it is tried again on
/// the next run; everything else went out.
pub const EXIT_DELIVERY_FAILED: i32 = 4;

pub fn notify(
    site_root: &Path,
    now: Instant,
    dry_run: bool,
    format: Format,
    out: &mut dyn Write,
) -> Result<i32> {
    let site = load_site(site_root)?;
    let eval = site.evaluate(now, &site.config.audiences);
    let report = crate::notify::run(&site, &eval, dry_run)?;
    match format {
        Format::Json => {
            let mut json = serde_json::to_string_pretty(&report).expect("a report serializes");
            json.push('\n');
            print(out, &json)?;
        }
        Format::Text => print(out, &report.to_text())?,
    }
    Ok(if report.failed() {
        EXIT_DELIVERY_FAILED
    } else {
        EXIT_OK
    })
}
