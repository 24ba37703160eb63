//! Readers of the published site (issue 37): code blocks in the languages of the example's
//! API guide come out highlighted at build time, an unknown language and code past the page's
//! share stay plain, and every build writes the theme's `404.html` at the root, its links
//! from the path of `base_url` so that a host can show it at any depth.

use imprimatur::trust::record::Kind;

use crate::util::TestSite;

const SUBMITTED: &str = "2026-11-20T09:00:00Z";
const APPROVED: &str = "2026-11-20T10:00:00Z";
const NOW: &str = "2026-11-21T12:00:00Z";

const POLICY: &str = "\
title: API guide
contributors: [group:writers]
steps:
  - name: technical
    approvers: [group:engineering]
    min_approvals: 1
";

/// `api/webhooks` live, with a block in each of the guide's languages, one in a language
/// nobody knows, and a block over the page's share of highlighted code.
fn api_site(base_url: &str) -> TestSite {
    let huge = "[1, 2],".repeat(20_000);
    let body = format!(
        "Register the hook:\n\n```bash\ncurl -X POST https://api.example.com/hooks\n```\n\n\
         The body:\n\n```json\n{{\"event\": \"alert\", \"count\": 3}}\n```\n\n\
         The agent:\n\n```yaml\nagent:\n  interval: 30s\n```\n\n\
         Unknown:\n\n```klingon\nqapla' <b>\n```\n\nHuge:\n\n```json\n{huge}\n```\n"
    );
    let mut site = TestSite::new();
    site.file(
        "imprimatur.yaml",
        format!("title: Example Help Center\nbase_url: {base_url}\n"),
    )
    .reviewer("wanda", &["writers"])
    .reviewer("alice", &["engineering"])
    .policy("api", POLICY)
    .page("api/webhooks.md", "Webhooks", &body);
    site.sign("wanda", Kind::Submit, "api/webhooks", &[], SUBMITTED);
    site.sign(
        "alice",
        Kind::Approve,
        "api/webhooks",
        &["--step", "technical"],
        APPROVED,
    );
    site.imprimatur(&["build", "--strict"]).at(NOW).run();
    site
}

#[test]
fn the_api_guides_bash_json_and_yaml_are_highlighted_and_the_rest_stays_plain() {
    let site = api_site("https://help.example.com/");
    let html = site.read("output/api/webhooks/index.html");
    for (lang, scope) in [
        ("bash", "hl-source hl-shell"),
        ("json", "hl-source hl-json"),
        ("yaml", "hl-source hl-yaml"),
    ] {
        assert!(
            html.contains(&format!(
                "<pre><code class=\"language-{lang}\"><span class=\"{scope}"
            )),
            "{lang} is not highlighted:\n{html}"
        );
    }
    assert!(
        html.contains("<span class=\"hl-constant hl-numeric"),
        "{html}"
    );
    assert!(html.contains("<pre><code class=\"language-klingon\">qapla' &lt;b&gt;\n</code>"));
    // The huge block is over the page's share: the page is published, its code plain.
    assert!(html.contains("<pre><code class=\"language-json\">[1, 2],[1, 2],"));
    assert_eq!(html.matches("<span class=\"hl-source").count(), 3);
    // The colours come with the theme, for light and dark.
    assert!(html.contains("href=\"../../static/highlight.css\""));
    let css = site.read("output/static/highlight.css");
    assert!(css.contains("@media (prefers-color-scheme: dark)"));
    assert!(css.contains(".hl-comment"));
    // The same inputs give the same bytes.
    site.imprimatur(&["build"]).at(NOW).run();
    assert_eq!(site.read("output/api/webhooks/index.html"), html);
}

#[test]
fn every_build_writes_a_404_page_linked_from_the_path_of_base_url() {
    let site = api_site("https://example.com/docs/");
    let page = site.read("output/404.html");
    assert!(page.contains("<title>Page not found · Example Help Center</title>"));
    assert!(page.contains("<meta name=\"robots\" content=\"noindex\">"));
    assert!(page.contains("data-root=\"/docs/\""), "{page}");
    assert!(page.contains("href=\"/docs/static/style.css\""));
    assert!(page.contains("href=\"/docs/api/\""));
    assert!(page.contains("data-search"));
    // Not a page: it is in no sitemap.
    assert!(!site.read("output/sitemap.xml").contains("404"));

    let root = api_site("https://help.example.com/");
    assert!(root.read("output/404.html").contains("data-root=\"/\""));
}

#[test]
fn a_site_theme_replaces_the_404_page() {
    let site = api_site("https://help.example.com/");
    site.write(
        "themes/default/templates/404.html",
        b"{% extends \"base.html\" %}{% block main %}<p>Lost? Call us.</p>{% endblock main %}",
    );
    site.imprimatur(&["build"]).at(NOW).run();
    assert!(site.read("output/404.html").contains("Lost? Call us."));
}
