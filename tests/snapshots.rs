//! What the default theme prints, byte for byte, for one small site: a published page with its
//! badge and approval history, its space, the home page, the sitemap and the search index.
//! A change to the theme or the renderer shows up here as a reviewed diff of the snapshot
//! (`cargo insta review`, or read `tests/snapshots/*.snap.new`), never as a silent change.

use imprimatur::trust::record::Kind;

use crate::util::TestSite;

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

const PAGE: &str = "\
---
title: Install the agent
description: Get the agent running on Linux.
tags: [agent, linux]
---

# Install the agent

Download the package, then:

```sh
sudo dpkg -i agent.deb
```

## Check it runs

See [the guide](guide.md) and <script>alert(1)</script> nothing else.
";

/// wanda writes, alice approves the install page; the guide page stays a draft, so the link
/// to it becomes plain text.
fn published_site() -> TestSite {
    let mut site = TestSite::new();
    site.reviewer("wanda", &["writers"])
        .reviewer("alice", &["engineering"])
        .policy("kb", POLICY)
        .file("content/kb/install.md", PAGE)
        .page("kb/guide.md", "A draft guide", "Not reviewed yet.\n");
    site.sign("wanda", Kind::Submit, "kb/install", &[], SUBMITTED);
    site.sign(
        "alice",
        Kind::Approve,
        "kb/install",
        &[
            "--step",
            "technical",
            "--role",
            "Engineer",
            "--comment",
            "Ran it",
        ],
        APPROVED,
    );
    site.imprimatur(&["build"]).at(NOW).run();
    site
}

#[test]
fn the_published_site_is_printed_exactly_so() {
    let site = published_site();
    let settings = {
        let mut s = insta::Settings::clone_current();
        s.set_snapshot_path("snapshots");
        s.set_prepend_module_to_snapshot(false);
        s
    };
    settings.bind(|| {
        insta::assert_snapshot!("page", site.read("output/kb/install/index.html"));
        insta::assert_snapshot!("space", site.read("output/kb/index.html"));
        insta::assert_snapshot!("home", site.read("output/index.html"));
        insta::assert_snapshot!("sitemap", site.read("output/sitemap.xml"));
        insta::assert_snapshot!("feed", site.read("output/feed.xml"));
        insta::assert_snapshot!("search_index", site.read("output/search-index.json"));
    });
    // Nothing of the draft anywhere: not its title, path or words.
    for (path, bytes) in site.all_output_files() {
        let text = String::from_utf8_lossy(&bytes);
        for needle in ["A draft guide", "kb/guide", "Not reviewed yet"] {
            assert!(!text.contains(needle), "{needle:?} in {path}");
        }
    }
}
