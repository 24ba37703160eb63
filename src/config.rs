//! `imprimatur.yaml`, the site config (SPEC §1). The site root is the folder holding it; every
//! other path of the site is derived here, so no module guesses where `approvals/` lives.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
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
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkdownConfig {
    /// `allow` keeps raw HTML in Markdown; anything else (the default) sanitizes it.
    #[serde(default)]
    pub raw_html: Option<String>,
}

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
}

impl SiteConfig {
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
        let mut base_url = raw.base_url.trim().to_string();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(Error::config(
                CONFIG_FILE,
                "base_url",
                "must be an absolute http(s) URL",
            ));
        }
        if !base_url.ends_with('/') {
            base_url.push('/');
        }
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
        Ok(SiteConfig {
            root: root.to_path_buf(),
            title: raw.title,
            base_url,
            theme: raw.theme,
            output_dir: root.join(output),
            reports_dir: root.join(reports),
            audiences: raw.audiences,
            raw_html_allowed,
        })
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

/// `path` relative to `root` with `/` separators (the path itself when it is not below root).
pub fn display_relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
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

#[cfg(test)]
mod tests {
    use super::*;

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
            ("title: T\nbase_url: x.example\n", "base_url"),
            ("title: T\nbase_url: https://x/\ntheem: a\n", "theem"),
            ("base_url: https://x/\n", "title"),
            (
                "title: T\nbase_url: https://x/\nmarkdown: {raw_html: yes}\n",
                "markdown.raw_html",
            ),
        ] {
            let err = load(yaml).unwrap_err().to_string();
            assert!(err.starts_with("imprimatur.yaml: "), "{err}");
            assert!(err.contains(field), "{yaml}: {err}");
        }
    }
}
