//! `404.html`, the page static hosts (GitHub Pages, GitLab Pages, Netlify) and `serve` show
//! for an address the site does not have, at whatever depth that address is: so its links,
//! stylesheet and search index are written from the site's root path (the path of
//! `base_url`), not relative to a folder as every other page's are.

use super::pages::Renderer;
use crate::error::{Error, Result};

/// Where `404.html` is written, at the root of the site.
pub const NOT_FOUND_PAGE: &str = "404.html";

impl<'a> Renderer<'a> {
    /// `404.html` with its links from the site's root path (`/` for
    /// `https://help.example.com/`, `/docs/` for `https://example.com/docs/`).
    pub(super) fn not_found(&self) -> Result<String> {
        self.not_found_at(root_path(&self.site.config.base_url))
    }

    /// `404.html` with its links from `root`, an absolute path ending in `/` (what `serve`
    /// answers an unknown address with: its own root, wherever `base_url` points).
    pub fn not_found_at(&self, root: String) -> Result<String> {
        let mut ctx = tera::Context::new();
        ctx.insert("site", &self.site_context(root));
        self.insert_view(&mut ctx, None);
        self.theme
            .render(NOT_FOUND_PAGE, &ctx)
            .map_err(|e| Error::Render {
                page: NOT_FOUND_PAGE.into(),
                source: e.into(),
            })
    }
}

/// The path of `base_url`, which the config has checked is an http(s) URL ending in `/`.
fn root_path(base_url: &str) -> String {
    url::Url::parse(base_url).map_or_else(|_| "/".to_string(), |u| u.path().to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_root_path_is_the_path_of_base_url() {
        assert_eq!(super::root_path("https://help.example.com/"), "/");
        assert_eq!(super::root_path("https://example.com/docs/"), "/docs/");
        assert_eq!(super::root_path("http://localhost:8080/a/b/"), "/a/b/");
    }
}
