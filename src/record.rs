//! Signed records (SPEC §4) and the signing rule, written once: the build's verification and
//! the signing commands both use `signed_bytes`. A record counts only if every condition of
//! §4 holds; otherwise `check` says why in words a reviewer understands.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey};
use serde::Serialize;
use serde_yaml::Value as Yaml;

use crate::content::is_valid_page_id;
use crate::keyring::Keyring;
use crate::time::{self, Instant};
use crate::version::Version;

pub const SIGNING_PREFIX: &[u8] = b"imprimatur-record-v1\n";
/// How far in the future a `signed_at` may be (clock skew between a reviewer and the build).
pub const FUTURE_TOLERANCE_SECS: i64 = 5 * 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Submit,
    Approve,
    Reject,
    Retract,
    Publish,
    Unpublish,
}

impl Kind {
    pub fn parse(text: &str) -> Option<Kind> {
        Some(match text {
            "submit" => Kind::Submit,
            "approve" => Kind::Approve,
            "reject" => Kind::Reject,
            "retract" => Kind::Retract,
            "publish" => Kind::Publish,
            "unpublish" => Kind::Unpublish,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Submit => "submit",
            Kind::Approve => "approve",
            Kind::Reject => "reject",
            Kind::Retract => "retract",
            Kind::Publish => "publish",
            Kind::Unpublish => "unpublish",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A record's fields, as signed. `signed_at` keeps its exact text (it is part of the signed
/// bytes) beside its parsed instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub kind: Kind,
    pub space: String,
    pub content: String,
    pub version: Version,
    pub step: Option<String>,
    pub reviewer: String,
    pub key: String,
    pub signed_at: Instant,
    pub role: Option<String>,
    pub comment: Option<String>,
    /// The three flags keep whether the file wrote them: a flag written as `false` is a
    /// field of the record like any other, and so part of the signed bytes.
    pub discard: Option<bool>,
    pub publish: Option<bool>,
    pub override_: Option<bool>,
}

/// The order-preserving YAML layout of a record file, as `write_yaml` emits it.
#[derive(Serialize)]
struct RecordFile<'a> {
    imprimatur: u32,
    kind: &'a str,
    space: &'a str,
    content: &'a str,
    version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    step: Option<&'a str>,
    reviewer: &'a str,
    key: &'a str,
    signed_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    discard: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    publish: Option<bool>,
    #[serde(rename = "override", skip_serializing_if = "Option::is_none")]
    override_: Option<bool>,
    signature: String,
}

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

    /// The signing rule: prefix + RFC 8785 canonical JSON of every field but `signature`.
    /// Our values are strings, one small integer and booleans, for which serde_json's compact
    /// output of a key-sorted map is exactly JCS (same escapes, UTF-8 kept, no spaces).
    pub fn signed_bytes(&self) -> Vec<u8> {
        use serde_json::Value as J;
        let mut fields: BTreeMap<&str, J> = BTreeMap::new();
        fields.insert("imprimatur", J::from(1));
        fields.insert("kind", J::from(self.kind.as_str()));
        fields.insert("space", J::from(self.space.as_str()));
        fields.insert("content", J::from(self.content.as_str()));
        fields.insert("version", J::from(self.version.as_str()));
        fields.insert("reviewer", J::from(self.reviewer.as_str()));
        fields.insert("key", J::from(self.key.as_str()));
        fields.insert("signed_at", J::from(time::format_utc(&self.signed_at)));
        for (name, value) in [
            ("step", &self.step),
            ("role", &self.role),
            ("comment", &self.comment),
        ] {
            if let Some(v) = value {
                fields.insert(name, J::from(v.as_str()));
            }
        }
        for (name, value) in [
            ("discard", self.discard),
            ("publish", self.publish),
            ("override", self.override_),
        ] {
            if let Some(v) = value {
                fields.insert(name, J::from(v));
            }
        }
        let mut bytes = SIGNING_PREFIX.to_vec();
        serde_json::to_writer(&mut bytes, &fields).expect("a map of strings serializes");
        bytes
    }

    pub fn sign(&self, key: &SigningKey) -> Signature {
        key.sign(&self.signed_bytes())
    }

    /// The record file's text, signature included.
    pub fn to_yaml(&self, signature: &Signature) -> String {
        let file = RecordFile {
            imprimatur: 1,
            kind: self.kind.as_str(),
            space: &self.space,
            content: &self.content,
            version: self.version.as_str(),
            step: self.step.as_deref(),
            reviewer: &self.reviewer,
            key: &self.key,
            signed_at: time::format_utc(&self.signed_at),
            role: self.role.as_deref(),
            comment: self.comment.as_deref(),
            discard: self.discard,
            publish: self.publish,
            override_: self.override_,
            signature: base64::engine::general_purpose::STANDARD.encode(signature.to_bytes()),
        };
        serde_yaml::to_string(&file).expect("a record serializes")
    }
}

/// A record file as read: its fields, or why it does not even parse.
#[derive(Debug, Clone)]
pub struct RecordFileParsed {
    pub record: Record,
    pub signature: [u8; 64],
}

/// Parses a record file's YAML with condition 1 of §4: the format version is 1, the kind is
/// known, required fields are there, every value has its type and nothing else is present.
pub fn parse(text: &str) -> Result<RecordFileParsed, String> {
    let doc: Yaml = serde_yaml::from_str(text).map_err(|e| format!("not valid YAML: {e}"))?;
    let Yaml::Mapping(map) = doc else {
        return Err("not a YAML mapping of record fields".into());
    };
    let mut fields: BTreeMap<String, Yaml> = BTreeMap::new();
    for (k, v) in map {
        let Yaml::String(k) = k else {
            return Err("a field name is not a string".into());
        };
        fields.insert(k, v);
    }
    const KNOWN: &[&str] = &[
        "imprimatur",
        "kind",
        "space",
        "content",
        "version",
        "step",
        "reviewer",
        "key",
        "signed_at",
        "role",
        "comment",
        "discard",
        "publish",
        "override",
        "signature",
    ];
    if let Some(unknown) = fields.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(format!(
            "unknown field '{unknown}' (format version 1 has no such field)"
        ));
    }
    match fields.get("imprimatur") {
        Some(Yaml::Number(n)) if n.as_u64() == Some(1) => {}
        Some(other) => {
            return Err(format!(
                "imprimatur: format version {} is not supported (expected 1)",
                yaml_brief(other)
            ))
        }
        None => return Err("imprimatur: missing (the format version, 1)".into()),
    }
    let string = |name: &str| -> Result<Option<String>, String> {
        match fields.get(name) {
            None => Ok(None),
            Some(Yaml::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(format!(
                "{name}: must be a string, found {}",
                yaml_brief(other)
            )),
        }
    };
    let required = |name: &str| -> Result<String, String> {
        string(name)?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| format!("{name}: missing"))
    };
    let flag = |name: &str| -> Result<Option<bool>, String> {
        match fields.get(name) {
            None => Ok(None),
            Some(Yaml::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(format!(
                "{name}: must be true or false, found {}",
                yaml_brief(other)
            )),
        }
    };
    let kind_text = required("kind")?;
    let kind = Kind::parse(&kind_text).ok_or_else(|| {
        format!("kind: '{kind_text}' is not one of submit, approve, reject, retract, publish")
    })?;
    let version_text = required("version")?;
    let version = Version::parse(&version_text).ok_or_else(|| {
        format!("version: '{version_text}' is not sha256: followed by 64 lowercase hex digits")
    })?;
    let signed_at_text = required("signed_at")?;
    let signed_at = time::parse_signed_at(&signed_at_text).ok_or_else(|| {
        format!("signed_at: '{signed_at_text}' is not RFC 3339 UTC with whole seconds and 'Z' (e.g. 2026-11-20T10:00:00Z)")
    })?;
    let step = string("step")?;
    if matches!(kind, Kind::Approve | Kind::Reject) && step.as_deref().unwrap_or("").is_empty() {
        return Err(format!("step: missing (required for {kind})"));
    }
    let record = Record {
        kind,
        space: required("space")?,
        content: required("content")?,
        version,
        step,
        reviewer: required("reviewer")?,
        key: required("key")?,
        signed_at,
        role: string("role")?,
        comment: string("comment")?,
        discard: flag("discard")?,
        publish: flag("publish")?,
        override_: flag("override")?,
    };
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
    let signature_text = required("signature")?;
    let signature_bytes = base64::engine::general_purpose::STANDARD
        .decode(signature_text.trim())
        .map_err(|_| "signature: not valid base64".to_string())?;
    let signature: [u8; 64] = signature_bytes.as_slice().try_into().map_err(|_| {
        format!(
            "signature: an ed25519 signature is 64 bytes, this one is {}",
            signature_bytes.len()
        )
    })?;
    Ok(RecordFileParsed { record, signature })
}

fn yaml_brief(v: &Yaml) -> String {
    match v {
        Yaml::Null => "nothing".into(),
        Yaml::Bool(b) => b.to_string(),
        Yaml::Number(n) => n.to_string(),
        Yaml::String(s) => format!("'{s}'"),
        Yaml::Sequence(_) => "a list".into(),
        Yaml::Mapping(_) => "a mapping".into(),
        Yaml::Tagged(_) => "a tagged value".into(),
    }
}

/// Conditions 2–5 of §4 for a parsed record. `Ok` means the record counts (subject to the
/// policy's authority rules, which the review engine applies).
pub fn check(parsed: &RecordFileParsed, keyring: &Keyring, now: &Instant) -> Result<(), String> {
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
    let signature = Signature::from_bytes(&parsed.signature);
    if key
        .public_key
        .verify_strict(&r.signed_bytes(), &signature)
        .is_err()
    {
        return Err(format!(
            "signature does not verify with key '{}' (the record was changed after signing, or signed by another key)",
            r.key
        ));
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Record {
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
            discard: None,
            publish: Some(true),
            override_: None,
        }
    }

    #[test]
    fn written_records_parse_back_to_the_same_fields() {
        let key = SigningKey::from_bytes(&[9u8; 32]);
        let r = sample();
        let yaml = r.to_yaml(&r.sign(&key));
        let parsed = parse(&yaml).unwrap();
        assert_eq!(parsed.record, r);
        assert!(yaml.starts_with("imprimatur: 1\nkind: approve\n"), "{yaml}");
    }

    #[test]
    fn malformed_records_say_which_field() {
        let key = SigningKey::from_bytes(&[9u8; 32]);
        let r = sample();
        let good = r.to_yaml(&r.sign(&key));
        for (from, to, needle) in [
            ("imprimatur: 1", "imprimatur: 2", "format version 2"),
            ("kind: approve", "kind: bless", "kind: 'bless'"),
            ("step: technical\n", "", "step: missing"),
            (
                "signed_at: 2026-11-20T10:00:00Z",
                "signed_at: 2026-11-20T11:00:00+01:00",
                "signed_at",
            ),
            ("version: sha256:", "version: md5:", "version:"),
            (
                "reviewer: alice",
                "reviewer: 42",
                "reviewer: must be a string",
            ),
            (
                "publish: true",
                "publish: 'yes'",
                "publish: must be true or false",
            ),
            (
                "kind: approve",
                "kind: submit",
                "publish: not allowed on a submit",
            ),
            (
                "key: alice-2026",
                "key: alice-2026\nextra: 1",
                "unknown field 'extra'",
            ),
            ("signature: ", "signature: AAAA", "64 bytes"),
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
}
