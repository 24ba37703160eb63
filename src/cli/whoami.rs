//! `imprimatur whoami`: which reviewer and keyring key a key file or the ssh-agent's key
//! speaks for, so a reviewer can check their setup before signing anything.

use std::io::Write;
use std::path::Path;

use super::{print, Format, EXIT_OK};
use crate::error::{Error, Result};
use crate::site::config::SiteConfig;
use crate::trust::keyfile::public_base64_of;
use crate::trust::keyring::Keyring;
use crate::trust::signer::{KeySource, Signer};
use crate::trust::sshkey;

/// Prints the reviewer and key id; a key the keyring does not know is an error (exit 1), with
/// both spellings of its public key to add to the keyring.
pub fn whoami(
    site_root: &Path,
    key: &KeySource,
    format: Format,
    out: &mut dyn Write,
) -> Result<i32> {
    let config = SiteConfig::load(site_root)?;
    crate::notify::config::load(&config)?;
    let keyring = Keyring::load(&config.keyring_file())?;
    let signer = Signer::open(key, &keyring)?;
    let public = signer.public_key();
    let entry = keyring.key_for_public(&public);
    let fingerprint = sshkey::fingerprint(&public);
    let base64 = public_base64_of(&public);
    let ssh_line = sshkey::public_line(&public, "");
    match format {
        Format::Json => {
            let json = serde_json::json!({
                "key_source": signer.name(),
                "in_keyring": entry.is_some(),
                "reviewer": entry.map(|k| k.reviewer.clone()),
                "name": entry.map(|k| keyring.name_of(&k.reviewer)),
                "key": entry.map(|k| k.id.clone()),
                "fingerprint": fingerprint,
                "public_key": base64,
                "ssh_public_key": ssh_line,
            });
            let text = serde_json::to_string_pretty(&json).expect("JSON of strings");
            print(out, &format!("{text}\n"))?;
        }
        Format::Text => match entry {
            Some(k) => print(
                out,
                &format!(
                    "reviewer: {} ({})\nkey: {}\nfingerprint: {fingerprint}\nsource: {}\n",
                    k.reviewer,
                    keyring.name_of(&k.reviewer),
                    k.id,
                    signer.name()
                ),
            )?,
            None => print(
                out,
                &format!(
                    "fingerprint: {fingerprint}\nsource: {}\npublic_key: {base64}\nssh_public_key: {ssh_line}\n",
                    signer.name()
                ),
            )?,
        },
    }
    match entry {
        Some(_) => Ok(EXIT_OK),
        None => Err(Error::Refused(format!(
            "{}: this key is not in approvals/keyring.yaml; add either public_key line above to a reviewer's keys",
            signer.name()
        ))),
    }
}
