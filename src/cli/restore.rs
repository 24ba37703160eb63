//! `imprimatur restore PAGE --version V`: an earlier version back in `content/` as the draft.

use std::io::Write;
use std::path::Path;

use super::{load_site, print, EXIT_OK};
use crate::error::Result;
use crate::time::Instant;

pub fn restore(
    site_root: &Path,
    now: Instant,
    page: &str,
    version: &str,
    force: bool,
    out: &mut dyn Write,
) -> Result<i32> {
    let site = load_site(site_root)?;
    let r = crate::workflow::restore::restore(&site, now, page, version, force)?;
    let mut text = format!(
        "restored {} to version {} ({} earlier); it was version {}\n",
        r.source,
        r.version,
        r.state,
        r.previous.short()
    );
    for path in &r.removed {
        text.push_str(&format!(
            "removed {path} (not in version {})\n",
            r.version.short()
        ));
    }
    text.push_str(&format!(
        "It is the current draft now, and nothing is signed. To review it again: imprimatur submit {page} --key FILE\n",
        page = r.page
    ));
    if matches!(r.state.as_str(), "approved" | "published") {
        text.push_str(&format!(
            "To publish it again without a review (rollback; publishers and managers): imprimatur publish {} --version {} --key FILE\n",
            r.page, r.version
        ));
    }
    print(out, &text)?;
    Ok(EXIT_OK)
}
