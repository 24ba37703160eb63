//! The signatures earlier runs verified, kept in the cache folder so that a rebuild does not
//! verify 30,000 signatures again (`verified-<site>.bin`).
//!
//! Whoever can write that folder (a CI cache, restored from any job's) can't forge an entry:
//! each is an HMAC-SHA256 of the signature's id (a hash over the public key, the signature and
//! the exact signed bytes), under a secret that never lives in the cache folder, the site or
//! beside `output/` ([`super::secret`] says where it does). Without the secret nobody can make
//! an entry that matches a triple that did not verify; an entry only ever says "this exact
//! key, signature and bytes verified strictly", which `verify_strict` would say again.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::inputs::Place;
use super::{cache_dir, secret, Tagger};
use crate::fs::{hash_part, hex};

/// Sets of SHA-256 digests and HMAC tags: nobody picks them to collide, so a fast hash will do.
pub(crate) type Digests = foldhash::HashSet<[u8; 32]>;

/// The signatures earlier runs verified on one site, as HMAC tags in the user's cache folder
/// (see the module documentation for why it can't be forged from the repository).
pub(crate) struct VerifiedCache {
    key: [u8; 32],
    known: Digests,
    path: PathBuf,
    /// The site's name in the cache folder: a digest of its absolute path.
    site: String,
}

impl VerifiedCache {
    /// The cache for the site at `site_root` (by its absolute path); `None` when it is turned
    /// off, has no secret or can't be used (then every signature is verified, as without it).
    pub(crate) fn open(site_root: &Path) -> crate::Result<Option<VerifiedCache>> {
        let Some(dir) = cache_dir() else {
            return Ok(None);
        };
        Ok(match secret::cache_secret(&dir)? {
            Some(key) => VerifiedCache::open_in(&dir, site_root, key),
            None => None,
        })
    }

    /// [`VerifiedCache::open`] in the cache folder `dir`, under `key`.
    pub(crate) fn open_in(dir: &Path, site_root: &Path, key: [u8; 32]) -> Option<VerifiedCache> {
        std::fs::create_dir_all(dir).ok()?;
        let root = std::fs::canonicalize(site_root).ok()?;
        let name = hex(&Sha256::digest(root.as_os_str().as_encoded_bytes())[..16]);
        let path = dir.join(format!("verified-{name}.bin"));
        let known = known_tags(&std::fs::read(&path).unwrap_or_default());
        Some(VerifiedCache {
            key,
            known,
            path,
            site: name,
        })
    }

    /// The key of the cache, to authenticate other state kept between runs.
    pub(crate) fn tagger(&self) -> Tagger {
        Tagger::new(self.key)
    }

    /// Where one kind of input (`pages`, `records`) this site's builds read is kept.
    pub(crate) fn place(&self, kind: &str, domain: &'static [u8]) -> Place {
        Place {
            path: self
                .path
                .with_file_name(format!("{kind}-{}.bin", self.site)),
            tagger: self.tagger(),
            domain,
        }
    }

    fn tag(&self, id: &[u8; 32]) -> [u8; 32] {
        self.tagger().tag(b"imprimatur-verified-v2", &[id])
    }

    pub(crate) fn knows(&self, id: &[u8; 32]) -> bool {
        self.known.contains(&self.tag(id))
    }

    pub(crate) fn save(&self, ids: &Digests) {
        let mut tags: Vec<[u8; 32]> = ids.iter().map(|id| self.tag(id)).collect();
        tags.sort_unstable();
        let bytes: Vec<u8> = tags.concat();
        if let Some(dir) = self.path.parent() {
            if let Ok(mut tmp) = tempfile::NamedTempFile::new_in(dir) {
                if std::io::Write::write_all(&mut tmp, &bytes).is_ok() {
                    let _ = tmp.persist(&self.path);
                }
            }
        }
    }
}

/// The tags in a verified-signatures file: 32 bytes each, a cut-short tail ignored.
pub(crate) fn known_tags(bytes: &[u8]) -> Digests {
    bytes
        .chunks_exact(32)
        .map(|c| c.try_into().expect("32 bytes"))
        .collect()
}

/// Length-prefixed, so that no two different triples hash the same input.
pub(crate) fn signature_id(public_key: &[u8], signature: &[u8], signed: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    for part in [public_key, signature, signed] {
        hash_part(&mut h, part);
    }
    h.finalize().into()
}
