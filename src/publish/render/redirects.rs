//! Redirects that are approved content: each `aliases:` entry of a live version's front matter
//! (reviewed with the page, so no unreviewed redirect is published) becomes a redirect page at
//! the old URL — the theme's `redirect.html`: a meta refresh, a canonical link, `noindex` and
//! a visible link — and a line of `_redirects` (`/old/ /new/ 301`, the syntax Netlify and
//! Cloudflare Pages read), sorted. Which aliases survive (no collision with a page or another
//! alias) the judgement decided (`site::urls`); this writes what it left.
//!
//! It also reads the previous build's `_redirects` back, for `url_removed`. Whoever can write
//! `output/` can write that file: a line added there can only make a spurious `url_removed`
//! (a failed `--strict` build), a line removed only a missed warning. It is never a source of
//! what is published.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::pages::{Renderer, View};
use crate::error::{Error, Result};

/// The list of redirects, at the site's root.
pub(super) const REDIRECTS_FILE: &str = "_redirects";

/// The longest previous `_redirects` read back; a longer one is not read.
const MAX_REDIRECTS_BYTES: u64 = 16 << 20;

/// What `redirect.html` sees as `redirect`.
#[derive(Serialize)]
struct RedirectContext<'a> {
    /// The old URL, relative to the site's root (`kb/old-install/`).
    from: &'a str,
    /// The page's URL, relative to the site's root (`kb/install/`).
    to: &'a str,
    /// The page's URL relative to the redirect page (works from disk and under any prefix).
    href: String,
    /// The page's absolute URL.
    canonical: String,
    /// The page's title.
    title: &'a str,
}

impl<'a> Renderer<'a> {
    /// Each alias of a published page (alias URL → page index), in the published view only.
    fn aliases(&self) -> BTreeMap<&str, usize> {
        if self.view != View::Published {
            return BTreeMap::new();
        }
        let mut aliases = BTreeMap::new();
        for j in 0..self.jobs.len() {
            let (_, page) = self.job(j);
            for alias in &page.content.front.aliases {
                if alias != page.url {
                    aliases.insert(alias.as_str(), j);
                }
            }
        }
        aliases
    }

    /// Every redirect page and `_redirects` (when there is any alias), by path.
    pub(super) fn redirect_files(&self) -> Result<Vec<(String, Vec<u8>)>> {
        let aliases = self.aliases();
        if aliases.is_empty() {
            return Ok(Vec::new());
        }
        let mut files = Vec::with_capacity(aliases.len() + 1);
        for (alias, j) in &aliases {
            files.push((format!("{alias}index.html"), self.redirect_page(alias, *j)?));
        }
        files.push((REDIRECTS_FILE.to_string(), self.redirects_list(&aliases)));
        Ok(files)
    }

    /// The redirect file at `path` (`old/path/index.html` or `_redirects`), if there is one.
    pub(super) fn redirect_file(&self, path: &str) -> Result<Option<Vec<u8>>> {
        let aliases = self.aliases();
        if path == REDIRECTS_FILE && !aliases.is_empty() {
            return Ok(Some(self.redirects_list(&aliases)));
        }
        let Some(alias) = path.strip_suffix("index.html") else {
            return Ok(None);
        };
        match aliases.get(alias) {
            Some(j) => self.redirect_page(alias, *j).map(Some),
            None => Ok(None),
        }
    }

    fn redirect_page(&self, alias: &str, j: usize) -> Result<Vec<u8>> {
        let (_, page) = self.job(j);
        let root = super::root_prefix(alias);
        let redirect = RedirectContext {
            from: alias,
            to: page.url,
            href: format!("{root}{}", page.url),
            canonical: format!("{}{}", self.site.config.base_url, page.url),
            title: page.title,
        };
        let mut ctx = tera::Context::new();
        ctx.insert("site", &self.site_context(root));
        ctx.insert("redirect", &redirect);
        self.theme
            .render("redirect.html", &ctx)
            .map(String::into_bytes)
            .map_err(|e| Error::Render {
                page: format!("the redirect at {alias}"),
                source: e.into(),
            })
    }

    /// `_redirects`: `/old/ /new/ 301` a line, sorted by old URL, both under the path of
    /// `base_url` (a site published below a domain's root redirects there).
    fn redirects_list(&self, aliases: &BTreeMap<&str, usize>) -> Vec<u8> {
        let prefix = base_path(&self.site.config.base_url);
        let mut text = String::new();
        for (alias, j) in aliases {
            let (_, page) = self.job(*j);
            text.push_str(&format!("{prefix}{alias} {prefix}{} 301\n", page.url));
        }
        text.into_bytes()
    }
}

/// The path of `base_url`, with its leading and trailing `/` (`/` for a domain's root).
fn base_path(base_url: &str) -> String {
    let path = url::Url::parse(base_url).map_or_else(|_| "/".to_string(), |u| u.path().to_string());
    if path.ends_with('/') {
        path
    } else {
        format!("{path}/")
    }
}

/// The URLs the build in `output_dir` served, each with the id of the page it belonged to:
/// every page's URL from its manifest (`pages`: id → URL), and every old URL of its
/// `_redirects` whose target was one of those pages. Read from the folder an attacker may
/// write (see the module's comment): only ever used to find `url_removed`.
pub fn previous_urls(
    output_dir: &Path,
    pages: &BTreeMap<String, String>,
    base_url: &str,
) -> BTreeMap<String, String> {
    let mut urls: BTreeMap<String, String> = pages
        .iter()
        .map(|(id, url)| (url.clone(), id.clone()))
        .collect();
    let Ok(bytes) =
        crate::fs::read_beneath(output_dir, Path::new(REDIRECTS_FILE), MAX_REDIRECTS_BYTES)
    else {
        return urls;
    };
    let prefix = base_path(base_url);
    let text = String::from_utf8_lossy(&bytes);
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let (Some(from), Some(to)) = (fields.next(), fields.next()) else {
            continue;
        };
        let (Some(from), Some(to)) = (from.strip_prefix(&prefix), to.strip_prefix(&prefix)) else {
            continue;
        };
        if let Some(id) = urls.get(to).cloned() {
            urls.entry(from.to_string()).or_insert(id);
        }
    }
    urls
}

#[cfg(test)]
mod tests {
    #[test]
    fn redirects_are_listed_under_the_path_of_base_url() {
        assert_eq!(super::base_path("https://help.example.com/"), "/");
        assert_eq!(super::base_path("https://example.com/docs/"), "/docs/");
        assert_eq!(super::base_path("https://example.com/docs"), "/docs/");
    }
}
