//! Signed records (SPEC §4): their fields, declared once, and the signing rule, written once —
//! the build's verification and the signing commands both use `signed_bytes`. A record counts
//! only if every condition of §4 holds; otherwise `parse` or `check` says why in words a
//! reviewer understands. How a record file is read and written is in `file`; how a comment
//! is signed as a commitment, so that a proof can leave it out, is in `comment` (SPEC §4a).

use std::collections::BTreeMap;

use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey};
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

use crate::time::{self, Instant};
use crate::trust::keyring::Keyring;
use crate::trust::keyring::PublicKey;
use crate::trust::version::Version;
use crate::trust::webauthn::{self, Envelope};
use crate::yaml::{self, Problem};

mod comment;
mod file;
mod flat;

pub use comment::{digest as comment_digest, CommentError, Origin, SALT_LEN};

pub const SIGNING_PREFIX: &[u8] = b"imprimatur-record-v1\n";
/// The only format version there is: the value of a record's `imprimatur` field.
pub const FORMAT_VERSION: u64 = 1;
/// How far in the future a `signed_at` may be (clock skew between a reviewer and the build).
pub const FUTURE_TOLERANCE_SECS: i64 = 5 * 60;

/// The record kinds, with their names in record files (SPEC §4): adding a kind is one variant.
/// Parsing, writing and the error that lists the kinds all read `Kind::ALL`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    strum::IntoStaticStr,
    strum::Display,
    strum::EnumString,
    strum::VariantArray,
)]
#[strum(serialize_all = "snake_case")]
pub enum Kind {
    Submit,
    Approve,
    Reject,
    Retract,
    Publish,
    Unpublish,
    /// A manager names who must review a step of the version in review (docs/workflow.md).
    Assign,
}

impl Kind {
    /// Every kind, in the order SPEC §4 lists them.
    pub const ALL: &'static [Kind] = <Kind as strum::VariantArray>::VARIANTS;

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(text: &str) -> Option<Kind> {
        text.parse().ok()
    }
}

impl Serialize for Kind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Kind, D::Error> {
        let text = file::text(d)?;
        Kind::parse(&text).ok_or_else(|| {
            let names: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
            de::Error::custom(format!("'{text}' is not one of {}", names.join(", ")))
        })
    }
}

/// A record's fields, as signed: declared once, here. Reading (strict: every value has its
/// type, nothing else is present), writing and the signed bytes all follow this declaration.
/// `signed_at` is part of the signed bytes in its one canonical spelling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    #[serde(serialize_with = "file::quoted")]
    pub kind: Kind,
    #[serde(
        serialize_with = "file::quoted",
        deserialize_with = "file::required_text"
    )]
    pub space: String,
    #[serde(
        serialize_with = "file::quoted",
        deserialize_with = "file::required_text"
    )]
    pub content: String,
    #[serde(serialize_with = "file::quoted", deserialize_with = "file::version")]
    pub version: Version,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "file::quoted_some",
        deserialize_with = "file::optional_text"
    )]
    pub step: Option<String>,
    #[serde(
        serialize_with = "file::quoted",
        deserialize_with = "file::required_text"
    )]
    pub reviewer: String,
    #[serde(
        serialize_with = "file::quoted",
        deserialize_with = "file::required_text"
    )]
    pub key: String,
    #[serde(
        serialize_with = "file::signed_at_text",
        deserialize_with = "file::signed_at"
    )]
    pub signed_at: Instant,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "file::quoted_some",
        deserialize_with = "file::optional_text"
    )]
    pub role: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "file::quoted_some",
        deserialize_with = "file::optional_text"
    )]
    pub comment: Option<String>,
    /// Base64 of the 16 random bytes the comment's digest was salted with (SPEC §4a). Not
    /// signed: the digest holds it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "file::quoted_some",
        deserialize_with = "file::optional_text"
    )]
    pub comment_salt: Option<String>,
    /// `sha256:` + hex of salt then comment (SPEC §4a). When present it is signed in place of
    /// `comment` and `comment_salt`, which a proof may then leave out.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "file::quoted_some",
        deserialize_with = "file::optional_text"
    )]
    pub comment_digest: Option<String>,
    /// The three flags keep whether the file wrote them: a flag written as `false` is a
    /// field of the record like any other, and so part of the signed bytes.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "file::flag"
    )]
    pub discard: Option<bool>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "file::flag"
    )]
    pub publish: Option<bool>,
    #[serde(
        rename = "override",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "file::flag"
    )]
    pub override_: Option<bool>,
    /// Assigned reviewers, by step (docs/workflow.md): on a `submit`, who must review each
    /// step named; on an `assign`, the new reviewers of its `step`. Absent, it is not signed,
    /// so records without it keep their signed bytes.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "file::quoted_assign",
        deserialize_with = "file::assign"
    )]
    pub assign: Option<Assignment>,
}

/// Step name → the reviewers assigned to it, in the order the signer wrote them.
pub type Assignment = BTreeMap<String, Vec<String>>;

impl Record {
    pub fn discards(&self) -> bool {
        self.discard == Some(true)
    }
    pub fn publishes(&self) -> bool {
        self.publish == Some(true)
    }
    pub fn overrides(&self) -> bool {
        self.override_ == Some(true)
    }

    /// The signing rule: prefix + RFC 8785 canonical JSON of every field but `signature` —
    /// and, when the comment is committed (`comment_digest`), but `comment` and `comment_salt`,
    /// which is what lets a proof leave them out (SPEC §4a). Our values are strings, one small
    /// integer and booleans, for which serde_json's compact output of a key-sorted map is
    /// exactly JCS (same escapes, UTF-8 kept, no spaces).
    pub fn signed_bytes(&self) -> Vec<u8> {
        let serde_json::Value::Object(fields) =
            serde_json::to_value(self).expect("a record's fields are strings and booleans")
        else {
            unreachable!("a struct serializes to a JSON object")
        };
        let mut fields = fields;
        fields.insert("imprimatur".into(), FORMAT_VERSION.into());
        if fields.contains_key("comment_digest") {
            fields.remove("comment");
            fields.remove("comment_salt");
        }
        // Sorted here, whatever order serde_json's map keeps; written as serde_json writes a
        // map compactly: `{"key":value,...}`.
        let mut sorted: Vec<(&String, &serde_json::Value)> = fields.iter().collect();
        sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut bytes = SIGNING_PREFIX.to_vec();
        bytes.push(b'{');
        for (i, (key, value)) in sorted.into_iter().enumerate() {
            if i > 0 {
                bytes.push(b',');
            }
            serde_json::to_writer(&mut bytes, key).expect("a string serializes");
            bytes.push(b':');
            serde_json::to_writer(&mut bytes, value).expect("a scalar or a map serializes");
        }
        bytes.push(b'}');
        bytes
    }

    pub fn sign(&self, key: &SigningKey) -> Signature {
        key.sign(&self.signed_bytes())
    }

    /// The record file's text: the record's fields between `imprimatur` and `signature`, in
    /// the order declared above, every string double-quoted (SPEC §4) so that no YAML reader
    /// takes `no`, `123` or a timestamp for anything but the text that was signed.
    pub fn to_yaml(&self, signature: &Signature) -> String {
        self.file_text(&signature.to_bytes(), None)
    }

    /// [`Record::to_yaml`] with any signature, and the `webauthn` envelope of a record a
    /// passkey signed (SPEC §4a), after the signature.
    fn file_text(&self, signature: &[u8], webauthn: Option<&Envelope>) -> String {
        #[derive(Serialize)]
        struct EnvelopeText {
            #[serde(serialize_with = "file::quoted")]
            authenticator_data: String,
            #[serde(serialize_with = "file::quoted")]
            client_data_json: String,
        }
        #[derive(Serialize)]
        struct RecordFile<'a> {
            imprimatur: u64,
            #[serde(flatten)]
            record: &'a Record,
            #[serde(serialize_with = "file::quoted")]
            signature: String,
            #[serde(skip_serializing_if = "Option::is_none")]
            webauthn: Option<EnvelopeText>,
        }
        let file = RecordFile {
            imprimatur: FORMAT_VERSION,
            record: self,
            signature: base64::engine::general_purpose::STANDARD.encode(signature),
            webauthn: webauthn.map(|e| {
                let (authenticator_data, client_data_json) = e.encoded();
                EnvelopeText {
                    authenticator_data,
                    client_data_json,
                }
            }),
        };
        yaml::to_string(&file).expect("a record's fields are strings and booleans")
    }
}

/// One file under `approvals/records/`, parsed or not.
#[derive(Clone)]
pub struct RecordFile {
    pub file: String,
    pub parsed: std::result::Result<RecordFileParsed, String>,
}

/// A record file as read: its fields, its signature and, when a passkey signed it, the
/// WebAuthn envelope the signature covers (SPEC §4a).
#[derive(Debug, Clone)]
pub struct RecordFileParsed {
    pub record: std::sync::Arc<Record>,
    /// As the file gives it: the 64 bytes of an ed25519 signature, or a passkey's (DER for
    /// ES256, 64 bytes for EdDSA) when `webauthn` is there.
    pub signature: Vec<u8>,
    pub webauthn: Option<std::sync::Arc<Envelope>>,
}

/// Parses a record file's YAML with condition 1 of §4: the format version is 1, the kind is
/// known, required fields are there, every value has its type and nothing else is present, and
/// a committed comment is there and matches its digest (§4a). The error names the field at
/// fault.
pub fn parse(text: &str) -> Result<RecordFileParsed, String> {
    parse_from(text, Origin::Records)
}

/// [`parse`] of a record read from `origin`: a record shown by a proof may leave its committed
/// comment out; one under `approvals/records/` may not.
pub fn parse_from(text: &str, origin: Origin) -> Result<RecordFileParsed, String> {
    let parsed = match flat::read(text) {
        Some(parsed) => parsed,
        None => parse_yaml(text)?,
    };
    check_fields(parsed, origin)
}

/// The record file read by the full YAML parser.
fn parse_yaml(text: &str) -> Result<RecordFileParsed, String> {
    yaml::from_str(text, &yaml::RECORD).map_err(|e| match e.problem {
        Problem::UnknownField => format!(
            "unknown field '{}' (format version {FORMAT_VERSION} has no such field)",
            e.field
        ),
        Problem::Syntax => format!("not valid YAML: {e}"),
        _ => e.to_string(),
    })
}

/// The rules of §4 condition 1 beyond each field's type, whichever reader read the fields.
fn check_fields(parsed: RecordFileParsed, origin: Origin) -> Result<RecordFileParsed, String> {
    check_signature_length(&parsed)?;
    let record = &parsed.record;
    let kind = record.kind;
    if matches!(kind, Kind::Approve | Kind::Reject | Kind::Assign)
        && record.step.as_deref().unwrap_or("").is_empty()
    {
        return Err(format!("step: missing (required for {kind})"));
    }
    check_assignment(record)?;
    comment::check(record, origin).map_err(|e| e.to_string())?;
    // The flags are signed, so their presence is part of the record: only where SPEC allows them.
    // A flag may be written as `false` anywhere; set to true, only where SPEC gives it meaning.
    for (name, set, allowed) in [
        ("discard", record.discards(), kind == Kind::Reject),
        ("publish", record.publishes(), kind == Kind::Approve),
        ("override", record.overrides(), kind == Kind::Approve),
    ] {
        if set && !allowed {
            return Err(format!("{name}: not allowed on a {kind} record"));
        }
    }
    Ok(parsed)
}

/// A passkey's signature has the length its algorithm gives it (DER for ES256, SPEC §4a);
/// any other signature is ed25519's 64 bytes.
fn check_signature_length(parsed: &RecordFileParsed) -> Result<(), String> {
    let len = parsed.signature.len();
    match parsed.webauthn {
        Some(_) if !(1..=webauthn::MAX_SIGNATURE_LEN).contains(&len) => Err(format!(
            "signature: a passkey's signature is at most {} bytes, this one is {len}",
            webauthn::MAX_SIGNATURE_LEN
        )),
        None if len != 64 => Err(format!(
            "signature: an ed25519 signature is 64 bytes, this one is {len} (a passkey's signature needs its webauthn envelope)"
        )),
        _ => Ok(()),
    }
}

/// `assign` only on `submit` and `assign` records; an `assign` record names exactly its own
/// step; every step has at least one reviewer, each named once.
fn check_assignment(record: &Record) -> Result<(), String> {
    let kind = record.kind;
    let Some(assign) = &record.assign else {
        return match kind {
            Kind::Assign => Err("assign: missing (required for assign)".into()),
            _ => Ok(()),
        };
    };
    match kind {
        Kind::Submit => {}
        Kind::Assign => {
            let step = record.step.as_deref().unwrap_or_default();
            if assign.len() != 1 || !assign.contains_key(step) {
                return Err(format!(
                    "assign: an assign record names the reviewers of its own step '{step}' only"
                ));
            }
        }
        _ => return Err(format!("assign: not allowed on a {kind} record")),
    }
    for (step, names) in assign {
        if step.is_empty() {
            return Err("assign: a step name is empty".into());
        }
        if names.is_empty() {
            return Err(format!("assign: step '{step}' names no reviewer"));
        }
        let mut seen = std::collections::BTreeSet::new();
        for name in names {
            if name.is_empty() {
                return Err(format!("assign: step '{step}' names an empty reviewer id"));
            }
            if !seen.insert(name) {
                return Err(format!("assign: step '{step}' names '{name}' twice"));
            }
        }
    }
    Ok(())
}

/// Who a record is, whatever file holds it and however its YAML is spelled: the SHA-256 of
/// its signature and its signed bytes. Two files with one id are one decision; a build that
/// counted a record keeps it by this id (`cache::counted`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordId(pub [u8; 32]);

impl RecordId {
    fn of(signature: &[u8], signed: &[u8]) -> RecordId {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(b"imprimatur-record-id-v1\n");
        for part in [signature, signed] {
            crate::trust::version::hash_part(&mut h, part);
        }
        RecordId(h.finalize().into())
    }
}

impl RecordFileParsed {
    /// This record's [`RecordId`] (the signed bytes made again: for the few records a caller
    /// holds without having checked them).
    pub fn id(&self) -> RecordId {
        RecordId::of(&self.signature_identity(), &self.record.signed_bytes())
    }

    /// What identifies the signature: its bytes, or a passkey's signature with its envelope.
    fn signature_identity(&self) -> std::borrow::Cow<'_, [u8]> {
        match &self.webauthn {
            None => self.signature.as_slice().into(),
            Some(envelope) => webauthn::signature_identity(&self.signature, envelope).into(),
        }
    }

    /// The record file's text, as the signing commands write it: what a build keeps of a
    /// record it counted, to judge it again should its file go.
    pub fn to_yaml(&self) -> String {
        self.record
            .file_text(&self.signature, self.webauthn.as_deref())
    }
}

/// A page id is `<space>/<path>` with no empty, `.` or `..` components, no leading `/`, no
/// backslash and no control character.
pub fn is_valid_page_id(id: &str) -> bool {
    !id.starts_with('/')
        && !id.contains('\\')
        && !id.chars().any(crate::fs::path::is_control)
        && id.split('/').count() >= 2
        && id
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

/// The signatures seen to verify strictly before, as a cache a floor above keeps (in memory,
/// and between runs): [`check_with`] skips the strict verification of a signature it has
/// seen over the same key and bytes, and tells it each one that verifies now.
pub(crate) trait VerifiedSignatures {
    /// Whether this exact signature over these exact bytes verified before under this key.
    fn seen(&self, public_key: &[u8], signature: &[u8], signed: &[u8]) -> bool;
    /// Remembers that this exact signature over these exact bytes verified under this key.
    fn remember(&self, public_key: &[u8], signature: &[u8], signed: &[u8]);
}

/// Conditions 2–5 of §4 for a parsed record. `Ok` means the record counts (subject to the
/// policy's authority rules, which the review engine applies).
pub fn check(parsed: &RecordFileParsed, keyring: &Keyring, now: &Instant) -> Result<(), String> {
    check_with(parsed, keyring, now, None).map(|_| ())
}

/// [`check`], skipping the strict verification of a signature `memo` saw verify over the
/// same key and bytes before (and remembering the ones that verify now). `Ok` is the id of
/// the record that counts.
pub(crate) fn check_with(
    parsed: &RecordFileParsed,
    keyring: &Keyring,
    now: &Instant,
    memo: Option<&dyn VerifiedSignatures>,
) -> Result<RecordId, String> {
    let r = &parsed.record;
    let Some(key) = keyring.keys.get(&r.key) else {
        return Err(format!("key '{}' is not in the keyring", r.key));
    };
    if key.reviewer != r.reviewer {
        return Err(format!(
            "key '{}' belongs to '{}', not to reviewer '{}'",
            r.key, key.reviewer, r.reviewer
        ));
    }
    if let Some(why) = key.unusable_at(&r.signed_at) {
        return Err(format!(
            "{why}; signed at {}",
            time::format_utc(&r.signed_at)
        ));
    }
    let signed = r.signed_bytes();
    if let Some(why) = key.outside_seal(&signed) {
        return Err(why);
    }
    // The cache is keyed by everything the verdict depends on: a passkey's relying party and
    // origins with its key, and the envelope with its signature.
    let public = key.public_key.identity();
    let signature = parsed.signature_identity();
    let seen = memo.is_some_and(|m| m.seen(&public, &signature, &signed));
    if !seen {
        verify(parsed, &key.public_key, &signed).map_err(|why| {
            why.unwrap_or_else(|| format!(
                "signature does not verify with key '{}' (the record was changed after signing, or signed by another key)",
                r.key
            ))
        })?;
        if let Some(m) = memo {
            m.remember(&public, &signature, &signed);
        }
    }
    if (r.signed_at - *now).num_seconds() > FUTURE_TOLERANCE_SECS {
        return Err(format!(
            "signed_at {} is in the future (the build's time is {})",
            time::format_utc(&r.signed_at),
            time::format_utc(now)
        ));
    }
    if !is_valid_page_id(&r.content) {
        return Err(format!(
            "content: '{}' is not a page id like <space>/<path>",
            r.content
        ));
    }
    let space_of_content = r.content.split('/').next().unwrap_or("");
    if r.space != space_of_content {
        return Err(format!(
            "space: '{}' is not the space of content '{}'",
            r.space, r.content
        ));
    }
    Ok(RecordId::of(&signature, &signed))
}

/// Condition 3 of §4 (and §4a for a passkey): `Err(None)` when the signature does not verify,
/// `Err(Some(why))` when a passkey's envelope says why it can't count.
fn verify(
    parsed: &RecordFileParsed,
    public_key: &PublicKey,
    signed: &[u8],
) -> Result<(), Option<String>> {
    let r = &parsed.record;
    match (public_key, parsed.webauthn.as_deref()) {
        (PublicKey::Ed25519(key), None) => {
            let signature = Signature::from_slice(&parsed.signature).map_err(|_| None)?;
            key.verify_strict(signed, &signature).map_err(|_| None)
        }
        (PublicKey::WebAuthn(key), Some(envelope)) => key
            .verify(signed, &parsed.signature, envelope)
            .map_err(|why| Some(format!("key '{}' is a passkey: {why}", r.key))),
        (PublicKey::WebAuthn(_), None) => Err(Some(format!(
            "key '{}' is a passkey, and the record has no webauthn envelope (SPEC §4a) to verify its signature with",
            r.key
        ))),
        (PublicKey::Ed25519(_), Some(_)) => Err(Some(format!(
            "key '{}' is an ed25519 key, and the record carries a passkey's webauthn envelope",
            r.key
        ))),
    }
}

/// Both readers' verdicts on `text` (the full YAML reader's, and the flat reader's when it
/// reads it at all), for the fuzz target that asserts they agree (`src/fuzzing.rs`).
#[cfg(feature = "fuzzing")]
pub(crate) fn both_readers(
    text: &str,
    origin: Origin,
) -> (Result<RecordFileParsed, String>, Option<RecordFileParsed>) {
    let full = parse_yaml(text).and_then(|p| check_fields(p, origin));
    (full, flat::read(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn sample() -> Record {
        Record {
            kind: Kind::Approve,
            space: "kb".into(),
            content: "kb/install".into(),
            version: Version::of_bytes(b"x"),
            step: Some("technical".into()),
            reviewer: "alice".into(),
            key: "alice-2026".into(),
            signed_at: time::parse_signed_at("2026-11-20T10:00:00Z").unwrap(),
            role: None,
            comment: Some("a \"quote\"\nline".into()),
            comment_salt: None,
            comment_digest: None,
            discard: None,
            publish: Some(true),
            override_: None,
            assign: None,
        }
    }

    #[test]
    fn written_records_parse_back_to_the_same_fields() {
        let key = SigningKey::from_bytes(&[9u8; 32]);
        let r = sample();
        let yaml = r.to_yaml(&r.sign(&key));
        let parsed = parse(&yaml).unwrap();
        assert_eq!(*parsed.record, r);
        assert!(
            yaml.starts_with("imprimatur: 1\nkind: \"approve\"\n"),
            "{yaml}"
        );
    }

    #[test]
    fn malformed_records_say_which_field() {
        let key = SigningKey::from_bytes(&[9u8; 32]);
        let r = sample();
        let good = r.to_yaml(&r.sign(&key));
        for (from, to, needle) in [
            ("imprimatur: 1", "imprimatur: 2", "format version 2"),
            ("kind: \"approve\"", "kind: bless", "kind: 'bless'"),
            ("step: \"technical\"\n", "", "step: missing"),
            (
                "signed_at: \"2026-11-20T10:00:00Z\"",
                "signed_at: 2026-11-20T11:00:00+01:00",
                "signed_at",
            ),
            ("version: \"sha256:", "version: \"md5:", "version:"),
            (
                "reviewer: \"alice\"",
                "reviewer: 42",
                "reviewer: must be a string",
            ),
            (
                "publish: true",
                "publish: 'yes'",
                "publish: must be true or false",
            ),
            (
                "kind: \"approve\"",
                "kind: submit",
                "publish: not allowed on a submit",
            ),
            (
                "key: \"alice-2026\"",
                "key: \"alice-2026\"\nextra: 1",
                "unknown field 'extra'",
            ),
            ("signature: \"", "signature: \"AAAA", "64 bytes"),
        ] {
            let bad = if to.is_empty() {
                good.replace(from, "")
            } else {
                good.replacen(from, to, 1)
            };
            let err = parse(&bad).unwrap_err();
            assert!(err.contains(needle), "{needle}: {err}");
        }
    }

    #[test]
    fn every_kind_parses_from_its_name_and_unknown_names_list_them_all() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(*kind));
        }
        assert_eq!(Kind::parse("unpublish"), Some(Kind::Unpublish));
        // The names SPEC §4 gives, in its order, and nothing spelled otherwise.
        let names: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "submit",
                "approve",
                "reject",
                "retract",
                "publish",
                "unpublish",
                "assign"
            ]
        );
        for near in ["Submit", "APPROVE", " reject", "publish\n", ""] {
            assert_eq!(Kind::parse(near), None, "{near:?}");
        }
        let key = SigningKey::from_bytes(&[9u8; 32]);
        let r = sample();
        let bad = r.to_yaml(&r.sign(&key)).replacen("approve", "bless", 1);
        let err = parse(&bad).unwrap_err();
        let names = Kind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>();
        assert!(err.contains(&names.join(", ")), "{err}");
    }

    #[test]
    fn record_parsing_refuses_what_the_format_does_not_have() {
        let key = SigningKey::from_bytes(&[9u8; 32]);
        let r = Record {
            comment: Some("fine".into()),
            ..sample()
        };
        let good = r.to_yaml(&r.sign(&key));
        let line = |field: &str| {
            good.lines()
                .find(|l| l.starts_with(&format!("{field}: ")))
                .unwrap_or_else(|| panic!("{field} in {good}"))
                .to_string()
        };
        let with = |field: &str, replacement: &str| good.replacen(&line(field), replacement, 1);
        let without = |field: &str| good.replacen(&format!("{}\n", line(field)), "", 1);
        for (bad, needle) in [
            (
                with("imprimatur", "imprimatur: \"1\""),
                "format version '1'",
            ),
            (with("imprimatur", "imprimatur: 1.0"), "format version 1"),
            (without("imprimatur"), "imprimatur: missing"),
            (without("signature"), "signature: missing"),
            (without("kind"), "kind: missing"),
            (without("signed_at"), "signed_at: missing"),
            (with("space", "space: \"\""), "space: missing"),
            (
                with("comment", "comment: ~"),
                "comment: must be a string, found nothing",
            ),
            (
                with("comment", "comment:"),
                "comment: must be a string, found nothing",
            ),
            (
                with("comment", "comment: [a, b]"),
                "comment: must be a string, found a list",
            ),
            (
                with("comment", "comment: {a: b}"),
                "comment: must be a string, found a mapping",
            ),
            (
                with("comment", "comment: 1.5"),
                "comment: must be a string, found 1.5",
            ),
            (
                with("comment", "comment: true"),
                "comment: must be a string, found true",
            ),
            (
                with("publish", "publish: yes"),
                "publish: must be true or false, found 'yes'",
            ),
            (
                with("publish", "publish: 1"),
                "publish: must be true or false, found 1",
            ),
            (with("kind", "kind: !custom approve"), "unsupported tag"),
            (
                with("comment", "comment: fine\ncomment: other"),
                "duplicate",
            ),
            (
                with("comment", "<<: {comment: merged}"),
                "unknown field '<<'",
            ),
            (
                with("signature", "signature: \"not base64!\""),
                "signature: not valid base64",
            ),
            (format!("{good}---\n{good}"), "more than one YAML document"),
            ("- kind: approve\n".into(), "mapping"),
            ("kind: [approve\n".into(), "YAML"),
            ("just text\n".into(), "mapping"),
        ] {
            assert_ne!(bad, good, "{needle}");
            let err = parse(&bad).unwrap_err();
            assert!(err.contains(needle), "{needle}: {err}\n{bad}");
        }
    }

    #[test]
    fn readers_accept_quoted_and_unquoted_values_alike() {
        let key = SigningKey::from_bytes(&[9u8; 32]);
        let r = Record {
            comment: Some("Looks right: no".into()),
            ..sample()
        };
        let signature = base64::engine::general_purpose::STANDARD.encode(r.sign(&key).to_bytes());
        let plain = format!(
            "imprimatur: 1\nkind: approve\nspace: kb\ncontent: kb/install\nversion: {}\nstep: technical\nreviewer: alice\nkey: alice-2026\nsigned_at: 2026-11-20T10:00:00Z\ncomment: 'Looks right: no'\npublish: true\nsignature: {signature}\n",
            r.version
        );
        let quoted = format!(
            "\"imprimatur\": 1\n\"kind\": \"approve\"\n\"space\": \"kb\"\n\"content\": \"kb/install\"\n\"version\": \"{}\"\n\"step\": \"technical\"\n\"reviewer\": \"alice\"\n\"key\": \"alice-2026\"\n\"signed_at\": \"2026-11-20T10:00:00Z\"\n\"comment\": \"Looks right: no\"\n\"publish\": true\n\"signature\": \"{signature}\"\n",
            r.version
        );
        for text in [plain, quoted] {
            let parsed = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
            assert_eq!(*parsed.record, r, "{text}");
            assert_eq!(parsed.record.signed_bytes(), r.signed_bytes());
        }
    }

    #[test]
    fn assignments_are_written_quoted_and_refused_where_they_do_not_belong() {
        let key = SigningKey::from_bytes(&[9u8; 32]);
        let submit = Record {
            kind: Kind::Submit,
            step: None,
            publish: None,
            assign: Some([("technical".to_string(), vec!["raj".into(), "eli".into()])].into()),
            ..sample()
        };
        let yaml = submit.to_yaml(&submit.sign(&key));
        // The reviewer ids are strings, double-quoted; a step name is a mapping key.
        assert!(
            yaml.contains("assign:\n  technical:\n  - \"raj\"\n  - \"eli\"\n"),
            "{yaml}"
        );
        assert_eq!(*parse(&yaml).unwrap().record, submit);
        let signed = String::from_utf8(submit.signed_bytes()).unwrap();
        assert!(
            signed.starts_with(
                "imprimatur-record-v1\n{\"assign\":{\"technical\":[\"raj\",\"eli\"]},"
            ),
            "{signed}"
        );
        let assign = Record {
            kind: Kind::Assign,
            ..submit.clone()
        };
        let approve = Record {
            kind: Kind::Approve,
            step: Some("technical".into()),
            ..submit.clone()
        };
        let other_step = Record {
            kind: Kind::Assign,
            step: Some("legal".into()),
            ..submit.clone()
        };
        let no_assign = Record {
            kind: Kind::Assign,
            step: Some("technical".into()),
            assign: None,
            ..submit.clone()
        };
        let twice = Record {
            assign: Some([("technical".to_string(), vec!["raj".into(), "raj".into()])].into()),
            ..submit.clone()
        };
        let nobody = Record {
            assign: Some([("technical".to_string(), vec![])].into()),
            ..submit.clone()
        };
        for (r, needle) in [
            (assign, "step: missing (required for assign)"),
            (approve, "assign: not allowed on a approve record"),
            (other_step, "its own step 'legal'"),
            (no_assign, "assign: missing"),
            (twice, "names 'raj' twice"),
            (nobody, "names no reviewer"),
        ] {
            let err = parse(&r.to_yaml(&r.sign(&key))).unwrap_err();
            assert!(err.contains(needle), "{needle}: {err}");
        }
        for (from, to, needle) in [
            ("- \"raj\"", "- 42", "must be a string"),
            ("  technical:\n", "  technical: raj\n  x:\n", "a list"),
        ] {
            let bad = yaml.replacen(from, to, 1);
            assert_ne!(bad, yaml, "{from}");
            let err = parse(&bad).unwrap_err();
            assert!(err.contains(needle), "{needle}: {err}\n{bad}");
        }
    }
}
