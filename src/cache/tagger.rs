//! The HMAC-SHA256 under the cache's key: what the repository's writers can't compute, and
//! what every file kept between runs is authenticated with. A [`Tagger`] lends the key's use,
//! never the key itself; only this floor makes one, from the secret.

use sha2::Sha256;

/// HMAC-SHA256 under the cache's key: what the repository's writers can't compute.
#[derive(Clone)]
pub(crate) struct Tagger {
    key: [u8; 32],
}

impl Tagger {
    pub(super) fn new(key: [u8; 32]) -> Tagger {
        Tagger { key }
    }

    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn for_test(key: [u8; 32]) -> Tagger {
        Tagger { key }
    }

    /// The tag of `parts` for one purpose (`domain`): each part is length-prefixed, so no
    /// two different lists tag alike, and a tag made for one purpose means nothing in another.
    pub(crate) fn tag(&self, domain: &[u8], parts: &[&[u8]]) -> [u8; 32] {
        use hmac::{KeyInit, Mac};
        let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .expect("HMAC takes a key of any length");
        mac.update(domain);
        mac.update(b"\n");
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// A writer whose [`TagWriter::finish`] is the tag of everything written to it, as one
    /// part whose end is the end of the input (a file's rest: too big to hold and measure
    /// first). Its domains are never those of [`Tagger::tag`], and it marks its input
    /// otherwise, so the two kinds of tag never stand for one another.
    pub(crate) fn tagging(&self, domain: &[u8]) -> TagWriter {
        use hmac::{KeyInit, Mac};
        let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .expect("HMAC takes a key of any length");
        mac.update(domain);
        mac.update(b"\nto the end\n");
        TagWriter(mac)
    }
}

/// Equal bytes, compared in constant time (a tag is a MAC).
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// See [`Tagger::tagging`].
pub(crate) struct TagWriter(hmac::Hmac<Sha256>);

impl TagWriter {
    pub(crate) fn finish(self) -> [u8; 32] {
        hmac::Mac::finalize(self.0).into_bytes().into()
    }
}

impl std::io::Write for TagWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        hmac::Mac::update(&mut self.0, buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
