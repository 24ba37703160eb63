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
    /// A theme could not be loaded (`publish::theme`'s error, which converts into this).
    #[error(transparent)]
    Theme(Cause),
    /// A template failed while rendering one page: nothing of the build was published.
    #[error("{page}: {source}")]
    Render {
        page: String,
        #[source]
        source: Cause,
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

/// The error of a floor above this one, kept whole: shown as its own message, with its own
/// source. The ground floor names no type above it; the floor that has the error converts it
/// (`impl From<ThemeError> for Cause` lives beside the theme).
#[derive(Debug)]
pub struct Cause(Box<dyn std::error::Error + Send + Sync>);

impl Cause {
    pub fn new(error: impl std::error::Error + Send + Sync + 'static) -> Cause {
        Cause(Box::new(error))
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
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
