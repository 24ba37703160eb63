//! The secret that authenticates what builds keep between runs (verified signatures, kept
//! inputs, the render memo, the program's digest). It must never live where the state it
//! authenticates lives: whoever can write the cache folder (a CI cache restored from a pull
//! request's job) or the folder beside `output/` (a restored artifact) could otherwise tag
//! whatever they like, and garbage signatures would count.
//!
//! So the key is, in this order:
//! - `IMPRIMATUR_CACHE_KEY`, 64 hex digits: what a CI passes from its secret store, to the
//!   trusted build only (a pull request's job runs without it, and what it keeps is then
//!   tagged under a key of its own that the trusted build never holds);
//! - else `cache.key` in the user's configuration folder (`$XDG_CONFIG_HOME/imprimatur/`, else
//!   `~/.config/imprimatur/`), made on first use with mode 0600: on a writer's own machine.
//!   A key file that others may read or write, that is not a regular file, or that lies in the
//!   cache folder is not used.
//!
//! Without a key nothing kept is trusted: every signature is verified and every page rendered,
//! exactly as in a first build.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The environment variable that carries the key (64 hex digits).
pub(crate) const CACHE_KEY_ENV: &str = "IMPRIMATUR_CACHE_KEY";

/// The key for a cache in the folder `cache_dir`: `Ok(None)` when there is none to be had
/// (nothing kept is then trusted); an error only for a key given in the environment that is
/// not one, so that a CI's typo is not a silent cold build.
pub(crate) fn cache_secret(cache_dir: &Path) -> Result<Option<[u8; 32]>> {
    if let Some(value) = std::env::var_os(CACHE_KEY_ENV) {
        return from_hex(&value.to_string_lossy()).map(Some).ok_or_else(|| {
            Error::config(
                CACHE_KEY_ENV,
                "value",
                "must be 64 hex digits (32 random bytes, as `openssl rand -hex 32` prints); it authenticates what builds keep in the cache folder. Unset it to use the key file in your configuration folder",
            )
        });
    }
    Ok(key_file().and_then(|path| key_from_file(&path, cache_dir)))
}

fn from_hex(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(key)
}

/// `$XDG_CONFIG_HOME/imprimatur/cache.key`, else `$HOME/.config/imprimatur/cache.key`.
fn key_file() -> Option<PathBuf> {
    let config = match std::env::var_os("XDG_CONFIG_HOME") {
        Some(x) if !x.is_empty() => PathBuf::from(x),
        _ => PathBuf::from(std::env::var_os("HOME")?).join(".config"),
    };
    Some(config.join("imprimatur").join("cache.key"))
}

/// The key in `path`, made there first if there is none. `None` when it lies beneath the
/// cache folder, or the file is not a private regular file of 32 bytes.
fn key_from_file(path: &Path, cache_dir: &Path) -> Option<[u8; 32]> {
    let folder = path.parent()?;
    if beneath(folder, cache_dir) {
        return None;
    }
    match read_private(path) {
        Ok(key) => key,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => make(folder, path),
        Err(_) => None,
    }
}

/// Whether `folder` is `dir` or lies beneath it (both as they resolve now).
fn beneath(folder: &Path, dir: &Path) -> bool {
    let resolve = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    resolve(folder).starts_with(resolve(dir))
}

/// The 32 bytes of a regular file only its owner (this user) may read or write; `Ok(None)`
/// for a file that is not that.
fn read_private(path: &Path) -> std::io::Result<Option<[u8; 32]>> {
    use std::io::Read;
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc_nofollow())
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() || meta.mode() & 0o077 != 0 || meta.uid() != current_uid() {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    file.by_ref().take(33).read_to_end(&mut bytes)?;
    Ok(bytes.try_into().ok())
}

fn make(folder: &Path, path: &Path) -> Option<[u8; 32]> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(folder)
        .ok()?;
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).ok()?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc_nofollow())
        .open(path)
        .ok()?;
    std::io::Write::write_all(&mut file, &key).ok()?;
    // Another build may have made it at the same moment: the file is what counts.
    drop(file);
    read_private(path).ok().flatten()
}

fn libc_nofollow() -> i32 {
    #[cfg(target_os = "linux")]
    {
        rustix::fs::OFlags::NOFOLLOW.bits() as i32
    }
    #[cfg(not(target_os = "linux"))]
    {
        0x100
    }
}

fn current_uid() -> u32 {
    #[cfg(target_os = "linux")]
    {
        rustix::process::geteuid().as_raw()
    }
    #[cfg(not(target_os = "linux"))]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(std::env::temp_dir()).map_or(0, |m| m.uid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_64_hex_digits_and_nothing_else() {
        let hex = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
        assert_eq!(from_hex(hex).unwrap()[1], 0x11);
        assert_eq!(from_hex(hex).unwrap()[31], 0xff);
        for bad in [
            "",
            "00",
            &hex[1..],
            &format!("{hex}0"),
            &hex.replace('0', "g"),
        ] {
            assert!(from_hex(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_key_file_is_made_private_once_and_read_back() {
        let config = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        let path = config.path().join("imprimatur/cache.key");
        let key = key_from_file(&path, cache.path()).expect("made");
        assert_eq!(key_from_file(&path, cache.path()), Some(key));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_key_file_in_the_cache_folder_or_open_to_others_is_not_used() {
        use std::os::unix::fs::PermissionsExt;
        let cache = tempfile::tempdir().unwrap();
        // Inside the folder it would authenticate: whoever restores the cache wrote it.
        let inside = cache.path().join("keys/cache.key");
        std::fs::create_dir_all(inside.parent().unwrap()).unwrap();
        std::fs::write(&inside, [7u8; 32]).unwrap();
        std::fs::set_permissions(&inside, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(key_from_file(&inside, cache.path()), None);
        // Readable by others, or not 32 bytes, or a link: not a secret.
        let config = tempfile::tempdir().unwrap();
        let open = config.path().join("cache.key");
        std::fs::write(&open, [7u8; 32]).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(key_from_file(&open, cache.path()), None);
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(key_from_file(&open, cache.path()), Some([7u8; 32]));
        std::fs::write(&open, [7u8; 31]).unwrap();
        assert_eq!(key_from_file(&open, cache.path()), None);
        let link = config.path().join("link.key");
        std::os::unix::fs::symlink(&inside, &link).unwrap();
        assert_eq!(key_from_file(&link, cache.path()), None);
    }
}
