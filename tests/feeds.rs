//! Readers follow what changed (issue 37): an Atom feed at the site's root and in each
//! space's folder, read back by a real parser (Python's `feedparser`, see tests/README.md
//! "Outside tools"): the published versions only, newest approval first, each with its
//! approval time and a summary, and nothing of a draft.

use imprimatur::trust::record::Kind;
use serde_json::Value;

use crate::util::TestSite;
use crate::util::{needs, Tool};

const NOW: &str = "2026-11-05T12:00:00Z";

const POLICY: &str = "\
title: Knowledge Base
contributors: [group:writers]
steps:
  - name: technical
    approvers: [group:engineering]
    min_approvals: 1
";

/// What `feedparser` reads from `file`: the feed's title, id and updated, and each entry's
/// title, id, link, updated (as feedparser reads the time, in UTC) and summary, in the feed's
/// order.
fn parse(python: &std::path::Path, file: &std::path::Path) -> Value {
    const SCRIPT: &str = r#"
import feedparser, json, sys, time
def utc(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", t) if t else None
d = feedparser.parse(sys.argv[1])
if d.bozo:
    raise SystemExit("not well-formed: %r" % d.bozo_exception)
print(json.dumps({
    "version": d.version,
    "title": d.feed.get("title"),
    "id": d.feed.get("id"),
    "updated": utc(d.feed.get("updated_parsed")),
    "self": [l.href for l in d.feed.get("links", []) if l.rel == "self"],
    "entries": [{
        "title": e.get("title"),
        "id": e.get("id"),
        "link": e.get("link"),
        "updated": utc(e.get("updated_parsed")),
        "summary": e.get("summary"),
    } for e in d.entries],
}))
"#;
    let out = std::process::Command::new(python)
        .args(["-c", SCRIPT])
        .arg(file)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "feedparser: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn titles(feed: &Value) -> Vec<&str> {
    feed["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["title"].as_str().unwrap())
        .collect()
}

#[test]
fn the_feeds_hold_exactly_the_published_pages_newest_approval_first() {
    let Some(python) = needs(Tool::Feedparser) else {
        return;
    };
    let mut site = TestSite::new();
    site.reviewer("wanda", &["writers"])
        .reviewer("alice", &["engineering"])
        .policy("kb", POLICY)
        .policy("guides", &POLICY.replace("Knowledge Base", "Guides"))
        .file(
            "content/kb/install.md",
            "---\ntitle: Install the agent\ndescription: Get the agent running.\n---\n\nDownload it.\n",
        )
        .page(
            "kb/upgrade.md",
            "Upgrade the agent",
            "Stop the agent\nfirst, then **upgrade** it.\n\nMore.\n",
        )
        .page("guides/tour.md", "A tour", "Look around.\n")
        .page("kb/secret.md", "Secret launch plans", "Nobody approved this.\n");
    let approve = |id: &str, at: &str| {
        site.sign("wanda", Kind::Submit, id, &[], "2026-11-01T08:00:00Z");
        site.sign("alice", Kind::Approve, id, &["--step", "technical"], at);
    };
    approve("kb/install", "2026-11-01T09:00:00Z");
    approve("guides/tour", "2026-11-02T09:00:00Z");
    approve("kb/upgrade", "2026-11-03T09:00:00Z");
    site.sign(
        "wanda",
        Kind::Submit,
        "kb/secret",
        &[],
        "2026-11-04T09:00:00Z",
    );
    site.cmd(&["build", "--strict", "--now", NOW]).success();

    let feed = parse(&python, &site.path().join("output/feed.xml"));
    assert_eq!(feed["version"], "atom10", "{feed:#}");
    assert_eq!(feed["title"], "Example Help Center");
    assert_eq!(feed["id"], "https://help.example.com/feed.xml");
    assert_eq!(feed["self"][0], "https://help.example.com/feed.xml");
    // The newest approval, not the build's clock.
    assert_eq!(feed["updated"], "2026-11-03T09:00:00Z");
    assert_eq!(
        titles(&feed),
        ["Upgrade the agent", "A tour", "Install the agent"]
    );
    let upgrade = &feed["entries"][0];
    assert_eq!(upgrade["id"], "https://help.example.com/kb/upgrade/");
    assert_eq!(upgrade["link"], "https://help.example.com/kb/upgrade/");
    assert_eq!(upgrade["updated"], "2026-11-03T09:00:00Z");
    assert_eq!(upgrade["summary"], "Stop the agent first, then upgrade it.");
    assert_eq!(feed["entries"][2]["summary"], "Get the agent running.");

    let kb = parse(&python, &site.path().join("output/kb/feed.xml"));
    assert_eq!(kb["title"], "Knowledge Base");
    assert_eq!(titles(&kb), ["Upgrade the agent", "Install the agent"]);
    let guides = parse(&python, &site.path().join("output/guides/feed.xml"));
    assert_eq!(titles(&guides), ["A tour"]);

    // Nothing of the draft, in any feed; it is there once approved.
    for (_, bytes) in site.all_output_files() {
        assert!(!String::from_utf8_lossy(&bytes).contains("Secret launch plans"));
    }
    site.sign(
        "alice",
        Kind::Approve,
        "kb/secret",
        &["--step", "technical"],
        "2026-11-04T10:00:00Z",
    );
    site.cmd(&["build", "--strict", "--now", NOW]).success();
    let feed = parse(&python, &site.path().join("output/feed.xml"));
    assert_eq!(titles(&feed)[0], "Secret launch plans");
    assert_eq!(feed["updated"], "2026-11-04T10:00:00Z");
}

#[test]
fn every_page_points_readers_to_the_feeds() {
    let mut site = TestSite::new();
    site.reviewer("wanda", &["writers"])
        .reviewer("alice", &["engineering"])
        .policy("kb", POLICY)
        .page("kb/install.md", "Install the agent", "Words.\n");
    site.sign(
        "wanda",
        Kind::Submit,
        "kb/install",
        &[],
        "2026-11-01T08:00:00Z",
    );
    site.sign(
        "alice",
        Kind::Approve,
        "kb/install",
        &["--step", "technical"],
        "2026-11-01T09:00:00Z",
    );
    site.cmd(&["build", "--now", NOW]).success();
    let page = site.read("output/kb/install/index.html");
    assert!(page.contains(r#"<link rel="alternate" type="application/atom+xml" title="Example Help Center" href="../../feed.xml">"#), "{page}");
    assert!(
        page.contains(
            r#"type="application/atom+xml" title="Knowledge Base" href="../../kb/feed.xml">"#
        ),
        "{page}"
    );
    let home = site.read("output/index.html");
    assert!(home.contains(r#"href="feed.xml">"#), "{home}");
}
