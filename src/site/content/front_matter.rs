//! A page's front matter (SPEC §2): the fields between the opening and closing `---` lines,
//! read by the flat reader when they are in the flat form most pages use (`flat`), else by
//! the YAML parser within its limits, the same fields either way, and each field checked
//! (title present, RFC 3339 times, a slug that is one URL segment, aliases that are paths
//! within the site).

mod flat;

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::time::{self, Instant};

/// Front matter (SPEC §2). Unknown keys are kept in `extra` for templates.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FrontMatter {
    pub title: String,
    pub description: Option<String>,
    pub slug: Option<String>,
    pub weight: i64,
    pub tags: Vec<String>,
    pub audience: Option<Vec<String>>,
    pub publish_at: Option<Instant>,
    pub expires_at: Option<Instant>,
    /// Old URLs of the page (`aliases: [old/path/]`), each a checked path within the site
    /// without its leading `/`, ending in `/`: redirect pages are written there.
    pub aliases: Vec<String>,
    pub extra: BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct RawFrontMatter {
    title: Option<String>,
    description: Option<String>,
    slug: Option<String>,
    weight: Option<i64>,
    #[serde(default)]
    tags: Vec<String>,
    audience: Option<Vec<String>>,
    publish_at: Option<String>,
    expires_at: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(flatten)]
    extra: BTreeMap<String, serde_json::Value>,
}

/// Splits a page into its front matter and its Markdown body (a slice of `bytes`). The
/// error says which field is wrong; the caller adds the file.
pub fn parse_page(bytes: &[u8]) -> std::result::Result<(FrontMatter, &str), String> {
    parse_page_with(bytes, true)
}

/// [`parse_page`], reading the front matter in the flat form without the YAML parser when
/// `flat` and it is in that form (the same fields either way: see [`flat`]).
fn parse_page_with(bytes: &[u8], flat: bool) -> std::result::Result<(FrontMatter, &str), String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "is not UTF-8 text".to_string())?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let after_open = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
        .ok_or("front matter: the first line must be '---'")?;
    let (yaml, body) =
        split_at_closing_fence(after_open).ok_or("front matter: no closing '---' line")?;
    let flat = match flat && yaml.len() <= crate::yaml::FRONT_MATTER.max_bytes {
        true => flat::read(yaml),
        false => None,
    };
    let raw: RawFrontMatter = if yaml.trim().is_empty() {
        return Err("front matter: title: missing".into());
    } else if let Some(raw) = flat {
        raw
    } else {
        crate::yaml::from_str(yaml, &crate::yaml::FRONT_MATTER)
            .map_err(|e| format!("front matter: {e}"))?
    };
    let title = raw
        .title
        .filter(|t| !t.trim().is_empty())
        .ok_or("front matter: title: missing")?;
    let instant =
        |field: &str, value: Option<String>| -> std::result::Result<Option<Instant>, String> {
            value
                .map(|v| {
                    time::parse_rfc3339(&v).ok_or(format!(
                        "front matter: {field}: '{v}' is not an RFC 3339 time"
                    ))
                })
                .transpose()
        };
    if let Some(slug) = &raw.slug {
        if slug.is_empty() || slug.contains('/') || slug.starts_with('.') || slug.contains('\\') {
            return Err(format!(
                "front matter: slug: '{slug}' must be one URL segment"
            ));
        }
    }
    let aliases = raw
        .aliases
        .iter()
        .map(|a| {
            crate::site::urls::alias_path(a).map_err(|why| format!("front matter: aliases: {why}"))
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok((
        FrontMatter {
            title,
            description: raw.description,
            slug: raw.slug,
            weight: raw.weight.unwrap_or(0),
            tags: raw.tags,
            audience: raw.audience,
            publish_at: instant("publish_at", raw.publish_at)?,
            expires_at: instant("expires_at", raw.expires_at)?,
            aliases,
            extra: raw.extra,
        },
        body,
    ))
}

/// A page read with the flat front matter reader allowed, and with the full YAML reader
/// alone, for the fuzz target that asserts they agree (`src/fuzzing.rs`).
#[cfg(feature = "fuzzing")]
#[allow(clippy::type_complexity)]
pub(crate) fn both_front_matter_readers(
    bytes: &[u8],
) -> (
    std::result::Result<(FrontMatter, &str), String>,
    std::result::Result<(FrontMatter, &str), String>,
) {
    (parse_page_with(bytes, true), parse_page_with(bytes, false))
}

fn split_at_closing_fence(text: &str) -> Option<(&str, &str)> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_end_matches(['\n', '\r']) == "---" {
            return Some((&text[..offset], &text[offset + line.len()..]));
        }
        offset += line.len();
    }
    None
}
