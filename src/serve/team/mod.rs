//! The team review server (`serve --team`): settings from the `review:` section.

pub mod config;
