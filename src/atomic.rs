//! Writing without half-written states: a file is written beside its target and renamed over
//! it, so a killed process leaves either the old file or the new one, never a mix.

use std::path::Path;

use crate::error::{Error, Result};

pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".imprimatur-tmp-")
        .tempfile_in(parent)
        .map_err(|e| Error::io(parent, e))?;
    std::io::Write::write_all(&mut tmp, bytes).map_err(|e| Error::io(path, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}
