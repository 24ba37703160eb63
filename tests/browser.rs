//! The public site in a real browser: headless Chromium opens `output/` from disk (file://),
//! runs the theme's JavaScript, and prints the DOM it ends up with (`--dump-dom`). Links to
//! folders must lead to their `index.html` there, search must work without `fetch()`, and at
//! 390 px the navigation must come before the article and code in tables must stay whole.
//!
//! These tests need Chromium: `/usr/bin/chromium`, or the one `CHROMIUM` names. Without it they
//! are skipped with one line on stderr, or fail under `IMPRIMATUR_REQUIRE_TOOLS=1` (as
//! `bash .ci/run` runs them, after installing it): `util::needs`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use imprimatur::trust::record::Kind;
use serde_json::Value;

use crate::util::{needs, TestSite, Tool};

const SUBMITTED: &str = "2026-11-20T09:00:00Z";
const APPROVED: &str = "2026-11-20T10:00:00Z";
const NOW: &str = "2026-11-20T12:00:00Z";

const POLICY: &str = "\
title: Knowledge Base
contributors: [group:writers]
steps:
  - name: technical
    approvers: [group:engineering]
    min_approvals: 1
";

/// A token too long for a 390 px line: it wraps in a paragraph, and must not in a table.
const LONG_TOKEN: &str =
    "https://ingest.beacon.example.com/v1/agents/register?token=0123456789abcdef";

fn install_page() -> String {
    format!(
        "---\ntitle: Install the agent\n---\n\n\
         Run the frobnicator, then read [how to configure it](configure.md).\n\n\
         Register at `{LONG_TOKEN}` once.\n\n\
         | Platform | Package | Config |\n\
         |---|---|---|\n\
         | Ubuntu, Debian | `apt.beacon.example.com/pool/main` | `/etc/beacon/agent.yaml` |\n\
         | Windows Server | `beacon-agent-x64.msi` | `C:\\ProgramData\\Beacon\\agent.yaml` |\n"
    )
}

/// Two published pages that link to each other, and a draft with a word of its own.
fn published_site() -> TestSite {
    let mut site = TestSite::new();
    site.reviewer("wanda", &["writers"])
        .reviewer("alice", &["engineering"])
        .policy("kb", POLICY)
        .file("content/kb/install.md", install_page())
        .page(
            "kb/configure.md",
            "Configure the agent",
            "Edit the file; see [install](install.md).\n",
        )
        .page(
            "kb/draft.md",
            "Draft page",
            "Quuxwidget is not reviewed yet.\n",
        );
    for page in ["kb/install", "kb/configure"] {
        site.sign("wanda", Kind::Submit, page, &[], SUBMITTED);
        site.sign(
            "alice",
            Kind::Approve,
            page,
            &["--step", "technical"],
            APPROVED,
        );
    }
    site.imprimatur(&["build"]).at(NOW).run();
    site
}

/// The browser `needs` found; every test asked it first and returned when it was missing.
fn chromium() -> PathBuf {
    needs(Tool::Chromium).expect("headless Chromium")
}

fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// The DOM of `url` after its scripts ran, in a window `width` px wide.
fn dom_of(url: &str, width: u32, extra: &[&str]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = assert_cmd::Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--window-size={width},900"))
        .args(extra)
        .arg("--dump-dom")
        .arg(url)
        .timeout(Duration::from_secs(120))
        .assert()
        .success();
    String::from_utf8(out.get_output().stdout.clone()).expect("the DOM is UTF-8")
}

/// Every `href` of an `<a>` in `html`.
fn link_targets(html: &str) -> Vec<String> {
    html.split("<a ")
        .skip(1)
        .filter_map(|tag| {
            let tag = &tag[..tag.find('>')?];
            let start = tag.find("href=\"")? + "href=\"".len();
            Some(tag[start..start + tag[start..].find('"')?].to_string())
        })
        .collect()
}

#[test]
fn opened_from_disk_every_link_to_a_folder_leads_to_its_index_html() {
    let Some(_) = needs(Tool::Chromium) else {
        return;
    };
    let site = published_site();
    for (file, pretty, from_disk) in [
        ("output/index.html", "kb/", "kb/index.html"),
        (
            "output/kb/install/index.html",
            "../../kb/configure/",
            "../../kb/configure/index.html",
        ),
        (
            "output/kb/configure/index.html",
            "../../",
            "../../index.html",
        ),
    ] {
        // What a web server serves: pretty URLs, untouched.
        let served = link_targets(&site.read(file));
        assert!(served.iter().any(|h| h == pretty), "{file}: {served:?}");
        // What a browser shows from disk: every folder link ends in index.html.
        let dom = dom_of(&file_url(&site.path().join(file)), 1280, &[]);
        let links = link_targets(&dom);
        assert!(links.iter().any(|h| h == from_disk), "{file}: {links:?}");
        for href in &links {
            let path = href.split(['#', '?']).next().unwrap();
            let elsewhere = href.starts_with('#') || href.starts_with("https://");
            assert!(
                elsewhere || !path.ends_with('/') && path != "." && path != "..",
                "{file}: {href} still points at a folder"
            );
        }
        if file.contains("/install/") {
            assert!(
                links.iter().any(|h| h == "../../kb/index.html#overview"),
                "{file}: a section link keeps its fragment: {links:?}"
            );
        }
    }
}

/// The search results shown for `?q=query` on the home page, opened from disk.
fn results_for(site: &TestSite, query: &str) -> String {
    let url = format!(
        "{}?q={query}",
        file_url(&site.path().join("output/index.html"))
    );
    let dom = dom_of(&url, 1280, &[]);
    let start = dom
        .find("id=\"hero-search-results\"")
        .unwrap_or_else(|| panic!("no search panel: {dom}"));
    let panel = &dom[start..];
    panel[..panel.find("</form>").unwrap()].to_string()
}

#[test]
fn opened_from_disk_search_finds_published_pages_through_the_search_pieces() {
    let Some(_) = needs(Tool::Chromium) else {
        return;
    };
    let site = published_site();
    let found = results_for(&site, "frobnicator");
    assert!(
        found.contains("class=\"search__result\""),
        "a result: {found}"
    );
    assert!(found.contains("href=\"kb/install/index.html\""), "{found}");
    assert!(found.contains("Install the agent"), "{found}");
    // A query word finds the words it begins.
    let begun = results_for(&site, "frobni");
    assert!(begun.contains("href=\"kb/install/index.html\""), "{begun}");
    // The draft's word is in content/, and nowhere the search can see.
    let none = results_for(&site, "quuxwidget");
    assert!(!none.contains("class=\"search__result\""), "{none}");
    assert!(none.contains("No pages match"), "{none}");
}

#[test]
fn search_finds_a_page_whose_slot_is_spelled_with_more_than_one_digit() {
    let Some(_) = needs(Tool::Chromium) else {
        return;
    };
    // 24 pages: 64 slots, so some page sits 32 or more slots after the one before it, and
    // its words spell that distance in two digits.
    let mut site = TestSite::new();
    site.reviewer("wanda", &["writers"])
        .reviewer("alice", &["engineering"])
        .policy("kb", POLICY);
    for n in 0..24 {
        let page = format!("kb/page-{n:02}");
        site.page(
            &format!("{page}.md"),
            &format!("Page {n:02}"),
            &format!("Shared words, and one of its own: uniq{n:02}x.\n"),
        );
        site.sign("wanda", Kind::Submit, &page, &[], SUBMITTED);
        site.sign(
            "alice",
            Kind::Approve,
            &page,
            &["--step", "technical"],
            APPROVED,
        );
    }
    site.imprimatur(&["build"]).at(NOW).run();
    // The page whose own word is spelled longest: "S", its score, then the distance.
    let piece = site.read("output/search-index/t-uni.js");
    let (longest, spelled) = (0..24)
        .map(|n| {
            let word = format!("\"uniq{n:02}x\":\"");
            let at = piece.find(&word).expect("every page's word") + word.len();
            let spelled = piece[at..at + piece[at..].find('"').unwrap()].to_string();
            (n, spelled)
        })
        .max_by_key(|(_, spelled)| spelled.len())
        .unwrap();
    assert!(spelled.len() >= 4, "two digits of distance: {spelled}");
    let found = results_for(&site, &format!("uniq{longest:02}x"));
    assert!(
        found.contains(&format!("href=\"kb/page-{longest:02}/index.html\"")),
        "{spelled}: {found}"
    );
    assert_eq!(
        found.matches("class=\"search__result\"").count(),
        1,
        "{found}"
    );
    // A word on every page: the first 20 results, each a page of the site, none twice.
    let shared = results_for(&site, "shared");
    let hrefs: std::collections::BTreeSet<&str> = shared
        .match_indices("href=\"kb/page-")
        .map(|(at, _)| &shared[at..at + "href=\"kb/page-00".len()])
        .collect();
    assert_eq!(hrefs.len(), 20, "{shared}");
    assert_eq!(
        shared.matches("class=\"search__result\"").count(),
        20,
        "{shared}"
    );
}

/// Where the menu, the article, the sidebar and code sit on the install page, measured by
/// Chromium in a window `width` px wide.
fn layout_at(site: &TestSite, width: u32) -> Value {
    layout_of(site, "output/kb/install/index.html", width)
}

/// [`layout_at`] for the page at `rel`.
fn layout_of(site: &TestSite, rel: &str, width: u32) -> Value {
    let page = file_url(&site.path().join(rel));
    // A page of our own frames the site's page and measures it: the site's page is opened
    // exactly as a reader opens it, and nothing is added to it. The frame has the width, not
    // the window: headless Chromium lays a window narrower than 500 px out at 500.
    let probe = format!(
        r#"<!DOCTYPE html><html><head><meta charset="utf-8"><style>
html, body {{ margin: 0; }} iframe {{ display: block; border: 0; width: {width}px; height: 844px; }}
</style></head><body><iframe src="{page}"></iframe><pre id="result"></pre><script>
var frame = document.querySelector("iframe");
frame.onload = function () {{
  var d = frame.contentDocument, w = frame.contentWindow;
  var lines = function (selector) {{
    return Array.prototype.map.call(d.querySelectorAll(selector), function (e) {{ return e.getClientRects().length; }});
  }};
  var menu = d.querySelector("details.menu").getBoundingClientRect();
  var article = d.querySelector("article").getBoundingClientRect();
  var sidebar = d.querySelector(".shell > .sidebar").getBoundingClientRect();
  document.getElementById("result").textContent = JSON.stringify({{
    width: w.innerWidth,
    menu_shown: menu.height > 0,
    menu_above_article: menu.height > 0 && menu.bottom <= article.top,
    menu_links: d.querySelectorAll("details.menu a[href]").length,
    sidebar_shown: sidebar.height > 0,
    page_fits: d.documentElement.scrollWidth <= w.innerWidth,
    code_in_cells: lines(".prose td code"),
    code_in_text: lines(".prose p code"),
    first_text_top: d.querySelector(".prose p").getBoundingClientRect().top,
    space_name_links: Array.prototype.filter.call(d.querySelectorAll(".shell > .sidebar a"), function (a) {{
      return a.textContent.trim() === "Knowledge Base";
    }}).length
  }});
}};
</script></body></html>"#
    );
    site_file(site, "probe.html", &probe);
    let dom = dom_of(
        &file_url(&site.path().join("probe.html")),
        width,
        &["--allow-file-access-from-files"],
    );
    let start =
        dom.find("<pre id=\"result\">").expect("the probe ran") + "<pre id=\"result\">".len();
    let json = &dom[start..start + dom[start..].find("</pre>").unwrap()];
    serde_json::from_str(&json.replace("&amp;", "&")).unwrap_or_else(|e| panic!("{e}: {dom}"))
}

fn site_file(site: &TestSite, rel: &str, text: &str) {
    std::fs::write(site.path().join(rel), text).unwrap();
}

#[test]
fn at_390_px_the_menu_comes_before_the_article_and_code_in_tables_stays_whole() {
    let Some(_) = needs(Tool::Chromium) else {
        return;
    };
    let site = published_site();
    let wide = layout_at(&site, 1280);
    assert_eq!(wide["width"], 1280, "{wide}");
    // On a wide screen: the sidebar beside the article, no menu.
    assert_eq!(wide["menu_shown"], false, "{wide}");
    assert_eq!(wide["sidebar_shown"], true, "{wide}");

    let phone = layout_at(&site, 390);
    assert_eq!(phone["width"], 390, "measured at 390 px: {phone}");
    assert_eq!(phone["menu_shown"], true, "{phone}");
    assert_eq!(phone["menu_above_article"], true, "{phone}");
    assert!(phone["menu_links"].as_u64().unwrap() >= 3, "{phone}");
    assert_eq!(phone["sidebar_shown"], false, "{phone}");
    assert_eq!(
        phone["page_fits"], true,
        "the page never scrolls sideways: {phone}"
    );
    // Code in a table is one piece each; the same kind of token in running text wraps.
    let cells: Vec<u64> = phone["code_in_cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_u64().unwrap())
        .collect();
    assert_eq!(cells, [1, 1, 1, 1], "{phone}");
    assert!(phone["code_in_text"][0].as_u64().unwrap() > 1, "{phone}");
}

/// A page whose header is as tall as they come: a long title, a description, headings for a
/// table of contents, in a folder beside the space's own pages.
fn long_page_site() -> TestSite {
    let mut site = TestSite::new();
    site.reviewer("wanda", &["writers"])
        .reviewer("alice", &["engineering"])
        .policy("kb", POLICY)
        .file(
            "content/kb/guides/configure.md",
            "---\ntitle: Configure the agent on every supported platform\n\
             description: How to point the agent at your collector, choose what it reports, \
             and keep its credentials safe on Linux, Windows and macOS hosts.\n---\n\n\
             FIRST-WORDS of the article: the agent reads one file.\n\n\
             ## Where the file lives\n\nText.\n\n## What it reports\n\nText.\n\n\
             ## Credentials\n\nText.\n\n## Proxies\n\nText.\n\n## Logging\n\nText.\n\n\
             ## Troubleshooting\n\nText.\n",
        )
        .page("kb/start.md", "Start here", "Begin.\n");
    for page in ["kb/guides/configure", "kb/start"] {
        site.sign("wanda", Kind::Submit, page, &[], SUBMITTED);
        site.sign(
            "alice",
            Kind::Approve,
            page,
            &["--step", "technical"],
            APPROVED,
        );
    }
    site.imprimatur(&["build"]).at(NOW).run();
    site
}

#[test]
fn at_390_px_the_article_starts_on_the_first_screen_and_the_sidebar_names_its_space_once() {
    let Some(_) = needs(Tool::Chromium) else {
        return;
    };
    let site = long_page_site();
    let page = "output/kb/guides/configure/index.html";
    assert!(site.read(page).contains("FIRST-WORDS"));
    // A phone's first screen (390 x 844) shows the article's first words: the badge, version
    // and dates read as one wrapped line, the table of contents as a few.
    let phone = layout_of(&site, page, 390);
    assert_eq!(phone["width"], 390, "{phone}");
    let top = phone["first_text_top"].as_f64().unwrap();
    assert!(top < 844.0, "the article starts at {top} px: {phone}");
    assert_eq!(phone["page_fits"], true, "{phone}");

    // The sidebar names the space once, in its heading; the space's own pages are its
    // overview.
    let wide = layout_of(&site, page, 1280);
    assert_eq!(wide["sidebar_shown"], true, "{wide}");
    assert_eq!(wide["space_name_links"], 1, "{wide}");
    let html = site.read(page);
    assert!(html.contains("#overview\">Overview</a>"), "{html}");
}

#[test]
fn a_search_snippet_sets_the_cells_of_a_table_apart() {
    let Some(_) = needs(Tool::Chromium) else {
        return;
    };
    let site = published_site();
    let found = results_for(&site, "debian");
    assert!(
        found.contains("Debian</mark> · apt.beacon.example.com/pool/main · /etc/beacon/agent.yaml · Windows Server"),
        "{found}"
    );
}
