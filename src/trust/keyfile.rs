//! Reviewers' secret keys on disk (SPEC §8 `keygen`, docs/ssh-keys.md): PKCS#8 PEM, plain or
//! encrypted (PBES2), and OpenSSH private keys, plain or encrypted (bcrypt-pbkdf). A file
//! that group or others may read is refused, as ssh refuses it. The secret never leaves this
//! module except as a `SigningKey` in memory.

use std::path::Path;

use base64::Engine as _;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::SigningKey;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Where an encrypted key's passphrase comes from when no terminal can be asked (CI, scripts).
pub const PASSPHRASE_ENV: &str = "IMPRIMATUR_KEY_PASSPHRASE";

/// Key files are a few hundred bytes; anything larger is not one.
const MAX_KEY_FILE: u64 = 64 * 1024;

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

/// Creates a new key and writes it to `path` as an unencrypted OpenSSH private key (mode
/// 0600), and its public half to `<path>.pub` as `ssh-keygen` does. Returns the public line.
pub fn generate_ssh(path: &Path, comment: &str) -> Result<String> {
    use ssh_key::private::{Ed25519Keypair, Ed25519PrivateKey, KeypairData};
    let mut seed = Zeroizing::new([0u8; 32]);
    getrandom::fill(seed.as_mut())
        .map_err(|e| Error::Refused(format!("cannot read the system's randomness: {e}")))?;
    let key = SigningKey::from_bytes(&seed);
    let keypair = Ed25519Keypair {
        public: ssh_key::public::Ed25519PublicKey(key.verifying_key().to_bytes()),
        private: Ed25519PrivateKey::from_bytes(&seed),
    };
    let encoded = ssh_key::PrivateKey::new(KeypairData::Ed25519(keypair), comment)
        .and_then(|k| k.to_openssh(ssh_key::LineEnding::LF))
        .map_err(|e| Error::Refused(format!("cannot encode the key: {e}")))?;
    let public_path = {
        let mut p = path.as_os_str().to_owned();
        p.push(".pub");
        std::path::PathBuf::from(p)
    };
    if public_path.exists() {
        return Err(Error::Refused(format!(
            "{}: already exists; refusing to overwrite a key",
            public_path.display()
        )));
    }
    write_secret(path, encoded.as_bytes())?;
    let line = super::sshkey::public_line(&key.verifying_key(), comment);
    std::fs::write(&public_path, format!("{line}\n")).map_err(|e| Error::io(&public_path, e))?;
    Ok(line)
}

/// Reads a secret key file in any of the formats above, asking for the passphrase (from
/// `IMPRIMATUR_KEY_PASSPHRASE`, else on the terminal) only when the file is encrypted.
pub fn load(path: &Path) -> Result<SigningKey> {
    let text = read_private(path)?;
    parse(&text, path, &mut || passphrase(path))
}

/// The public key a key file holds, for the keyring (`keyring add --public-key-file`, `root
/// new --admin ID=FILE`): a secret key in any format `load` reads (its public half; it asks
/// for an encrypted key's passphrase, and refuses a file others may read, as `load` does), a
/// PEM public key (`-----BEGIN PUBLIC KEY-----`), an OpenSSH `.pub` line, or the bare base64
/// `keygen` prints. Anything else is refused, saying what the file is.
pub fn read_public(path: &Path) -> Result<ed25519_dalek::VerifyingKey> {
    use ed25519_dalek::pkcs8::DecodePublicKey;
    use std::io::Read;
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(Error::Refused(format!(
            "{}: not a regular file, so not a key file",
            path.display()
        )));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(|e| Error::io(path, e))?
        .take(MAX_KEY_FILE)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    let text = String::from_utf8_lossy(&bytes);
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap_or_default();
    let refused = |what: String| Error::Refused(format!("{}: {what}", path.display()));
    let checked = |key: ed25519_dalek::VerifyingKey| {
        if key.is_weak() {
            Err(refused(
                "a weak (small-order) ed25519 point: it would verify forged signatures".into(),
            ))
        } else {
            Ok(key)
        }
    };
    if first.starts_with("-----BEGIN ") && first.ends_with("PRIVATE KEY-----") {
        return Ok(load(path)?.verifying_key());
    }
    if first == "-----BEGIN PUBLIC KEY-----" {
        let key = ed25519_dalek::VerifyingKey::from_public_key_pem(&text).map_err(|e| {
            refused(format!(
                "not a PEM ed25519 public key ({e}); imprimatur verifies ed25519 keys only"
            ))
        })?;
        return checked(key);
    }
    if first.starts_with("ssh-") || first.starts_with("ecdsa-sha2-") || first.starts_with("sk-") {
        return crate::trust::keyring::decode_public_key(first).map_err(refused);
    }
    if is_bare_public_key(first) {
        return crate::trust::keyring::decode_public_key(first).map_err(refused);
    }
    let what = if first == "-----BEGIN CERTIFICATE-----" {
        "a PEM certificate (X.509); imprimatur takes the reviewer's ed25519 key itself".to_string()
    } else if text.lines().any(|l| l.trim_end() == "reviewers:") {
        "a keyring, not one key".to_string()
    } else {
        "not a key file imprimatur reads".to_string()
    };
    Err(refused(format!(
        "{what}: pass the key file from `imprimatur keygen --out FILE` (its public half is read), an OpenSSH public key (~/.ssh/id_ed25519.pub), a PEM public key (-----BEGIN PUBLIC KEY-----), or a file holding the base64 public key keygen printed"
    )))
}

/// The file's text, refused when it is not a secret key (a public key, a keyring, a
/// certificate: `not_a_secret_key` names it and what to pass instead) or when group or others
/// may read it (`mode & 0o077`): a secret that others can read is no longer only its
/// reviewer's, and ssh refuses such files too. What the file is comes first, so a public
/// file is never told to `chmod 600`.
fn read_private(path: &Path) -> Result<Zeroizing<String>> {
    use std::io::Read;
    let not_a_file = |meta: &std::fs::Metadata| !meta.is_file();
    // Looked at before opening too: opening a FIFO would wait for a writer forever.
    if not_a_file(&std::fs::metadata(path).map_err(|e| Error::io(path, e))?) {
        return Err(Error::Refused(format!(
            "{}: not a regular file, so not a key file",
            path.display()
        )));
    }
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if not_a_file(&meta) {
        return Err(Error::Refused(format!(
            "{}: not a regular file, so not a key file",
            path.display()
        )));
    }
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(MAX_KEY_FILE)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if let Some(what) = not_a_secret_key(&bytes) {
        return Err(Error::Refused(format!("{}: {what}", path.display())));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(Error::Refused(format!(
                "{}: mode {mode:04o} lets others read this secret key; refusing it, as ssh does (run: chmod 600 {})",
                path.display(),
                path.display()
            )));
        }
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        Error::Refused(format!(
            "{}: not text, so not a key file; {PASS_INSTEAD}",
            path.display()
        ))
    })?;
    Ok(Zeroizing::new(text.to_owned()))
}

/// What to pass to `--key`, said after every "this file is not a secret key".
const PASS_INSTEAD: &str = "--key takes your secret key file (the one `imprimatur keygen --out FILE` wrote, or ~/.ssh/id_ed25519), or use --agent";

/// What a file given as a secret key is, when it is plainly something else: an ssh public key
/// line, a PEM public key or certificate, a keyring, a bare base64 public key, binary data.
/// `None` for anything that may be a secret key (`parse` then says whether it is one).
fn not_a_secret_key(bytes: &[u8]) -> Option<String> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Some(format!("not text, so not a key file; {PASS_INSTEAD}"));
    };
    if text.contains('\0') {
        return Some(format!(
            "holds NUL bytes, so not a key file; {PASS_INSTEAD}"
        ));
    }
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap_or_default();
    let public_half = "pass the secret key file instead";
    let what = if first.starts_with("ssh-")
        || first.starts_with("ecdsa-sha2-")
        || first.starts_with("sk-")
    {
        format!("an OpenSSH public key (a .pub line), not its secret half; {public_half} (for ~/.ssh/id_ed25519.pub, --key ~/.ssh/id_ed25519), or --agent")
    } else if first == "---- BEGIN SSH2 PUBLIC KEY ----" {
        format!("an SSH2 (RFC 4716) public key, not a secret key; {public_half}, or --agent")
    } else if first == "-----BEGIN PUBLIC KEY-----" {
        format!("a PEM public key, not a secret key; {PASS_INSTEAD}")
    } else if first == "-----BEGIN CERTIFICATE-----" {
        format!("a PEM certificate (X.509): it holds a public key only, and records are signed with an ed25519 secret key; {PASS_INSTEAD}")
    } else if text
        .lines()
        .any(|l| l.trim_start().starts_with("public_key:"))
        || text.lines().any(|l| l.trim_end() == "reviewers:")
    {
        format!("a keyring (public keys of reviewers), not a secret key; {PASS_INSTEAD}")
    } else if is_bare_public_key(first)
        && text.lines().filter(|l| !l.trim().is_empty()).count() == 1
    {
        format!("a bare ed25519 public key (base64), as the keyring holds, not a secret key; {PASS_INSTEAD}")
    } else if !(first.starts_with("-----BEGIN ") && first.ends_with("PRIVATE KEY-----")) {
        format!("not a secret key file: it does not start with -----BEGIN PRIVATE KEY----- (imprimatur keygen) or -----BEGIN OPENSSH PRIVATE KEY----- (ssh-keygen); {PASS_INSTEAD}")
    } else {
        return None;
    };
    Some(what)
}

/// Is `line` the base64 of 32 bytes, the keyring's spelling of a public key?
fn is_bare_public_key(line: &str) -> bool {
    base64::engine::general_purpose::STANDARD
        .decode(line)
        .is_ok_and(|b| b.len() == 32)
}

/// The key in `text` (the contents of `path`); `passphrase` is called once, only for an
/// encrypted key.
pub fn parse(
    text: &str,
    path: &Path,
    passphrase: &mut dyn FnMut() -> Result<Zeroizing<String>>,
) -> Result<SigningKey> {
    let bad = |what: &str, e: &dyn std::fmt::Display| {
        Error::Refused(format!("{}: {what} ({e})", path.display()))
    };
    let label = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    match label {
        "-----BEGIN OPENSSH PRIVATE KEY-----" => {
            let mut key = ssh_key::PrivateKey::from_openssh(text)
                .map_err(|e| bad("not a readable OpenSSH private key", &e))?;
            if key.is_encrypted() {
                check_bcrypt_cost(key.kdf()).map_err(|why| refused_cost(path, why))?;
                let pass = passphrase()?;
                key = key
                    .decrypt(pass.as_bytes())
                    .map_err(|e| bad("cannot decrypt the OpenSSH key: wrong passphrase?", &e))?;
            }
            match key.key_data() {
                ssh_key::private::KeypairData::Ed25519(pair) => {
                    let secret = SigningKey::from_bytes(&pair.private.to_bytes());
                    // The file states its public half too; a file whose halves disagree is
                    // damaged or forged, and would sign as someone else than it says.
                    if secret.verifying_key().to_bytes() != pair.public.0 {
                        return Err(Error::Refused(format!(
                            "{}: the OpenSSH key's public half does not match its secret",
                            path.display()
                        )));
                    }
                    Ok(secret)
                }
                other => Err(Error::Refused(format!(
                    "{}: an OpenSSH {} key; records are signed with ed25519 keys only (ssh-keygen -t ed25519)",
                    path.display(),
                    other.algorithm().map(|a| a.to_string()).unwrap_or_else(|_| "unknown".into())
                ))),
            }
        }
        "-----BEGIN ENCRYPTED PRIVATE KEY-----" => {
            // The cost is read before the passphrase is asked: a refused file asks nothing.
            check_pbes2_cost(text).map_err(|why| refused_cost(path, why))?;
            let pass = passphrase()?;
            SigningKey::from_pkcs8_encrypted_pem(text, pass.as_bytes()).map_err(|e| {
                bad(
                    "cannot decrypt the PKCS#8 key (wrong passphrase, or not ed25519?)",
                    &e,
                )
            })
        }
        _ => SigningKey::from_pkcs8_pem(text)
            .map_err(|e| bad("not a PKCS#8 PEM or OpenSSH ed25519 secret key", &e)),
    }
}

/// The most bcrypt-pbkdf rounds an OpenSSH key may ask for. `ssh-keygen -a` defaults to 16
/// and 100 is a generous choice (about a second); 1024 is ten times that, so any key a
/// person made opens, while a file naming 2^31 rounds (days of work) is refused at once.
pub(crate) const MAX_BCRYPT_ROUNDS: u32 = 1024;
/// The most PBKDF2 iterations a PKCS#8 key may ask for: OWASP recommends 600,000 for
/// HMAC-SHA-256 (2023) and OpenSSL writes 2,048; 10,000,000 (a few seconds) leaves room for
/// anyone more careful, never hours.
pub(crate) const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
/// The largest scrypt cost a PKCS#8 key may ask for: N = 2^20 (with r = 8, 1 GiB of memory:
/// scrypt holds 128·r·N bytes), r ≤ 8 and p ≤ 16. The scrypt paper's recommendation for
/// files is N = 2^20, r = 8, p = 1; OpenSSL refuses anything over 32 MiB by default.
pub(crate) const MAX_SCRYPT_LOG_N: u8 = 20;
pub(crate) const MAX_SCRYPT_R: u16 = 8;
pub(crate) const MAX_SCRYPT_P: u16 = 16;

/// Why a key file's KDF cost is refused: the parameter, its value and the limit.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("its {parameter} {value} is over the limit of {limit}; re-encrypt the key with a lower cost (ssh-keygen -p -a 100, or openssl pkcs8 -topk8 -v2 aes-256-cbc)")]
pub(crate) struct KdfCostTooHigh {
    parameter: &'static str,
    value: u64,
    limit: u64,
}

fn refused_cost(path: &Path, why: KdfCostTooHigh) -> Error {
    Error::Refused(format!("{}: {why}", path.display()))
}

fn over(parameter: &'static str, value: u64, limit: u64) -> Result<(), KdfCostTooHigh> {
    match value > limit {
        true => Err(KdfCostTooHigh {
            parameter,
            value,
            limit,
        }),
        false => Ok(()),
    }
}

/// Refuses an OpenSSH key whose bcrypt-pbkdf rounds are over [`MAX_BCRYPT_ROUNDS`].
fn check_bcrypt_cost(kdf: &ssh_key::Kdf) -> Result<(), KdfCostTooHigh> {
    match kdf {
        ssh_key::Kdf::Bcrypt { rounds, .. } => over(
            "bcrypt-pbkdf round count",
            (*rounds).into(),
            MAX_BCRYPT_ROUNDS.into(),
        ),
        _ => Ok(()),
    }
}

/// Refuses a PKCS#8 PBES2 key whose PBKDF2 iterations or scrypt parameters are over the
/// limits above. A file that does not decode is left to the decryption, which names it.
fn check_pbes2_cost(text: &str) -> Result<(), KdfCostTooHigh> {
    use pkcs8::der::Decode;
    use pkcs8::pkcs5::{pbes2::Kdf, EncryptionScheme};
    // PEM first, then DER: `from_pem` of the owned type fails on files `from_der` reads.
    let Ok((_, der)) = pkcs8::der::pem::decode_vec(text.as_bytes()) else {
        return Ok(());
    };
    let Ok(info) = pkcs8::EncryptedPrivateKeyInfoRef::from_der(&der) else {
        return Ok(());
    };
    let EncryptionScheme::Pbes2(params) = &info.encryption_algorithm else {
        return Ok(());
    };
    match &params.kdf {
        Kdf::Pbkdf2(p) => over(
            "PBKDF2 iteration count",
            p.iteration_count.into(),
            MAX_PBKDF2_ITERATIONS.into(),
        ),
        Kdf::Scrypt(p) => {
            // N is stated as a number; anything not a power of two fails to decrypt anyway.
            over("scrypt cost N", p.cost_parameter, 1u64 << MAX_SCRYPT_LOG_N)?;
            over(
                "scrypt block size r",
                p.block_size.into(),
                MAX_SCRYPT_R.into(),
            )?;
            over(
                "scrypt parallelization p",
                p.parallelization.into(),
                MAX_SCRYPT_P.into(),
            )
        }
        _ => Ok(()),
    }
}

/// The passphrase of an encrypted key: `IMPRIMATUR_KEY_PASSPHRASE` when set, else asked on
/// the terminal (never echoed); with neither, a clear refusal rather than a hang.
fn passphrase(path: &Path) -> Result<Zeroizing<String>> {
    use std::io::IsTerminal;
    if let Some(value) = std::env::var_os(PASSPHRASE_ENV) {
        return value
            .into_string()
            .map(Zeroizing::new)
            .map_err(|_| Error::Refused(format!("{PASSPHRASE_ENV} is not valid UTF-8")));
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::Refused(format!(
            "{}: the key is encrypted; set {PASSPHRASE_ENV} or run on a terminal to be asked for its passphrase",
            path.display()
        )));
    }
    rpassword::prompt_password(format!("passphrase for {}: ", path.display()))
        .map(Zeroizing::new)
        .map_err(|e| Error::io(path, e))
}

pub fn public_base64(key: &SigningKey) -> String {
    public_base64_of(&key.verifying_key())
}

pub fn public_base64_of(key: &ed25519_dalek::VerifyingKey) -> String {
    base64::engine::general_purpose::STANDARD.encode(key.to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_key_is_read_from_every_file_that_holds_one_and_only_from_those() {
        use ed25519_dalek::pkcs8::EncodePublicKey;
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("k.pem");
        let line = generate(&secret).unwrap();
        let public = load(&secret).unwrap().verifying_key();
        let pem = public.to_public_key_pem(Default::default()).unwrap();
        let ssh = crate::trust::sshkey::public_line(&public, "me@laptop");
        for (name, text) in [
            ("b64", format!("{line}\n")),
            ("pem.pub", pem),
            ("id.pub", format!("{ssh}\n")),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            assert_eq!(read_public(&path).unwrap(), public, "{name}");
        }
        assert_eq!(
            read_public(&secret).unwrap(),
            public,
            "the secret's public half"
        );
        for (name, text, says) in [
            (
                "cert.pem",
                "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
                "a PEM certificate",
            ),
            (
                "keyring.yaml",
                "reviewers:\n  - id: a\n",
                "a keyring, not one key",
            ),
            ("short", "AAAA\n", "not a key file imprimatur reads"),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            let e = read_public(&path).unwrap_err().to_string();
            assert!(e.contains(says), "{name}: {e}");
        }
    }

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

    /// Each file that is plainly not a secret key is named for what it is, and nothing tells
    /// its owner to `chmod 600` a public file: the mode is only judged for a secret key.
    #[test]
    fn a_public_file_given_as_key_says_what_it_is_and_what_to_pass() {
        let dir = tempfile::tempdir().unwrap();
        let ssh = dir.path().join("id");
        let line = generate_ssh(&ssh, "me@test").unwrap();
        let bare = line.split_whitespace().nth(1).unwrap().to_owned();
        let pem = dir.path().join("k.pem");
        let public = generate(&pem).unwrap();
        let cases: [(&str, String, &str); 8] = [
            ("id.pub", format!("{line}\n"), "an OpenSSH public key (a .pub line)"),
            ("pub.pem", "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n".into(), "a PEM public key"),
            ("cert.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".into(), "a PEM certificate (X.509)"),
            ("keyring.yaml", format!("# team\nreviewers:\n  - id: a\n    keys:\n      - id: a-1\n        public_key: {public}\n"), "a keyring"),
            ("key.b64", format!("{public}\n"), "a bare ed25519 public key (base64)"),
            ("bin", "\0\0\0".into(), "holds NUL bytes"),
            ("README.md", "# Hello\n".into(), "not a secret key file"),
            ("ssh2.pub", format!("---- BEGIN SSH2 PUBLIC KEY ----\n{bare}\n---- END SSH2 PUBLIC KEY ----\n"), "an SSH2 (RFC 4716) public key"),
        ];
        for (name, text, what) in cases {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            }
            let err = load(&path).unwrap_err().to_string();
            assert!(err.contains(&format!("{name}: {what}")), "{name}: {err}");
            assert!(
                err.contains("--key takes your secret key file")
                    || err.contains("pass the secret key file instead"),
                "{name}: {err}"
            );
            assert!(!err.contains("chmod"), "{name}: {err}");
        }
        assert!(load(&pem).is_ok() && load(&ssh).is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_may_read_is_refused_naming_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.pem");
        generate(&path).unwrap();
        for mode in [0o644, 0o640, 0o604, 0o660] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = load(&path).unwrap_err().to_string();
            assert!(err.contains(&format!("k.pem: mode {mode:04o}")), "{err}");
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert!(load(&path).is_ok());
    }

    #[test]
    fn an_ssh_key_file_round_trips_and_plain_files_never_ask_a_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("id");
        let line = generate_ssh(&path, "me@test").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut asked =
            || -> Result<Zeroizing<String>> { panic!("a plain key needs no passphrase") };
        let key = parse(&text, &path, &mut asked).unwrap();
        assert_eq!(
            super::super::sshkey::public_line(&key.verifying_key(), "me@test"),
            line
        );
        let err = parse("-----BEGIN RSA PRIVATE KEY-----\n", &path, &mut asked)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("not a PKCS#8 PEM or OpenSSH ed25519 secret key"),
            "{err}"
        );
    }
}
