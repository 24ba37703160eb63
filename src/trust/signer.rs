//! What signs a record: a secret key file (any format `keyfile` reads) or a key held by the
//! running ssh-agent (docs/ssh-keys.md). Either way the record gets a plain ed25519 signature
//! over its signed bytes (SPEC §4), so the build can't tell, and needn't, which one made it.
//!
//! The agent is asked directly over its socket (the end of this file): signing needs four of
//! its messages, and no agent client crate shares our RustCrypto generation (Cargo.toml).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ed25519_dalek::{Signature, SigningKey, VerifyingKey};

use crate::error::{Error, Result};
use crate::trust::keyfile;
use crate::trust::keyring::Keyring;
use crate::trust::sshkey;

/// Where the key comes from, as the command line names it (`--key FILE`, or `--agent` with an
/// optional `--agent-key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    File(PathBuf),
    Agent {
        /// A fingerprint (`SHA256:…`), the agent's comment for the key, or a keyring key id.
        select: Option<String>,
    },
}

pub struct Signer {
    public: VerifyingKey,
    /// How messages name this key: the file, or the agent key's fingerprint.
    name: String,
    backend: Backend,
}

enum Backend {
    Secret(SigningKey),
    Agent {
        client: Mutex<AgentClient>,
        /// The key's wire blob, as the agent listed it: a sign request names the key by it.
        identity: Vec<u8>,
    },
}

/// The reviewer whose keyring key `source` holds (for the ssh-agent, the one key the keyring
/// knows, or the one `--agent-key` names): who "me" is for commands that act as you without
/// signing. Refused, naming the key, when the keyring does not know it.
pub fn reviewer_of(source: &KeySource, keyring: &Keyring) -> Result<String> {
    let signer = Signer::open(source, keyring)?;
    keyring
        .key_for_public(&signer.public_key())
        .map(|k| k.reviewer.clone())
        .ok_or_else(|| {
            Error::Refused(format!(
                "{}: this key is not in approvals/keyring.yaml",
                signer.name()
            ))
        })
}

impl Signer {
    /// Opens the key. The agent's keys are matched against `keyring` to pick the one to use
    /// when `--agent-key` does not name it.
    pub fn open(source: &KeySource, keyring: &Keyring) -> Result<Signer> {
        match source {
            KeySource::File(path) => Ok(Signer::from_secret(keyfile::load(path)?, path)),
            KeySource::Agent { select } => open_agent(select.as_deref(), keyring),
        }
    }

    pub fn from_secret(secret: SigningKey, path: &Path) -> Signer {
        Signer {
            public: secret.verifying_key(),
            name: path.display().to_string(),
            backend: Backend::Secret(secret),
        }
    }

    pub fn public_key(&self) -> VerifyingKey {
        self.public
    }

    /// The file, or `ssh-agent key SHA256:…`: what a message about this key names.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// An ed25519 signature over exactly `bytes`. The agent's answer is checked with
    /// `verify_strict` before it is used: a record the build would reject is never written.
    pub fn sign(&self, bytes: &[u8]) -> Result<Signature> {
        use ed25519_dalek::Signer as _;
        match &self.backend {
            Backend::Secret(secret) => Ok(secret.sign(bytes)),
            Backend::Agent { client, identity } => {
                let mut client = client.lock().unwrap_or_else(|e| e.into_inner());
                let answer = client.sign(identity, bytes).map_err(|e| {
                    Error::Refused(format!(
                        "{}: the ssh-agent would not sign ({e}); is the key still loaded, or does it ask for confirmation?",
                        self.name
                    ))
                })?;
                let signature = ed25519_signature(&answer)
                    .filter(|s| self.public.verify_strict(bytes, s).is_ok())
                    .ok_or_else(|| {
                        Error::Refused(format!(
                            "{}: the ssh-agent answered with a signature that does not verify; nothing signed",
                            self.name
                        ))
                    })?;
                Ok(signature)
            }
        }
    }
}

fn open_agent(select: Option<&str>, keyring: &Keyring) -> Result<Signer> {
    let socket = std::env::var_os("SSH_AUTH_SOCK")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            Error::Refused(
                "--agent: SSH_AUTH_SOCK is not set, so there is no ssh-agent to ask (start one with `eval $(ssh-agent)` and `ssh-add` your key)".into(),
            )
        })?;
    let mut client = AgentClient::connect(Path::new(&socket)).map_err(|e| {
        Error::Refused(format!(
            "--agent: cannot reach the ssh-agent at {} ({e})",
            Path::new(&socket).display()
        ))
    })?;
    let identities = client.identities().map_err(|e| {
        Error::Refused(format!(
            "--agent: the ssh-agent did not list its keys ({e})"
        ))
    })?;
    let keys: Vec<AgentKey> = identities
        .into_iter()
        .filter_map(|(blob, comment)| {
            // Other algorithms, and certificates (their own blob format), can't sign records.
            let public = ed25519_public(&blob)?;
            Some(AgentKey {
                blob,
                comment,
                public,
            })
        })
        .collect();
    let chosen = choose(&keys, select, keyring)?;
    let key = &keys[chosen];
    Ok(Signer {
        public: key.public,
        name: format!("ssh-agent key {}", sshkey::fingerprint(&key.public)),
        backend: Backend::Agent {
            client: Mutex::new(client),
            identity: key.blob.clone(),
        },
    })
}

struct AgentKey {
    blob: Vec<u8>,
    comment: String,
    public: VerifyingKey,
}

impl AgentKey {
    fn describe(&self, keyring: &Keyring) -> String {
        let known = keyring
            .key_for_public(&self.public)
            .map(|k| format!("keyring key '{}' of {}", k.id, k.reviewer))
            .unwrap_or_else(|| "not in the keyring".into());
        format!(
            "{} {} ({known})",
            sshkey::fingerprint(&self.public),
            self.comment
        )
    }
}

/// Which of the agent's ed25519 keys signs: the one `select` names (fingerprint, comment or
/// keyring key id), else the only one the keyring knows. Ambiguity is refused, never guessed.
fn choose(keys: &[AgentKey], select: Option<&str>, keyring: &Keyring) -> Result<usize> {
    let listing = || {
        keys.iter()
            .map(|k| format!("\n  {}", k.describe(keyring)))
            .collect::<String>()
    };
    if keys.is_empty() {
        return Err(Error::Refused(
            "--agent: the ssh-agent holds no ed25519 key (ssh-add ~/.ssh/id_ed25519)".into(),
        ));
    }
    let matches: Vec<usize> = match select {
        Some(wanted) => (0..keys.len())
            .filter(|&i| {
                let k = &keys[i];
                sshkey::fingerprint(&k.public) == wanted
                    || (!k.comment.is_empty() && k.comment == wanted)
                    || keyring
                        .key_for_public(&k.public)
                        .is_some_and(|entry| entry.id == wanted)
            })
            .collect(),
        None => (0..keys.len())
            .filter(|&i| keyring.key_for_public(&keys[i].public).is_some())
            .collect(),
    };
    match (matches.as_slice(), select) {
        ([one], _) => Ok(*one),
        ([], Some(wanted)) => Err(Error::Refused(format!(
            "--agent-key {wanted}: no ed25519 key of the ssh-agent has that fingerprint, comment or keyring id; it holds:{}",
            listing()
        ))),
        ([], None) => Err(Error::Refused(format!(
            "--agent: none of the ssh-agent's ed25519 keys is in approvals/keyring.yaml; it holds:{}",
            listing()
        ))),
        (_, _) => Err(Error::Refused(format!(
            "--agent: several of the ssh-agent's keys could sign; name one with --agent-key FINGERPRINT:{}",
            matches
                .iter()
                .map(|&i| format!("\n  {}", keys[i].describe(keyring)))
                .collect::<String>()
        ))),
    }
}

// --- the ssh-agent protocol ------------------------------------------------------------------
//
// The four messages signing needs (draft-miller-ssh-agent §3, §4.4, §4.5), over the agent's
// Unix socket. Every message is a uint32 length, a type byte and its contents; an ssh "string"
// is a uint32 length and that many bytes.

const SSH_AGENT_FAILURE: u8 = 5;
const SSH_AGENTC_REQUEST_IDENTITIES: u8 = 11;
const SSH_AGENT_IDENTITIES_ANSWER: u8 = 12;
const SSH_AGENTC_SIGN_REQUEST: u8 = 13;
const SSH_AGENT_SIGN_RESPONSE: u8 = 14;
/// OpenSSH's own limit on an agent message (AGENT_MAX_LEN): a longer answer is refused
/// rather than allocated.
const MAX_AGENT_MESSAGE: usize = 256 * 1024;
const ED25519: &[u8] = b"ssh-ed25519";

/// A connection to the running ssh-agent.
struct AgentClient {
    socket: UnixStream,
}

impl AgentClient {
    fn connect(path: &Path) -> std::io::Result<AgentClient> {
        UnixStream::connect(path).map(|socket| AgentClient { socket })
    }

    /// Sends one request and reads its answer: the answer's type and contents.
    fn ask(&mut self, kind: u8, contents: &[u8]) -> std::result::Result<(u8, Vec<u8>), String> {
        let length = u32::try_from(contents.len() + 1).map_err(|_| "a request too long")?;
        let mut message = Vec::with_capacity(contents.len() + 5);
        message.extend_from_slice(&length.to_be_bytes());
        message.push(kind);
        message.extend_from_slice(contents);
        self.socket
            .write_all(&message)
            .map_err(|e| format!("cannot write to it: {e}"))?;
        let mut length = [0u8; 4];
        self.socket
            .read_exact(&mut length)
            .map_err(|e| format!("cannot read its answer: {e}"))?;
        let length = u32::from_be_bytes(length) as usize;
        if length == 0 || length > MAX_AGENT_MESSAGE {
            return Err(format!("it answered with a message of {length} bytes"));
        }
        let mut answer = vec![0u8; length];
        self.socket
            .read_exact(&mut answer)
            .map_err(|e| format!("cannot read its answer: {e}"))?;
        let contents = answer.split_off(1);
        Ok((answer[0], contents))
    }

    /// Every key the agent holds: its wire blob and its comment.
    fn identities(&mut self) -> std::result::Result<Vec<(Vec<u8>, String)>, String> {
        let (kind, answer) = self.ask(SSH_AGENTC_REQUEST_IDENTITIES, &[])?;
        if kind != SSH_AGENT_IDENTITIES_ANSWER {
            return Err(format!(
                "it answered with message {kind}, not a list of keys"
            ));
        }
        let mut wire = Wire(&answer);
        let count = wire.u32()?;
        let mut keys = Vec::new();
        for _ in 0..count {
            let blob = wire.string()?.to_vec();
            let comment = String::from_utf8_lossy(wire.string()?).into_owned();
            keys.push((blob, comment));
        }
        Ok(keys)
    }

    /// The agent's signature blob over `data` with the key `blob` names (no flags: for
    /// ed25519 there is only one kind of signature).
    fn sign(&mut self, blob: &[u8], data: &[u8]) -> std::result::Result<Vec<u8>, String> {
        let mut request = Vec::with_capacity(blob.len() + data.len() + 12);
        put_string(&mut request, blob)?;
        put_string(&mut request, data)?;
        request.extend_from_slice(&0u32.to_be_bytes());
        match self.ask(SSH_AGENTC_SIGN_REQUEST, &request)? {
            (SSH_AGENT_SIGN_RESPONSE, answer) => Ok(Wire(&answer).string()?.to_vec()),
            (SSH_AGENT_FAILURE, _) => Err("it refused".into()),
            (kind, _) => Err(format!("it answered with message {kind}, not a signature")),
        }
    }
}

fn put_string(out: &mut Vec<u8>, bytes: &[u8]) -> std::result::Result<(), String> {
    let length = u32::try_from(bytes.len()).map_err(|_| "a request too long")?;
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(bytes);
    Ok(())
}

/// A reader of ssh wire data; every read fails, rather than panics, on data too short.
struct Wire<'a>(&'a [u8]);

impl<'a> Wire<'a> {
    fn u32(&mut self) -> std::result::Result<u32, String> {
        let (head, rest) = self
            .0
            .split_first_chunk::<4>()
            .ok_or("it answered with a truncated message")?;
        self.0 = rest;
        Ok(u32::from_be_bytes(*head))
    }

    fn string(&mut self) -> std::result::Result<&'a [u8], String> {
        let length = self.u32()? as usize;
        if length > self.0.len() {
            return Err("it answered with a truncated message".into());
        }
        let (string, rest) = self.0.split_at(length);
        self.0 = rest;
        Ok(string)
    }
}

/// The key of an `ssh-ed25519` wire blob (string "ssh-ed25519", string of 32 key bytes);
/// None for any other algorithm, a certificate, or a damaged blob.
fn ed25519_public(blob: &[u8]) -> Option<VerifyingKey> {
    let mut wire = Wire(blob);
    if wire.string().ok()? != ED25519 {
        return None;
    }
    let key: [u8; 32] = wire.string().ok()?.try_into().ok()?;
    wire.0.is_empty().then_some(())?;
    VerifyingKey::from_bytes(&key).ok()
}

/// The ed25519 signature in an agent's signature blob (string "ssh-ed25519", string of 64
/// bytes); None for anything else.
fn ed25519_signature(blob: &[u8]) -> Option<Signature> {
    let mut wire = Wire(blob);
    if wire.string().ok()? != ED25519 {
        return None;
    }
    let signature = wire.string().ok()?;
    wire.0.is_empty().then_some(())?;
    Signature::from_slice(signature).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An agent that reads one request and answers with `answer` (length prefix included).
    fn agent_answering(answer: Vec<u8>) -> (AgentClient, std::thread::JoinHandle<Vec<u8>>) {
        let (ours, mut theirs) = UnixStream::pair().unwrap();
        let agent = std::thread::spawn(move || {
            let mut length = [0u8; 4];
            theirs.read_exact(&mut length).unwrap();
            let mut request = vec![0u8; u32::from_be_bytes(length) as usize];
            theirs.read_exact(&mut request).unwrap();
            theirs.write_all(&answer).unwrap();
            request
        });
        (AgentClient { socket: ours }, agent)
    }

    fn message(kind: u8, contents: &[u8]) -> Vec<u8> {
        let mut out = ((contents.len() + 1) as u32).to_be_bytes().to_vec();
        out.push(kind);
        out.extend_from_slice(contents);
        out
    }

    fn string(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        put_string(&mut out, bytes).unwrap();
        out
    }

    fn ed25519_blob(key: &VerifyingKey) -> Vec<u8> {
        [string(ED25519), string(key.as_bytes())].concat()
    }

    #[test]
    fn the_agent_s_keys_are_listed_and_only_ed25519_ones_can_sign() {
        let key = SigningKey::from_bytes(&[7; 32]).verifying_key();
        let rsa = [string(b"ssh-rsa"), string(&[1, 0, 1]), string(&[9; 64])].concat();
        let cert = [
            string(b"ssh-ed25519-cert-v01@openssh.com"),
            string(&[0; 32]),
        ]
        .concat();
        let answer = [
            3u32.to_be_bytes().to_vec(),
            string(&rsa),
            string(b"old"),
            string(&cert),
            string(b"cert"),
            string(&ed25519_blob(&key)),
            string(b"alice@laptop"),
        ]
        .concat();
        let (mut client, agent) = agent_answering(message(SSH_AGENT_IDENTITIES_ANSWER, &answer));
        let keys = client.identities().unwrap();
        assert_eq!(agent.join().unwrap(), [SSH_AGENTC_REQUEST_IDENTITIES]);
        let usable: Vec<_> = keys
            .iter()
            .filter_map(|(blob, comment)| Some((ed25519_public(blob)?, comment.as_str())))
            .collect();
        assert_eq!(usable, [(key, "alice@laptop")]);
    }

    #[test]
    fn a_sign_request_names_the_key_and_the_answer_must_be_an_ed25519_signature() {
        let secret = SigningKey::from_bytes(&[7; 32]);
        let blob = ed25519_blob(&secret.verifying_key());
        let signature = ed25519_dalek::Signer::sign(&secret, b"bytes");
        let answer = [string(ED25519), string(&signature.to_bytes())].concat();
        let (mut client, agent) =
            agent_answering(message(SSH_AGENT_SIGN_RESPONSE, &string(&answer)));
        let got = client.sign(&blob, b"bytes").unwrap();
        let request = agent.join().unwrap();
        let expected = [
            vec![SSH_AGENTC_SIGN_REQUEST],
            string(&blob),
            string(b"bytes"),
            vec![0; 4],
        ]
        .concat();
        assert_eq!(request, expected);
        assert_eq!(ed25519_signature(&got), Some(signature));
        // Another algorithm's signature, or a blob with bytes after it, is no signature.
        let rsa = [string(b"rsa-sha2-256"), string(&signature.to_bytes())].concat();
        assert_eq!(ed25519_signature(&rsa), None);
        assert_eq!(ed25519_signature(&[answer, vec![0]].concat()), None);
    }

    #[test]
    fn a_refusal_a_truncated_or_an_oversized_answer_is_an_error_never_a_panic() {
        let blob = ed25519_blob(&SigningKey::from_bytes(&[7; 32]).verifying_key());
        let refused = agent_answering(message(SSH_AGENT_FAILURE, &[]));
        let truncated = agent_answering(message(SSH_AGENT_SIGN_RESPONSE, &[0, 0, 0, 9, 1]));
        let oversized = agent_answering(((MAX_AGENT_MESSAGE + 1) as u32).to_be_bytes().to_vec());
        for ((mut client, agent), needle) in [
            (refused, "it refused"),
            (truncated, "truncated"),
            (oversized, "a message of 262145 bytes"),
        ] {
            let err = client.sign(&blob, b"bytes").unwrap_err();
            assert!(err.contains(needle), "{err}");
            agent.join().unwrap();
        }
        let (mut client, agent) = agent_answering(message(SSH_AGENT_IDENTITIES_ANSWER, &[0, 0]));
        assert!(client.identities().unwrap_err().contains("truncated"));
        agent.join().unwrap();
    }
}
