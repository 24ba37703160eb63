//! The reviewer's pages of `imprimatur serve` in a real browser, on a phone: headless Chromium
//! frames the queue, a review page with a long hash, long commands and a wide table, and a
//! drafts page whose banner offers the submit command, each 390 px wide, and measures that
//! none of them scrolls sideways (`document.documentElement.scrollWidth`), and that the copy
//! script gave each command line its button.
//!
//! The probe page and the served pages are put on one origin by a small forwarding server in
//! the test, so the probe can read the frames' layout.
//!
//! Needs Chromium (`/usr/bin/chromium`, or `CHROMIUM`): skipped without it on a developer's
//! machine, failed under `IMPRIMATUR_REQUIRE_TOOLS=1` (`util::needs`).

use std::time::Duration;

use imprimatur::trust::record::Kind;
use serde_json::Value;

use crate::serve::Server;
use crate::util::{needs, TestSite, Tool};

const SUBMITTED: &str = "2026-11-20T09:00:00Z";
const APPROVED: &str = "2026-11-20T10:00:00Z";
const RESUBMITTED: &str = "2026-11-20T11:00:00Z";

const POLICY: &str = "\
title: Knowledge Base
contributors: [group:writers]
steps:
  - name: technical-review-by-the-platform-engineering-group
    approvers: [group:engineering]
    min_approvals: 1
";

/// A page id long enough to matter at 390 px, live, then edited with a wide table and a long
/// token and submitted again; and a draft nobody submitted.
fn review_site() -> TestSite {
    let id = "kb/getting-started/installing-the-monitoring-agent-on-every-platform";
    let mut site = TestSite::new();
    site.reviewer("wanda", &["writers"])
        .reviewer("alice-from-platform-engineering", &["engineering"])
        .policy("kb", POLICY)
        .page(
            &format!("{id}.md"),
            "Installing the monitoring agent on every platform we support",
            "Download the package.\n\nRun the installer as root.\n",
        )
        .page(
            "kb/getting-started/a-draft-nobody-submitted-with-a-long-name.md",
            "A draft",
            "Not yet.\n",
        );
    site.sign("wanda", Kind::Submit, id, &[], SUBMITTED);
    site.sign(
        "alice-from-platform-engineering",
        Kind::Approve,
        id,
        &[
            "--step",
            "technical-review-by-the-platform-engineering-group",
        ],
        APPROVED,
    );
    site.page(
        &format!("{id}.md"),
        "Installing the monitoring agent on every platform we support",
        "Download the package.\n\nRun the signed installer as root, then register at \
         `https://ingest.beacon.example.com/v1/agents/register?token=0123456789abcdef0123456789`.\n\n\
         | Platform | Package | Config | Service |\n|---|---|---|---|\n\
         | Ubuntu, Debian | `apt.beacon.example.com/pool/main/b/beacon-agent` | `/etc/beacon/agent.yaml` | `beacon-agent.service` |\n",
    );
    site.sign("wanda", Kind::Submit, id, &[], RESUBMITTED);
    site
}

/// A loopback HTTP server that answers `/probe` with `probe` and hands every other request
/// to `server` (as `127.0.0.1`, a name it answers): the probe and the pages it frames are then
/// one origin, so the probe may read their layout, and Chromium runs with its usual security.
fn same_origin(server: &Server, probe: String) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let upstream = server
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (probe, upstream) = (probe.clone(), upstream.clone());
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap_or(0);
                let target = line.split(' ').nth(1).unwrap_or("/").to_string();
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
                        break;
                    }
                }
                let mut stream = stream;
                if target == "/probe" {
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{probe}",
                        probe.len()
                    );
                    return;
                }
                if target == "/_imprimatur/events" {
                    // No reloads while measuring: an open event stream would keep Chromium's
                    // virtual clock from ever running out. 204 tells the page to stop asking.
                    let _ = write!(
                        stream,
                        "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"
                    );
                    return;
                }
                let Ok(mut up) = std::net::TcpStream::connect(&upstream) else {
                    return;
                };
                let _ = write!(
                    up,
                    "GET {target} HTTP/1.1\r\nHost: {upstream}\r\nConnection: close\r\n\r\n"
                );
                let _ = std::io::copy(&mut up, &mut stream);
            });
        }
    });
    url
}

/// What Chromium measured on each of `paths`, framed `width` px wide: the frame's width, the
/// document's scroll width, the copy buttons, and the first elements past the right edge.
fn measure(server: &Server, paths: &[&str], width: u32) -> Vec<Value> {
    let chromium = needs(Tool::Chromium).expect("headless Chromium");
    let work = tempfile::tempdir().unwrap();
    let urls: Vec<String> = paths.iter().map(|p| format!("/{p}")).collect();
    // Our page frames each served page in turn, at exactly `width` (headless Chromium lays a
    // window narrower than 500 px out at 500), and reads its layout: the served pages are
    // opened as a reviewer opens them, and nothing is added to them.
    let probe = format!(
        r#"<!DOCTYPE html><html><head><meta charset="utf-8"><style>
html, body {{ margin: 0; }} iframe {{ display: block; border: 0; width: {width}px; height: 844px; }}
</style></head><body><iframe></iframe><pre id="result"></pre><script>
var urls = {urls}, out = [], frame = document.querySelector("iframe");
function next(i) {{
  if (i === urls.length) {{ document.getElementById("result").textContent = JSON.stringify(out); return; }}
  frame.onload = function () {{
    var d = frame.contentDocument, w = frame.contentWindow;
    var past = Array.prototype.filter.call(d.querySelectorAll("body *"), function (e) {{
      return e.getBoundingClientRect().right > w.innerWidth + 0.5;
    }}).slice(0, 5).map(function (e) {{ return e.tagName + "." + e.className; }});
    out.push({{ url: urls[i], width: w.innerWidth, scroll_width: d.documentElement.scrollWidth,
      copy_buttons: d.querySelectorAll("button.copy, button.draft-banner__copy").length,
      command_lines: d.querySelectorAll("pre.cmd .cmd__line button.copy").length, past: past }});
    next(i + 1);
  }};
  frame.src = urls[i];
}}
next(0);
</script></body></html>"#,
        urls = serde_json::to_string(&urls).unwrap()
    );
    let origin = same_origin(server, probe);
    let out = assert_cmd::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=8000",
        ])
        .arg(format!(
            "--user-data-dir={}",
            work.path().join("profile").display()
        ))
        .arg(format!("--window-size={width},900"))
        .arg("--dump-dom")
        .arg(format!("{origin}probe"))
        .timeout(Duration::from_secs(120))
        .assert()
        .success();
    let dom = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let start =
        dom.find("<pre id=\"result\">").expect("the probe ran") + "<pre id=\"result\">".len();
    let json = &dom[start..start + dom[start..].find("</pre>").unwrap()];
    let measured: Vec<Value> =
        serde_json::from_str(&json.replace("&amp;", "&")).unwrap_or_else(|e| panic!("{e}: {dom}"));
    assert_eq!(measured.len(), paths.len(), "every page measured: {dom}");
    measured
}

#[test]
fn at_390_px_the_queue_a_review_page_and_a_draft_never_scroll_sideways() {
    let Some(_) = needs(Tool::Chromium) else {
        return;
    };
    let site = review_site();
    let server = Server::start(&site);
    let review = "_review/kb/getting-started/installing-the-monitoring-agent-on-every-platform";
    let paths = [
        "_review/",
        review,
        "_drafts/kb/getting-started/a-draft-nobody-submitted-with-a-long-name/",
    ];
    let phone = measure(&server, &paths, 390);
    for page in &phone {
        assert_eq!(page["width"], 390, "measured at 390 px: {page}");
        assert!(
            page["scroll_width"].as_u64().unwrap() <= 390,
            "scrolls sideways: {page}"
        );
    }
    // Without a key, one command per action the page allows (approve and reject at least),
    // a copy button each, so one paste is one command; and the two hashes.
    let lines = phone[1]["command_lines"].as_u64().unwrap();
    assert!(lines >= 2, "{}", phone[1]);
    assert!(
        phone[1]["copy_buttons"].as_u64().unwrap() >= lines + 2,
        "{}",
        phone[1]
    );
    // The banner of a draft nobody submitted: its command's copy button.
    assert_eq!(phone[2]["copy_buttons"], 1, "{}", phone[2]);
    // The same pages on a desktop are laid out wide and fit too.
    for page in measure(&server, &paths, 1280) {
        assert!(page["scroll_width"].as_u64().unwrap() <= 1280, "{page}");
    }
}
