//! Every rule of SPEC §4a, each shown by one change to an assertion a browser would make
//! (built here: authenticator data, client data, signature) that turns it from counted to
//! refused, for ES256 and EdDSA alike.

use super::*;
use crate::trust::keyring::{Keyring, PublicKey};

const RP_ID: &str = "review.example.com";
const ORIGIN: &str = "https://review.example.com";
const SIGNED: &[u8] = b"imprimatur-record-v1\n{\"kind\":\"approve\"}";

/// What a browser gives back for `navigator.credentials.get`: the parts a mutation may change
/// before the authenticator signs.
#[derive(Clone)]
struct Assertion {
    kind: &'static str,
    challenge_of: Vec<u8>,
    origin: &'static str,
    cross_origin: Option<serde_json::Value>,
    rp_id: &'static str,
    flags: u8,
    /// The authenticator data cut to this many bytes (after signing), if set.
    cut: Option<usize>,
    /// Flip a bit of the signature (after signing).
    bad_signature: bool,
}

impl Default for Assertion {
    fn default() -> Self {
        Assertion {
            kind: "webauthn.get",
            challenge_of: SIGNED.to_vec(),
            origin: ORIGIN,
            cross_origin: Some(serde_json::Value::Bool(false)),
            rp_id: RP_ID,
            flags: FLAG_UP | FLAG_UV,
            cut: None,
            bad_signature: false,
        }
    }
}

enum Signer {
    Es256(p256::ecdsa::SigningKey),
    EdDsa(ed25519_dalek::SigningKey),
}

impl Signer {
    fn es256() -> Signer {
        Signer::Es256(p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap())
    }
    fn eddsa() -> Signer {
        Signer::EdDsa(ed25519_dalek::SigningKey::from_bytes(&[8u8; 32]))
    }

    fn spki(&self) -> Vec<u8> {
        match self {
            Signer::Es256(k) => {
                use p256::pkcs8::EncodePublicKey as _;
                k.verifying_key().to_public_key_der().unwrap().to_vec()
            }
            Signer::EdDsa(k) => {
                use ed25519_dalek::pkcs8::EncodePublicKey as _;
                k.verifying_key().to_public_key_der().unwrap().to_vec()
            }
        }
    }

    fn alg(&self) -> &'static str {
        match self {
            Signer::Es256(_) => "ES256",
            Signer::EdDsa(_) => "EdDSA",
        }
    }

    fn key(&self) -> WebAuthnKey {
        RawWebAuthnKey {
            alg: self.alg().into(),
            public_key: base64::engine::general_purpose::STANDARD.encode(self.spki()),
            rp_id: RP_ID.into(),
            origins: vec![ORIGIN.into()],
            credential_id: "AAEC".into(),
        }
        .decode()
        .unwrap()
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            Signer::Es256(k) => {
                use p256::ecdsa::signature::Signer as _;
                let sig: p256::ecdsa::Signature = k.sign(message);
                sig.to_der().as_bytes().to_vec()
            }
            Signer::EdDsa(k) => {
                use ed25519_dalek::Signer as _;
                k.sign(message).to_bytes().to_vec()
            }
        }
    }

    /// The signature and envelope a browser would return for `a`.
    fn assert(&self, a: &Assertion) -> (Vec<u8>, Envelope) {
        let mut client = serde_json::json!({
            "type": a.kind,
            "challenge": base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(Sha256::digest(&a.challenge_of)),
            "origin": a.origin,
        });
        if let Some(c) = &a.cross_origin {
            client["crossOrigin"] = c.clone();
        }
        let client_data_json = serde_json::to_vec(&client).unwrap();
        let mut authenticator_data = Sha256::digest(a.rp_id.as_bytes()).to_vec();
        authenticator_data.push(a.flags);
        authenticator_data.extend_from_slice(&0u32.to_be_bytes()); // synced passkeys count 0
        let mut message = authenticator_data.clone();
        message.extend_from_slice(&Sha256::digest(&client_data_json));
        let mut signature = self.sign(&message);
        if a.bad_signature {
            let last = signature.len() - 1;
            signature[last] ^= 1;
        }
        if let Some(n) = a.cut {
            authenticator_data.truncate(n);
        }
        (
            signature,
            Envelope {
                authenticator_data,
                client_data_json,
            },
        )
    }
}

#[test]
fn every_rule_of_a_passkey_signature_refuses_its_own_mutation() {
    let cases: Vec<(&str, Assertion, Option<&str>)> = vec![
        ("as a browser signs it", Assertion::default(), None),
        (
            "crossOrigin absent",
            Assertion {
                cross_origin: None,
                ..Default::default()
            },
            None,
        ),
        (
            "a registration, not an assertion",
            Assertion {
                kind: "webauthn.create",
                ..Default::default()
            },
            Some("not \"webauthn.get\""),
        ),
        (
            "a challenge over other bytes",
            Assertion {
                challenge_of: b"another record".to_vec(),
                ..Default::default()
            },
            Some("the challenge is not the SHA-256 of this record's signed bytes"),
        ),
        (
            "a foreign origin",
            Assertion {
                origin: "https://evil.example.net",
                ..Default::default()
            },
            Some("origin 'https://evil.example.net' is not one of the key's origins"),
        ),
        (
            "framed by another site",
            Assertion {
                cross_origin: Some(serde_json::Value::Bool(true)),
                ..Default::default()
            },
            Some("crossOrigin is true"),
        ),
        (
            "crossOrigin as a string",
            Assertion {
                cross_origin: Some("false".into()),
                ..Default::default()
            },
            Some("crossOrigin is \"false\""),
        ),
        (
            "authenticator data too short",
            Assertion {
                cut: Some(36),
                ..Default::default()
            },
            Some("36 bytes, fewer than the 37"),
        ),
        (
            "the relying party of another site",
            Assertion {
                rp_id: "evil.example.net",
                ..Default::default()
            },
            Some("another relying party"),
        ),
        (
            "user not present",
            Assertion {
                flags: FLAG_UV,
                ..Default::default()
            },
            Some("flag UP clear"),
        ),
        (
            "user not verified",
            Assertion {
                flags: FLAG_UP,
                ..Default::default()
            },
            Some("flag UV clear"),
        ),
        (
            "a bad signature",
            Assertion {
                bad_signature: true,
                ..Default::default()
            },
            Some("does not verify"),
        ),
    ];
    for signer in [Signer::es256(), Signer::eddsa()] {
        let key = signer.key();
        for (name, assertion, refusal) in &cases {
            let (signature, envelope) = signer.assert(assertion);
            let verdict = key.verify(SIGNED, &signature, &envelope);
            match refusal {
                None => assert_eq!(verdict, Ok(()), "{} {name}", signer.alg()),
                Some(needle) => {
                    let why = verdict.expect_err(name);
                    assert!(why.contains(needle), "{} {name}: {why}", signer.alg());
                }
            }
        }
        // Client data that is not a JSON object at all.
        let (signature, mut envelope) = signer.assert(&Assertion::default());
        envelope.client_data_json = b"[\"webauthn.get\"]".to_vec();
        let why = key.verify(SIGNED, &signature, &envelope).unwrap_err();
        assert!(why.contains("not a JSON object"), "{why}");
    }
}

#[test]
fn an_es256_signature_with_high_s_counts_and_is_the_same_record() {
    use p256::elliptic_curve::scalar::IsHigh as _;
    // WebAuthn does not ask authenticators for low S; many give either. Refusing high S would
    // refuse about half of real passkey signatures, and the record id is of the low-S form,
    // so flipping S makes no second record.
    let signer = Signer::es256();
    let key = signer.key();
    let (signed, envelope) = signer.assert(&Assertion::default());
    let low = p256::ecdsa::Signature::from_der(&signed)
        .unwrap()
        .normalize_s();
    assert!(!bool::from(low.s().is_high()));
    let (r, s) = low.split_scalars();
    let high = p256::ecdsa::Signature::from_scalars(*r, -*s).unwrap();
    assert!(bool::from(high.s().is_high()));
    let (low, high) = (
        low.to_der().as_bytes().to_vec(),
        high.to_der().as_bytes().to_vec(),
    );
    assert_eq!(key.verify(SIGNED, &low, &envelope), Ok(()));
    assert_ne!(high, low);
    assert_eq!(key.verify(SIGNED, &high, &envelope), Ok(()));
    assert_eq!(
        signature_identity(&high, &envelope),
        signature_identity(&low, &envelope)
    );
    // ... and a different envelope is a different signature.
    let mut other = envelope.clone();
    other.authenticator_data[33] = 9;
    assert_ne!(
        signature_identity(&low, &other),
        signature_identity(&low, &envelope)
    );
}

#[test]
fn an_eddsa_signature_is_verified_strictly() {
    // A signature whose R is the identity (small order), made with the secret scalar:
    // `verify` accepts it, `verify_strict` does not, and neither does a passkey.
    use curve25519_dalek::scalar::Scalar;
    use ed25519_dalek::Verifier as _;
    let Signer::EdDsa(secret) = Signer::eddsa() else {
        unreachable!()
    };
    let key = Signer::eddsa().key();
    let (_, envelope) = Signer::eddsa().assert(&Assertion::default());
    let mut message = envelope.authenticator_data.clone();
    message.extend_from_slice(&Sha256::digest(&envelope.client_data_json));
    let mut r = [0u8; 32];
    r[0] = 1;
    let a = secret.verifying_key().to_bytes();
    let k = Scalar::from_hash(
        sha2::Sha512::new()
            .chain_update(r)
            .chain_update(a)
            .chain_update(&message),
    );
    let s = k * secret.to_scalar();
    let mut bytes = r.to_vec();
    bytes.extend_from_slice(s.as_bytes());
    let signature = ed25519_dalek::Signature::from_slice(&bytes).unwrap();
    assert!(secret.verifying_key().verify(&message, &signature).is_ok());
    assert!(secret
        .verifying_key()
        .verify_strict(&message, &signature)
        .is_err());
    let why = key.verify(SIGNED, &bytes, &envelope).unwrap_err();
    assert!(why.contains("does not verify"), "{why}");
}

fn keyring_with(entry: &str) -> Result<Keyring, String> {
    Keyring::parse(&format!(
        "reviewers:\n  - id: dana\n    name: Dana\n    keys:\n{entry}"
    ))
    .map_err(|e| e.to_string())
}

fn passkey_entry(id: &str, alg: &str, spki: &[u8]) -> String {
    format!(
        "      - id: {id}\n        webauthn:\n          alg: {alg}\n          public_key: {}\n          rp_id: {RP_ID}\n          origins: [\"{ORIGIN}\"]\n          credential_id: AAEC\n",
        base64::engine::general_purpose::STANDARD.encode(spki)
    )
}

#[test]
fn a_keyring_takes_passkeys_and_refuses_bad_ones_naming_the_field() {
    let es = Signer::es256().spki();
    let ed = Signer::eddsa().spki();
    let k = keyring_with(&format!(
        "{}{}",
        passkey_entry("dana-phone", "ES256", &es),
        passkey_entry("dana-key", "EdDSA", &ed)
    ))
    .unwrap();
    assert!(matches!(
        k.keys["dana-phone"].public_key,
        PublicKey::WebAuthn(_)
    ));
    assert_eq!(k.keys["dana-key"].public_key.kind(), "passkey (EdDSA)");
    assert_eq!(
        k.keys["dana-phone"].public_key.encoded(),
        base64::engine::general_purpose::STANDARD.encode(&es)
    );

    // The Ed25519 point of the EdDSA passkey, as a plain key: the same key twice.
    let Signer::EdDsa(secret) = Signer::eddsa() else {
        unreachable!()
    };
    let plain = base64::engine::general_purpose::STANDARD.encode(secret.verifying_key().as_bytes());
    let mut p384 = es.clone();
    p384[20] ^= 0x40; // the curve's OID: no longer P-256
    let weak = {
        let mut der = ed.clone();
        let n = der.len();
        der[n - 32..].copy_from_slice(&{
            let mut b = [0u8; 32];
            b[0] = 1;
            b
        });
        der
    };
    let entry = passkey_entry("dana-phone", "ES256", &es);
    for (yaml, needle) in [
        (
            format!("{entry}{}", passkey_entry("dana-2", "ES256", &es)),
            "keys[1] (dana-2).webauthn.public_key: the same public key is already listed as key 'dana-phone'",
        ),
        (
            format!(
                "{}      - id: dana-plain\n        public_key: {plain}\n",
                passkey_entry("dana-key", "EdDSA", &ed)
            ),
            "keys[1] (dana-plain).public_key: the same public key is already listed as key 'dana-key'",
        ),
        (passkey_entry("k", "RS256", &es), "keys[0] (k).webauthn.alg: 'RS256'"),
        (passkey_entry("k", "EdDSA", &es), "keys[0] (k).webauthn.public_key: not the DER SubjectPublicKeyInfo of an Ed25519 key"),
        (passkey_entry("k", "ES256", &ed), "keys[0] (k).webauthn.public_key: not the DER SubjectPublicKeyInfo of a P-256 key"),
        (passkey_entry("k", "ES256", &p384), "keys[0] (k).webauthn.public_key: not the DER"),
        (passkey_entry("k", "ES256", &es[..40]), "keys[0] (k).webauthn.public_key: not the DER"),
        (passkey_entry("k", "EdDSA", &weak), "weak (small-order)"),
        (entry.replace("\"https://review.example.com\"", "\"https://review.example.com/\""), "webauthn.origins: 'https://review.example.com/' is not an origin"),
        (entry.replace("[\"https://review.example.com\"]", "[]"), "webauthn.origins: lists no origin"),
        (entry.replace("credential_id: AAEC", "credential_id: AAE="), "webauthn.credential_id: not base64url"),
        (entry.replace("rp_id: review.example.com", "rp_id: ''"), "webauthn.rp_id: must not be empty"),
        (entry.replace("          rp_id: review.example.com\n", ""), "rp_id"),
        (entry.replace("        webauthn:\n", &format!("        public_key: {plain}\n        webauthn:\n")), "both public_key and webauthn"),
        ("      - id: k\n".into(), "neither public_key"),
    ] {
        let err = keyring_with(&yaml).unwrap_err();
        assert!(err.starts_with("approvals/keyring.yaml: "), "{err}");
        assert!(err.contains(needle), "{needle}: {err}\n{yaml}");
    }
}

/// A verified-signature cache that remembers every triple it is told.
#[derive(Default)]
struct Remembers(std::sync::Mutex<std::collections::HashSet<Vec<u8>>>);

impl Remembers {
    fn id(public_key: &[u8], signature: &[u8], signed: &[u8]) -> Vec<u8> {
        [public_key, b"|", signature, b"|", signed].concat()
    }
}

impl crate::trust::record::VerifiedSignatures for Remembers {
    fn seen(&self, public_key: &[u8], signature: &[u8], signed: &[u8]) -> bool {
        let id = Remembers::id(public_key, signature, signed);
        self.0.lock().unwrap().contains(&id)
    }
    fn remember(&self, public_key: &[u8], signature: &[u8], signed: &[u8]) {
        let id = Remembers::id(public_key, signature, signed);
        self.0.lock().unwrap().insert(id);
    }
}

#[test]
fn a_remembered_verdict_covers_the_envelope_and_the_key_s_origins() {
    use crate::trust::record::{self, Kind, Record, RecordFileParsed};
    let at = crate::time::parse_signed_at("2026-11-20T10:00:00Z").unwrap();
    let record = Record {
        kind: Kind::Approve,
        space: "kb".into(),
        content: "kb/install".into(),
        version: crate::trust::version::Version::of_bytes(b"x"),
        step: Some("legal".into()),
        reviewer: "dana".into(),
        key: "dana-phone".into(),
        signed_at: at,
        role: None,
        comment: None,
        comment_salt: None,
        comment_digest: None,
        discard: None,
        publish: None,
        override_: None,
        assign: None,
    };
    let signer = Signer::es256();
    let (signature, envelope) = signer.assert(&Assertion {
        challenge_of: record.signed_bytes(),
        ..Default::default()
    });
    let parsed = RecordFileParsed {
        record: record.into(),
        signature,
        webauthn: Some(envelope.clone().into()),
    };
    let entry = passkey_entry("dana-phone", "ES256", &signer.spki());
    let keyring = keyring_with(&entry).unwrap();
    let memo = Remembers::default();
    let check = |p: &RecordFileParsed, k: &Keyring| record::check_with(p, k, &at, Some(&memo));
    let id = check(&parsed, &keyring).unwrap();
    assert_eq!(memo.0.lock().unwrap().len(), 1);
    assert_eq!(check(&parsed, &keyring), Ok(id), "remembered");

    // The same signature over the same record bytes, with another envelope: not remembered.
    let mut other = envelope.clone();
    other.authenticator_data[36] ^= 1;
    let changed = RecordFileParsed {
        webauthn: Some(other.into()),
        ..parsed.clone()
    };
    let why = check(&changed, &keyring).unwrap_err();
    assert!(why.contains("does not verify"), "{why}");

    // The same key, no longer allowing the origin that asked: not remembered either.
    let moved = keyring_with(&entry.replace(ORIGIN, "https://other.example.com")).unwrap();
    let why = check(&parsed, &moved).unwrap_err();
    assert!(why.contains("is not one of the key's origins"), "{why}");

    // A passkey's record without its envelope, and an envelope on an ed25519 key's record.
    let bare = RecordFileParsed {
        webauthn: None,
        ..parsed.clone()
    };
    let why = record::check(&bare, &keyring, &at).unwrap_err();
    assert!(why.contains("no webauthn envelope"), "{why}");
    let Signer::EdDsa(ed) = Signer::eddsa() else {
        unreachable!()
    };
    let plain = keyring_with(&format!(
        "      - id: dana-phone\n        public_key: {}\n",
        base64::engine::general_purpose::STANDARD.encode(ed.verifying_key().as_bytes())
    ))
    .unwrap();
    let why = record::check(&parsed, &plain, &at).unwrap_err();
    assert!(why.contains("is an ed25519 key"), "{why}");
}

#[test]
fn a_sign_in_is_checked_by_the_same_rules_against_the_challenge_the_server_issued() {
    let signer = Signer::es256();
    let key = signer.key();
    let issued: Vec<u8> = Sha256::digest(b"a nonce").to_vec();
    // The helper hashes `challenge_of` into the client data: the issued bytes are that hash.
    let (signature, envelope) = signer.assert(&Assertion {
        challenge_of: b"a nonce".to_vec(),
        ..Default::default()
    });
    assert_eq!(
        key.verify_assertion(&Challenge::Issued(&issued), &signature, &envelope),
        Ok(ORIGIN.to_string())
    );
    let other = Sha256::digest(b"another nonce").to_vec();
    let why = key
        .verify_assertion(&Challenge::Issued(&other), &signature, &envelope)
        .unwrap_err();
    assert!(why.contains("not the one this server issued"), "{why}");
    // Without user verification a sign-in is refused like a record is.
    let (signature, envelope) = signer.assert(&Assertion {
        challenge_of: b"a nonce".to_vec(),
        flags: FLAG_UP,
        ..Default::default()
    });
    let why = key
        .verify_assertion(&Challenge::Issued(&issued), &signature, &envelope)
        .unwrap_err();
    assert!(why.contains("flag UV clear"), "{why}");
}
