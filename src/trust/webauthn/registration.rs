//! Registering a passkey (issue 35, `/_keys/`): what a browser's
//! `navigator.credentials.create()` returns, checked and turned into the keyring's `webauthn:`
//! entry (SPEC §3a). The attestation statement is not checked (the page asks for none): a
//! registration proves only that someone holding this key answered our challenge on our origin
//! with the user verified. Whether the key belongs to a reviewer is for an admin to decide, by
//! adding the entry to `approvals/keyring.yaml` and signing the governed change.
//!
//! Everything read here comes from a browser, so from anyone: sizes are bounded before any
//! parsing, the CBOR is read with a nesting limit, and every failure is a message, never a panic.

use base64::Engine as _;
use coset::iana::{self, EnumI64 as _};
use coset::{AsCborValue as _, CoseKey, KeyType, Label};

use super::{check_rp_and_user, Alg, Ceremony, RawWebAuthnKey, WebAuthnKey};

/// The most bytes of an attestation object read (a "none" attestation with a P-256 key is
/// about 200; packed ones with a certificate chain a few KiB).
pub const MAX_ATTESTATION_LEN: usize = 16 * 1024;
/// The most bytes of client data read (browsers send about 150).
pub const MAX_CLIENT_DATA_LEN: usize = 4 * 1024;
/// The longest credential id WebAuthn allows.
const MAX_CREDENTIAL_ID_LEN: usize = 1023;
/// How deep the attestation object's CBOR may nest (it needs 3).
const CBOR_DEPTH: usize = 16;
/// The authenticator data's flag saying attested credential data follows.
const FLAG_AT: u8 = 0x40;

/// What the relying party asked for: its id, and the pages that may ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relying {
    pub rp_id: String,
    pub origins: Vec<String>,
}

/// A checked registration: the credential and its public key.
#[derive(Debug, Clone)]
pub struct Registered {
    pub key: WebAuthnKey,
    /// The credential id, raw.
    pub credential_id: Vec<u8>,
}

/// Checks a `navigator.credentials.create()` answer against the challenge this server issued
/// and the relying party; returns the key the keyring would hold, or why it can't be one.
pub fn verify(
    attestation_object: &[u8],
    client_data_json: &[u8],
    challenge: &[u8],
    relying: &Relying,
) -> Result<Registered, String> {
    if client_data_json.len() > MAX_CLIENT_DATA_LEN {
        return Err(format!(
            "clientDataJSON: {} bytes, more than the {MAX_CLIENT_DATA_LEN} read",
            client_data_json.len()
        ));
    }
    if attestation_object.len() > MAX_ATTESTATION_LEN {
        return Err(format!(
            "attestationObject: {} bytes, more than the {MAX_ATTESTATION_LEN} read",
            attestation_object.len()
        ));
    }
    check_client_data(client_data_json, challenge, &relying.origins)?;
    let auth_data = auth_data_of(attestation_object)?;
    let (credential_id, cose) = attested_credential(&auth_data, &relying.rp_id)?;
    let (alg, spki) = spki_of(cose)?;
    let credential = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&credential_id);
    // The entry goes through the keyring's own reader: what this page shows is what the
    // keyring will accept, by the same rule.
    let key = RawWebAuthnKey {
        alg: alg.as_str().to_string(),
        public_key: base64::engine::general_purpose::STANDARD.encode(&spki),
        rp_id: relying.rp_id.clone(),
        origins: relying.origins.clone(),
        credential_id: credential,
    }
    .decode()
    .map_err(|(field, why)| format!("the new key's {field}: {why}"))?;
    Ok(Registered { key, credential_id })
}

/// The attestation object alone, read as [`verify`] reads it: for the fuzz target
/// (`fuzzing::passkey_registration`), which random bytes would never get past client data.
#[cfg(feature = "fuzzing")]
pub(crate) fn read_attestation(attestation_object: &[u8], rp_id: &str) -> Result<Alg, String> {
    if attestation_object.len() > MAX_ATTESTATION_LEN {
        return Err("too long".into());
    }
    let auth_data = auth_data_of(attestation_object)?;
    let (_, cose) = attested_credential(&auth_data, rp_id)?;
    spki_of(cose).map(|(alg, _)| alg)
}

fn check_client_data(json: &[u8], challenge: &[u8], origins: &[String]) -> Result<(), String> {
    super::check_client_data(
        "clientDataJSON",
        json,
        Ceremony::Create,
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(challenge),
        "the challenge is not the one this server issued; reload the page and try again",
        (origins, "review.origins"),
    )
    .map(|_| ())
}

/// The `authData` bytes of an attestation object (a CBOR map `{fmt, attStmt, authData}`).
fn auth_data_of(attestation_object: &[u8]) -> Result<Vec<u8>, String> {
    let at = "attestationObject";
    let value: ciborium::Value =
        ciborium::de::from_reader_with_recursion_limit(attestation_object, CBOR_DEPTH)
            .map_err(|e| format!("{at}: not CBOR: {e}"))?;
    let ciborium::Value::Map(entries) = value else {
        return Err(format!("{at}: not a CBOR map"));
    };
    let mut found = None;
    for (name, value) in entries {
        if name.as_text() == Some("authData") {
            if found.is_some() {
                return Err(format!("{at}: authData appears twice"));
            }
            found = Some(
                value
                    .into_bytes()
                    .map_err(|_| format!("{at}: authData is not a byte string"))?,
            );
        }
    }
    found.ok_or_else(|| format!("{at}: no authData"))
}

/// The credential id and COSE key of authenticator data that must attest a new credential
/// for `rp_id` with the user present and verified.
fn attested_credential(data: &[u8], rp_id: &str) -> Result<(Vec<u8>, CoseKey), String> {
    let at = "authenticator data";
    // rpIdHash (32), flags (1), signCount (4), aaguid (16), credentialIdLength (2).
    const FIXED: usize = 32 + 1 + 4 + 16 + 2;
    if data.len() < FIXED {
        return Err(format!(
            "{at}: {} bytes, too few to hold a new credential",
            data.len()
        ));
    }
    check_rp_and_user(at, data, rp_id, "this server's rp_id").map_err(|e| {
        if e.contains("flag UV") {
            format!("{e}: use a passkey or security key with a PIN or biometrics")
        } else {
            e
        }
    })?;
    let flags = data[32];
    if flags & FLAG_AT == 0 {
        return Err(format!("{at}: no attested credential (flag AT clear)"));
    }
    let id_len = usize::from(u16::from_be_bytes([data[FIXED - 2], data[FIXED - 1]]));
    if id_len == 0 || id_len > MAX_CREDENTIAL_ID_LEN {
        return Err(format!(
            "{at}: a credential id of {id_len} bytes (WebAuthn allows 1 to {MAX_CREDENTIAL_ID_LEN})"
        ));
    }
    let rest = &data[FIXED..];
    if rest.len() < id_len {
        return Err(format!("{at}: the credential id runs past the end"));
    }
    let (credential_id, mut key_bytes) = rest.split_at(id_len);
    // The COSE key is one CBOR item; extensions may follow it.
    let value: ciborium::Value =
        ciborium::de::from_reader_with_recursion_limit(&mut key_bytes, CBOR_DEPTH)
            .map_err(|e| format!("{at}: the credential's public key is not CBOR: {e}"))?;
    let key = CoseKey::from_cbor_value(value)
        .map_err(|e| format!("{at}: the credential's public key is not a COSE key: {e:?}"))?;
    Ok((credential_id.to_vec(), key))
}

fn param(key: &CoseKey, label: i64) -> Option<&ciborium::Value> {
    key.params
        .iter()
        .find(|(l, _)| *l == Label::Int(label))
        .map(|(_, v)| v)
}

fn coordinate(key: &CoseKey, label: i64, name: &str) -> Result<[u8; 32], String> {
    param(key, label)
        .and_then(|v| v.as_bytes())
        .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
        .ok_or_else(|| format!("the credential's public key: {name} is not 32 bytes"))
}

/// The algorithm and DER SubjectPublicKeyInfo of a COSE public key: ES256 on P-256, or EdDSA
/// on Ed25519. Anything else is refused by name.
fn spki_of(key: CoseKey) -> Result<(Alg, Vec<u8>), String> {
    let alg = match key.alg {
        Some(coset::Algorithm::Assigned(iana::Algorithm::ES256)) => Alg::Es256,
        Some(coset::Algorithm::Assigned(iana::Algorithm::EdDSA)) => Alg::EdDsa,
        other => {
            return Err(format!(
                "the credential's algorithm is {other:?}; imprimatur verifies ES256 (-7) and EdDSA (-8)"
            ))
        }
    };
    let curve = param(&key, iana::Ec2KeyParameter::Crv.to_i64()).and_then(|v| v.as_integer());
    match alg {
        Alg::Es256 => {
            use p256::pkcs8::EncodePublicKey as _;
            if key.kty != KeyType::Assigned(iana::KeyType::EC2)
                || curve != Some(iana::EllipticCurve::P_256.to_i64().into())
            {
                return Err("the credential's ES256 key is not an EC2 key on P-256".into());
            }
            let x = coordinate(&key, iana::Ec2KeyParameter::X.to_i64(), "x")?;
            let y = coordinate(&key, iana::Ec2KeyParameter::Y.to_i64(), "y")?;
            let mut sec1 = vec![0x04];
            sec1.extend_from_slice(&x);
            sec1.extend_from_slice(&y);
            let point = p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1)
                .map_err(|_| "the credential's ES256 key is not a point on P-256".to_string())?;
            let der = point
                .to_public_key_der()
                .map_err(|e| format!("the credential's ES256 key: {e}"))?;
            Ok((alg, der.as_bytes().to_vec()))
        }
        Alg::EdDsa => {
            use ed25519_dalek::pkcs8::EncodePublicKey as _;
            if key.kty != KeyType::Assigned(iana::KeyType::OKP)
                || curve != Some(iana::EllipticCurve::Ed25519.to_i64().into())
            {
                return Err("the credential's EdDSA key is not an OKP key on Ed25519".into());
            }
            let x = coordinate(&key, iana::OkpKeyParameter::X.to_i64(), "x")?;
            let point = ed25519_dalek::VerifyingKey::from_bytes(&x)
                .map_err(|_| "the credential's EdDSA key is not an Ed25519 point".to_string())?;
            let der = point
                .to_public_key_der()
                .map_err(|e| format!("the credential's EdDSA key: {e}"))?;
            Ok((alg, der.as_bytes().to_vec()))
        }
    }
}

#[cfg(test)]
mod tests;
