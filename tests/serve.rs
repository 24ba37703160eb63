//! Reviewers see what they approve (issue 9): `imprimatur serve` on an ephemeral loopback port,
//! fetched over real HTTP — the published view is `build`'s bytes, drafts live only under
//! `/_drafts/` behind a banner, a save changes the served page, the review page diffs the
//! version in review against the live one — plus `build --drafts` for deploy previews and
//! `imprimatur inbox`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use imprimatur::trust::record::Kind;

use crate::util::TestSite;

const SUBMITTED: &str = "2026-11-20T09:00:00Z";
const APPROVED: &str = "2026-11-20T10:00:00Z";
const RESUBMITTED: &str = "2026-11-20T11:00:00Z";
const NOW: &str = "2026-11-21T12:00:00Z";

const POLICY: &str = "\
title: Knowledge Base
contributors: [group:writers]
steps:
  - name: technical
    approvers: [group:engineering]
    min_approvals: 1
";

/// `kb/install` approved and live; `kb/secret-plans` a draft nobody approved.
fn kb_site() -> TestSite {
    let mut site = TestSite::new();
    site.reviewer("wanda", &["writers"])
        .reviewer("alice", &["engineering"])
        .reviewer("bob", &["engineering"])
        .policy("kb", POLICY)
        .page(
            "kb/install.md",
            "Install the agent",
            "Download the package.\n\nRun the installer as root.\n\nReboot.\n",
        )
        .page(
            "kb/secret-plans.md",
            "Secret launch plans",
            "Launch words nobody approved.\n",
        );
    site.sign("wanda", Kind::Submit, "kb/install", &[], SUBMITTED);
    site.sign(
        "alice",
        Kind::Approve,
        "kb/install",
        &["--step", "technical"],
        APPROVED,
    );
    site
}

/// Starts `imprimatur serve --port 0 --now NOW --site SITE` with `extra` arguments on a free
/// loopback port: the process, its address (`http://127.0.0.1:PORT/`) and an HTTP agent that
/// follows no redirect and reads error statuses as answers. tests/decide.rs starts it with
/// `--key`.
pub(crate) fn spawn(site: &TestSite, extra: &[&std::ffi::OsStr]) -> (Child, String, ureq::Agent) {
    let (child, url, agent) = spawn_on(site, 0, extra);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    (child, url, agent)
}

/// [`spawn`] on `port` (a team server's public_url names its port: tests/team.rs); the URL is
/// the one serve prints.
pub(crate) fn spawn_on(
    site: &TestSite,
    port: u16,
    extra: &[&std::ffi::OsStr],
) -> (Child, String, ureq::Agent) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_imprimatur"))
        .args(["serve", "--port", &port.to_string(), "--now", NOW, "--site"])
        .arg(site.path())
        .args(extra)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let mut first = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut first).unwrap();
    // Keep reading what else it prints, so it never writes into a closed pipe.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let url = first
        .trim()
        .rsplit_once(" at ")
        .map(|(_, u)| u.to_string())
        .unwrap_or_else(|| panic!("serve printed {first:?}"));
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    (child, url, agent)
}

/// A port nothing listens on now, for a server whose `review:` section must name its address
/// before it starts.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A running `imprimatur serve` (at `--now` [`NOW`]), killed when dropped; tests/redirects.rs
/// and tests/serve_browser.rs use it too.
pub(crate) struct Server {
    child: Child,
    pub(crate) url: String,
    agent: ureq::Agent,
}

impl Server {
    pub(crate) fn start(site: &TestSite) -> Server {
        let (child, url, agent) = spawn(site, &[]);
        Server { child, url, agent }
    }

    /// (status, body) of `GET <path>` (path without the leading `/`).
    pub(crate) fn get(&self, path: &str) -> (u16, Vec<u8>) {
        let mut resp = self
            .agent
            .get(&format!("{}{path}", self.url))
            .call()
            .expect("the server answers");
        let status = resp.status().as_u16();
        (status, resp.body_mut().read_to_vec().unwrap())
    }

    /// `x-imprimatur-cache` of `GET <path>`: what the server's answer cache holds after it.
    fn cache_after(&self, path: &str) -> (usize, usize) {
        let mut resp = self
            .agent
            .get(&format!("{}{path}", self.url))
            .call()
            .expect("the server answers");
        let header = resp
            .headers()
            .get("x-imprimatur-cache")
            .expect("the cache header")
            .to_str()
            .unwrap()
            .to_string();
        let _ = resp.body_mut().read_to_vec();
        let field = |name: &str| -> usize {
            header
                .split(' ')
                .find_map(|kv| kv.strip_prefix(name))
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} in {header:?}"))
        };
        (field("entries="), field("bytes="))
    }

    /// (status, body) of a request written by hand, with `Host: host` (none for `None`).
    fn raw(&self, host: Option<&str>, target: &str) -> (u16, String) {
        use std::io::{Read, Write};
        let addr = self.url.trim_start_matches("http://").trim_end_matches('/');
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let host = host.map(|h| format!("Host: {h}\r\n")).unwrap_or_default();
        write!(
            stream,
            "GET {target} HTTP/1.1\r\n{host}Connection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        let status = answer
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("an HTTP answer: {answer:?}"));
        (status, answer)
    }

    pub(crate) fn text(&self, path: &str) -> (u16, String) {
        let (status, body) = self.get(path);
        (status, String::from_utf8(body).unwrap())
    }

    /// Polls `path` until its body satisfies `ok` (the server reloads after a save).
    fn wait_for(&self, path: &str, what: &str, ok: impl Fn(u16, &str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let (status, body) = self.text(path);
            if ok(status, &body) {
                return body;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{path} never showed {what}; last answer {status}:\n{body}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The URL path that serves an output file: `kb/install/index.html` → `kb/install/`.
fn served_path(file: &str) -> String {
    match file.strip_suffix("index.html") {
        Some(dir) => dir.to_string(),
        None => file.to_string(),
    }
}

#[test]
fn an_unknown_address_answers_404_with_the_themes_page_from_the_views_root() {
    let site = kb_site();
    let server = Server::start(&site);
    let (status, home) = server.text("");
    assert_eq!(status, 200);
    assert!(!home.contains("Page not found"));
    for (path, root) in [
        ("kb/no-such-page/", "/"),
        ("an/old/link.html", "/"),
        ("_drafts/kb/no-such-page/", "/_drafts/"),
    ] {
        let (status, page) = server.text(path);
        assert_eq!(status, 404, "{path}");
        assert!(page.contains("Page not found"), "{path}: {page}");
        assert!(
            page.contains(&format!("data-root=\"{root}\"")),
            "{path}: {page}"
        );
        assert!(page.contains("<meta name=\"robots\" content=\"noindex\">"));
    }
    // `404.html` itself is the built file.
    site.imprimatur(&["build"]).at(NOW).run();
    let (status, page) = server.get("404.html");
    assert_eq!(status, 200);
    assert_eq!(page, site.read_bytes("output/404.html"));
}

/// Needs headless Chromium (tests/README.md, "Outside tools"): the 404 page's search runs in
/// a browser at a nested address, as a host shows it, and finds its index from the root.
#[test]
fn the_404_page_searches_the_site_from_a_nested_address_in_chromium() {
    let Some(chromium) = crate::util::needs(crate::util::Tool::Chromium) else {
        return;
    };
    let site = kb_site();
    let server = Server::start(&site);
    let profile = tempfile::tempdir().unwrap();
    let dom = |path: &str| {
        let out = assert_cmd::Command::new(&chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
            ])
            .args(["--disable-background-networking", "--timeout=6000"])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("--dump-dom")
            .arg(format!("{}{path}", server.url))
            .timeout(Duration::from_secs(120))
            .assert()
            .success();
        String::from_utf8(out.get_output().stdout.clone()).unwrap()
    };
    let found = dom("kb/old/deep/link/?q=installer");
    assert!(found.contains("Page not found"), "{found}");
    assert!(
        found.contains("<a href=\"/kb/install/\" tabindex=\"-1\">"),
        "no result for the live page:\n{found}"
    );
    // The same search for a word no page holds finds nothing: the result above is the index's.
    let none = dom("kb/old/deep/link/?q=zebra");
    assert!(!none.contains("href=\"/kb/install/\" tabindex"), "{none}");
}

#[test]
fn the_published_view_is_byte_for_byte_what_build_writes() {
    let site = kb_site();
    site.imprimatur(&["build"]).at(NOW).run();
    let server = Server::start(&site);
    let files = site.files_under("output");
    assert!(files.len() > 5, "{files:?}");
    for (file, bytes) in files {
        let file = file.strip_prefix("output/").unwrap();
        if file == ".imprimatur-build.json" {
            // The build's own bookkeeping, not part of the site.
            continue;
        }
        let (status, served) = server.get(&served_path(file));
        assert_eq!(status, 200, "{file}");
        assert!(served == bytes, "{file} differs from build's output");
    }
    // A folder without its slash redirects, as a static host does.
    let (status, _) = server.get("kb/install");
    assert_eq!(status, 308);
    assert_eq!(server.get("nothing/here/").0, 404);
    // serve wrote nothing: output/ is exactly what build left.
    assert!(!site.exists("output/_drafts"));
}

#[test]
fn a_draft_is_served_only_under_drafts_behind_a_banner_and_never_under_the_root() {
    let site = kb_site();
    let server = Server::start(&site);
    let (status, _) = server.get("kb/secret-plans/");
    assert_eq!(status, 404);
    for path in ["", "kb/", "search-index.json", "sitemap.xml", "kb/install/"] {
        let (status, body) = server.text(path);
        assert_eq!(status, 200, "{path}");
        for needle in ["Secret launch plans", "secret-plans", "nobody approved"] {
            assert!(!body.contains(needle), "{needle:?} in /{path}");
        }
    }

    let (status, draft) = server.text("_drafts/kb/secret-plans/");
    assert_eq!(status, 200);
    assert!(draft.contains("Launch words nobody approved."), "{draft}");
    assert!(draft.contains("<meta name=\"robots\" content=\"noindex\">"));
    assert!(draft.contains("Draft preview — not approved."), "{draft}");
    assert!(draft.contains("draft-banner__state\">draft<"), "{draft}");
    // The drafts view's navigation lists the draft; its links stay inside /_drafts/.
    let (_, index) = server.text("_drafts/kb/");
    assert!(index.contains("Secret launch plans"));
    // Its search finds the draft's words; the published view's search has none of them.
    let (status, piece) = server.text("_drafts/search-index/t-sec.js");
    assert_eq!(status, 200);
    assert!(piece.contains("\"secret\""), "{piece}");
    let (status, piece) = server.text("search-index/t-sec.js");
    assert!(status == 404 || !piece.contains("\"secret\""), "{piece}");
    let (_, whole) = server.text("_drafts/search-index.json");
    assert!(whole.contains("Launch words nobody approved."), "{whole}");
    assert_eq!(server.get("_drafts/sitemap.xml").0, 404);
}

#[test]
fn a_saved_edit_changes_the_served_draft_and_a_broken_template_shows_its_error() {
    let mut site = kb_site();
    let server = Server::start(&site);
    let (_, before) = server.text("_drafts/kb/secret-plans/");
    assert!(before.contains("Launch words nobody approved."));

    site.page(
        "kb/secret-plans.md",
        "Secret launch plans",
        "Rewritten words.\n",
    );
    server.wait_for("_drafts/kb/secret-plans/", "the edit", |s, body| {
        s == 200 && body.contains("Rewritten words.")
    });

    // A broken template: the browser shows why, and the server keeps running.
    site.file(
        "themes/default/templates/page.html",
        "{% extends \"base.html\" %}{% block main %}{{ page.title }",
    );
    let error = server.wait_for("kb/install/", "the template error", |s, _| s == 500);
    assert!(error.contains("page.html"), "{error}");
    assert!(error.contains("/_imprimatur/reload.js"));
    std::fs::remove_file(site.path().join("themes/default/templates/page.html")).unwrap();
    server.wait_for("kb/install/", "the fixed page", |s, body| {
        s == 200 && body.contains("Run the installer as root.")
    });
}

#[test]
fn a_record_forged_while_serving_counts_for_nothing_although_the_server_reuses_what_it_read() {
    let site = kb_site();
    let server = Server::start(&site);
    assert_eq!(server.get("kb/install/").0, 200);

    // The approval's signature, one character changed: same length, same name, so only the
    // file's change time tells a reader that remembers earlier reads that it is not the same.
    let records = site.path().join("approvals/records");
    let approval = walkdir::WalkDir::new(&records)
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| e.into_path())
        .find(|p| std::fs::read_to_string(p).is_ok_and(|t| t.contains("kind: \"approve\"")))
        .expect("the approval record");
    let text = std::fs::read_to_string(&approval).unwrap();
    let at = text.find("signature: \"").unwrap() + "signature: \"".len();
    let mut forged = text.clone().into_bytes();
    forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
    std::fs::write(&approval, forged).unwrap();

    server.wait_for("kb/install/", "the page going offline", |s, _| s == 404);

    // Put back, byte for byte: the page is live again.
    std::fs::write(&approval, text).unwrap();
    server.wait_for("kb/install/", "the page back", |s, body| {
        s == 200 && body.contains("Run the installer as root.")
    });
}

#[test]
fn the_review_page_diffs_the_version_in_review_against_the_live_one() {
    let mut site = kb_site();
    site.page(
        "kb/install.md",
        "Install the agent",
        "Download the package.\n\nRun the signed installer as root.\n\nReboot.\n\nCheck the service.\n",
    );
    site.sign("wanda", Kind::Submit, "kb/install", &[], RESUBMITTED);
    let in_review = site.version_of("kb/install").to_string();
    let server = Server::start(&site);

    let (status, queue) = server.text("_review/");
    assert_eq!(status, 200);
    assert!(queue.contains("/_review/kb/install"), "{queue}");
    let (_, mine) = server.text("_review/?reviewer=bob");
    assert!(mine.contains("/_review/kb/install"));
    let (_, not_mine) = server.text("_review/?reviewer=wanda");
    assert!(!not_mine.contains("/_review/kb/install"), "{not_mine}");

    let (status, page) = server.text("_review/kb/install");
    assert_eq!(status, 200);
    // As readers will see it, side by side: the edited paragraph marked on both sides with a
    // label, the new one marked added; the Markdown diff one click away.
    assert!(
        page.contains("<div class=\"blk blk--changed\"><span class=\"blk__mark\">± Changed</span>\n<p>Run the signed installer as root.</p>"),
        "{page}"
    );
    assert!(page
        .contains("<span class=\"blk__mark\">± Changed</span>\n<p>Run the installer as root.</p>"));
    assert!(page.contains("<span class=\"blk__mark\">+ Added</span>\n<p>Check the service.</p>"));
    assert!(page.contains("2 block(s) differ"), "{page}");
    assert!(
        !page.contains("<p>Reboot.</p></div>"),
        "an unchanged block is not marked"
    );
    let markdown = &page[page
        .find("<details class=\"markdown-diff\">")
        .expect("the Markdown diff, folded")..];
    assert!(markdown.contains("<ins>signed </ins>"), "{page}");
    assert!(markdown.contains("diff__block--added\"><ins>Check the service.</ins>"));
    // Times as people say them, against the judged now, exact on hover.
    assert!(
        page.contains("by wanda <time datetime=\"2026-11-20T11:00:00Z\" title=\"2026-11-20 11:00 UTC\">25 hours ago</time>"),
        "{page}"
    );
    // The hash in review is whole, selectable and has a copy button.
    assert!(page.contains(&format!("<code class=\"hash\">{in_review}</code> <button type=\"button\" class=\"copy\" data-copy=\"{in_review}\">Copy</button>")), "{page}");
    assert!(page.contains("navigator.clipboard.writeText"));
    assert!(page.contains(&format!(
        "imprimatur approve kb/install --step technical --version {in_review}"
    )));
    assert!(page.contains("alice, bob"), "waits on both engineers");
    // The record history, as `imprimatur log` tells it.
    assert!(page.contains("approve (technical)"), "{page}");
    assert_eq!(server.get("_review/kb/nothing").0, 404);
}

#[test]
fn the_queue_filters_by_reviewer_space_and_step_and_the_drafts_banner_offers_what_fits() {
    let mut site = kb_site();
    site.reviewer("lee", &["legal"])
        .policy(
            "hr",
            "title: HR\ncontributors: [group:writers]\nsteps:\n  - name: legal\n    approvers: [group:legal]\n    min_approvals: 1\n",
        )
        .page("hr/leave.md", "Leave policy", "Ask first.\n");
    site.sign("wanda", Kind::Submit, "hr/leave", &[], SUBMITTED);
    site.sign("wanda", Kind::Submit, "kb/secret-plans", &[], RESUBMITTED);
    let server = Server::start(&site);

    let (_, all) = server.text("_review/");
    assert!(all.contains("/_review/hr/leave\"") && all.contains("/_review/kb/secret-plans\""));
    // One link per reviewer something waits on ("mine"), and a form that reads, never writes.
    assert!(
        all.contains("<a href=\"/_review/?reviewer=lee\">lee</a> (1)"),
        "{all}"
    );
    assert!(
        all.contains("<a href=\"/_review/?reviewer=alice\">alice</a> (1)"),
        "{all}"
    );
    assert!(all.contains("<form class=\"filters\" method=\"get\" action=\"/_review/\">"));
    assert!(all.contains("<time datetime=\"2026-11-20T09:00:00Z\" title=\"2026-11-20 09:00 UTC\">27 hours ago</time>"), "{all}");

    let (_, hr) = server.text("_review/?space=hr");
    assert!(
        hr.contains("/_review/hr/leave\"") && !hr.contains("/_review/kb/secret-plans\""),
        "{hr}"
    );
    assert!(
        hr.contains("<option selected>hr</option>"),
        "the form keeps the filter: {hr}"
    );
    let (_, technical) = server.text("_review/?step=technical");
    assert!(
        !technical.contains("/_review/hr/leave\"")
            && technical.contains("/_review/kb/secret-plans\""),
        "{technical}"
    );
    let (_, lee_kb) = server.text("_review/?reviewer=lee&space=kb");
    assert!(
        lee_kb.contains("Waiting on lee in kb")
            && lee_kb.contains("Nothing waits for review here."),
        "{lee_kb}"
    );
    // The reviewer links keep the other filters.
    assert!(
        lee_kb.contains("href=\"/_review/?reviewer=alice&amp;space=kb\""),
        "{lee_kb}"
    );

    // The drafts banner: a page in review offers its review; a page nobody submitted, the
    // command that submits it, with a copy button.
    let (_, in_review) = server.text("_drafts/kb/secret-plans/");
    assert!(
        in_review.contains(">Review this version</a>"),
        "{in_review}"
    );
    assert!(!in_review.contains("Submit for review"));
    site.page("kb/new-page.md", "New page", "Nobody submitted this.\n");
    let fresh = server.wait_for("_drafts/kb/new-page/", "the new draft", |s, _| s == 200);
    assert!(fresh.contains("Submit for review:"), "{fresh}");
    assert!(fresh.contains("<code class=\"draft-banner__cmd\">imprimatur submit kb/new-page --key YOUR-KEY.pem</code> <button type=\"button\" class=\"draft-banner__copy\""), "{fresh}");
    assert!(!fresh.contains("Review this version"), "{fresh}");
}

#[test]
fn a_drafts_build_refuses_the_public_output_folder_and_marks_every_page_noindex() {
    let site = kb_site();
    site.imprimatur(&["build"]).at(NOW).run();
    let published = site.files_under("output");
    for refused in [
        "output",
        "output/preview",
        ".",
        "content/preview",
        "reports",
    ] {
        site.imprimatur(&["build", "--drafts", "--output", refused])
            .at(NOW)
            .exits(2)
            .stderr_has("--output")
            .run();
    }
    assert_eq!(site.files_under("output"), published, "output/ untouched");

    let preview = tempfile::tempdir().unwrap();
    let dir = preview.path().join("pr-42");
    site.imprimatur(&["build", "--drafts", "--output", dir.to_str().unwrap()])
        .at(NOW)
        .stdout_has("not for publishing")
        .run();
    let page = std::fs::read_to_string(dir.join("kb/secret-plans/index.html")).unwrap();
    assert!(page.contains("Launch words nobody approved."));
    let mut html = 0;
    for entry in walkdir::WalkDir::new(&dir) {
        let entry = entry.unwrap();
        if entry.path().extension().is_some_and(|e| e == "html") {
            html += 1;
            let text = std::fs::read_to_string(entry.path()).unwrap();
            assert!(
                text.contains("<meta name=\"robots\" content=\"noindex\">"),
                "{}",
                entry.path().display()
            );
            assert!(text.contains("Draft preview — not approved."));
        }
    }
    assert!(html >= 4, "home, space and two pages");
    assert!(!dir.join("sitemap.xml").exists());
    // The public build is still only the approved page.
    assert!(!site.exists("output/kb/secret-plans/index.html"));
}

#[test]
fn in_a_drafts_build_a_url_two_pages_claim_goes_to_the_page_whose_own_path_it_is() {
    // The published site's rule (`url_conflict`), not "the first by id": `kb/aaa` takes
    // `zzz` as its slug, and `kb/zzz` is at its own path, so `kb/zzz` keeps `kb/zzz/`.
    let mut site = kb_site();
    site.file(
        "content/kb/aaa.md",
        "---\ntitle: Borrowed slug\nslug: zzz\n---\n\nWords of the borrower.\n",
    )
    .page("kb/zzz.md", "Own path", "Words of the owner.\n");
    let preview = tempfile::tempdir().unwrap();
    let dir = preview.path().join("pr-7");
    site.imprimatur(&["build", "--drafts", "--output", dir.to_str().unwrap()])
        .at(NOW)
        .run();
    let page = std::fs::read_to_string(dir.join("kb/zzz/index.html")).unwrap();
    assert!(page.contains("Words of the owner."), "{page}");
    assert!(!page.contains("Words of the borrower."));
}

#[test]
fn a_reviewer_sees_what_waits_on_them_oldest_first() {
    let mut site = kb_site();
    site.page("kb/older.md", "Older page", "Old.\n");
    site.sign("wanda", Kind::Submit, "kb/older", &[], SUBMITTED);
    site.sign("wanda", Kind::Submit, "kb/secret-plans", &[], RESUBMITTED);

    let out = site
        .imprimatur(&["inbox", "--reviewer", "bob", "--format", "json"])
        .at(NOW)
        .run();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pages: Vec<&str> = json["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["page"].as_str().unwrap())
        .collect();
    assert_eq!(pages, ["kb/older", "kb/secret-plans"]);
    let first = &json["pages"][0];
    assert_eq!(first["step"], "technical");
    assert_eq!(first["submitted_by"], "wanda");
    assert_eq!(first["age"], "1d 3h");
    // No review_url in this site: no address to give (a loopback one would point at the
    // reader's own machine), and the text says how to open the review instead.
    assert_eq!(first["review_url"], serde_json::Value::Null);

    // By key file: alice's inbox is the same two pages, as text.
    site.imprimatur(&["inbox"])
        .by("alice")
        .at(NOW)
        .stdout_has("2 page(s) wait on alice")
        .stdout_has("kb/older  step technical  waiting 1d 3h")
        .stdout_has("review: open it with `imprimatur serve` (then /_review/kb/older)")
        .run();
    // The writer has nothing to review; an unknown reviewer is refused.
    site.imprimatur(&["inbox", "--reviewer", "wanda"])
        .at(NOW)
        .stdout_has("nothing waits on wanda")
        .run();
    site.imprimatur(&["inbox", "--reviewer", "mallory"])
        .at(NOW)
        .exits(1)
        .stderr_has("no reviewer 'mallory'")
        .run();
}

#[test]
fn a_page_elsewhere_that_rebinds_its_name_to_loopback_reads_no_draft() {
    let site = kb_site();
    let server = Server::start(&site);
    let port = server.url.rsplit(':').next().unwrap().trim_end_matches('/');
    // The names the server was started for: loopback, with or without the port.
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        "localhost".to_string(),
        format!("[::1]:{port}"),
    ] {
        let (status, answer) = server.raw(Some(&host), "/_drafts/kb/secret-plans/");
        assert_eq!(status, 200, "{host}: {answer}");
        assert!(answer.contains("Launch words nobody approved."));
    }
    // Any other name, or none, is refused before routing: no draft, no review page, no site.
    for host in [
        Some("evil.example".to_string()),
        Some(format!("evil.example:{port}")),
        Some(format!("localhost.evil.example:{port}")),
        None,
    ] {
        for target in [
            "/_drafts/kb/secret-plans/",
            "/_review/",
            "/kb/install/",
            "/_imprimatur/events",
        ] {
            let (status, answer) = server.raw(host.as_deref(), target);
            assert_eq!(status, 421, "{host:?} {target}: {answer}");
            for needle in ["Launch words", "Secret launch plans", "Install the agent"] {
                assert!(!answer.contains(needle), "{host:?} {target}: {answer}");
            }
        }
    }
    // An absolute request target naming another host is refused too, whatever `Host` says.
    let (status, _) = server.raw(
        Some(&format!("127.0.0.1:{port}")),
        "http://evil.example/_drafts/kb/secret-plans/",
    );
    assert_eq!(status, 421);
}

#[test]
fn a_team_server_answers_the_host_of_its_review_url() {
    let mut site = kb_site();
    let config = site.read("imprimatur.yaml");
    site.file(
        "imprimatur.yaml",
        format!("{config}review_url: https://docs-review.example.com/_review/\n"),
    );
    let server = Server::start(&site);
    let (status, answer) = server.raw(Some("docs-review.example.com"), "/_review/");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(server.raw(Some("docs.example.com"), "/_review/").0, 421);
}

#[test]
fn thousands_of_distinct_query_strings_leave_the_answer_cache_bounded() {
    let site = kb_site();
    let server = Server::start(&site);
    let (entries_before, bytes_before) = server.cache_after("_drafts/kb/secret-plans/");
    assert_eq!(entries_before, 1);
    // A page that ignores its query string is one answer, whatever the query says.
    for i in 0..3000 {
        let (entries, bytes) = server.cache_after(&format!("_drafts/kb/secret-plans/?x={i}"));
        assert_eq!(
            (entries, bytes),
            (entries_before, bytes_before),
            "request {i}"
        );
    }
    // The queue reads `?reviewer=`: one answer per reviewer, however the query is spelt.
    server.cache_after("_review/?reviewer=bob");
    server.cache_after("_review/?reviewer=bob&utm=1");
    let (entries, _) = server.cache_after("_review/?utm=2&reviewer=b%6Fb");
    assert_eq!(entries, entries_before + 1);
    let (_, mine) = server.text("_review/?reviewer=bob&x=1");
    let (_, theirs) = server.text("_review/?reviewer=wanda&x=1");
    assert_ne!(mine, theirs, "each reviewer still sees their own queue");
}

#[test]
fn a_draft_over_its_rendering_budget_is_refused_naming_the_limit_and_the_server_goes_on() {
    // A draft nobody approved: any writer can make `serve` render it.
    let wide = format!(
        "{}|\n{}|\n{}\n",
        "|h".repeat(362),
        "|-".repeat(362),
        "a\n".repeat(200)
    );
    let mut site = kb_site();
    site.page("kb/heavy.md", "Heavy", &wide.repeat(4));
    site.sign("wanda", Kind::Submit, "kb/heavy", &[], RESUBMITTED);
    let server = Server::start(&site);

    let (status, review) = server.text("_review/kb/heavy");
    assert_eq!(status, 200);
    assert!(
        review.contains("This version can't be rendered:</strong> a table of 362 columns × 139 rows is over the limit of 50000 table cells"),
        "{review}"
    );
    let (_, draft) = server.text("_drafts/kb/heavy/");
    assert!(
        !draft.contains("<td>"),
        "the table was rendered: {}",
        draft.len()
    );
    let (status, live) = server.text("kb/install/");
    assert_eq!(status, 200);
    assert!(live.contains("Run the installer as root."));
}
