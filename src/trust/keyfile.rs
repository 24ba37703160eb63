//! Reviewers' secret keys on disk: PKCS#8 PEM files written with mode 0600 (SPEC §8
//! `keygen`). The secret never leaves this module except as a `SigningKey` in memory.

use std::path::Path;

use base64::Engine as _;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::SigningKey;

use crate::error::{Error, Result};

/// Creates a new key and writes it to `path` (refusing to overwrite an existing file, so a
/// reviewer's key is never lost). Returns the base64 public key for the keyring.
pub fn generate(path: &Path) -> Result<String> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)
        .map_err(|e| Error::Refused(format!("cannot read the system's randomness: {e}")))?;
    let key = SigningKey::from_bytes(&seed);
    let pem = key
        .to_pkcs8_pem(Default::default())
        .map_err(|e| Error::Refused(format!("cannot encode the key: {e}")))?;
    write_secret(path, pem.as_bytes())?;
    Ok(public_base64(&key))
}

fn write_secret(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Error::Refused(format!(
                "{}: already exists; refusing to overwrite a key",
                path.display()
            ))
        } else {
            Error::io(path, e)
        }
    })?;
    file.write_all(bytes).map_err(|e| Error::io(path, e))?;
    file.sync_all().map_err(|e| Error::io(path, e))
}

pub fn load(path: &Path) -> Result<SigningKey> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    SigningKey::from_pkcs8_pem(&text).map_err(|e| {
        Error::Refused(format!(
            "{}: not a PKCS#8 PEM ed25519 secret key ({e})",
            path.display()
        ))
    })
}

pub fn public_base64(key: &SigningKey) -> String {
    base64::engine::general_purpose::STANDARD.encode(key.verifying_key().to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_load_back_and_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.pem");
        let public = generate(&path).unwrap();
        let key = load(&path).unwrap();
        assert_eq!(public_base64(&key), public);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        assert!(generate(&path)
            .unwrap_err()
            .to_string()
            .contains("refusing to overwrite"));
    }
}
