//! The site's look: tera templates and static files.
//!
//! The default theme is compiled into the binary, so a site works with no theme folder at all
//! and a build never depends on files it did not ship. A site customizes it one file at a time:
//! whatever sits under `themes/<name>/templates/` or `themes/<name>/static/` replaces (or adds
//! to) the built-in file of the same relative path, and everything else stays built in.
//!
//! Templates are parsed once, at load, so a broken override fails the build before any page is
//! rendered, naming the file to fix. Besides the build's context, every template can read
//! `imprimatur.version`, the version of the binary that rendered it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::Digest;
use tera::{Context, ErrorKind, Tera};

use crate::fs::{self, ReadErrorKind};

/// What the built-in templates are called in error messages.
const BUILT_IN: &str = "built-in default theme";

/// The default theme's templates, by template name.
const BUILT_IN_TEMPLATES: &[(&str, &str)] = &[
    (
        "404.html",
        include_str!("../../themes/default/templates/404.html"),
    ),
    (
        "base.html",
        include_str!("../../themes/default/templates/base.html"),
    ),
    (
        "index.html",
        include_str!("../../themes/default/templates/index.html"),
    ),
    (
        "space.html",
        include_str!("../../themes/default/templates/space.html"),
    ),
    (
        "page.html",
        include_str!("../../themes/default/templates/page.html"),
    ),
    (
        "redirect.html",
        include_str!("../../themes/default/templates/redirect.html"),
    ),
    (
        "partials/badge.html",
        include_str!("../../themes/default/templates/partials/badge.html"),
    ),
    (
        "partials/breadcrumbs.html",
        include_str!("../../themes/default/templates/partials/breadcrumbs.html"),
    ),
    (
        "partials/draft_banner.html",
        include_str!("../../themes/default/templates/partials/draft_banner.html"),
    ),
    (
        "partials/footer.html",
        include_str!("../../themes/default/templates/partials/footer.html"),
    ),
    (
        "partials/header.html",
        include_str!("../../themes/default/templates/partials/header.html"),
    ),
    (
        "partials/history.html",
        include_str!("../../themes/default/templates/partials/history.html"),
    ),
    (
        "partials/menu.html",
        include_str!("../../themes/default/templates/partials/menu.html"),
    ),
    (
        "partials/notice.html",
        include_str!("../../themes/default/templates/partials/notice.html"),
    ),
    (
        "partials/search.html",
        include_str!("../../themes/default/templates/partials/search.html"),
    ),
    (
        "partials/sidebar.html",
        include_str!("../../themes/default/templates/partials/sidebar.html"),
    ),
    (
        "partials/space-nav.html",
        include_str!("../../themes/default/templates/partials/space-nav.html"),
    ),
    (
        "partials/space-grid.html",
        include_str!("../../themes/default/templates/partials/space-grid.html"),
    ),
    (
        "partials/spaces.html",
        include_str!("../../themes/default/templates/partials/spaces.html"),
    ),
    (
        "partials/toc.html",
        include_str!("../../themes/default/templates/partials/toc.html"),
    ),
];

/// The default theme's static files, by path relative to `output/static/`.
const BUILT_IN_STATIC: &[(&str, &[u8])] = &[
    (
        "highlight.css",
        include_bytes!("../../themes/default/static/highlight.css"),
    ),
    (
        "live.js",
        include_bytes!("../../themes/default/static/live.js"),
    ),
    (
        "search.js",
        include_bytes!("../../themes/default/static/search.js"),
    ),
    (
        "style.css",
        include_bytes!("../../themes/default/static/style.css"),
    ),
];

/// What can go wrong with a theme: loading it (`Template`, `Io`) or rendering a page (`Render`).
#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    /// A template does not parse, or the set does not fit together (unknown parent, filter,
    /// include...). `file` is the template's path, or `built-in default theme: <name>`.
    #[error("{file}: template error: {message}")]
    Template { file: String, message: String },
    /// The theme folder or one of its files could not be read.
    #[error("{path}: cannot read theme file: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// Rendering `template` failed, e.g. the context lacks a value the template uses.
    #[error("{template}: render error: {message}")]
    Render { template: String, message: String },
}

impl From<ThemeError> for crate::error::Cause {
    fn from(e: ThemeError) -> crate::error::Cause {
        crate::error::Cause::new(e)
    }
}

impl From<ThemeError> for crate::error::Error {
    fn from(e: ThemeError) -> crate::error::Error {
        crate::error::Error::Theme(e.into())
    }
}

/// A loaded theme: parsed templates plus the static files to publish. Read-only after
/// [`Theme::load`], so one theme is shared by every rendering thread.
#[derive(Debug)]
pub struct Theme {
    tera: Tera,
    /// Template name → the file it came from, for error messages.
    origins: BTreeMap<String, String>,
    static_files: Vec<(String, Vec<u8>)>,
    /// SHA-256 over every template's name and text and the global context: two themes with
    /// one digest render any context to the same bytes (tera's own functions are pure).
    digest: [u8; 32],
}

impl Theme {
    /// Loads the built-in default theme, then lays `<site_root>/themes/<name>/` over it.
    ///
    /// Every file under `templates/` (recursively; the template name is its relative path with
    /// `/` separators) replaces or adds that template; likewise for `static/`. Files and folders
    /// whose name starts with `.` are skipped. A missing theme folder is fine for `default`
    /// (the built-in theme is complete); for any other name it is an error naming the folder.
    pub fn load(site_root: &Path, name: &str) -> Result<Theme, ThemeError> {
        let theme_dir = site_root.join("themes").join(name);
        let has_folder = theme_folder_exists(&theme_dir, name)?;

        let mut sources: BTreeMap<String, (String, String)> = BUILT_IN_TEMPLATES
            .iter()
            .map(|(tpl, text)| {
                let origin = format!("{BUILT_IN}: {tpl}");
                (tpl.to_string(), (text.to_string(), origin))
            })
            .collect();
        let mut static_files: BTreeMap<String, Vec<u8>> = BUILT_IN_STATIC
            .iter()
            .map(|(path, bytes)| (path.to_string(), bytes.to_vec()))
            .collect();

        if has_folder {
            for (rel, path) in files_under(&theme_dir.join("templates"))? {
                let text = String::from_utf8(read_theme_file(site_root, &path)?).map_err(|_| {
                    let source =
                        std::io::Error::new(std::io::ErrorKind::InvalidData, "is not UTF-8 text");
                    io_error(&path, source)
                })?;
                sources.insert(rel, (text, path.display().to_string()));
            }
            for (rel, path) in files_under(&theme_dir.join("static"))? {
                static_files.insert(rel, read_theme_file(site_root, &path)?);
            }
        }

        let origins: BTreeMap<String, String> = sources
            .iter()
            .map(|(tpl, (_, origin))| (tpl.clone(), origin.clone()))
            .collect();

        let mut tera = Tera::default();
        tera.global_context().insert(
            "imprimatur",
            &BTreeMap::from([("version", env!("CARGO_PKG_VERSION"))]),
        );
        tera.add_raw_templates(sources.iter().map(|(tpl, (text, _))| (tpl, text)))
            .map_err(|err| {
                let file = failing_template(&err, &origins)
                    .and_then(|tpl| origins.get(&tpl).cloned())
                    .unwrap_or_else(|| {
                        if has_folder {
                            theme_dir.join("templates").display().to_string()
                        } else {
                            BUILT_IN.to_string()
                        }
                    });
                ThemeError::Template {
                    file,
                    message: error_chain(&err),
                }
            })?;

        let mut h = sha2::Sha256::new();
        h.update(b"imprimatur-theme-v1\n");
        h.update(env!("CARGO_PKG_VERSION").as_bytes());
        for (tpl, (text, _)) in &sources {
            for part in [tpl.as_bytes(), text.as_bytes()] {
                crate::trust::version::hash_part(&mut h, part);
            }
        }
        Ok(Theme {
            tera,
            origins,
            static_files: static_files.into_iter().collect(),
            digest: h.finalize().into(),
        })
    }

    /// Renders one template (`index.html`, `space.html`, `page.html`, ...) with `context`.
    pub fn render(&self, template: &str, context: &Context) -> Result<String, ThemeError> {
        self.tera.render(template, context).map_err(|err| {
            let mut message = error_chain(&err);
            // The failure may sit in a parent or partial the site overrode: say which file.
            if let Some(origin) = failing_template(&err, &self.origins)
                .and_then(|tpl| self.origins.get(&tpl))
                .filter(|origin| !origin.starts_with(BUILT_IN))
            {
                message.push_str(&format!("\n(in {origin})"));
            }
            ThemeError::Render {
                template: template.to_string(),
                message,
            }
        })
    }

    /// What the templates are, as one hash (see the field).
    pub fn digest(&self) -> &[u8; 32] {
        &self.digest
    }

    /// Static files to copy to `output/static/`, sorted by relative path.
    pub fn static_files(&self) -> &[(String, Vec<u8>)] {
        &self.static_files
    }
}

/// Whether `themes/<name>/` is there to read; only `default` may do without it.
fn theme_folder_exists(theme_dir: &Path, name: &str) -> Result<bool, ThemeError> {
    let is_plain_name =
        !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\']);
    if !is_plain_name {
        let source = std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "a theme name must be a single folder name under themes/",
        );
        return Err(io_error(theme_dir, source));
    }
    // Theme files are read without following links: `themes/` and the theme folder alike.
    let themes = theme_dir.parent().unwrap_or(theme_dir);
    if std::fs::symlink_metadata(themes).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(io_error(themes, refused(ReadErrorKind::Symlink)));
    }
    match std::fs::symlink_metadata(theme_dir) {
        Ok(meta) if meta.file_type().is_symlink() => {
            Err(io_error(theme_dir, refused(ReadErrorKind::Symlink)))
        }
        Ok(meta) if meta.is_dir() => Ok(true),
        Ok(_) => {
            let source = std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a folder");
            Err(io_error(theme_dir, source))
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            if name == "default" {
                return Ok(false);
            }
            let source = std::io::Error::new(
                err.kind(),
                format!("no such theme folder ({err}); `theme: default` uses the built-in theme"),
            );
            Err(io_error(theme_dir, source))
        }
        Err(source) => Err(io_error(theme_dir, source)),
    }
}

/// Every file below `dir` as (relative path with `/` separators, full path), sorted.
/// A missing `dir` has no files: a theme may override only templates, or only static files.
/// A symbolic link, or anything that is neither a regular file nor a folder, is an error.
fn files_under(dir: &Path) -> Result<Vec<(String, PathBuf)>, ThemeError> {
    let mut files = Vec::new();
    match std::fs::symlink_metadata(dir) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(files),
        Err(source) => return Err(io_error(dir, source)),
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err(io_error(dir, refused(ReadErrorKind::Symlink)))
        }
        Ok(meta) if !meta.is_dir() => return Err(io_error(dir, refused(ReadErrorKind::NotFolder))),
        Ok(_) => collect_files(dir, "", &mut files)?,
    }
    files.sort();
    Ok(files)
}

/// A theme file's bytes, read below the site root without following a link, regular files
/// only, at most `version::MAX_FILE_BYTES`.
fn read_theme_file(site_root: &Path, path: &Path) -> Result<Vec<u8>, ThemeError> {
    let rel = path.strip_prefix(site_root).unwrap_or(path);
    fs::read_beneath(site_root, rel, crate::trust::version::MAX_FILE_BYTES).map_err(|e| {
        let source = match e.kind {
            ReadErrorKind::Io(source) => source,
            kind => refused(kind),
        };
        io_error(&e.at, source)
    })
}

/// An I/O error saying what is wrong with a theme path (a link, not a regular file...).
fn refused(kind: ReadErrorKind) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, kind.to_string())
}

fn collect_files(
    dir: &Path,
    prefix: &str,
    files: &mut Vec<(String, PathBuf)>,
) -> Result<(), ThemeError> {
    let entries = std::fs::read_dir(dir).map_err(|source| io_error(dir, source))?;
    for entry in entries {
        let entry = entry.map_err(|source| io_error(dir, source))?;
        let path = entry.path();
        let Some(file_name) = entry.file_name().to_str().map(str::to_string) else {
            let source =
                std::io::Error::new(std::io::ErrorKind::InvalidData, "file name is not UTF-8");
            return Err(io_error(&path, source));
        };
        if file_name.starts_with('.') {
            continue;
        }
        let rel = format!("{prefix}{file_name}");
        // Links are never followed: the site's admin sees what is published in the folder.
        let kind = entry
            .file_type()
            .map_err(|source| io_error(&path, source))?;
        if kind.is_symlink() {
            return Err(io_error(&path, refused(ReadErrorKind::Symlink)));
        } else if kind.is_dir() {
            collect_files(&path, &format!("{rel}/"), files)?;
        } else if kind.is_file() {
            files.push((rel, path));
        } else {
            return Err(io_error(&path, refused(ReadErrorKind::NotRegular)));
        }
    }
    Ok(())
}

fn io_error(path: &Path, source: std::io::Error) -> ThemeError {
    ThemeError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The name of the template a tera error is about, when the error says.
fn failing_template(err: &tera::Error, known: &BTreeMap<String, String>) -> Option<String> {
    match err.kind() {
        ErrorKind::SyntaxError(report) | ErrorKind::RenderingError(report) => {
            Some(report.filename().to_string())
        }
        ErrorKind::MissingParent { current, .. } => Some(current.clone()),
        ErrorKind::CircularExtend { tpl, .. } | ErrorKind::CircularInclude { tpl, .. } => {
            Some(tpl.clone())
        }
        ErrorKind::TemplateNotFound(tpl) => Some(tpl.clone()),
        // Checks run over the whole set (unknown filters, includes, blocks) come back as plain
        // reports: "error: ...\n --> page.html:3:7". The first one names the template.
        ErrorKind::Msg(message) => message
            .lines()
            .filter_map(|line| line.trim_start().strip_prefix("--> "))
            .filter_map(|locus| locus.rsplitn(3, ':').nth(2))
            .find(|tpl| known.contains_key(*tpl))
            .map(str::to_string)
            .or_else(|| {
                // e.g. "Component `x` is defined in both `a.html` and `b.html`"
                known
                    .keys()
                    .find(|tpl| message.contains(&format!("`{tpl}`")))
                    .cloned()
            }),
        _ => None,
    }
}

/// The error and all its sources, so nothing tera said is lost.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    // tera's reports start with "error: ", which the ThemeError text already says.
    let text = err.to_string();
    let mut message = text.strip_prefix("error: ").unwrap_or(&text).to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn site(root: &str) -> Value {
        json!({
            "title": "Acme Help <Center>",
            "base_url": "https://help.example.com/",
            "root": root,
            "spaces": [
                {"id": "kb", "title": "Knowledge Base", "url": "kb/", "page_count": 12},
                {"id": "api", "title": "API <b>x</b>", "url": "api/", "page_count": 1}
            ]
        })
    }

    fn home_context() -> Value {
        json!({ "site": site("") })
    }

    fn space_context() -> Value {
        json!({
            "site": site("../"),
            "space": {
                "id": "kb",
                "title": "Knowledge Base",
                "url": "kb/",
                "page_count": 3,
                "groups": [
                    {
                        "title": "Getting started",
                        "anchor": "getting-started",
                        "pages": [
                            {"title": "Install the agent", "url": "kb/getting-started/install/",
                             "description": "Set up the agent on Linux.", "tags": ["agent", "linux"]},
                            {"title": "<b>x</b>", "url": "kb/getting-started/x/",
                             "description": null, "tags": []}
                        ]
                    },
                    {
                        "title": "Troubleshooting",
                        "anchor": "troubleshooting",
                        "pages": [
                            {"title": "Logs", "url": "kb/troubleshooting/logs/",
                             "description": null, "tags": []}
                        ]
                    }
                ]
            }
        })
    }

    fn page_context(status: &str, label: &str) -> Value {
        json!({
            "site": site("../../../"),
            "space": {"id": "kb", "title": "Knowledge Base", "url": "kb/"},
            "nav": [
                {"title": "Getting started", "url": "kb/#getting-started", "current": true,
                 "pages": [
                     {"title": "Install the agent", "url": "kb/getting-started/install/", "current": true},
                     {"title": "Configure", "url": "kb/getting-started/configure/", "current": false}
                 ]},
                {"title": "Troubleshooting", "url": "kb/#troubleshooting", "current": false, "pages": []}
            ],
            "page": {
                "title": "Install the <b>x</b> agent",
                "description": "Set up the agent on Linux & macOS.",
                "html": "<h2 id=\"requirements\">Requirements</h2>\n<p>You need <code>curl</code>.</p>\n<table><thead><tr><th>OS</th></tr></thead><tbody><tr><td>Linux</td></tr></tbody></table>",
                "toc": [
                    {"level": 2, "id": "requirements", "title": "Requirements"},
                    {"level": 3, "id": "linux-only", "title": "Linux <only>"}
                ],
                "status": status,
                "badge": {"label": label, "class": status},
                "version": "sha256:0d6f1a2b3c4d5e6f",
                "short_version": "0d6f1a2b3c4d",
                "approved_at": "2026-11-20 10:00 UTC",
                "published_at": "2026-11-20 10:05 UTC",
                "url": "kb/getting-started/install/",
                "tags": ["agent", "linux"],
                "extra": {"owner": "platform"},
                "breadcrumbs": [
                    {"title": "Knowledge Base", "url": "kb/"},
                    {"title": "Getting started", "url": "kb/#getting-started"}
                ],
                "history": [
                    {"kind": "submit", "label": "Submitted", "reviewer": "bob",
                     "reviewer_name": "Bob Writer", "role": null, "step": null,
                     "comment": "First draft", "signed_at": "2026-11-18 09:00 UTC",
                     "key": "bob-2026", "version": "sha256:0d6f1a2b3c4d5e6f",
                     "short_version": "0d6f1a2b3c4d", "earlier": false},
                    {"kind": "approve", "label": "Approved", "reviewer": "alice",
                     "reviewer_name": "Alice Example", "role": "engineer", "step": "tech-review",
                     "comment": "Looks <right>", "signed_at": "2026-11-20 10:00 UTC",
                     "key": "alice-2026", "version": "sha256:0d6f1a2b3c4d5e6f",
                     "short_version": "0d6f1a2b3c4d", "earlier": false},
                    {"kind": "publish", "label": "Published", "reviewer": "carol",
                     "reviewer_name": "Carol Manager", "role": "publisher", "step": null,
                     "comment": null, "signed_at": "2026-11-20 10:05 UTC", "key": "carol-2026",
                     "version": "sha256:0d6f1a2b3c4d5e6f", "short_version": "0d6f1a2b3c4d",
                     "earlier": false}
                ],
                "newer": if status == "outdated" { json!("pending") } else { Value::Null }
            }
        })
    }

    fn render(theme: &Theme, template: &str, context: &Value) -> String {
        let context = Context::from_serialize(context).unwrap();
        theme
            .render(template, &context)
            .unwrap_or_else(|err| panic!("{err}"))
    }

    fn built_in() -> Theme {
        Theme::load(Path::new("/nonexistent-imprimatur-site"), "default").unwrap()
    }

    /// A site folder that removes itself when the test ends.
    fn site_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    #[test]
    fn theme_can_be_shared_by_rendering_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Theme>();
    }

    #[test]
    fn every_file_of_the_default_theme_is_built_in() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("themes/default");
        let on_disk: Vec<String> = files_under(&dir.join("templates"))
            .unwrap()
            .into_iter()
            .map(|(rel, _)| rel)
            .collect();
        let mut built_in: Vec<&str> = BUILT_IN_TEMPLATES.iter().map(|(name, _)| *name).collect();
        built_in.sort();
        assert_eq!(
            on_disk, built_in,
            "list new template files in BUILT_IN_TEMPLATES"
        );
        let on_disk: Vec<String> = files_under(&dir.join("static"))
            .unwrap()
            .into_iter()
            .map(|(rel, _)| rel)
            .collect();
        let mut built_in: Vec<&str> = BUILT_IN_STATIC.iter().map(|(name, _)| *name).collect();
        built_in.sort();
        assert_eq!(
            on_disk, built_in,
            "list new static files in BUILT_IN_STATIC"
        );
    }

    #[test]
    fn home_lists_every_space_with_its_page_count() {
        let html = render(&built_in(), "index.html", &home_context());
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<html lang=\"en\">"));
        assert!(html.contains("<title>Acme Help &lt;Center&gt;</title>"));
        assert!(html.contains("href=\"kb/\""));
        assert!(html.contains("12 pages"));
        assert!(html.contains("1 page<"));
        assert!(html.contains("API &lt;b&gt;x&lt;/b&gt;"));
        assert!(!html.contains("<b>x</b>"));
        assert!(html.contains("href=\"static/style.css\""));
        assert!(html.contains("data-root=\"\""));
        assert!(html.contains("Published with imprimatur"));
        assert!(html.contains("<link rel=\"canonical\" href=\"https://help.example.com/\">"));
    }

    #[test]
    fn space_index_links_pages_from_its_depth_under_group_anchors() {
        let html = render(&built_in(), "space.html", &space_context());
        assert!(html.contains("id=\"getting-started\""));
        assert!(html.contains("href=\"#troubleshooting\""));
        assert!(html.contains("href=\"../kb/getting-started/install/\""));
        assert!(html.contains("Set up the agent on Linux."));
        assert!(html.contains("&lt;b&gt;x&lt;/b&gt;"));
        assert!(!html.contains("<b>x</b>"));
        assert!(html.contains("href=\"../static/style.css\""));
        assert!(html.contains("data-root=\"../\""));
        assert!(html.contains("3 pages in 2 sections"));
        assert!(html.contains("href=\"https://help.example.com/kb/\""));
    }

    #[test]
    fn published_page_shows_badge_toc_content_and_signed_history() {
        let html = render(
            &built_in(),
            "page.html",
            &page_context("published", "Published"),
        );
        // Badge with version and approval date.
        assert!(html.contains("class=\"badge badge--published\""));
        assert!(html.contains("Published</span>"));
        assert!(html.contains(">0d6f1a2b3c4d</code>"));
        assert!(html.contains("Approved 2026-11-20 10:00 UTC"));
        assert!(html.contains("Live since 2026-11-20 10:05 UTC"));
        // Escaped title, trusted content.
        assert!(html.contains("Install the &lt;b&gt;x&lt;/b&gt; agent"));
        assert!(!html.contains("<b>x</b>"));
        assert!(html.contains("<h2 id=\"requirements\">Requirements</h2>"));
        assert!(html.contains("<table><thead>"));
        assert!(html.contains("Linux &amp; macOS."));
        // Table of contents.
        assert!(html.contains("href=\"#requirements\""));
        assert!(html.contains("toc__item--l3\"><a href=\"#linux-only\">Linux &lt;only&gt;</a>"));
        // History rows: kind, who, step, role, comment, when, key.
        assert!(html.contains("<details class=\"history\""));
        assert!(html.contains("3 signed events"));
        assert!(html.contains("Submitted</span> by <span class=\"event__who\">Bob Writer</span>"));
        assert!(html.contains("Approved</span> by <span class=\"event__who\">Alice Example</span> <span class=\"event__id\">(alice)</span>"));
        assert!(html.contains("<dd>tech-review</dd>"));
        assert!(html.contains("<dd>engineer</dd>"));
        assert!(html.contains("Looks &lt;right&gt;"));
        assert!(html.contains("<dd>2026-11-20 10:00 UTC</dd>"));
        assert!(html.contains("<code>alice-2026</code>"));
        assert_eq!(html.matches("class=\"event event--").count(), 3);
        // Links climb to the output root.
        assert!(html.contains("href=\"../../../kb/getting-started/configure/\""));
        assert!(html.contains("href=\"../../../kb/#getting-started\""));
        assert!(html.contains("aria-current=\"page\">Install the agent</a>"));
        assert!(html.contains("src=\"../../../static/search.js\""));
        assert!(html.contains("data-root=\"../../../\""));
        assert!(html.contains(
            "<meta name=\"description\" content=\"Set up the agent on Linux &amp; macOS.\">"
        ));
        assert!(html.contains("<li class=\"tag\">linux</li>"));
        assert!(html.contains("Page version <code>sha256:0d6f1a2b3c4d5e6f</code>"));
        assert!(!html.contains("notice--"));
    }

    #[test]
    fn outdated_and_expired_pages_say_so_next_to_their_badge() {
        let theme = built_in();
        let outdated = render(&theme, "page.html", &page_context("outdated", "Outdated"));
        assert!(outdated.contains("class=\"badge badge--outdated\""));
        assert!(outdated.contains("notice--outdated"));
        let expired = render(&theme, "page.html", &page_context("expired", "Expired"));
        assert!(expired.contains("class=\"badge badge--expired\""));
        assert!(expired.contains("Expired</span>"));
        assert!(expired.contains("notice--expired"));
    }

    #[test]
    fn page_without_description_toc_tags_or_history_still_renders() {
        let mut context = page_context("published", "Published");
        let page = context["page"].as_object_mut().unwrap();
        page.insert("description".into(), Value::Null);
        page.insert("toc".into(), json!([]));
        page.insert("tags".into(), json!([]));
        page.insert("history".into(), json!([]));
        page.insert("extra".into(), json!({}));
        let html = render(&built_in(), "page.html", &context);
        assert!(!html.contains("class=\"toc\""));
        assert!(!html.contains("name=\"description\""));
        assert!(!html.contains("class=\"page-lead\""));
        assert!(html.contains("0 signed events"));
        assert!(html.contains("No review events were recorded"));
    }

    #[test]
    fn rendering_is_deterministic() {
        let theme = built_in();
        let context = page_context("published", "Published");
        assert_eq!(
            render(&theme, "page.html", &context),
            render(&theme, "page.html", &context)
        );
    }

    #[test]
    fn a_site_override_replaces_one_template_and_keeps_the_built_in_base() {
        let dir = site_dir(&[
            (
                "themes/acme/templates/page.html",
                "{% extends \"base.html\" %}{% block main %}<p class=\"custom\">{{ page.title }}</p>{% endblock main %}",
            ),
            ("themes/acme/static/style.css", "body { color: red }"),
            ("themes/acme/static/img/logo.svg", "<svg/>"),
            ("themes/acme/static/.DS_Store", "junk"),
        ]);
        let theme = Theme::load(dir.path(), "acme").unwrap();
        let html = render(&theme, "page.html", &page_context("published", "Published"));
        assert!(html.contains("<p class=\"custom\">Install the &lt;b&gt;x&lt;/b&gt; agent</p>"));
        assert!(
            html.contains("class=\"skip-link\""),
            "built-in base.html is used"
        );
        assert!(!html.contains("class=\"history\""));
        // Untouched templates stay built in.
        assert!(render(&theme, "index.html", &home_context()).contains("space-card"));

        let statics: Vec<(&str, &[u8])> = theme
            .static_files()
            .iter()
            .map(|(path, bytes)| (path.as_str(), bytes.as_slice()))
            .collect();
        let names: Vec<&str> = statics.iter().map(|(path, _)| *path).collect();
        assert_eq!(
            names,
            [
                "highlight.css",
                "img/logo.svg",
                "live.js",
                "search.js",
                "style.css"
            ]
        );
        assert_eq!(statics[4].1, b"body { color: red }");
    }

    #[test]
    fn a_site_can_add_partials_in_subfolders() {
        let dir = site_dir(&[
            (
                "themes/acme/templates/partials/extra/note.html",
                "NOTE {{ page.extra.owner }}",
            ),
            (
                "themes/acme/templates/partials/notice.html",
                "{% include \"partials/extra/note.html\" %}",
            ),
        ]);
        let theme = Theme::load(dir.path(), "acme").unwrap();
        let html = render(&theme, "page.html", &page_context("published", "Published"));
        assert!(html.contains("NOTE platform"));
    }

    #[test]
    fn a_syntax_error_in_an_override_names_the_file() {
        let dir = site_dir(&[("themes/acme/templates/page.html", "{% if page.title %}oops")]);
        let err = Theme::load(dir.path(), "acme").expect_err("load must fail");
        let expected = dir.path().join("themes/acme/templates/page.html");
        match &err {
            ThemeError::Template { file, message } => {
                assert_eq!(file, &expected.display().to_string());
                assert!(message.contains("page.html"), "{message}");
            }
            other => panic!("unexpected error: {other}"),
        }
        assert!(err
            .to_string()
            .contains("themes/acme/templates/page.html: template error:"));
    }

    #[test]
    fn an_unknown_filter_in_an_override_names_the_file() {
        let dir = site_dir(&[(
            "themes/acme/templates/partials/toc.html",
            "{{ page.title | slugify }}",
        )]);
        let err = Theme::load(dir.path(), "acme").expect_err("load must fail");
        let ThemeError::Template { file, message } = err else {
            panic!("unexpected error: {err}");
        };
        assert!(
            file.ends_with("themes/acme/templates/partials/toc.html"),
            "{file}"
        );
        assert!(message.contains("slugify"), "{message}");
    }

    #[test]
    fn a_missing_theme_folder_is_an_error_unless_it_is_default() {
        let dir = site_dir(&[]);
        let err = Theme::load(dir.path(), "acme").expect_err("load must fail");
        let ThemeError::Io { path, .. } = &err else {
            panic!("unexpected error: {err}");
        };
        assert_eq!(path, &dir.path().join("themes/acme").display().to_string());
        assert!(err
            .to_string()
            .contains("themes/acme: cannot read theme file"));

        let theme = Theme::load(dir.path(), "default").unwrap();
        let names: Vec<&str> = theme
            .static_files()
            .iter()
            .map(|(p, _)| p.as_str())
            .collect();
        assert_eq!(
            names,
            ["highlight.css", "live.js", "search.js", "style.css"]
        );
    }

    #[test]
    fn a_theme_name_cannot_leave_the_themes_folder() {
        let dir = site_dir(&[]);
        let err = Theme::load(dir.path(), "../elsewhere").expect_err("load must fail");
        assert!(matches!(err, ThemeError::Io { .. }), "{err}");
    }

    #[test]
    fn render_errors_name_the_template_and_the_cause() {
        let theme = built_in();
        let context = Context::from_serialize(&json!({ "site": site("") })).unwrap();
        let err = theme.render("page.html", &context).unwrap_err();
        let ThemeError::Render { template, message } = &err else {
            panic!("unexpected error: {err}");
        };
        assert_eq!(template, "page.html");
        assert!(message.contains("not defined"), "{message}");
        assert!(theme.render("nope.html", &context).is_err());
    }
}
