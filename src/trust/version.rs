//! Version names (SPEC §2): a version is the SHA-256 of a page's exact bytes, or of its bundle
//! manifest. Reviewers sign versions, so this module is the single place where bytes become
//! names; the store and the build both check bytes against these names before use.

use std::fmt;

use serde::{Serialize, Serializer};
use sha2::{Digest, Sha256};

pub use crate::fs::digest::hex;
pub use crate::fs::path::is_control;
pub(crate) use crate::fs::{hash_part, HEX_DIGITS};

pub const MANIFEST_HEADER: &str = "imprimatur-bundle-v1\n";

/// The largest file a version may hold (a page, a bundle file, any blob of the store): 64 MiB.
/// Bigger files are refused before they are read: an invalid page in `content/`, a corrupt
/// blob in the store. The same limit on both sides, so whatever `submit` stored can be served.
pub const MAX_FILE_BYTES: u64 = 64 << 20;
/// The most files a bundle may hold. With paths of at most 4096 bytes its manifest stays
/// under `MAX_FILE_BYTES` (about 41 MB at worst).
pub const MAX_BUNDLE_FILES: usize = 10_000;
/// The most bytes all the files of one bundle may hold together: 256 MiB.
pub const MAX_BUNDLE_BYTES: u64 = 256 << 20;

/// The longest name one path component may have: what Linux, macOS and Windows filesystems
/// hold (`NAME_MAX`). A longer slug or bundle file name could be signed, but never written.
pub const MAX_NAME_BYTES: usize = 255;
/// The longest relative path a page's URL, or a file inside a bundle, may be. Far below
/// `PATH_MAX` (4096), so the output folder's own path, the URL and a bundle file's path
/// together still fit wherever the site is built.
pub const MAX_PATH_BYTES: usize = 1024;

/// Why a `/`-separated relative path can't be written on a filesystem (a component over
/// [`MAX_NAME_BYTES`], or the whole over [`MAX_PATH_BYTES`]); `None` when it can.
pub fn name_too_long(path: &str) -> Option<String> {
    if let Some(long) = path.split('/').find(|c| c.len() > MAX_NAME_BYTES) {
        let shown: String = long.chars().take(16).collect();
        return Some(format!(
            "the name '{}…' is {} bytes, over the filesystem limit of {MAX_NAME_BYTES}",
            shown.escape_debug(),
            long.len()
        ));
    }
    (path.len() > MAX_PATH_BYTES).then(|| {
        format!(
            "the path is {} bytes, over the limit of {MAX_PATH_BYTES}",
            path.len()
        )
    })
}

/// `sha256:<64 lowercase hex>`, held in place: a build holds a million of them (in every
/// record, page and review), so none is an allocation of its own.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version([u8; VERSION_LEN]);

const PREFIX: &str = "sha256:";
/// `sha256:` and 64 hex digits.
const VERSION_LEN: usize = PREFIX.len() + 64;

impl Version {
    /// Parses `sha256:` + 64 lowercase hex digits; nothing else names a version.
    pub fn parse(text: &str) -> Option<Version> {
        let hex = text.strip_prefix(PREFIX)?;
        is_hex64(hex).then(|| Version(text.as_bytes().try_into().expect("71 bytes")))
    }

    pub fn of_bytes(bytes: &[u8]) -> Version {
        let mut name = [0u8; VERSION_LEN];
        name[..PREFIX.len()].copy_from_slice(PREFIX.as_bytes());
        let digest = Sha256::digest(bytes);
        for (i, b) in digest.iter().enumerate() {
            let at = PREFIX.len() + 2 * i;
            name[at] = HEX_DIGITS[usize::from(b >> 4)];
            name[at + 1] = HEX_DIGITS[usize::from(b & 15)];
        }
        Version(name)
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("a version is ASCII")
    }

    /// The 64 hex digits, which are also the store address of the version's first blob.
    pub fn hex(&self) -> &str {
        &self.as_str()[PREFIX.len()..]
    }

    /// The first 12 hex digits, for badges and tables.
    pub fn short(&self) -> &str {
        &self.hex()[..12]
    }
}

impl fmt::Debug for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Version {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A writer that hashes what it is given (SHA-256) and keeps nothing: bytes too many to hold
/// are hashed as they are made.
#[derive(Default)]
pub struct Sha256Writer(pub Sha256);

impl Sha256Writer {
    pub fn hex(self) -> String {
        hex(&self.0.finalize())
    }
}

impl std::io::Write for Sha256Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub fn is_hex64(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// One line of a bundle manifest: a file of the bundle and the hash of its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestEntry {
    pub path: String,
    pub hex: String,
}

/// The manifest text of a bundle. `entries` must be sorted by path in byte order (the caller
/// sorts once); this is checked so that a bug can never sign a different ordering.
pub fn manifest_text(entries: &[ManifestEntry]) -> String {
    debug_assert!(entries
        .windows(2)
        .all(|w| w[0].path.as_bytes() < w[1].path.as_bytes()));
    let mut text = String::from(MANIFEST_HEADER);
    for e in entries {
        text.push_str(&e.hex);
        text.push(' ');
        text.push_str(&e.path);
        text.push('\n');
    }
    text
}

/// Whether `bytes` claim to be a bundle manifest (they start with its header). A page file
/// can't (its first line is `---`), so such a blob must be a canonical manifest or nothing.
pub fn is_manifest(bytes: &[u8]) -> bool {
    bytes.starts_with(MANIFEST_HEADER.as_bytes())
}

/// Parses a manifest read back from the store, which must be canonical: exactly the text
/// [`manifest_text`] writes for some real bundle. Lines `<64 lowercase hex> <path>\n`, paths
/// safe ([`is_safe_relative_path`]), sorted in byte order and unique, none both a file and a
/// folder, `index.md` among them, at most [`MAX_BUNDLE_FILES`]. Else why not, so a crafted
/// blob can't write outside a bundle, or be read two ways.
pub fn parse_manifest(bytes: &[u8]) -> Result<Vec<ManifestEntry>, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8 text")?;
    let body = text
        .strip_prefix(MANIFEST_HEADER)
        .ok_or("no 'imprimatur-bundle-v1' header line")?;
    if !body.is_empty() && !body.ends_with('\n') {
        return Err("the last line does not end with a newline".into());
    }
    let mut entries: Vec<ManifestEntry> = Vec::new();
    for (n, line) in body.split_terminator('\n').enumerate() {
        let line_no = n + 2;
        let (hex, path) = line
            .split_once(' ')
            .ok_or(format!("line {line_no} is not '<hash> <path>'"))?;
        if !is_hex64(hex) {
            return Err(format!(
                "line {line_no}: the hash is not 64 lowercase hex digits"
            ));
        }
        if !is_safe_relative_path(path) {
            return Err(format!(
                "line {line_no}: '{}' is not a safe relative path",
                path.escape_default()
            ));
        }
        if let Some(why) = name_too_long(path) {
            return Err(format!("line {line_no}: {why}"));
        }
        if let Some(before) = entries.last() {
            if before.path.as_bytes() >= path.as_bytes() {
                return Err(format!(
                    "line {line_no}: '{path}' is not after '{}' (paths sorted, each once)",
                    before.path
                ));
            }
        }
        entries.push(ManifestEntry {
            path: path.to_string(),
            hex: hex.to_string(),
        });
        if entries.len() > MAX_BUNDLE_FILES {
            return Err(format!("more than {MAX_BUNDLE_FILES} files"));
        }
    }
    let paths: std::collections::BTreeSet<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    for e in &entries {
        let mut folder = e.path.as_str();
        while let Some((parent, _)) = folder.rsplit_once('/') {
            if paths.contains(parent) {
                return Err(format!(
                    "'{parent}' is both a file and the folder of '{}'",
                    e.path
                ));
            }
            folder = parent;
        }
    }
    if !paths.contains("index.md") {
        return Err("it lists no index.md".into());
    }
    Ok(entries)
}

/// A relative `/`-separated path with no empty, `.`, `..` or dot-file components, and no
/// backslash or control character.
pub fn is_safe_relative_path(path: &str) -> bool {
    !path.is_empty()
        && !path.contains('\\')
        && !path.chars().any(is_control)
        && path
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != ".." && !c.starts_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_names_only_sha256_in_lowercase_hex() {
        let v = Version::of_bytes(b"abc");
        assert_eq!(
            v.as_str(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(v.short(), "ba7816bf8f01");
        assert_eq!(Version::parse(v.as_str()), Some(v.clone()));
        assert!(Version::parse(&v.as_str().to_uppercase()).is_none());
        assert!(Version::parse("sha1:abc").is_none());
        assert!(Version::parse("sha256:abc").is_none());
        assert!(Version::parse(&format!("{}0", v.as_str())).is_none());
        assert_eq!(format!("{v:?}"), format!("{:?}", v.as_str()));
        // Versions sort as their names do (reports list them in that order).
        let mut names: Vec<String> = (0..50u8)
            .map(|i| Version::of_bytes(&[i]).as_str().to_string())
            .collect();
        let mut versions: Vec<Version> = names.iter().map(|n| Version::parse(n).unwrap()).collect();
        names.sort();
        versions.sort();
        let sorted: Vec<&str> = versions.iter().map(Version::as_str).collect();
        assert_eq!(sorted, names);
    }

    #[test]
    fn manifests_round_trip_and_refuse_unsafe_paths() {
        let entries = vec![
            ManifestEntry {
                path: "a/b.png".into(),
                hex: "0".repeat(64),
            },
            ManifestEntry {
                path: "index.md".into(),
                hex: "1".repeat(64),
            },
        ];
        let text = manifest_text(&entries);
        assert_eq!(parse_manifest(text.as_bytes()), Ok(entries));
        assert!(is_manifest(text.as_bytes()));
        assert!(!is_manifest(b"---\ntitle: T\n---\n"));
        let h = "0".repeat(64);
        for bad in [
            format!("{MANIFEST_HEADER}{h} b\n"),
            format!("{MANIFEST_HEADER}{h} index.md\n{h} index.md\n"),
            format!("{MANIFEST_HEADER}{h} a\n{h} a/b\n{h} index.md\n"),
            format!("{MANIFEST_HEADER}{h} index.md\n{h} x\ty\n"),
            format!("{MANIFEST_HEADER}{h} index.md\n{h} a\\b\n"),
            format!("{MANIFEST_HEADER}{} index.md\n", "A".repeat(64)),
            format!("{MANIFEST_HEADER}{h}  index.md\n"),
            MANIFEST_HEADER.to_string(),
            format!("{MANIFEST_HEADER}{} ../x\n", "0".repeat(64)),
            format!("{MANIFEST_HEADER}{} /etc/passwd\n", "0".repeat(64)),
            format!(
                "{MANIFEST_HEADER}{} b\n{} a\n",
                "0".repeat(64),
                "0".repeat(64)
            ),
            format!("{MANIFEST_HEADER}{} a", "0".repeat(64)),
            "not a manifest".to_string(),
        ] {
            assert!(parse_manifest(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
