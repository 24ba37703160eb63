//! Who signed what, and what it counts for. Nothing here renders or writes a site.

pub(crate) mod authority;
pub(crate) mod escalation;
pub mod governance;
pub mod keyfile;
pub mod keyring;
pub(crate) mod policy;
pub(crate) mod reachable;
pub mod record;
pub(crate) mod review;
pub mod root;
pub mod signer;
pub mod sshkey;
pub mod store;
pub mod version;
pub mod webauthn;
