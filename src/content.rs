//! The drafts in `content/` (SPEC §2): which files are pages, their ids, their front matter,
//! and the version that names their exact bytes. Pages are read once, and the bytes that were
//! hashed are the bytes that get rendered, so nothing can change between check and use.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::store::VersionFiles;
use crate::time::{self, Instant};
use crate::version::{self, ManifestEntry, Version};

/// A page found in `content/`, with the bytes of its current version.
#[derive(Debug, Clone)]
pub struct Page {
    /// `<space>/<path>`: no `.md`, no `/index`.
    pub id: String,
    pub space: String,
    /// The page's path inside its space (`getting-started/install`).
    pub path: String,
    /// The file (`.md`) or bundle folder, relative to the site root.
    pub source: String,
    pub bundle: bool,
    pub version: Version,
    /// Shared, not copied: the evaluation and the renderer read the same bytes.
    pub files: Arc<VersionFiles>,
}

impl Page {
    /// The bytes as the store keeps them: `(relative path, bytes)`, sorted, `index.md` included.
    pub fn store_files(&self) -> Vec<(String, Vec<u8>)> {
        if !self.bundle {
            return vec![(self.source.clone(), self.files.markdown.clone())];
        }
        let mut files = self.files.assets.clone();
        files.push(("index.md".into(), self.files.markdown.clone()));
        files.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        files
    }
}

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
    pub extra: BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
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
    #[serde(flatten)]
    extra: BTreeMap<String, serde_json::Value>,
}

/// Splits a page into its front matter and its Markdown body (a slice of `bytes`). The
/// error says which field is wrong; the caller adds the file.
pub fn parse_page(bytes: &[u8]) -> std::result::Result<(FrontMatter, &str), String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "is not UTF-8 text".to_string())?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let after_open = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
        .ok_or("front matter: the first line must be '---'")?;
    let (yaml, body) =
        split_at_closing_fence(after_open).ok_or("front matter: no closing '---' line")?;
    let raw: RawFrontMatter = if yaml.trim().is_empty() {
        return Err("front matter: title: missing".into());
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
            extra: raw.extra,
        },
        body,
    ))
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

/// A page id is `<space>/<path>` with no empty, `.` or `..` components and no leading `/`.
pub fn is_valid_page_id(id: &str) -> bool {
    !id.starts_with('/')
        && !id.contains('\\')
        && id.split('/').count() >= 2
        && id
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

/// Turns a command-line PAGE (`content/kb/install.md`, `content/kb/shots/`, `kb/install`)
/// into a page id.
pub fn page_id_from_arg(arg: &str) -> String {
    let mut id = arg.trim().replace('\\', "/");
    while let Some(rest) = id.strip_prefix("./") {
        id = rest.to_string();
    }
    if let Some(rest) = id.strip_prefix("content/") {
        id = rest.to_string();
    }
    let id = id.trim_end_matches('/');
    let id = id.strip_suffix("/index.md").unwrap_or(id);
    id.strip_suffix(".md").unwrap_or(id).to_string()
}

/// Scans `content/`: every `.md` file and every bundle folder under a space folder, read and
/// hashed in parallel. Sorted by id.
pub fn scan(content_dir: &Path, site_root: &Path) -> Result<Vec<Page>> {
    let mut found: Vec<(PathBuf, bool)> = Vec::new();
    if !content_dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut walker = walkdir::WalkDir::new(content_dir)
        .min_depth(1)
        .sort_by_file_name()
        .into_iter();
    while let Some(entry) = walker.next() {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(content_dir).to_path_buf();
            Error::io(&path, e.into())
        })?;
        let name = entry.file_name().to_string_lossy();
        if name.starts_with('_') || name.starts_with('.') {
            if entry.file_type().is_dir() {
                walker.skip_current_dir();
            }
            continue;
        }
        if entry.file_type().is_dir() {
            // A space folder is never a bundle; below it, a folder holding index.md is one.
            if entry.depth() >= 2 && entry.path().join("index.md").is_file() {
                found.push((entry.path().to_path_buf(), true));
                walker.skip_current_dir();
            }
        } else if entry.file_type().is_file() && entry.depth() >= 2 && name.ends_with(".md") {
            found.push((entry.path().to_path_buf(), false));
        }
    }
    let mut pages = found
        .par_iter()
        .map(|(path, bundle)| read_page(content_dir, site_root, path, *bundle))
        .collect::<Result<Vec<_>>>()?;
    pages.sort_by(|a, b| a.id.cmp(&b.id));
    for pair in pages.windows(2) {
        if pair[0].id == pair[1].id {
            return Err(Error::config(
                &pair[1].source,
                "id",
                format!(
                    "page id '{}' is also used by {}",
                    pair[1].id, pair[0].source
                ),
            ));
        }
    }
    Ok(pages)
}

fn read_page(content_dir: &Path, site_root: &Path, path: &Path, bundle: bool) -> Result<Page> {
    let rel = crate::config::display_relative(content_dir, path);
    let id = if bundle {
        rel.clone()
    } else {
        rel.strip_suffix(".md").unwrap_or(&rel).to_string()
    };
    let (space, page_path) = id.split_once('/').expect("pages are at depth >= 2");
    let source = crate::config::display_relative(site_root, path);
    let (version, files) = if bundle {
        read_bundle(path)?
    } else {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        (
            Version::of_bytes(&bytes),
            VersionFiles {
                markdown: bytes,
                assets: Vec::new(),
            },
        )
    };
    Ok(Page {
        id: id.clone(),
        space: space.to_string(),
        path: page_path.to_string(),
        source,
        bundle,
        version,
        files: Arc::new(files),
    })
}

/// Reads a bundle and names it by its manifest (SPEC §2).
pub fn read_bundle(dir: &Path) -> Result<(Version, VersionFiles)> {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let walker = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .filter_entry(|e| !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walker {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(dir).to_path_buf();
            Error::io(&path, e.into())
        })?;
        if entry.file_type().is_file() {
            let rel = crate::config::display_relative(dir, entry.path());
            let bytes = std::fs::read(entry.path()).map_err(|e| Error::io(entry.path(), e))?;
            files.push((rel, bytes));
        }
    }
    files.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let entries: Vec<ManifestEntry> = files
        .iter()
        .map(|(path, bytes)| ManifestEntry {
            path: path.clone(),
            hex: version::sha256_hex(bytes),
        })
        .collect();
    let version = Version::of_bytes(version::manifest_text(&entries).as_bytes());
    let mut markdown = Vec::new();
    let mut assets = Vec::new();
    for (path, bytes) in files {
        if path == "index.md" {
            markdown = bytes;
        } else {
            assets.push((path, bytes));
        }
    }
    Ok((version, VersionFiles { markdown, assets }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_fields_and_unknown_keys() {
        let page = b"---\ntitle: Install\ndescription: d\nslug: setup\nweight: 3\ntags: [a, b]\naudience: [internal]\npublish_at: 2026-12-01T09:00:00Z\nproduct: agent\n---\n\nBody\n";
        let (fm, body) = parse_page(page).unwrap();
        assert_eq!(fm.title, "Install");
        assert_eq!(fm.slug.as_deref(), Some("setup"));
        assert_eq!(fm.weight, 3);
        assert_eq!(fm.tags, vec!["a", "b"]);
        assert_eq!(fm.audience, Some(vec!["internal".to_string()]));
        assert_eq!(
            time::format_utc(&fm.publish_at.unwrap()),
            "2026-12-01T09:00:00Z"
        );
        assert_eq!(fm.extra["product"], serde_json::json!("agent"));
        assert_eq!(body, "\nBody\n");
    }

    #[test]
    fn bad_front_matter_names_the_field() {
        for (page, needle) in [
            (&b"no fence"[..], "first line"),
            (b"---\ntitle: x\n", "closing"),
            (b"---\ndescription: x\n---\n", "title"),
            (b"---\ntitle: x\npublish_at: tomorrow\n---\n", "publish_at"),
            (b"---\ntitle: x\nslug: a/b\n---\n", "slug"),
            (b"---\ntitle: x\nweight: heavy\n---\n", "weight"),
            (b"\xff\xfe", "UTF-8"),
        ] {
            let err = parse_page(page).unwrap_err();
            assert!(err.contains(needle), "{err}");
        }
    }

    #[test]
    fn page_ids_and_arguments() {
        assert!(is_valid_page_id("kb/install"));
        for bad in ["kb", "/kb/x", "kb//x", "kb/../x", "kb/./x", ""] {
            assert!(!is_valid_page_id(bad), "{bad}");
        }
        assert_eq!(page_id_from_arg("content/kb/install.md"), "kb/install");
        assert_eq!(page_id_from_arg("./content/kb/shots/index.md"), "kb/shots");
        assert_eq!(page_id_from_arg("content/kb/shots/"), "kb/shots");
        assert_eq!(page_id_from_arg("kb/install"), "kb/install");
    }

    #[test]
    fn scan_finds_files_and_bundles_and_skips_private_names() {
        let dir = tempfile::tempdir().unwrap();
        let c = dir.path().join("content");
        let write = |p: &str, b: &[u8]| {
            let path = c.join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, b).unwrap();
        };
        write("kb/a.md", b"---\ntitle: A\n---\n");
        write("kb/_drafts/b.md", b"x");
        write("kb/.hidden.md", b"x");
        write("kb/guide/c.md", b"x");
        write("kb/shots/index.md", b"x");
        write("kb/shots/img/p.png", b"png");
        write("kb/shots/nested/index.md", b"belongs to the bundle");
        write("top.md", b"not in a space");
        let pages = scan(&c, dir.path()).unwrap();
        let ids: Vec<_> = pages.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, vec!["kb/a", "kb/guide/c", "kb/shots"]);
        let shots = &pages[2];
        assert!(shots.bundle);
        assert_eq!(shots.source, "content/kb/shots");
        assert_eq!(shots.files.assets.len(), 2);
        assert_eq!(pages[0].version, Version::of_bytes(b"---\ntitle: A\n---\n"));
    }
}
