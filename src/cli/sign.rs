//! `imprimatur keygen`, and the signing commands (submit, approve, reject, retract,
//! publish, unpublish), which all write one record through `workflow::sign`.

use std::io::Write;
use std::path::Path;

use super::{check_notifications, print, EXIT_OK};
use crate::error::Result;

/// `imprimatur keygen`: a new secret key file; the last line printed is the public key.
pub fn keygen(path: &Path, out: &mut dyn Write) -> Result<i32> {
    let public = crate::trust::keyfile::generate(path)?;
    print(
        out,
        &format!(
            "wrote {} (keep it secret; mode 0600)\nadd it to approvals/keyring.yaml: imprimatur keyring add ID --name NAME --public-key-file {}\nits public key:\n{public}\n",
            path.display(),
            path.display()
        ),
    )?;
    Ok(EXIT_OK)
}

/// `imprimatur keygen --ssh`: an OpenSSH key pair (`FILE`, `FILE.pub`) that ssh-add, ssh and
/// imprimatur all use; the last line printed is the public line for the keyring.
pub fn keygen_ssh(path: &Path, out: &mut dyn Write) -> Result<i32> {
    let comment = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let public = crate::trust::keyfile::generate_ssh(path, &comment)?;
    print(
        out,
        &format!(
            "wrote {} (keep it secret; mode 0600) and its .pub\nadd it to approvals/keyring.yaml: imprimatur keyring add ID --name NAME --public-key-file {}.pub\nits public key:\n{public}\n",
            path.display(),
            path.display()
        ),
    )?;
    Ok(EXIT_OK)
}

/// The signing commands: print the new record's path.
pub fn sign(req: &crate::workflow::sign::SignRequest, out: &mut dyn Write) -> Result<i32> {
    check_notifications(req.site_root)?;
    let path = crate::workflow::sign::sign(req)?;
    print(out, &format!("{path}\n"))?;
    Ok(EXIT_OK)
}
