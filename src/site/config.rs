//! `imprimatur.yaml`, the site config (SPEC §1). The site root is the folder holding it; every
//! other path of the site is derived here, so no module guesses where `approvals/` lives.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
pub use crate::fs::path::display_relative;
use crate::trust::version::Version;
use crate::yaml;

pub const CONFIG_FILE: &str = "imprimatur.yaml";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    title: String,
    base_url: String,
    #[serde(default = "default_theme")]
    theme: String,
    #[serde(default = "default_output")]
    output: String,
    #[serde(default = "default_reports")]
    reports: String,
    #[serde(default = "default_audiences")]
    audiences: Vec<String>,
    #[serde(default)]
    markdown: MarkdownConfig,
    #[serde(default)]
    history: HistoryConfig,
    #[serde(default)]
    review_url: Option<String>,
    /// `public` (the default) or `internal`: see [`Notices`].
    #[serde(default)]
    notices: Option<String>,
    /// Checked by `notify::config`, which reads it from the text (`NotificationsSection`).
    #[serde(default)]
    notifications: Option<serde::de::IgnoredAny>,
    /// Checked by `serve::team::config`, which reads it from the text (`ReviewSection`).
    #[serde(default)]
    review: Option<serde::de::IgnoredAny>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkdownConfig {
    /// `allow` keeps raw HTML in Markdown; anything else (the default) sanitizes it.
    #[serde(default)]
    pub raw_html: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryConfig {
    /// `public` shows reviewers' comments in the approval history of published pages;
    /// `hidden` (the default) leaves them out: a note for reviewers is not for readers.
    #[serde(default)]
    pub comments: Option<String>,
}

/// Whether readers see the comments of the records in a page's approval history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HistoryComments {
    #[default]
    Hidden,
    Public,
}

impl HistoryComments {
    /// Whether readers may see the comment of a record about `version` on a page whose live
    /// version is `live`: only with `public`, and only on the live version's records — a
    /// comment on an earlier version may quote text that was never published. The approval
    /// history and the public proofs both ask this, so a comment is in both or in neither.
    pub fn shows(self, version: &Version, live: &Version) -> bool {
        self == HistoryComments::Public && version == live
    }
}

/// What a published page may say about the page's newer, unpublished versions (the notice
/// beside an "Outdated" page). Readers of a public build are customers: by default they learn
/// nothing of drafts, reviews or rejections; `notices: internal` tells every audience.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Notices {
    #[default]
    Public,
    Internal,
}

/// The audience a build is "public" for: a build whose audiences include it shows customers
/// no internal state unless the site opted in (`notices: internal`).
pub const PUBLIC_AUDIENCE: &str = "public";

fn default_theme() -> String {
    "default".into()
}
fn default_output() -> String {
    "output".into()
}
fn default_reports() -> String {
    "reports".into()
}
fn default_audiences() -> Vec<String> {
    vec!["public".into()]
}

/// The loaded site config with every path resolved against the site root.
#[derive(Debug, Clone)]
pub struct SiteConfig {
    pub root: PathBuf,
    pub title: String,
    /// Always ends with `/`.
    pub base_url: String,
    pub theme: String,
    pub output_dir: PathBuf,
    pub reports_dir: PathBuf,
    pub audiences: Vec<String>,
    pub raw_html_allowed: bool,
    /// `history: {comments: public}`: comments appear in published approval histories.
    pub history_comments: HistoryComments,
    /// The review pages the dashboard, reports and notifications link to (`review_url` + page
    /// id), when the site set one; it always ends with `/`. Unset, they say how to open the
    /// review (`imprimatur serve`) instead of naming a loopback address, which would point at
    /// the reader's own machine.
    pub review_url: Option<String>,
    /// `notifications:`: the channels `imprimatur notify` delivers through, if any, unparsed
    /// here: `notify::config::load` parses and checks it.
    pub notifications: Option<NotificationsSection>,
    /// `review:`: the team review server's settings (`serve --team`), if any, unparsed here:
    /// `serve::team::config::load` parses and checks it.
    pub review: Option<ReviewSection>,
    /// `notices:` ([`Notices`]).
    pub notices: Notices,
}

/// The `notifications:` section of `imprimatur.yaml`, kept as the config's text: the site
/// floor knows it is there, and the notify floor, which owns its shape, parses it from the
/// same text (so its errors name the same fields, `notifications.…`, as any other field's).
#[derive(Debug, Clone)]
pub struct NotificationsSection {
    pub(crate) config_text: String,
}

/// The `review:` section of `imprimatur.yaml`, kept as the config's text like
/// [`NotificationsSection`]: the serve floor owns its shape.
#[derive(Debug, Clone)]
pub struct ReviewSection {
    pub(crate) config_text: String,
}

impl SiteConfig {
    /// The audiences a build publishes for: `--audience NAME` alone when given, else the
    /// config's `audiences`. `build` and `status --audience` both ask here, so status shows
    /// what that build would publish.
    pub fn audiences_for(&self, given: Option<&str>) -> Vec<String> {
        match given {
            Some(a) => vec![a.to_string()],
            None => self.audiences.clone(),
        }
    }

    pub fn load(root: &Path) -> Result<SiteConfig> {
        let file = root.join(CONFIG_FILE);
        let text = yaml::read_file(&file, &yaml::ADMIN).map_err(|e| Error::io(&file, e))?;
        let raw: RawConfig = yaml::from_str(&text, &yaml::ADMIN)
            .map_err(|e| Error::config(CONFIG_FILE, e.field, e.message))?;
        let output = relative_dir(&raw.output, "output")?;
        let reports = relative_dir(&raw.reports, "reports")?;
        if output == reports || reports.starts_with(&output) {
            return Err(Error::config(
                CONFIG_FILE,
                "reports",
                "reports must not be inside output (reports name unpublished pages)",
            ));
        }
        for (field, dir) in [("output", &output), ("reports", &reports)] {
            if ["content", "approvals", "themes"]
                .iter()
                .any(|d| dir.starts_with(d) || Path::new(d).starts_with(dir))
            {
                return Err(Error::config(
                    CONFIG_FILE,
                    field,
                    "must not be or overlap content/, approvals/ or themes/ (it is replaced on every build)",
                ));
            }
        }
        if raw.audiences.is_empty() {
            return Err(Error::config(
                CONFIG_FILE,
                "audiences",
                "must name at least one audience",
            ));
        }
        if raw.theme.is_empty() || raw.theme.contains(['/', '\\']) || raw.theme.starts_with('.') {
            return Err(Error::config(
                CONFIG_FILE,
                "theme",
                "must be a folder name under themes/",
            ));
        }
        let base_url = web_url(&raw.base_url).ok_or_else(|| {
            Error::config(CONFIG_FILE, "base_url", "must be an absolute http(s) URL")
        })?;
        let raw_html_allowed = match raw.markdown.raw_html.as_deref() {
            None | Some("sanitize") => false,
            Some("allow") => true,
            Some(other) => {
                return Err(Error::config(
                    CONFIG_FILE,
                    "markdown.raw_html",
                    format!("'{other}' is neither 'allow' nor 'sanitize'"),
                ))
            }
        };
        let history_comments = match raw.history.comments.as_deref() {
            None | Some("hidden") => HistoryComments::Hidden,
            Some("public") => HistoryComments::Public,
            Some(other) => {
                return Err(Error::config(
                    CONFIG_FILE,
                    "history.comments",
                    format!("'{other}' is neither 'public' nor 'hidden'"),
                ))
            }
        };
        let notices = match raw.notices.as_deref() {
            None | Some("public") => Notices::Public,
            Some("internal") => Notices::Internal,
            Some(other) => {
                return Err(Error::config(
                    CONFIG_FILE,
                    "notices",
                    format!("'{other}' is neither 'public' (published pages say nothing of unpublished versions to a public audience) nor 'internal' (they say where the newer version stands, to every audience)"),
                ))
            }
        };
        let review_url = raw.review_url.as_deref().map(review_url).transpose()?;
        let (output, reports) = resolve_targets(root, &output, &reports)?;
        let (output_dir, reports_dir) = (root.join(output), root.join(reports));
        let review = raw.review.map(|_| ReviewSection {
            config_text: text.clone(),
        });
        let notifications = raw
            .notifications
            .map(|_| NotificationsSection { config_text: text });
        Ok(SiteConfig {
            root: root.to_path_buf(),
            title: raw.title,
            base_url,
            theme: raw.theme,
            output_dir,
            reports_dir,
            audiences: raw.audiences,
            raw_html_allowed,
            history_comments,
            review_url,
            notifications,
            review,
            notices,
        })
    }

    /// Whether a build for `audiences` tells readers where a page's newer version stands
    /// (in review, rejected, not submitted): only a build for no public audience, or a site
    /// that opted in with `notices: internal`. A public build shows the live version as it
    /// is, with no word of work that is not published.
    pub fn detailed_notices(&self, audiences: &[String]) -> bool {
        self.notices == Notices::Internal || !audiences.iter().any(|a| a == PUBLIC_AUDIENCE)
    }

    pub fn content_dir(&self) -> PathBuf {
        self.root.join("content")
    }
    pub fn approvals_dir(&self) -> PathBuf {
        self.root.join("approvals")
    }
    pub fn keyring_file(&self) -> PathBuf {
        self.approvals_dir().join("keyring.yaml")
    }
    pub fn policies_dir(&self) -> PathBuf {
        self.approvals_dir().join("policies")
    }
    pub fn records_dir(&self) -> PathBuf {
        self.approvals_dir().join("records")
    }
    pub fn store_dir(&self) -> PathBuf {
        self.approvals_dir().join("store")
    }

    /// A path shown to people: relative to the site root, with `/` separators.
    pub fn display_path(&self, path: &Path) -> String {
        display_relative(&self.root, path)
    }
}

/// An absolute http(s) URL with a host, and no query or fragment (paths are appended to it),
/// as written but trimmed and ending with `/`; parsed by the `url` crate, so what is checked is
/// what a browser would open.
fn web_url(value: &str) -> Option<String> {
    let mut text = value.trim().to_string();
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let parsed = url::Url::parse(&text).ok()?;
    let web = matches!(parsed.scheme(), "http" | "https");
    if !web || parsed.host_str().is_none_or(str::is_empty) {
        return None;
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return None;
    }
    if !text.ends_with('/') {
        text.push('/');
    }
    Some(text)
}

/// `review_url`: an absolute http(s) URL with a host (page ids are appended to it).
fn review_url(value: &str) -> Result<String> {
    web_url(value).ok_or_else(|| {
        Error::config(
            CONFIG_FILE,
            "review_url",
            format!("'{value}' is not an absolute http(s) URL"),
        )
    })
}

fn relative_dir(value: &str, field: &str) -> Result<PathBuf> {
    let path = Path::new(value);
    let safe = !value.is_empty()
        && path.is_relative()
        && path
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
    if !safe {
        return Err(Error::config(
            CONFIG_FILE,
            field,
            format!("'{value}' must be a folder inside the site (relative, no '..')"),
        ));
    }
    Ok(path.to_path_buf())
}

/// Site input that `output` and `reports` may not be, hold, or be inside of: they are
/// written on every build (`output` replaced whole).
const SITE_INPUT: &[&str] = &["content", "approvals", "themes", ".git", CONFIG_FILE];

/// Resolves `output` and `reports` (relative, plain names) following symbolic links, and
/// checks where they land: distinct folders inside the site root, neither inside the other,
/// neither the root, a piece of site input, inside one or an ancestor of one, and not named
/// like the build's own staging folders. Returns both as paths relative to the root with
/// every link resolved, so the build replaces the real folder, never a link to it.
fn resolve_targets(root: &Path, output: &Path, reports: &Path) -> Result<(PathBuf, PathBuf)> {
    let real_root = root.canonicalize().map_err(|e| Error::io(root, e))?;
    let mut resolved = Vec::new();
    for (field, rel) in [("output", output), ("reports", reports)] {
        let refuse = |why: String| Error::config(CONFIG_FILE, field, why);
        if rel
            .components()
            .any(|c| c.as_os_str().as_encoded_bytes().starts_with(b".imprimatur"))
        {
            return Err(refuse(format!(
                "'{}': names starting with '.imprimatur' are the build's own",
                rel.display()
            )));
        }
        let path = resolve_below(&real_root, rel).map_err(refuse)?;
        let inside = path
            .strip_prefix(&real_root)
            .ok()
            .filter(|r| !r.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .ok_or_else(|| {
                refuse(format!(
                    "'{}' resolves to {}, which is not a folder inside the site",
                    rel.display(),
                    path.display()
                ))
            })?;
        for input in SITE_INPUT {
            let input_path = resolve_below(&real_root, Path::new(input))
                .unwrap_or_else(|_| real_root.join(input));
            let relation = if path == input_path {
                "is"
            } else if path.starts_with(&input_path) {
                "is inside"
            } else if input_path.starts_with(&path) {
                "holds"
            } else {
                continue;
            };
            return Err(refuse(format!(
                "'{}' resolves to {}, which {relation} site input ({input}); it must be a folder of its own, written on every build",
                rel.display(),
                inside.display()
            )));
        }
        resolved.push((path, inside));
    }
    let (out, out_rel) = resolved.remove(0);
    let (rep, rep_rel) = resolved.remove(0);
    if out.starts_with(&rep) || rep.starts_with(&out) {
        return Err(Error::config(
            CONFIG_FILE,
            "reports",
            format!(
                "reports ({}) and output ({}) must be distinct folders, neither inside the other (reports name unpublished pages)",
                rep_rel.display(),
                out_rel.display()
            ),
        ));
    }
    Ok((out_rel, rep_rel))
}

/// `real_root/rel` with every symbolic link on the way resolved (as far as the path exists;
/// the rest, to be created, is taken as written).
/// `build --drafts --output DIR`: `dir` (absolute) may be anywhere but where published or
/// private things live: not the public output folder, inside it or holding it; not the
/// reports folder; not the site root, its input, or inside its input. Links are resolved
/// first, so a link to `output/` is refused like `output/` itself.
pub fn check_drafts_dir(config: &SiteConfig, dir: &Path) -> Result<()> {
    let resolve = |p: &Path| -> PathBuf {
        let parent = p.parent().unwrap_or(p);
        match p.canonicalize() {
            Ok(real) => real,
            Err(_) => parent
                .canonicalize()
                .map(|real| real.join(p.file_name().unwrap_or_default()))
                .unwrap_or_else(|_| p.to_path_buf()),
        }
    };
    let real = resolve(dir);
    let root = resolve(&config.root);
    let refuse = |what: &str, relation: &str| {
        Error::Usage(format!(
            "--output {}: {relation} {what}; a drafts build writes unapproved versions, so it needs a folder of its own, outside the site's published and input folders",
            dir.display()
        ))
    };
    for (what, path) in [
        ("the public output folder", resolve(&config.output_dir)),
        ("the reports folder", resolve(&config.reports_dir)),
    ] {
        if real == path {
            return Err(refuse(what, "is"));
        }
        if real.starts_with(&path) {
            return Err(refuse(what, "is inside"));
        }
        if path.starts_with(&real) {
            return Err(refuse(what, "holds"));
        }
    }
    if real == root || root.starts_with(&real) {
        return Err(refuse("the site", "is or holds"));
    }
    for input in SITE_INPUT {
        if real.starts_with(root.join(input)) {
            return Err(refuse(&format!("site input ({input})"), "is inside"));
        }
    }
    Ok(())
}

fn resolve_below(real_root: &Path, rel: &Path) -> std::result::Result<PathBuf, String> {
    let mut path = real_root.to_path_buf();
    let mut parts = rel.components();
    for part in parts.by_ref() {
        let next = path.join(part);
        match std::fs::symlink_metadata(&next) {
            Ok(_) => {
                path = next
                    .canonicalize()
                    .map_err(|e| format!("{} can't be resolved: {e}", next.display()))?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                path = next;
                break;
            }
            Err(e) => return Err(format!("{}: {e}", next.display())),
        }
    }
    path.extend(parts);
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_is_shown_relative_to_its_root_the_same_on_the_quick_way_and_the_long_one() {
        let long_way = |root: &Path, path: &Path| {
            let rel = path.strip_prefix(root).unwrap_or(path);
            rel.components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/")
        };
        for (root, path) in [
            ("/site", "/site/content/kb/a.md"),
            ("site", "site/approvals/records/kb/x.yaml"),
            (".", "./content/a.md"),
            ("/site/", "/site/a"),
            ("/site", "/sitemap/a"),
            ("/site", "/site"),
            ("/site", "/site/a//b"),
            ("/site", "/site/a/./b"),
            ("/site", "/site/../b"),
            ("/site", "/site/a/"),
            ("/", "/etc/x"),
            ("", "/abs/x"),
            ("", "rel/x"),
            ("/site", "/elsewhere/x"),
        ] {
            let (root, path) = (Path::new(root), Path::new(path));
            assert_eq!(
                display_relative(root, path),
                long_way(root, path),
                "{root:?} {path:?}"
            );
        }
    }

    fn load(yaml: &str) -> Result<SiteConfig> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE), yaml).unwrap();
        SiteConfig::load(dir.path())
    }

    #[test]
    fn defaults_fill_optional_fields() {
        let c = load("title: T\nbase_url: https://x.example\n").unwrap();
        assert_eq!(c.base_url, "https://x.example/");
        assert_eq!(c.theme, "default");
        assert_eq!(c.audiences, vec!["public"]);
        assert!(c.output_dir.ends_with("output"));
        assert!(!c.raw_html_allowed);
        assert_eq!(c.history_comments, HistoryComments::Hidden);
        assert_eq!(c.review_url, None, "no loopback address by default");
    }

    #[test]
    fn base_and_review_urls_are_absolute_web_urls_with_a_host() {
        for bad in [
            "https://",
            "ftp://x.example/",
            "x.example",
            "https://x.example/?q=1",
            "https://x.example/#top",
            "https://x .example/",
            "javascript:alert(1)",
        ] {
            let e = load(&format!("title: T\nbase_url: '{bad}'\n")).unwrap_err();
            assert!(e.to_string().contains("base_url"), "{bad}: {e}");
            let e = load(&format!(
                "title: T\nbase_url: https://x/\nreview_url: '{bad}'\n"
            ))
            .unwrap_err();
            assert!(e.to_string().contains("review_url"), "{bad}: {e}");
        }
        let c = load("title: T\nbase_url: ' HTTPS://Docs.Example/help '\n").unwrap();
        assert_eq!(
            c.base_url, "HTTPS://Docs.Example/help/",
            "as written, trimmed, with a /"
        );
    }

    #[test]
    fn history_comments_and_review_url_are_read_when_set() {
        let c = load(
            "title: T\nbase_url: https://x/\nhistory: {comments: public}\nreview_url: https://review.example/r\n",
        )
        .unwrap();
        assert_eq!(c.history_comments, HistoryComments::Public);
        assert_eq!(c.review_url.as_deref(), Some("https://review.example/r/"));
        let c = load("title: T\nbase_url: https://x/\nhistory: {comments: hidden}\n").unwrap();
        assert_eq!(c.history_comments, HistoryComments::Hidden);
    }

    #[test]
    fn only_a_build_for_no_public_audience_or_a_site_that_opts_in_tells_of_newer_versions() {
        let audiences = |list: &[&str]| list.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        for (notices, build_for, detailed) in [
            ("", &["public"][..], false),
            ("", &["public", "internal"][..], false),
            ("", &["internal"][..], true),
            ("", &["staff", "partners"][..], true),
            ("notices: public\n", &["public"][..], false),
            ("notices: public\n", &["internal"][..], true),
            ("notices: internal\n", &["public"][..], true),
            ("notices: internal\n", &["internal"][..], true),
        ] {
            let c = load(&format!("title: T\nbase_url: https://x/\n{notices}")).unwrap();
            assert_eq!(
                c.detailed_notices(&audiences(build_for)),
                detailed,
                "{notices:?} for {build_for:?}"
            );
        }
        let err = load("title: T\nbase_url: https://x/\nnotices: secret\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("imprimatur.yaml: notices: 'secret' is neither 'public'"),
            "{err}"
        );
    }

    #[test]
    fn unsafe_or_unknown_settings_are_refused_naming_the_field() {
        for (yaml, field) in [
            ("title: T\nbase_url: https://x/\noutput: ../www\n", "output"),
            (
                "title: T\nbase_url: https://x/\noutput: content\n",
                "output",
            ),
            (
                "title: T\nbase_url: https://x/\nreports: output/r\n",
                "reports",
            ),
            ("title: T\nbase_url: https://x/\noutput: .git\n", "output"),
            (
                "title: T\nbase_url: https://x/\noutput: imprimatur.yaml\n",
                "output",
            ),
            (
                "title: T\nbase_url: https://x/\nreports: .imprimatur-old-x\n",
                "reports",
            ),
            ("title: T\nbase_url: x.example\n", "base_url"),
            ("title: T\nbase_url: https://x/\ntheem: a\n", "theem"),
            ("base_url: https://x/\n", "title"),
            (
                "title: T\nbase_url: https://x/\nmarkdown: {raw_html: yes}\n",
                "markdown.raw_html",
            ),
            (
                "title: T\nbase_url: https://x/\nhistory: {comments: readers}\n",
                "history.comments",
            ),
            (
                "title: T\nbase_url: https://x/\nhistory: {comment: public}\n",
                "history.comment",
            ),
            (
                "title: T\nbase_url: https://x/\nreview_url: 127.0.0.1:1111/_review/\n",
                "review_url",
            ),
            (
                "title: T\nbase_url: https://x/\nreview_url: \"http:// x/\"\n",
                "review_url",
            ),
        ] {
            let err = load(yaml).unwrap_err().to_string();
            assert!(err.starts_with("imprimatur.yaml: "), "{err}");
            assert!(err.contains(field), "{yaml}: {err}");
        }
    }
}
