//! Everything imprimatur keeps between runs, in one place, with who can write each kept file
//! and what they could make it say. This floor stands on the ground floor (`fs`, `error`)
//! and on `trust`'s record format (the counted records are records): it stores bytes,
//! digests, fingerprints and records, never a judgement; the floors above decide what those
//! mean (`site::memo` lends them to a judgement, `publish::output` keeps the render memo).
//!
//! Nothing kept can make a build publish or count anything a fresh build would not. Per file:
//! - The secret ([`secret`]): `IMPRIMATUR_CACHE_KEY`, else `cache.key` in the user's
//!   configuration folder (mode 0600). Only the user, or the CI's secret store, writes it; it
//!   never lives in the cache folder, the site or beside `output/`. Without it nothing kept is
//!   trusted. Every file below is authenticated with it through a [`Tagger`].
//! - `verified-<site>.bin` in the cache folder ([`verified`]): whoever writes the cache
//!   folder (the user, a CI cache restored from any job's). HMAC tags only: without the key
//!   they can delete or replay tags, never make one that says a signature verified that did
//!   not; the other conditions of SPEC §4 are checked again every time.
//! - `pages-<site>.bin`, `records-<site>.bin` in the cache folder ([`inputs`]): the same
//!   writers. Tagged over the executable's digest and every byte; an entry stands in for a
//!   file only while the file's fingerprint is the settled one recorded, so it never outlives
//!   the bytes it stands for.
//! - `program-id` in the cache folder ([`render_memo::program_id`]): the same writers. The
//!   executable's digest under its fingerprint, tagged; a wrong tag means hashing again.
//! - `.imprimatur-render-memo.bin` in the kept generation beside `output/` ([`render_memo`]):
//!   whoever writes beside `output/` (a restored artifact). Tagged; an entry only says "these
//!   inputs rendered to bytes with this hash", and a file is kept only if the intact
//!   `output/` holds exactly those bytes.
//! - `.imprimatur-records-<output>` beside `output/` ([`counted`]): the same writers.
//!   Self-authenticating records, checked as any record; a writer can only delete the file.
//!
//! Anything wrong with a kept file (missing, cut short, a tag that does not hold) makes it
//! empty: the build does the work, as a first build would.

use std::path::{Path, PathBuf};

pub(crate) mod counted;
pub(crate) mod inputs;
pub(crate) mod render_memo;
pub(crate) mod secret;
mod tagger;
pub(crate) mod verified;

pub(crate) use tagger::{same, TagWriter, Tagger};

/// Where the cache lives: `$IMPRIMATUR_CACHE_DIR`, else `$XDG_CACHE_HOME/imprimatur`, else
/// `$HOME/.cache/imprimatur`. `IMPRIMATUR_CACHE_DIR=off` turns it off.
pub(crate) const CACHE_DIR_ENV: &str = "IMPRIMATUR_CACHE_DIR";

/// The cache folder (see [`CACHE_DIR_ENV`]), or `None` when it is turned off or there is no
/// home to put it in.
pub(crate) fn cache_dir() -> Option<PathBuf> {
    match std::env::var_os(CACHE_DIR_ENV) {
        Some(d) if d == "off" => None,
        Some(d) => Some(PathBuf::from(d)),
        None => match std::env::var_os("XDG_CACHE_HOME") {
            Some(x) if !x.is_empty() => Some(PathBuf::from(x).join("imprimatur")),
            _ => Some(PathBuf::from(std::env::var_os("HOME")?).join(".cache/imprimatur")),
        },
    }
}

/// The [`Tagger`] of the cache folder `dir`, under the secret [`secret`] finds (`Ok(None)`
/// when there is none: then nothing kept there is trusted).
pub(crate) fn cache_tagger(dir: &Path) -> crate::Result<Option<Tagger>> {
    Ok(secret::cache_secret(dir)?.map(Tagger::new))
}
