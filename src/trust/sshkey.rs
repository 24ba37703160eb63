//! OpenSSH's spelling of an ed25519 public key (`ssh-ed25519 AAAA… comment`, docs/ssh-keys.md)
//! and its fingerprint. A key is its 32 bytes whatever the spelling: the keyring, the records
//! and the signing commands compare those bytes, so an ssh line and the base64 of the same key
//! are one key; the fingerprint only names it to people and to `--agent-key`.

use ed25519_dalek::VerifyingKey;
use ssh_key::public::{Ed25519PublicKey, KeyData};
use ssh_key::{HashAlg, PublicKey};

/// Does this keyring value look like an OpenSSH public key line rather than bare base64?
/// Base64 has no spaces and no `-`, and every OpenSSH algorithm name has one of them.
pub fn is_ssh_line(text: &str) -> bool {
    let text = text.trim();
    text.contains(char::is_whitespace) || text.contains('-')
}

/// The 32 key bytes of an `ssh-ed25519 <base64 wire blob> [comment]` line. Any other
/// algorithm is refused by name: records carry ed25519 signatures only.
pub fn parse_public_line(text: &str) -> Result<[u8; 32], String> {
    let text = text.trim();
    let algorithm = text.split_whitespace().next().unwrap_or_default();
    if algorithm != "ssh-ed25519" {
        return Err(format!(
            "'{algorithm}' keys can't sign records: imprimatur verifies ed25519 signatures only (use an ssh-ed25519 key, or the base64 of a 32-byte ed25519 public key)"
        ));
    }
    let key = PublicKey::from_openssh(text)
        .map_err(|e| format!("not a valid ssh-ed25519 public key line: {e}"))?;
    match key.key_data() {
        KeyData::Ed25519(Ed25519PublicKey(bytes)) => Ok(*bytes),
        // The blob names its own algorithm; a line whose label and blob disagree is forged
        // or damaged.
        other => Err(format!(
            "the line says ssh-ed25519 but its key is {}",
            other.algorithm()
        )),
    }
}

fn ssh_public(key: &VerifyingKey, comment: &str) -> PublicKey {
    PublicKey::new(KeyData::Ed25519(Ed25519PublicKey(key.to_bytes())), comment)
}

/// OpenSSH's fingerprint of the key (`SHA256:` and the unpadded base64 of the SHA-256 of the
/// ssh-ed25519 wire blob), exactly what `ssh-keygen -lf` and `ssh-add -l` print.
pub fn fingerprint(key: &VerifyingKey) -> String {
    ssh_public(key, "").fingerprint(HashAlg::Sha256).to_string()
}

/// The `ssh-ed25519 AAAA… [comment]` line of the key, as it may be pasted into the keyring.
pub fn public_line(key: &VerifyingKey, comment: &str) -> String {
    ssh_public(key, comment)
        .to_openssh()
        .expect("an ed25519 public key always encodes")
}

#[cfg(test)]
mod tests {
    use super::*;

    // The keyring tests' key as an ssh line; `ssh-keygen -lf` prints the fingerprint below.
    const LINE: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHm1Vi6P5lT5QHixEuipi6eQH4U65pW+1+DjkQutBJZk";

    #[test]
    fn an_ssh_ed25519_line_parses_with_and_without_a_comment() {
        let bare = parse_public_line(LINE).unwrap();
        let commented = parse_public_line(&format!("  {LINE} alice@laptop  ")).unwrap();
        let spaced = parse_public_line(&format!("{LINE} Alice Example (work)")).unwrap();
        assert_eq!(bare, commented);
        assert_eq!(bare, spaced);
        let key = VerifyingKey::from_bytes(&bare).unwrap();
        assert_eq!(public_line(&key, ""), LINE);
        assert!(public_line(&key, "a@b").ends_with(" a@b"));
    }

    #[test]
    fn other_algorithms_and_damaged_lines_are_refused() {
        let rsa = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDDHr/jh2Jy4yALcK4JyWbVkPRaWmhck3IgCoeOO3z1e2dBowLh64QAM+Qb72pxekALga2oi4GvT+TlWNhzPH4V4SUTDiRzNVAp+VZQb5ixB81Jkl2xrdE9yvxtbJVndEX8XbUfEwOsL98fg9Kd6JxDsVBDGPHs0Q9qQGCjS9AHPQ== a@b";
        let ecdsa = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBHgxD7NGFLE4T6gIVuF0NM0CIcx8J1ztIT6Hm2Ecmb4C3+wUI69u4cbtLsEnzAEdZ6EpOhN0hf8vLOrWUtZt0rE= a@b";
        for (line, needle) in [
            (rsa, "'ssh-rsa' keys can't sign records"),
            (ecdsa, "'ecdsa-sha2-nistp256' keys can't sign records"),
            ("ssh-ed25519", "not a valid ssh-ed25519"),
            ("ssh-ed25519 AAAA!!", "not a valid ssh-ed25519"),
            // an ecdsa blob under an ed25519 label
            (
                "ssh-ed25519 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBHgxD7NGFLE4T6gIVuF0NM0CIcx8J1ztIT6Hm2Ecmb4C3+wUI69u4cbtLsEnzAEdZ6EpOhN0hf8vLOrWUtZt0rE=",
                "",
            ),
        ] {
            let err = parse_public_line(line).unwrap_err();
            assert!(err.contains(needle), "{line}: {err}");
        }
    }

    #[test]
    fn the_fingerprint_is_openssh_s() {
        let key = VerifyingKey::from_bytes(&parse_public_line(LINE).unwrap()).unwrap();
        assert_eq!(
            fingerprint(&key),
            "SHA256:eVkCKHnc5RjanBduU2vmOecbFl3M9wOgHdk24INJytY"
        );
        assert!(is_ssh_line(LINE));
        assert!(!is_ssh_line("ebVWLo/mVPlAeLES6KmLp5AfhTrmlb7X4OORC60ElmQ="));
    }
}
