//! Comment commitments (SPEC §4a). A reviewer's comment is a note for reviewers — a rejection
//! may quote text that was never published — yet a public proof must show the record so that
//! anyone can check its signature. So a record may sign `comment_digest`, a salted SHA-256 of
//! the comment, instead of the comment: a proof then leaves the comment (and its salt) out and
//! the signature still verifies. The digest is computed here, once, for the signing commands,
//! the build's check and the tests.

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use super::Record;
use crate::trust::version::{self, Version};

/// The salt's length: 16 random bytes, so that a short comment ("ok", "no") can't be found by
/// hashing guesses against a published digest.
pub const SALT_LEN: usize = 16;

/// Where a record was read, which decides what it must disclose. Under `approvals/records/`
/// the build shows comments to reviewers and checks policies on them, so a committed comment
/// must be there and match; in a proof it may be redacted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A record file under `approvals/records/`: a committed comment must be present.
    Records,
    /// A record as a public proof (`proof.json`) shows it: the comment may be left out.
    Proof,
}

/// Why a record's comment commitment does not hold. Each names the field at fault and what
/// to do; the build reports it as the record's `invalid_record` reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommentError {
    #[error("comment_digest: '{0}' is not sha256: followed by 64 lowercase hex digits")]
    MalformedDigest(String),
    #[error(
        "comment_salt: not valid base64 (a salt is base64 of {SALT_LEN} random bytes; sign the record again)"
    )]
    SaltNotBase64,
    #[error("comment_salt: {0} bytes, a salt is {SALT_LEN} random bytes (sign the record again)")]
    SaltLength(usize),
    #[error(
        "comment_salt: present without comment_digest (a salt belongs to the digest it went into; remove it or sign the record again)"
    )]
    SaltWithoutDigest,
    #[error(
        "comment: missing, but comment_digest commits to one (only a public proof may leave a comment out; restore the record file as it was signed)"
    )]
    CommentMissing,
    #[error(
        "comment_salt: missing, but comment_digest needs it to check the comment (restore the record file as it was signed)"
    )]
    SaltMissing,
    #[error(
        "comment_digest: does not match comment and comment_salt (the comment or the salt was changed after signing)"
    )]
    Mismatch,
}

/// The commitment to `comment` under `salt`: `sha256:` + lowercase hex SHA-256 of the salt's
/// bytes followed by the comment's UTF-8 bytes.
pub fn digest(salt: &[u8], comment: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(salt);
    hash.update(comment.as_bytes());
    format!("sha256:{}", version::hex(&hash.finalize()))
}

/// `salt` as written in a record: base64 of [`SALT_LEN`] bytes.
fn salt_bytes(salt: &str) -> Result<Vec<u8>, CommentError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(salt)
        .map_err(|_| CommentError::SaltNotBase64)?;
    match bytes.len() {
        SALT_LEN => Ok(bytes),
        n => Err(CommentError::SaltLength(n)),
    }
}

impl Record {
    /// Replaces a signed comment with a commitment to it under `salt` (the signing commands
    /// pass fresh random bytes): the comment stays in the record file, out of the signed bytes.
    pub(crate) fn commit_comment(&mut self, salt: [u8; SALT_LEN]) {
        match &self.comment {
            Some(comment) => {
                self.comment_digest = Some(digest(&salt, comment));
                self.comment_salt = Some(base64::engine::general_purpose::STANDARD.encode(salt));
            }
            None => {
                self.comment_digest = None;
                self.comment_salt = None;
            }
        }
    }

    /// The comment as a policy sees it (`reject_comment_required`): its text, or, left out of
    /// a proof, a stand-in that says one was signed. A proof leaves out only comments that are
    /// not blank (`publish::proof`), so the stand-in is never a blank comment made to look given.
    pub fn comment_for_policy(&self) -> Option<&str> {
        match (&self.comment, &self.comment_digest) {
            (Some(text), _) => Some(text),
            (None, Some(_)) => Some("(comment left out of the proof)"),
            (None, None) => None,
        }
    }

    /// The record without its comment and salt, as a proof shows it where the approval history
    /// does not show the comment. Only a committed comment can be left out: its signature
    /// still verifies.
    pub fn redacted(&self) -> Option<Record> {
        self.comment_digest.as_ref()?;
        Some(Record {
            comment: None,
            comment_salt: None,
            ..self.clone()
        })
    }
}

/// SPEC §4a for a parsed record read from `origin`: a digest is well-formed, a salt is 16
/// bytes and only beside a digest, and comment and salt match the digest — or, in a proof,
/// are both left out.
pub(super) fn check(record: &Record, origin: Origin) -> Result<(), CommentError> {
    let Some(committed) = &record.comment_digest else {
        return match record.comment_salt {
            Some(_) => Err(CommentError::SaltWithoutDigest),
            None => Ok(()),
        };
    };
    // A digest is spelled as a version is: `sha256:` and 64 lowercase hex digits.
    if Version::parse(committed).is_none() {
        return Err(CommentError::MalformedDigest(committed.clone()));
    }
    let salt = record.comment_salt.as_deref().map(salt_bytes).transpose()?;
    match (&record.comment, salt) {
        (Some(comment), Some(salt)) if digest(&salt, comment) == *committed => Ok(()),
        (Some(_), Some(_)) => Err(CommentError::Mismatch),
        (None, None) if origin == Origin::Proof => Ok(()),
        (None, _) => Err(CommentError::CommentMissing),
        (Some(_), None) => Err(CommentError::SaltMissing),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SALT: [u8; SALT_LEN] = *b"defghijklmnopqrs";

    fn committed() -> Record {
        let mut r = Record {
            kind: super::super::Kind::Reject,
            comment: Some("Clause 4 quotes the unreleased price list".into()),
            ..super::super::tests::sample()
        };
        r.publish = None;
        r.commit_comment(SALT);
        r
    }

    #[test]
    fn the_digest_is_sha256_of_salt_then_comment() {
        // `printf %s defghijklmnopqrsok | sha256sum`
        assert_eq!(
            digest(&SALT, "ok"),
            "sha256:0118bf7ad7cb7f03ecc2ad8e3e208b9a61b9f0c873d5867bb7e8b8014494e962"
        );
        assert_ne!(digest(&SALT, "ok"), digest(b"0123456789abcdef", "ok"));
    }

    #[test]
    fn commitments_are_checked_field_by_field() {
        let good = committed();
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
        let change = |f: &dyn Fn(&mut Record)| {
            let mut r = good.clone();
            f(&mut r);
            r
        };
        use CommentError::*;
        use Origin::{Proof, Records};
        let cases: Vec<(&str, Record, Origin, Result<(), CommentError>)> = vec![
            ("an opened commitment", good.clone(), Records, Ok(())),
            (
                "an opened commitment in a proof",
                good.clone(),
                Proof,
                Ok(()),
            ),
            (
                "a redacted commitment in a proof",
                good.redacted().unwrap(),
                Proof,
                Ok(()),
            ),
            (
                "a redacted commitment under approvals/records/",
                good.redacted().unwrap(),
                Records,
                Err(CommentMissing),
            ),
            (
                "digest mismatch: the comment changed",
                change(&|r| r.comment = Some("Fine.".into())),
                Records,
                Err(Mismatch),
            ),
            (
                "digest mismatch: the salt changed",
                change(&|r| r.comment_salt = Some(b64(b"0123456789abcdef"))),
                Proof,
                Err(Mismatch),
            ),
            (
                "salt missing",
                change(&|r| r.comment_salt = None),
                Records,
                Err(SaltMissing),
            ),
            (
                "salt missing in a proof that shows the comment",
                change(&|r| r.comment_salt = None),
                Proof,
                Err(SaltMissing),
            ),
            (
                "comment missing",
                change(&|r| r.comment = None),
                Records,
                Err(CommentMissing),
            ),
            (
                "comment missing in a proof that shows the salt",
                change(&|r| r.comment = None),
                Proof,
                Err(CommentMissing),
            ),
            (
                "salt not 16 bytes",
                change(&|r| r.comment_salt = Some(b64(&[7u8; 15]))),
                Records,
                Err(SaltLength(15)),
            ),
            (
                "salt not base64",
                change(&|r| r.comment_salt = Some("not base64!".into())),
                Records,
                Err(SaltNotBase64),
            ),
            (
                "digest malformed",
                change(&|r| r.comment_digest = Some("sha256:ABC".into())),
                Records,
                Err(MalformedDigest("sha256:ABC".into())),
            ),
            (
                "digest in upper case hex",
                change(&|r| r.comment_digest = r.comment_digest.as_ref().map(|d| d.to_uppercase())),
                Proof,
                Err(MalformedDigest(
                    good.comment_digest.clone().unwrap().to_uppercase(),
                )),
            ),
            (
                "salt without digest",
                change(&|r| r.comment_digest = None),
                Records,
                Err(SaltWithoutDigest),
            ),
            (
                "legacy record: a signed comment, no digest, no salt",
                change(&|r| {
                    r.comment_digest = None;
                    r.comment_salt = None;
                }),
                Records,
                Ok(()),
            ),
        ];
        for (name, record, origin, expected) in cases {
            assert_eq!(check(&record, origin), expected, "{name}");
        }
    }

    #[test]
    fn a_commitment_takes_the_comment_and_salt_out_of_the_signed_bytes() {
        let good = committed();
        let signed = String::from_utf8(good.signed_bytes()).unwrap();
        assert!(signed.contains("\"comment_digest\":\"sha256:"), "{signed}");
        assert!(!signed.contains("comment\""), "{signed}");
        assert!(!signed.contains("comment_salt"), "{signed}");
        assert_eq!(good.redacted().unwrap().signed_bytes(), good.signed_bytes());

        // A legacy record signs its comment, as before: nothing of it can be redacted.
        let legacy = Record {
            comment_digest: None,
            comment_salt: None,
            ..good.clone()
        };
        let signed = String::from_utf8(legacy.signed_bytes()).unwrap();
        assert!(
            signed.contains("\"comment\":\"Clause 4 quotes the unreleased price list\""),
            "{signed}"
        );
        assert_eq!(legacy.redacted(), None);
        assert_eq!(
            legacy.comment_for_policy(),
            Some("Clause 4 quotes the unreleased price list")
        );
        assert!(good.redacted().unwrap().comment_for_policy().is_some());
    }
}
