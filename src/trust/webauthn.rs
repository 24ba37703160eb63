//! Passkeys as reviewer keys (SPEC §3a, §4a): a key registered in a browser signs a record
//! through WebAuthn, so the authenticator signs its own data and the browser's client data, not
//! the record's bytes. The record carries both (the unsigned `webauthn:` envelope); a record
//! counts only when the client data asks for exactly its signed bytes, from an origin the key
//! lists, and the authenticator saw the user present and verified, for the key's relying party.

pub mod registration;

use base64::Engine as _;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The algorithms a passkey may sign with (COSE names, as browsers report them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// ECDSA over P-256 with SHA-256.
    Es256,
    /// Ed25519, verified strictly.
    EdDsa,
}

impl Alg {
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::Es256 => "ES256",
            Alg::EdDsa => "EdDSA",
        }
    }
}

#[derive(Debug, Clone)]
enum Verifier {
    Es256(p256::ecdsa::VerifyingKey),
    EdDsa(ed25519_dalek::VerifyingKey),
}

/// A keyring's `webauthn:` entry, checked: the public key decodes for its algorithm and is not
/// weak, the origins are origins, the credential id decodes.
#[derive(Debug, Clone)]
pub struct WebAuthnKey {
    pub alg: Alg,
    /// The DER SubjectPublicKeyInfo, as the keyring gives it.
    pub spki: Vec<u8>,
    pub rp_id: String,
    pub origins: Vec<String>,
    /// As the keyring gives it (base64url, no padding): for the browser to pick the credential.
    pub credential_id: String,
    verifier: Verifier,
}

/// The `webauthn:` entry as written in `approvals/keyring.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWebAuthnKey {
    alg: String,
    public_key: String,
    rp_id: String,
    origins: Vec<String>,
    credential_id: String,
}

/// The unsigned `webauthn:` field of a record (SPEC §4a), decoded from base64url.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub authenticator_data: Vec<u8>,
    pub client_data_json: Vec<u8>,
}

/// The envelope as written in a record file: two base64url strings without padding.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEnvelope {
    authenticator_data: String,
    client_data_json: String,
}

/// The most bytes a WebAuthn signature has: a DER ECDSA P-256 signature (EdDSA's are 64).
pub const MAX_SIGNATURE_LEN: usize = 72;

/// The authenticator data's flags (its 33rd byte): user present, user verified.
const FLAG_UP: u8 = 0x01;
const FLAG_UV: u8 = 0x04;

fn b64url(text: &str) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim())
        .map_err(|e| format!("not base64url without padding: {e}"))
}

impl RawEnvelope {
    pub(crate) fn decode(self) -> Result<Envelope, String> {
        Ok(Envelope {
            authenticator_data: b64url(&self.authenticator_data)
                .map_err(|m| format!("webauthn.authenticator_data: {m}"))?,
            client_data_json: b64url(&self.client_data_json)
                .map_err(|m| format!("webauthn.client_data_json: {m}"))?,
        })
    }
}

impl Envelope {
    /// The two fields as a record file writes them.
    pub fn encoded(&self) -> (String, String) {
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        (
            e.encode(&self.authenticator_data),
            e.encode(&self.client_data_json),
        )
    }
}

impl RawWebAuthnKey {
    /// The checked key, or the field at fault (below `webauthn.`) and what is wrong with it.
    pub(crate) fn decode(self) -> Result<WebAuthnKey, (&'static str, String)> {
        let alg = match self.alg.as_str() {
            "ES256" => Alg::Es256,
            "EdDSA" => Alg::EdDsa,
            other => {
                return Err((
                    "alg",
                    format!(
                        "'{other}' is not a passkey algorithm imprimatur verifies (ES256 or EdDSA)"
                    ),
                ))
            }
        };
        let spki = base64::engine::general_purpose::STANDARD
            .decode(self.public_key.trim())
            .map_err(|e| ("public_key", format!("not valid base64: {e}")))?;
        let verifier = match alg {
            Alg::Es256 => {
                use p256::pkcs8::DecodePublicKey as _;
                Verifier::Es256(
                    p256::ecdsa::VerifyingKey::from_public_key_der(&spki).map_err(|e| {
                        (
                            "public_key",
                            format!(
                                "not the DER SubjectPublicKeyInfo of a P-256 key (alg ES256): {e}"
                            ),
                        )
                    })?,
                )
            }
            Alg::EdDsa => {
                use ed25519_dalek::pkcs8::DecodePublicKey as _;
                let key = ed25519_dalek::VerifyingKey::from_public_key_der(&spki).map_err(|e| {
                    (
                        "public_key",
                        format!(
                            "not the DER SubjectPublicKeyInfo of an Ed25519 key (alg EdDSA): {e}"
                        ),
                    )
                })?;
                if key.is_weak() {
                    return Err((
                        "public_key",
                        "a weak (small-order) ed25519 point: it would verify forged signatures"
                            .into(),
                    ));
                }
                Verifier::EdDsa(key)
            }
        };
        if self.rp_id.trim().is_empty() {
            return Err(("rp_id", "must not be empty".into()));
        }
        if self.origins.is_empty() {
            return Err((
                "origins",
                "lists no origin: no page could ask this key to sign".into(),
            ));
        }
        for origin in &self.origins {
            let serialized = url::Url::parse(origin)
                .ok()
                .map(|u| u.origin().ascii_serialization());
            if serialized.as_deref() != Some(origin.as_str()) {
                return Err((
                    "origins",
                    format!(
                        "'{origin}' is not an origin as a browser reports it (scheme://host[:port], no path or trailing slash)"
                    ),
                ));
            }
        }
        let credential = b64url(&self.credential_id).map_err(|m| ("credential_id", m))?;
        if credential.is_empty() {
            return Err(("credential_id", "must not be empty".into()));
        }
        Ok(WebAuthnKey {
            alg,
            spki,
            rp_id: self.rp_id,
            origins: self.origins,
            credential_id: self.credential_id,
            verifier,
        })
    }
}

impl WebAuthnKey {
    /// The key itself, whatever its encoding: a P-256 point (uncompressed SEC1, tagged so it
    /// can't equal an ed25519 key) or the 32 bytes of an Ed25519 point — the same point a
    /// plain `public_key` entry has, so one key listed both ways is one key twice.
    pub fn point(&self) -> Vec<u8> {
        match &self.verifier {
            Verifier::Es256(k) => {
                let mut out = b"p256:".to_vec();
                out.extend_from_slice(k.to_sec1_point(false).as_bytes());
                out
            }
            Verifier::EdDsa(k) => k.to_bytes().to_vec(),
        }
    }

    /// Everything a verdict depends on — the algorithm, the key, the relying party and the
    /// origins — so a verified-signature cache keyed by it can't carry a verdict over to a
    /// keyring entry that would judge otherwise.
    pub(crate) fn identity(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let origins = self.origins.join("\n");
        for part in [
            b"imprimatur-webauthn-key-v1".as_slice(),
            self.alg.as_str().as_bytes(),
            &self.spki,
            self.rp_id.as_bytes(),
            origins.as_bytes(),
        ] {
            out.extend_from_slice(&(part.len() as u64).to_be_bytes());
            out.extend_from_slice(part);
        }
        out
    }

    /// SPEC §4a: whether `signature` and `envelope` sign the record whose signed bytes are
    /// `signed` under this key, or why not.
    pub fn verify(
        &self,
        signed: &[u8],
        signature: &[u8],
        envelope: &Envelope,
    ) -> Result<(), String> {
        self.verify_assertion(&Challenge::Record(signed), signature, envelope)
            .map(|_| ())
    }

    /// Every rule of an assertion (SPEC §4a) for `challenge`: the client data asks for it, as
    /// `webauthn.get`, from one of the key's origins and not framed cross-origin; the
    /// authenticator data is for the key's relying party with the user present and verified;
    /// the signature covers both. A record's signature and a sign-in share this one
    /// implementation; only what the challenge is differs. `Ok` is the origin the client data
    /// names (a team server checks it against its own origins too).
    pub fn verify_assertion(
        &self,
        challenge: &Challenge,
        signature: &[u8],
        envelope: &Envelope,
    ) -> Result<String, String> {
        let origin = self.check_client_data(challenge, &envelope.client_data_json)?;
        self.check_authenticator_data(&envelope.authenticator_data)?;
        let mut message = envelope.authenticator_data.clone();
        message.extend_from_slice(&Sha256::digest(&envelope.client_data_json));
        let verifies = match &self.verifier {
            Verifier::Es256(key) => {
                use p256::ecdsa::signature::Verifier as _;
                // High S is accepted: WebAuthn does not ask authenticators for low S, and many
                // give either. The record's id uses the low-S form (`signature_identity`).
                p256::ecdsa::Signature::from_der(signature)
                    .is_ok_and(|sig| key.verify(&message, &sig).is_ok())
            }
            Verifier::EdDsa(key) => ed25519_dalek::Signature::from_slice(signature)
                .is_ok_and(|sig| key.verify_strict(&message, &sig).is_ok()),
        };
        if verifies {
            Ok(origin)
        } else {
            Err(format!(
                "the passkey signature ({}) does not verify over the authenticator data and client data",
                self.alg.as_str()
            ))
        }
    }

    fn check_client_data(&self, challenge: &Challenge, json: &[u8]) -> Result<String, String> {
        check_client_data(
            "webauthn.client_data_json",
            json,
            Ceremony::Get,
            &challenge.encoded(),
            challenge.mismatch(),
            (&self.origins, "the key's origins"),
        )
    }

    fn check_authenticator_data(&self, data: &[u8]) -> Result<(), String> {
        let at = "webauthn.authenticator_data";
        if data.len() < 37 {
            return Err(format!(
                "{at}: {} bytes, fewer than the 37 of an authenticator's data",
                data.len()
            ));
        }
        check_rp_and_user(at, data, &self.rp_id, "the key's rp_id")
    }
}

/// The two ceremonies a browser's client data can speak of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ceremony {
    /// `navigator.credentials.get`: a sign-in, or a record's signature.
    Get,
    /// `navigator.credentials.create`: a passkey registered (`registration`).
    Create,
}

/// The rules every client data obeys (SPEC §4a, and the same for a registration): a JSON
/// object of the `ceremony`'s type, asking for exactly `challenge` (base64url), from one of
/// `origins` (named in messages as `whose`), not framed by another site. Returns the origin.
pub(crate) fn check_client_data(
    at: &str,
    json: &[u8],
    ceremony: Ceremony,
    challenge: &str,
    mismatch: &str,
    (origins, whose): (&[String], &str),
) -> Result<String, String> {
    let Ok(serde_json::Value::Object(data)) = serde_json::from_slice(json) else {
        return Err(format!("{at}: not a JSON object"));
    };
    let text = |name: &str| data.get(name).and_then(|v| v.as_str());
    let (kind, what) = match ceremony {
        Ceremony::Get => ("webauthn.get", "an assertion"),
        Ceremony::Create => ("webauthn.create", "a registration"),
    };
    if text("type") != Some(kind) {
        return Err(format!(
            "{at}: type is {}, not \"{kind}\" ({what})",
            data.get("type").map_or("absent".into(), |v| v.to_string())
        ));
    }
    if text("challenge") != Some(challenge) {
        return Err(format!("{at}: {mismatch}"));
    }
    let origin = match text("origin") {
        Some(origin) if origins.iter().any(|o| o == origin) => origin.to_string(),
        other => {
            return Err(format!(
                "{at}: origin {} is not one of {whose} ({})",
                other.map_or("absent".into(), |o| format!("'{o}'")),
                origins.join(", ")
            ))
        }
    };
    match data.get("crossOrigin") {
        None | Some(serde_json::Value::Bool(false)) => Ok(origin),
        Some(v) => Err(format!(
            "{at}: crossOrigin is {v}: the {} was asked for by a page framed on another site",
            match ceremony {
                Ceremony::Get => "signature",
                Ceremony::Create => "registration",
            }
        )),
    }
}

/// The start of any authenticator data (at least 33 bytes): made for `rp_id` (named in
/// messages as `whose`), with the user present and verified.
pub(crate) fn check_rp_and_user(
    at: &str,
    data: &[u8],
    rp_id: &str,
    whose: &str,
) -> Result<(), String> {
    if data.len() < 33 || data[..32] != Sha256::digest(rp_id.as_bytes())[..] {
        return Err(format!(
            "{at}: made for another relying party than {whose} '{rp_id}'"
        ));
    }
    let flags = data[32];
    if flags & FLAG_UP == 0 {
        return Err(format!("{at}: the user was not present (flag UP clear)"));
    }
    if flags & FLAG_UV == 0 {
        return Err(format!("{at}: the user was not verified (flag UV clear)"));
    }
    Ok(())
}

/// What an assertion's client data must ask for.
pub enum Challenge<'a> {
    /// A record's signature: SHA-256 of the record's signed bytes (SPEC §4a).
    Record(&'a [u8]),
    /// A sign-in: the random bytes the server issued for it.
    Issued(&'a [u8]),
}

impl Challenge<'_> {
    /// As the client data writes it: base64url without padding.
    pub fn encoded(&self) -> String {
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        match self {
            Challenge::Record(signed) => e.encode(Sha256::digest(signed)),
            Challenge::Issued(bytes) => e.encode(bytes),
        }
    }

    fn mismatch(&self) -> &'static str {
        match self {
            Challenge::Record(_) => "the challenge is not the SHA-256 of this record's signed bytes (it signed another record, or the record was changed after signing)",
            Challenge::Issued(_) => "the challenge is not the one this server issued for this sign-in",
        }
    }
}

/// What identifies a WebAuthn signature: the signature (an ECDSA one in its low-S form, so
/// flipping S does not make a second record of one decision), and the envelope it signs.
pub(crate) fn signature_identity(signature: &[u8], envelope: &Envelope) -> Vec<u8> {
    let normalized = p256::ecdsa::Signature::from_der(signature)
        .map(|s| s.normalize_s().to_bytes().to_vec())
        .unwrap_or_else(|_| signature.to_vec());
    let mut out = Vec::new();
    for part in [
        b"imprimatur-webauthn-signature-v1".as_slice(),
        &normalized,
        &envelope.authenticator_data,
        &envelope.client_data_json,
    ] {
        out.extend_from_slice(&(part.len() as u64).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

#[cfg(test)]
mod tests;
