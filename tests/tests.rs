//! The integration tests: one binary (as ripgrep does), one module per feature, all built on
//! the `util::TestSite` fixture that runs the real `imprimatur` binary in a temp folder.

mod util;

mod audit;
mod browser;
mod build;
mod code_and_not_found;
mod completions;
mod decide;
mod feeds;
mod floors;
mod fuzz_found;
mod gate;
mod governance;
mod hardening_fs;
mod hardening_parse;
mod init;
mod keyring;
mod keys;
mod notify;
mod passkeys;
mod progress;
mod proofs;
mod recipes;
mod redirects;
mod reports;
mod revocation;
mod sealed;
mod serve;
mod serve_browser;
mod snapshots;
mod ssh;
mod status_views;
mod team;
mod theme;
mod trust;
mod tutorial;
mod vectors;
mod workflow;
