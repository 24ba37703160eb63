//! imprimatur decides what may be printed: it verifies signed reviews of docs-as-code pages
//! against each space's policy and publishes only approved versions.
//!
//! The modules follow the data, one way: `config` → `content` (pages, `version`s, `store`) →
//! `keyring` + `policy` → `record` (verify) → `review` (each page's state and live version)
//! → `site` (all of it at one `now`) → render → write → reports.

pub mod atomic;
pub mod audit;
pub mod authority;
pub mod build;
pub mod commands;
pub mod config;
pub mod content;
pub mod error;
pub mod init;
pub mod keyfile;
pub mod keyring;
pub mod links;
pub mod markdown;
pub mod output;
pub mod policy;
pub mod record;
pub mod render;
pub mod report;
pub mod review;
pub mod signing;
pub mod site;
pub mod store;
pub mod theme;
pub mod time;
pub mod version;
pub mod yaml;

pub use error::{Error, Result};
