//! Unit tests of `publish::render`, kept beside its files so that each stays short.

use super::search_index::SEARCH_TEXT_CHARS;
use super::*;

#[test]
fn roots_titles_and_sitemaps() {
    assert_eq!(root_prefix(""), "");
    assert_eq!(root_prefix("kb/"), "../");
    assert_eq!(root_prefix("kb/guide/install/"), "../../../");
    assert_eq!(folder_title("guides/getting-started"), "Getting started");
    let xml = sitemap(
        "https://h.example/",
        &[("kb/a&b/".into(), Some("2026-11-20".into()))],
    );
    assert!(xml.contains("<loc>https://h.example/kb/a&amp;b/</loc><lastmod>2026-11-20</lastmod>"));
    assert_eq!(
        search_text(&"é".repeat(2000)).chars().count(),
        SEARCH_TEXT_CHARS
    );
}
