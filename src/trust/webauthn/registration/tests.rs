//! Registration answers as a browser makes them, built here, and one mutation per rule.

use base64::Engine as _;
use coset::iana;
use coset::{CborSerializable as _, CoseKeyBuilder};
use sha2::{Digest, Sha256};

use super::*;

const CHALLENGE: &[u8] = b"0123456789abcdef0123456789abcdef";
const ORIGIN: &str = "https://review.example.com";
const RP: &str = "review.example.com";

fn relying() -> Relying {
    Relying {
        rp_id: RP.into(),
        origins: vec![ORIGIN.into()],
    }
}

fn p256_cose() -> Vec<u8> {
    let key = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
    let point = key.verifying_key().to_sec1_point(false);
    let bytes = point.as_bytes();
    CoseKeyBuilder::new_ec2_pub_key(
        iana::EllipticCurve::P_256,
        bytes[1..33].to_vec(),
        bytes[33..65].to_vec(),
    )
    .algorithm(iana::Algorithm::ES256)
    .build()
    .to_vec()
    .unwrap()
}

fn ed25519_cose() -> Vec<u8> {
    let key = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    CoseKeyBuilder::new_okp_key()
        .param(
            iana::OkpKeyParameter::Crv as i64,
            ciborium::Value::from(iana::EllipticCurve::Ed25519 as i64),
        )
        .param(
            iana::OkpKeyParameter::X as i64,
            ciborium::Value::Bytes(key.verifying_key().to_bytes().to_vec()),
        )
        .algorithm(iana::Algorithm::EdDSA)
        .build()
        .to_vec()
        .unwrap()
}

fn auth_data(rp: &str, flags: u8, credential: &[u8], cose: &[u8]) -> Vec<u8> {
    let mut data = Sha256::digest(rp.as_bytes()).to_vec();
    data.push(flags);
    data.extend_from_slice(&0u32.to_be_bytes());
    data.extend_from_slice(&[0u8; 16]);
    data.extend_from_slice(&(credential.len() as u16).to_be_bytes());
    data.extend_from_slice(credential);
    data.extend_from_slice(cose);
    data
}

fn attestation(auth_data: Vec<u8>) -> Vec<u8> {
    let value = ciborium::Value::Map(vec![
        ("fmt".into(), "none".into()),
        ("attStmt".into(), ciborium::Value::Map(vec![])),
        ("authData".into(), ciborium::Value::Bytes(auth_data)),
    ]);
    let mut out = Vec::new();
    ciborium::ser::into_writer(&value, &mut out).unwrap();
    out
}

fn client_data(kind: &str, challenge: &[u8], origin: &str, extra: &str) -> Vec<u8> {
    let c = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(challenge);
    format!(r#"{{"type":"{kind}","challenge":"{c}","origin":"{origin}"{extra}}}"#).into_bytes()
}

fn good(cose: &[u8]) -> (Vec<u8>, Vec<u8>) {
    (
        attestation(auth_data(RP, 0x45, b"cred-1", cose)),
        client_data("webauthn.create", CHALLENGE, ORIGIN, ""),
    )
}

#[test]
fn an_es256_and_an_eddsa_registration_give_keys_the_keyring_accepts() {
    for (cose, alg) in [(p256_cose(), Alg::Es256), (ed25519_cose(), Alg::EdDsa)] {
        let (att, cd) = good(&cose);
        let got = verify(&att, &cd, CHALLENGE, &relying()).unwrap();
        assert_eq!(got.key.alg, alg);
        assert_eq!(got.credential_id, b"cred-1");
        assert_eq!(got.key.credential_id, "Y3JlZC0x");
        assert_eq!(got.key.rp_id, RP);
        assert_eq!(got.key.origins, vec![ORIGIN.to_string()]);
    }
}

#[test]
fn the_es256_key_is_the_signing_keys_own() {
    use p256::pkcs8::DecodePublicKey as _;
    let (att, cd) = good(&p256_cose());
    let got = verify(&att, &cd, CHALLENGE, &relying()).unwrap();
    let key = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
    assert_eq!(
        p256::ecdsa::VerifyingKey::from_public_key_der(&got.key.spki).unwrap(),
        *key.verifying_key()
    );
}

#[test]
fn extensions_after_the_key_are_allowed() {
    let mut cose = p256_cose();
    // An extensions map (flag ED) after the COSE key: {"credProtect": 2}.
    let mut ext = Vec::new();
    ciborium::ser::into_writer(
        &ciborium::Value::Map(vec![("credProtect".into(), 2.into())]),
        &mut ext,
    )
    .unwrap();
    cose.extend_from_slice(&ext);
    let att = attestation(auth_data(RP, 0xC5, b"cred-1", &cose));
    let cd = client_data("webauthn.create", CHALLENGE, ORIGIN, "");
    assert!(verify(&att, &cd, CHALLENGE, &relying()).is_ok());
}

#[test]
fn each_rule_refuses_its_mutation() {
    let cose = p256_cose();
    let att = attestation(auth_data(RP, 0x45, b"cred-1", &cose));
    let cd = client_data("webauthn.create", CHALLENGE, ORIGIN, "");
    let rsa_cose = {
        let mut k = coset::CoseKeyBuilder::new_symmetric_key(vec![1; 16]).build();
        k.alg = Some(coset::Algorithm::Assigned(iana::Algorithm::RS256));
        k.to_vec().unwrap()
    };
    let bad_point =
        CoseKeyBuilder::new_ec2_pub_key(iana::EllipticCurve::P_256, vec![1; 32], vec![2; 32])
            .algorithm(iana::Algorithm::ES256)
            .build()
            .to_vec()
            .unwrap();
    let cases: Vec<(&str, Vec<u8>, Vec<u8>, &str)> = vec![
        (
            "a sign-in, not a registration",
            att.clone(),
            client_data("webauthn.get", CHALLENGE, ORIGIN, ""),
            "webauthn.create",
        ),
        (
            "another challenge",
            att.clone(),
            client_data("webauthn.create", b"other", ORIGIN, ""),
            "challenge",
        ),
        (
            "another origin",
            att.clone(),
            client_data("webauthn.create", CHALLENGE, "https://evil.example", ""),
            "origin 'https://evil.example'",
        ),
        (
            "framed",
            att.clone(),
            client_data(
                "webauthn.create",
                CHALLENGE,
                ORIGIN,
                r#","crossOrigin":true"#,
            ),
            "crossOrigin",
        ),
        (
            "not JSON",
            att.clone(),
            b"[1]".to_vec(),
            "not a JSON object",
        ),
        (
            "another relying party",
            attestation(auth_data("evil.example", 0x45, b"c", &cose)),
            cd.clone(),
            "another relying party",
        ),
        (
            "user not present",
            attestation(auth_data(RP, 0x44, b"c", &cose)),
            cd.clone(),
            "not present",
        ),
        (
            "user not verified",
            attestation(auth_data(RP, 0x41, b"c", &cose)),
            cd.clone(),
            "not verified",
        ),
        (
            "no credential",
            attestation(auth_data(RP, 0x05, b"c", &cose)),
            cd.clone(),
            "flag AT",
        ),
        (
            "empty credential id",
            attestation(auth_data(RP, 0x45, b"", &cose)),
            cd.clone(),
            "credential id of 0 bytes",
        ),
        (
            "id past the end",
            attestation({
                let mut d = auth_data(RP, 0x45, &[1; 40], &[]);
                d.truncate(d.len() - 10);
                d
            }),
            cd.clone(),
            "runs past the end",
        ),
        (
            "no key",
            attestation(auth_data(RP, 0x45, b"c", &[])),
            cd.clone(),
            "not CBOR",
        ),
        (
            "an RSA key",
            attestation(auth_data(RP, 0x45, b"c", &rsa_cose)),
            cd.clone(),
            "ES256 (-7) and EdDSA (-8)",
        ),
        (
            "off the curve",
            attestation(auth_data(RP, 0x45, b"c", &bad_point)),
            cd.clone(),
            "not a point on P-256",
        ),
        ("short", attestation(vec![0; 40]), cd.clone(), "too few"),
        ("not CBOR", b"\xff\xff".to_vec(), cd.clone(), "not CBOR"),
        (
            "not a map",
            {
                let mut o = Vec::new();
                ciborium::ser::into_writer(&ciborium::Value::from(3), &mut o).unwrap();
                o
            },
            cd.clone(),
            "not a CBOR map",
        ),
        (
            "too big",
            vec![0; MAX_ATTESTATION_LEN + 1],
            cd.clone(),
            "more than",
        ),
    ];
    for (what, att, cd, expect) in cases {
        let err = verify(&att, &cd, CHALLENGE, &relying()).expect_err(what);
        assert!(err.contains(expect), "{what}: {err}");
    }
}

#[test]
fn deeply_nested_cbor_is_refused_without_overflowing() {
    let mut deep = vec![0x81u8; 100_000];
    deep.push(0x01);
    let deep = &deep[..MAX_ATTESTATION_LEN];
    let cd = client_data("webauthn.create", CHALLENGE, ORIGIN, "");
    assert!(verify(deep, &cd, CHALLENGE, &relying()).is_err());
}
