//! `sitemap.xml`, in one place: its entries (the home page, each space and each page with its
//! last change) and its bytes. The drafts view has none.

use super::pages::Renderer;

/// `sitemap.xml` with absolute URLs; `entries` are (URL relative to the root, last change).
pub fn sitemap(base_url: &str, entries: &[(String, Option<String>)]) -> String {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
    for (url, lastmod) in entries {
        xml.push_str("  <url><loc>");
        xml.push_str(&escape_xml(&format!("{base_url}{url}")));
        xml.push_str("</loc>");
        if let Some(m) = lastmod {
            xml.push_str("<lastmod>");
            xml.push_str(m);
            xml.push_str("</lastmod>");
        }
        xml.push_str("</url>\n");
    }
    xml.push_str("</urlset>\n");
    xml
}

fn escape_xml(text: &str) -> String {
    crate::escape::xml(text)
}

impl<'a> Renderer<'a> {
    pub(super) fn sitemap_head(&self) -> Vec<(String, Option<String>)> {
        let mut entries = vec![(String::new(), None)];
        entries.extend(self.published.spaces.iter().map(|s| (s.url.clone(), None)));
        entries
    }

    pub(super) fn sitemap_entry(&self, j: usize) -> (String, Option<String>) {
        let (_, page) = self.job(j);
        (
            page.url.to_string(),
            Some(page.live.published_at.format("%Y-%m-%d").to_string()),
        )
    }

    /// `sitemap.xml` without rendering pages (the build makes it from the pages it renders).
    pub(super) fn sitemap(&self) -> Vec<u8> {
        let mut entries = self.sitemap_head();
        entries.extend((0..self.jobs.len()).map(|j| self.sitemap_entry(j)));
        self.sitemap_of(entries)
    }

    pub(super) fn sitemap_of(&self, mut entries: Vec<(String, Option<String>)>) -> Vec<u8> {
        entries.sort();
        super::sitemap(&self.site.config.base_url, &entries).into_bytes()
    }
}
