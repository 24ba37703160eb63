//! The ground floor: touching files so that what is checked is what is used, and naming
//! them for people. Every floor above stands on it, and it imports nothing above it (only
//! `error`): reads beneath a trusted folder that never follow a link ([`read`]), writes that
//! never leave half a file ([`write`]), who a file is without reading it ([`fingerprint`]),
//! digests as hex ([`digest`]) and paths shown safely ([`path`]).

pub(crate) mod digest;
pub(crate) mod fingerprint;
pub(crate) mod path;
pub(crate) mod read;
pub(crate) mod write;

pub(crate) use digest::{hash_part, hex, HEX_DIGITS};
pub(crate) use fingerprint::Fingerprint;
pub(crate) use path::{display_relative, printable};
pub(crate) use read::{read_beneath, walk_by_name, Beneath, ReadErrorKind};
pub(crate) use write::{
    real_dir, write_file, write_file_synced, write_file_synced_with, write_file_with, Tee,
};
