//! The one error type of the library. Every variant names the file (and, where there is one,
//! the field) at fault, because the people who read these messages fix YAML by hand; the
//! binary maps each variant to an exit code.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or folder could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A configuration file (site config, keyring, policy) is malformed or unsafe.
    #[error("{file}: {field}: {message}")]
    Config {
        file: String,
        field: String,
        message: String,
    },
    /// A command was asked for something it must refuse (unknown page, step or key ...).
    #[error("{0}")]
    Refused(String),
    /// Bad command-line usage that the argument parser could not catch.
    #[error("{0}")]
    Usage(String),
    /// A theme could not be loaded.
    #[error(transparent)]
    Theme(#[from] crate::publish::theme::ThemeError),
    /// A template failed while rendering one page: nothing of the build was published.
    #[error("{page}: {source}")]
    Render {
        page: String,
        #[source]
        source: crate::publish::theme::ThemeError,
    },
    /// A path the command must not write through or replace (a symbolic link an attacker may
    /// have placed, a folder that holds something else).
    #[error("{}: {why}", path.display())]
    UnsafePath { path: PathBuf, why: String },
    /// Something in `content/` that can't be a page (`why` names the file at fault).
    #[error("{why}")]
    InvalidPage { why: String },
    /// The root chain or the governed files are not signed as docs/trust-root.md requires:
    /// nothing governed was trusted, nothing was published.
    #[error("governance: {0}")]
    Governance(String),
}

impl Error {
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    pub fn config(
        file: impl Into<String>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Error {
        Error::Config {
            file: file.into(),
            field: field.into(),
            message: message.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The process exit code SPEC §8 assigns to this error: 2 for usage, else 1.
    pub fn code(&self) -> std::process::ExitCode {
        match self {
            Error::Usage(_) => std::process::ExitCode::from(2),
            _ => std::process::ExitCode::FAILURE,
        }
    }
}
