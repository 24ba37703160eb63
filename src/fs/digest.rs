//! Digests as text and as input: lowercase hex, and the length-prefixed parts every digest
//! made of several fields is fed, so that no two different lists of parts are one input.

use sha2::{Digest, Sha256};

/// Feeds `part` to `h` after its length, so that no two different lists of parts are one
/// input: every digest made of several fields uses it.
pub(crate) fn hash_part(h: &mut Sha256, part: &[u8]) {
    h.update((part.len() as u64).to_be_bytes());
    h.update(part);
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(HEX_DIGITS[usize::from(b >> 4)]));
        out.push(char::from(HEX_DIGITS[usize::from(b & 15)]));
    }
    out
}

pub(crate) const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";
