//! What signs a record: a secret key file (any format `keyfile` reads) or a key held by the
//! running ssh-agent (docs/ssh-keys.md). Either way the record gets a plain ed25519 signature
//! over its signed bytes (SPEC §4), so the build can't tell, and needn't, which one made it.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use ssh_agent_client_rs::Client;

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
        client: Mutex<Client>,
        identity: ssh_key::PublicKey,
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
                let answer = client.sign(identity.clone(), bytes).map_err(|e| {
                    Error::Refused(format!(
                        "{}: the ssh-agent would not sign ({e}); is the key still loaded, or does it ask for confirmation?",
                        self.name
                    ))
                })?;
                let signature = (answer.algorithm() == ssh_key::Algorithm::Ed25519)
                    .then(|| Signature::from_slice(answer.as_bytes()).ok())
                    .flatten()
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
    let mut client = Client::connect(Path::new(&socket)).map_err(|e| {
        Error::Refused(format!(
            "--agent: cannot reach the ssh-agent at {} ({e})",
            Path::new(&socket).display()
        ))
    })?;
    let identities = client.list_all_identities().map_err(|e| {
        Error::Refused(format!(
            "--agent: the ssh-agent did not list its keys ({e})"
        ))
    })?;
    let keys: Vec<AgentKey> = identities
        .into_iter()
        .filter_map(|identity| match identity {
            ssh_agent_client_rs::Identity::PublicKey(key) => {
                let key = key.into_owned();
                let bytes = sshkey::ed25519_bytes(key.key_data())?;
                let public = VerifyingKey::from_bytes(&bytes).ok()?;
                Some(AgentKey { key, public })
            }
            ssh_agent_client_rs::Identity::Certificate(_) => None,
        })
        .collect();
    let chosen = choose(&keys, select, keyring)?;
    let key = &keys[chosen];
    Ok(Signer {
        public: key.public,
        name: format!("ssh-agent key {}", sshkey::fingerprint(&key.public)),
        backend: Backend::Agent {
            client: Mutex::new(client),
            identity: key.key.clone(),
        },
    })
}

struct AgentKey {
    key: ssh_key::PublicKey,
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
            self.key.comment()
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
                    || (!k.key.comment().is_empty() && k.key.comment() == wanted)
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
