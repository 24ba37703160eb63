//! The keyring (`approvals/keyring.yaml`, SPEC §3): who the reviewers are, their groups, and
//! which public keys speak for them and when. A keyring with a malformed, weak or repeated key
//! is refused whole: a build that trusted part of it could not say whom it trusted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use base64::Engine as _;
use ed25519_dalek::VerifyingKey;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::time::{self, Instant};
use crate::trust::webauthn::{RawWebAuthnKey, WebAuthnKey};
use crate::yaml;

const FILE: &str = "approvals/keyring.yaml";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeyring {
    reviewers: Vec<RawReviewer>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReviewer {
    id: String,
    name: String,
    email: Option<String>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    keys: Vec<RawKey>,
    /// Optional: `false` opts out of every notification to this person, or per channel
    /// (`{email: false}`); missing means all.
    #[serde(default)]
    notify: Option<RawNotify>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawNotify {
    All(bool),
    Channels(RawNotifyChannels),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNotifyChannels {
    #[serde(default = "yes")]
    email: bool,
    #[serde(default = "yes")]
    slack: bool,
}

fn yes() -> bool {
    true
}

/// Which notification channels may address a reviewer by name (`notify:` in the keyring).
/// The webhook feeds automation, not people: it carries every event whatever this says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotifyPrefs {
    pub email: bool,
    pub slack: bool,
}

impl Default for NotifyPrefs {
    fn default() -> Self {
        NotifyPrefs {
            email: true,
            slack: true,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKey {
    id: String,
    /// An ed25519 key (SPEC §3); a passkey has `webauthn` instead (§3a).
    public_key: Option<String>,
    webauthn: Option<RawWebAuthnKey>,
    not_before: Option<String>,
    not_after: Option<String>,
    revoked_at: Option<String>,
    #[serde(default)]
    compromised: bool,
    /// With `revoked_at`: the only records of this key that still count (docs/trust-root.md §4).
    sealed: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct Reviewer {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub groups: BTreeSet<String>,
}

/// What verifies a key's signatures: an ed25519 key signs the record's bytes itself; a passkey
/// signs them through WebAuthn (SPEC §3a, §4a). The rest of the code holds either as one type.
#[derive(Debug, Clone)]
pub enum PublicKey {
    Ed25519(VerifyingKey),
    WebAuthn(Box<WebAuthnKey>),
}

impl PublicKey {
    /// The ed25519 key, when this is one (the signing commands sign with those only).
    pub fn ed25519(&self) -> Option<&VerifyingKey> {
        match self {
            PublicKey::Ed25519(k) => Some(k),
            PublicKey::WebAuthn(_) => None,
        }
    }

    /// The key's `public_key` as the keyring writes it: base64 of the 32 ed25519 bytes, or of
    /// a passkey's DER SubjectPublicKeyInfo.
    pub fn encoded(&self) -> String {
        let bytes: &[u8] = match self {
            PublicKey::Ed25519(k) => k.as_bytes(),
            PublicKey::WebAuthn(w) => &w.spki,
        };
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// What kind of key this is, for people: `ed25519`, `passkey (ES256)`.
    pub fn kind(&self) -> String {
        match self {
            PublicKey::Ed25519(_) => "ed25519".into(),
            PublicKey::WebAuthn(w) => format!("passkey ({})", w.alg.as_str()),
        }
    }

    /// The point itself, whatever its encoding: one key listed twice is refused by this.
    pub(crate) fn point(&self) -> Vec<u8> {
        match self {
            PublicKey::Ed25519(k) => k.to_bytes().to_vec(),
            PublicKey::WebAuthn(w) => w.point(),
        }
    }

    /// What a verified-signature cache keys this key by: the 32 bytes of an ed25519 key (as
    /// before passkeys), or everything a passkey's verdict depends on.
    pub(crate) fn identity(&self) -> Vec<u8> {
        match self {
            PublicKey::Ed25519(k) => k.to_bytes().to_vec(),
            PublicKey::WebAuthn(w) => w.identity(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Key {
    pub id: String,
    pub reviewer: String,
    pub public_key: PublicKey,
    pub not_before: Option<Instant>,
    pub not_after: Option<Instant>,
    pub revoked_at: Option<Instant>,
    pub compromised: bool,
    /// A sealed revocation: `sha256:` of the signed bytes of every record of this key that
    /// still counts. Any other record by it counts nowhere, whatever its `signed_at` says.
    pub sealed: Option<BTreeSet<String>>,
}

impl Key {
    /// Why a record with these signed bytes can't count under this key's seal, if it can't.
    pub fn outside_seal(&self, signed_bytes: &[u8]) -> Option<String> {
        let seal = self.sealed.as_ref()?;
        let hash = format!("sha256:{}", crate::trust::version::sha256_hex(signed_bytes));
        (!seal.contains(&hash)).then(|| {
            format!(
                "key '{}' was revoked and sealed with {} record(s); this record ({hash}) is not in the seal, so it counts nowhere whatever its signed_at says",
                self.id,
                seal.len()
            )
        })
    }

    /// Why a signature made by this key at `signed_at` can't count, if it can't.
    pub fn unusable_at(&self, signed_at: &Instant) -> Option<String> {
        if self.compromised {
            return Some(format!("key '{}' is marked compromised", self.id));
        }
        if let Some(t) = &self.not_before {
            if signed_at < t {
                return Some(format!(
                    "key '{}' is not valid before {}",
                    self.id,
                    time::format_utc(t)
                ));
            }
        }
        if let Some(t) = &self.not_after {
            if signed_at >= t {
                return Some(format!(
                    "key '{}' expired at {}",
                    self.id,
                    time::format_utc(t)
                ));
            }
        }
        if let Some(t) = &self.revoked_at {
            if signed_at >= t {
                return Some(format!(
                    "key '{}' was revoked at {}",
                    self.id,
                    time::format_utc(t)
                ));
            }
        }
        None
    }
}

#[derive(Debug, Clone, Default)]
pub struct Keyring {
    pub reviewers: BTreeMap<String, Reviewer>,
    pub keys: BTreeMap<String, Key>,
    /// Reviewers who opted out of some notifications; everyone else gets all of them.
    pub notify: BTreeMap<String, NotifyPrefs>,
}

impl Keyring {
    pub fn load(path: &Path) -> Result<Keyring> {
        let text = yaml::read_file(path, &yaml::ADMIN).map_err(|e| Error::io(path, e))?;
        Keyring::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Keyring> {
        let raw: RawKeyring = yaml::from_str(text, &yaml::ADMIN)
            .map_err(|e| Error::config(FILE, e.field, e.message))?;
        let mut keyring = Keyring::default();
        let mut seen_public: BTreeMap<Vec<u8>, String> = BTreeMap::new();
        for (i, r) in raw.reviewers.into_iter().enumerate() {
            let at = format!("reviewers[{i}]");
            if !is_reviewer_id(&r.id) {
                return Err(Error::config(
                    FILE,
                    format!("{at}.id"),
                    format!("'{}' must match [a-z0-9._-]+", r.id),
                ));
            }
            if keyring.reviewers.contains_key(&r.id) {
                return Err(Error::config(
                    FILE,
                    format!("{at}.id"),
                    format!("reviewer id '{}' appears twice", r.id),
                ));
            }
            for (j, k) in r.keys.into_iter().enumerate() {
                let kat = format!("{at}.keys[{j}] ({})", k.id);
                if k.id.is_empty() {
                    return Err(Error::config(
                        FILE,
                        format!("{at}.keys[{j}].id"),
                        "must not be empty",
                    ));
                }
                if keyring.keys.contains_key(&k.id) {
                    return Err(Error::config(
                        FILE,
                        format!("{kat}.id"),
                        format!("key id '{}' appears twice", k.id),
                    ));
                }
                let (public_key, field) = match (k.public_key, k.webauthn) {
                    (Some(text), None) => (
                        PublicKey::Ed25519(decode_public_key(&text).map_err(|m| {
                            Error::config(FILE, format!("{kat}.public_key"), m)
                        })?),
                        "public_key",
                    ),
                    (None, Some(raw)) => (
                        PublicKey::WebAuthn(Box::new(raw.decode().map_err(|(field, m)| {
                            Error::config(FILE, format!("{kat}.webauthn.{field}"), m)
                        })?)),
                        "webauthn.public_key",
                    ),
                    (Some(_), Some(_)) => {
                        return Err(Error::config(
                            FILE,
                            kat,
                            "has both public_key and webauthn: a key is an ed25519 key or a passkey, not both",
                        ))
                    }
                    (None, None) => {
                        return Err(Error::config(
                            FILE,
                            kat,
                            "has neither public_key (an ed25519 key) nor webauthn (a passkey)",
                        ))
                    }
                };
                if let Some(other) = seen_public.insert(public_key.point(), k.id.clone()) {
                    return Err(Error::config(
                        FILE,
                        format!("{kat}.{field}"),
                        format!("the same public key is already listed as key '{other}'"),
                    ));
                }
                let instant = |field: &str, v: Option<String>| -> Result<Option<Instant>> {
                    v.map(|v| {
                        time::parse_rfc3339(&v).ok_or_else(|| {
                            Error::config(
                                FILE,
                                format!("{kat}.{field}"),
                                format!("'{v}' is not an RFC 3339 time"),
                            )
                        })
                    })
                    .transpose()
                };
                let sealed = match k.sealed {
                    None => None,
                    Some(_) if k.revoked_at.is_none() => {
                        return Err(Error::config(
                            FILE,
                            format!("{kat}.sealed"),
                            "a seal needs revoked_at: only a revoked key is sealed",
                        ))
                    }
                    Some(list) => {
                        let mut set = BTreeSet::new();
                        for h in list {
                            let ok = h
                                .strip_prefix("sha256:")
                                .is_some_and(crate::trust::version::is_hex64);
                            if !ok {
                                return Err(Error::config(
                                    FILE,
                                    format!("{kat}.sealed"),
                                    format!("'{h}' is not sha256: and 64 lowercase hex digits"),
                                ));
                            }
                            set.insert(h);
                        }
                        Some(set)
                    }
                };
                let key = Key {
                    sealed,
                    not_before: instant("not_before", k.not_before)?,
                    not_after: instant("not_after", k.not_after)?,
                    revoked_at: instant("revoked_at", k.revoked_at)?,
                    id: k.id.clone(),
                    reviewer: r.id.clone(),
                    public_key,
                    compromised: k.compromised,
                };
                keyring.keys.insert(k.id, key);
            }
            let prefs = match r.notify {
                None => NotifyPrefs::default(),
                Some(RawNotify::All(on)) => NotifyPrefs {
                    email: on,
                    slack: on,
                },
                Some(RawNotify::Channels(c)) => NotifyPrefs {
                    email: c.email,
                    slack: c.slack,
                },
            };
            if prefs != NotifyPrefs::default() {
                keyring.notify.insert(r.id.clone(), prefs);
            }
            keyring.reviewers.insert(
                r.id.clone(),
                Reviewer {
                    id: r.id,
                    name: r.name,
                    email: r.email,
                    groups: r.groups.into_iter().collect(),
                },
            );
        }
        Ok(keyring)
    }

    pub fn group_exists(&self, group: &str) -> bool {
        self.reviewers.values().any(|r| r.groups.contains(group))
    }

    /// The keyring entry whose public key is `public_key` (how signing commands find who signs).
    pub fn key_for_public(&self, public_key: &VerifyingKey) -> Option<&Key> {
        self.keys
            .values()
            .find(|k| k.public_key.ed25519() == Some(public_key))
    }

    pub fn notify_prefs(&self, reviewer: &str) -> NotifyPrefs {
        self.notify.get(reviewer).copied().unwrap_or_default()
    }

    pub fn name_of(&self, reviewer: &str) -> String {
        self.reviewers
            .get(reviewer)
            .map(|r| r.name.clone())
            .unwrap_or_else(|| reviewer.to_string())
    }
}

pub(crate) fn is_reviewer_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-'))
}

/// base64, or an OpenSSH `ssh-ed25519 AAAA… [comment]` line (docs/ssh-keys.md) → a 32-byte
/// ed25519 point that is a valid encoding and not of small order. Both spellings give the same
/// bytes, so the same key written both ways is one key (and a duplicate).
pub fn decode_public_key(text: &str) -> std::result::Result<VerifyingKey, String> {
    let bytes = if super::sshkey::is_ssh_line(text) {
        super::sshkey::parse_public_line(text)?
    } else {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| format!("not valid base64: {e}"))?;
        bytes.as_slice().try_into().map_err(|_| {
            format!(
                "an ed25519 public key is 32 bytes, this one is {}",
                bytes.len()
            )
        })?
    };
    let key =
        VerifyingKey::from_bytes(&bytes).map_err(|_| "not a valid ed25519 point".to_string())?;
    if key.is_weak() {
        return Err("a weak (small-order) ed25519 point: it would verify forged signatures".into());
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str = "ebVWLo/mVPlAeLES6KmLp5AfhTrmlb7X4OORC60ElmQ=";
    /// The same key as an OpenSSH public key line.
    const ALICE_SSH: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHm1Vi6P5lT5QHixEuipi6eQH4U65pW+1+DjkQutBJZk";

    #[test]
    fn an_ssh_line_and_the_base64_of_the_same_key_are_one_key() {
        let k = keyring(&format!(
            "reviewers:\n  - id: alice\n    name: Alice\n    keys:\n      - id: alice-ssh\n        public_key: {ALICE_SSH} alice@laptop\n"
        ))
        .unwrap();
        let base64 = decode_public_key(ALICE).unwrap();
        assert_eq!(k.keys["alice-ssh"].public_key.ed25519(), Some(&base64));
        assert_eq!(k.key_for_public(&base64).unwrap().id, "alice-ssh");
        assert_eq!(
            super::super::sshkey::fingerprint(&decode_public_key(ALICE_SSH).unwrap()),
            super::super::sshkey::fingerprint(&base64)
        );
    }

    fn keyring(body: &str) -> Result<Keyring> {
        Keyring::parse(body)
    }

    #[test]
    fn a_good_keyring_loads() {
        let k = keyring(&format!(
            "reviewers:\n  - id: alice\n    name: Alice\n    groups: [eng]\n    keys:\n      - id: alice-2026\n        public_key: {ALICE}\n        revoked_at: 2026-06-01T00:00:00Z\n"
        ))
        .unwrap();
        assert!(k.group_exists("eng"));
        let key = &k.keys["alice-2026"];
        assert_eq!(key.reviewer, "alice");
        let before = time::parse_rfc3339("2026-05-01T00:00:00Z").unwrap();
        let after = time::parse_rfc3339("2026-06-01T00:00:00Z").unwrap();
        assert!(key.unusable_at(&before).is_none());
        assert!(key.unusable_at(&after).unwrap().contains("revoked"));
    }

    #[test]
    fn reviewers_may_opt_out_of_notifications_and_old_keyrings_stay_valid() {
        let k = keyring(
            "reviewers:\n  - {id: a, name: A}\n  - {id: b, name: B, notify: false}\n  - {id: c, name: C, notify: {email: false}}\n",
        )
        .unwrap();
        assert_eq!(k.notify_prefs("a"), NotifyPrefs::default());
        assert_eq!(
            k.notify_prefs("b"),
            NotifyPrefs {
                email: false,
                slack: false
            }
        );
        assert_eq!(
            k.notify_prefs("c"),
            NotifyPrefs {
                email: false,
                slack: true
            }
        );
        let err = keyring("reviewers:\n  - {id: a, name: A, notify: sometimes}\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("notify"), "{err}");
    }

    #[test]
    fn bad_keyrings_are_refused_naming_the_entry() {
        // the identity point (small order) encoded: 0x01 followed by zeros
        let weak = base64::engine::general_purpose::STANDARD.encode({
            let mut b = [0u8; 32];
            b[0] = 1;
            b
        });
        let short = base64::engine::general_purpose::STANDARD.encode([7u8; 31]);
        let cases = [
            (format!("reviewers:\n  - {{id: a, name: A, keys: [{{id: k1, public_key: '{short}'}}]}}\n"), "32 bytes"),
            (format!("reviewers:\n  - {{id: a, name: A, keys: [{{id: k1, public_key: '{weak}'}}]}}\n"), "weak"),
            (
                format!("reviewers:\n  - {{id: a, name: A, keys: [{{id: k1, public_key: '{ALICE}'}}]}}\n  - {{id: b, name: B, keys: [{{id: k2, public_key: '{ALICE}'}}]}}\n"),
                "already listed as key 'k1'",
            ),
            (
                format!("reviewers:\n  - {{id: a, name: A, keys: [{{id: k1, public_key: '{ALICE}'}}, {{id: k1, public_key: '{weak}'}}]}}\n"),
                "appears twice",
            ),
            ("reviewers:\n  - {id: a, name: A}\n  - {id: a, name: B}\n".into(), "reviewer id 'a' appears twice"),
            ("reviewers:\n  - {id: Alice, name: A}\n".into(), "[a-z0-9._-]+"),
            ("reviewers:\n  - {id: a, name: A, group: [x]}\n".into(), "unknown field"),
            (
                format!("reviewers:\n  - {{id: a, name: A, keys: [{{id: k1, public_key: '{ALICE}'}}]}}\n  - {{id: b, name: B, keys: [{{id: k2, public_key: '{ALICE_SSH} b@laptop'}}]}}\n"),
                "already listed as key 'k1'",
            ),
            (
                "reviewers:\n  - {id: a, name: A, keys: [{id: k1, public_key: 'ssh-rsa AAAAB3NzaC1yc2E a@b'}]}\n".into(),
                "'ssh-rsa' keys can't sign records",
            ),
        ];
        for (yaml, needle) in cases {
            let err = keyring(&yaml).unwrap_err().to_string();
            assert!(err.starts_with("approvals/keyring.yaml: "), "{err}");
            assert!(err.contains(needle), "{needle}: {err}");
        }
    }
}
