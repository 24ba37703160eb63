//! From judged pages to files: render only live versions, check links, write `output/`
//! atomically.

pub(crate) mod audit;
pub(crate) mod build;
pub(crate) mod links;
pub(crate) mod markdown;
pub(crate) mod output;
pub(crate) mod proof;
pub(crate) mod render;
pub(crate) mod search;
pub(crate) mod theme;
