//! Decisions in the review page (issue 34): `imprimatur serve --key` signs a reviewer's approve,
//! reject or retract from the review page's buttons, over real HTTP, through the CLI's signing
//! path; each record counts in `build`. Every forged or stale POST is refused and writes
//! nothing. One story clicks Approve in headless Chromium, driven over the DevTools protocol
//! (needs chromium; see tests/README.md), and `bench_click_to_record` (ignored; bench/click.sh)
//! times that click 20 times.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use imprimatur::trust::record::Kind;

use crate::util::cdp::Browser;
use crate::util::{needs, page_entry, TestSite, Tool};

const SUBMITTED: &str = "2026-11-20T09:00:00Z";
const RESUBMITTED: &str = "2026-11-21T11:00:00Z";
const NOW: &str = "2026-11-21T12:00:00Z";

const ONE_STEP: &str = "\
title: Knowledge Base
contributors: [group:writers]
steps:
  - name: technical
    approvers: [group:engineering]
    min_approvals: 1
";

const TWO_STEPS: &str = "\
title: Knowledge Base
contributors: [group:writers]
steps:
  - name: technical
    approvers: [group:engineering]
    min_approvals: 1
  - name: legal
    approvers: [group:legal]
    min_approvals: 1
";

/// Pages `kb/<name>` submitted by wanda, reviewed by alice (engineering) and larry (legal).
fn site_with(policy: &str, pages: &[&str]) -> TestSite {
    let mut site = TestSite::new();
    site.reviewer("wanda", &["writers"])
        .reviewer("alice", &["engineering"])
        .reviewer("larry", &["legal"])
        .policy("kb", policy);
    for name in pages {
        site.page(
            &format!("kb/{name}.md"),
            &format!("Page {name}"),
            &format!("The words of {name}.\n"),
        );
    }
    for name in pages {
        site.sign("wanda", Kind::Submit, &format!("kb/{name}"), &[], SUBMITTED);
    }
    site
}

/// A running `imprimatur serve --key keys/<reviewer>.pem`, killed when dropped.
pub(crate) struct Reviewing {
    child: Child,
    /// `http://127.0.0.1:PORT/`
    pub(crate) url: String,
    agent: ureq::Agent,
}

impl Reviewing {
    pub(crate) fn start(site: &TestSite, reviewer: Option<&str>) -> Reviewing {
        let key = reviewer.map(|r| site.path().join(site.key_file(r)));
        let extra: Vec<&std::ffi::OsStr> = match &key {
            Some(k) => vec!["--key".as_ref(), k.as_os_str()],
            None => vec![],
        };
        let (child, url, agent) = crate::serve::spawn(site, &extra);
        Reviewing { child, url, agent }
    }

    /// `http://127.0.0.1:PORT`, what a page of this server sends as its `Origin`.
    fn origin(&self) -> String {
        self.url.trim_end_matches('/').to_string()
    }

    fn get(&self, path: &str) -> (u16, String) {
        let mut resp = self
            .agent
            .get(&format!("{}{path}", self.url))
            .call()
            .expect("the server answers");
        (
            resp.status().as_u16(),
            resp.body_mut().read_to_string().unwrap(),
        )
    }

    /// (status, Location, body) of a form POST to `path`, with `Origin: origin` when given.
    fn post(&self, path: &str, origin: Option<&str>, fields: &[(String, String)]) -> Answer {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let mut req = self
            .agent
            .post(&format!("{}{path}", self.url))
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        let mut resp = req.send(body.as_bytes()).expect("the server answers");
        Answer {
            status: resp.status().as_u16(),
            location: resp
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_string()),
            body: resp.body_mut().read_to_string().unwrap(),
        }
    }

    /// The status of a POST written by hand with `Host: host` and a matching `Origin`.
    fn post_as_host(&self, host: &str, path: &str, fields: &[(String, String)]) -> u16 {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let addr = self.url.trim_start_matches("http://").trim_end_matches('/');
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("an HTTP answer: {answer:?}"))
    }
}

impl Drop for Reviewing {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Answer {
    status: u16,
    location: Option<String>,
    body: String,
}

/// The fields of the review page's form for `action` (`approve`, `reject`, ...): its hidden
/// inputs, as the browser would send them. `None` when the page has no such form.
fn form_of(html: &str, action: &str) -> Option<Vec<(String, String)>> {
    let start = html.find(&format!("class=\"decide decide-{action}\""))?;
    let form = &html[start..start + html[start..].find("</form>")?];
    let mut fields = Vec::new();
    for input in form.split("<input type=\"hidden\" ").skip(1) {
        let attr = |name: &str| -> String {
            let at = input.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
            input[at..at + input[at..].find('"').unwrap()]
                .replace("&#x2F;", "/")
                .replace("&amp;", "&")
        };
        fields.push((attr("name"), attr("value")));
    }
    Some(fields)
}

fn with(mut fields: Vec<(String, String)>, name: &str, value: &str) -> Vec<(String, String)> {
    fields.retain(|(n, _)| n != name);
    fields.push((name.to_string(), value.to_string()));
    fields
}

fn without(mut fields: Vec<(String, String)>, name: &str) -> Vec<(String, String)> {
    fields.retain(|(n, _)| n != name);
    fields
}

/// Every record file under approvals/records/.
fn records(site: &TestSite) -> usize {
    walk(&site.path().join("approvals/records"))
}

fn walk(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| {
        d.map(|e| e.unwrap().path())
            .map(|p| if p.is_dir() { walk(&p) } else { 1 })
            .sum()
    })
}

#[test]
fn approve_reject_and_retract_in_the_review_page_each_write_a_record_the_build_counts() {
    let site = site_with(ONE_STEP, &["a", "b", "c"]);
    let alice = Reviewing::start(&site, Some("alice"));
    let wanda = Reviewing::start(&site, Some("wanda"));

    // alice approves kb/a: 303 back to the review page, which shows the approval at once.
    let (_, page) = alice.get("_review/kb/a");
    let approve = form_of(&page, "approve").expect("alice is offered Approve");
    let answer = alice.post("_decide/kb/a", Some(&alice.origin()), &approve);
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(answer.location.as_deref(), Some("/_review/kb/a"));
    let (_, after) = alice.get("_review/kb/a");
    assert!(after.contains("approve (technical)"), "{after}");
    assert!(after.contains("<dd>published</dd>"), "{after}");
    assert!(form_of(&after, "approve").is_none(), "{after}");

    // alice rejects kb/b with a comment; without one, the policy refuses it.
    let (_, page) = alice.get("_review/kb/b");
    let reject = form_of(&page, "reject").expect("alice is offered Reject");
    let before = records(&site);
    let answer = alice.post("_decide/kb/b", Some(&alice.origin()), &reject);
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert!(answer.body.contains("needs a comment"), "{}", answer.body);
    assert_eq!(records(&site), before);
    let answer = alice.post(
        "_decide/kb/b",
        Some(&alice.origin()),
        &with(reject, "comment", "Step 3 is wrong"),
    );
    assert_eq!(answer.status, 303, "{}", answer.body);
    let (_, after) = alice.get("_review/kb/b");
    assert!(after.contains("Step 3 is wrong"), "{after}");

    // wanda, who submitted kb/c, retracts it; she is offered no Approve (her own version).
    let (_, page) = wanda.get("_review/kb/c");
    assert!(form_of(&page, "approve").is_none(), "{page}");
    let retract = form_of(&page, "retract").expect("the submitter may retract");
    let answer = wanda.post("_decide/kb/c", Some(&wanda.origin()), &retract);
    assert_eq!(answer.status, 303, "{}", answer.body);
    drop((alice, wanda));

    site.imprimatur(&["verify"]).at(NOW).run();
    site.imprimatur(&["build"]).at(NOW).run();
    let status = site.status_json(NOW);
    assert_eq!(page_entry(&status, "kb/a")["status"], "published");
    assert_eq!(page_entry(&status, "kb/b")["status"], "rejected");
    assert_eq!(page_entry(&status, "kb/c")["current_state"], "retracted");
    assert!(site.exists("output/kb/a/index.html"));
    assert!(!site.exists("output/kb/b/index.html"));
}

#[test]
fn forged_stale_or_unauthorized_decisions_are_refused_and_write_nothing() {
    let mut site = site_with(TWO_STEPS, &["a"]);
    let alice = Reviewing::start(&site, Some("alice"));
    let (_, page) = alice.get("_review/kb/a");
    let approve = form_of(&page, "approve").expect("alice is offered Approve");
    // The legal step is not alice's: no button for it.
    assert!(page.contains("id=\"approve-technical\""), "{page}");
    assert!(!page.contains("approve-legal"), "{page}");
    let origin = alice.origin();
    let before = records(&site);
    let refused = |answer: Answer, status: u16, why: &str| {
        assert_eq!(answer.status, status, "{}", answer.body);
        assert!(answer.body.contains(why), "{why} in {}", answer.body);
        assert_eq!(records(&site), before, "a refused decision wrote a record");
    };
    refused(
        alice.post(
            "_decide/kb/a",
            Some(&origin),
            &without(approve.clone(), "token"),
        ),
        403,
        "no valid token",
    );
    refused(
        alice.post(
            "_decide/kb/a",
            Some(&origin),
            &with(approve.clone(), "token", "AAAA"),
        ),
        403,
        "no valid token",
    );
    refused(
        alice.post("_decide/kb/a", Some("http://evil.example"), &approve),
        403,
        "came from http://evil.example",
    );
    refused(
        alice.post("_decide/kb/a", None, &approve),
        403,
        "names no Origin",
    );
    // A token for kb/a does not sign anything about another page.
    refused(
        alice.post("_decide/kb/other", Some(&origin), &approve),
        403,
        "no valid token",
    );
    // The same token, for the step that is not alice's: the CLI's refusal, word for word.
    refused(
        alice.post(
            "_decide/kb/a",
            Some(&origin),
            &with(approve.clone(), "step", "legal"),
        ),
        403,
        "the build would not count this approve",
    );
    let port = origin.rsplit(':').next().unwrap();
    assert_eq!(
        alice.post_as_host(&format!("evil.example:{port}"), "/_decide/kb/a", &approve),
        421
    );
    assert_eq!(records(&site), before);
    let (status, body) = alice.get("_decide/kb/a");
    assert_eq!(status, 405, "{body}");
    assert_eq!(records(&site), before);

    // The writer submits an edit: the version alice opened is no longer the one in review.
    site.page("kb/a.md", "Page a", "Edited words.\n");
    site.sign("wanda", Kind::Submit, "kb/a", &[], RESUBMITTED);
    let before = records(&site);
    let answer = alice.post("_decide/kb/a", Some(&origin), &approve);
    assert_eq!(answer.status, 409, "{}", answer.body);
    assert!(answer.body.contains("the page changed since you opened it"));
    assert!(answer.body.contains("http-equiv=\"refresh\""));
    assert_eq!(records(&site), before);

    // The same request, from the page as it is now, is signed.
    let fresh = (0..100)
        .find_map(|_| {
            let (_, page) = alice.get("_review/kb/a");
            let form = form_of(&page, "approve")?;
            let version = site.version_of("kb/a").to_string();
            let shows_edit = form.iter().any(|(n, v)| n == "version" && *v == version);
            if !shows_edit {
                std::thread::sleep(Duration::from_millis(50));
            }
            shows_edit.then_some(form)
        })
        .expect("the review page shows the new version");
    let answer = alice.post("_decide/kb/a", Some(&origin), &fresh);
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(records(&site), before + 1);
}

#[test]
fn without_a_key_the_review_page_prints_the_commands_and_signs_nothing() {
    let site = site_with(ONE_STEP, &["a"]);
    let server = Reviewing::start(&site, None);
    let (_, page) = server.get("_review/kb/a");
    let version = site.version_of("kb/a").to_string();
    assert!(
        page.contains(&format!(
            "imprimatur approve kb/a --step technical --version {version} --key YOUR-KEY.pem"
        )),
        "{page}"
    );
    assert!(page.contains("class=\"copy\""), "{page}");
    assert!(form_of(&page, "approve").is_none());
    let before = records(&site);
    let answer = server.post(
        "_decide/kb/a",
        Some(&server.origin()),
        &[("action".into(), "approve".into())],
    );
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert!(answer.body.contains("signs nothing"));
    assert_eq!(records(&site), before);
}

#[test]
fn a_page_nobody_submitted_offers_submit_for_review_to_its_writer() {
    let mut site = site_with(ONE_STEP, &["a"]);
    site.page("kb/new.md", "A new page", "Nobody submitted this.\n");
    let wanda = Reviewing::start(&site, Some("wanda"));
    let alice = Reviewing::start(&site, Some("alice"));
    let anyone = Reviewing::start(&site, None);

    // The drafts banner of a page in review says "Review"; of one nobody submitted, "Submit".
    let (_, draft) = wanda.get("_drafts/kb/new/");
    assert!(draft.contains("Submit for review:"), "{draft}");
    assert!(
        draft.contains("_review/kb/new\">submit it from its review page</a>"),
        "{draft}"
    );
    let (_, in_review) = wanda.get("_drafts/kb/a/");
    assert!(
        in_review.contains(">Review this version</a>"),
        "{in_review}"
    );

    // Without a key: the command; alice, no contributor: no button; wanda: the button.
    let (_, page) = anyone.get("_review/kb/new");
    assert!(
        page.contains("imprimatur submit kb/new --key YOUR-KEY.pem"),
        "{page}"
    );
    let (_, page) = alice.get("_review/kb/new");
    assert!(form_of(&page, "submit").is_none(), "{page}");
    let (_, page) = wanda.get("_review/kb/new");
    let submit = form_of(&page, "submit").expect("the writer is offered Submit");
    let answer = wanda.post(
        "_decide/kb/new",
        Some(&wanda.origin()),
        &with(submit, "comment", "Ready"),
    );
    assert_eq!(answer.status, 303, "{}", answer.body);
    let (_, after) = wanda.get("_review/kb/new");
    assert!(after.contains("<dd>pending</dd>"), "{after}");
    assert!(form_of(&after, "submit").is_none(), "{after}");
    drop((wanda, alice, anyone));
    assert_eq!(
        page_entry(&site.status_json(NOW), "kb/new")["status"],
        "pending"
    );
}

const MANUAL_PUBLISH: &str = "\
title: Knowledge Base
contributors: [group:writers]
managers: [carol]
auto_publish: false
steps:
  - name: technical
    approvers: [group:engineering]
    min_approvals: 1
";

#[test]
fn a_manager_approves_and_publishes_publishes_unpublishes_and_assigns_from_the_page() {
    let mut site = TestSite::new();
    site.reviewer("wanda", &["writers"])
        .reviewer("alice", &["engineering"])
        .reviewer("carol", &[])
        .policy("kb", MANUAL_PUBLISH);
    for name in ["a", "b", "c"] {
        site.page(
            &format!("kb/{name}.md"),
            name,
            &format!("Words of {name}.\n"),
        );
    }
    for name in ["a", "b", "c"] {
        site.sign("wanda", Kind::Submit, &format!("kb/{name}"), &[], SUBMITTED);
    }
    let carol = Reviewing::start(&site, Some("carol"));
    let alice = Reviewing::start(&site, Some("alice"));
    let post = |server: &Reviewing, page: &str, action: &str, extra: &[(&str, &str)]| {
        let (_, html) = server.get(&format!("_review/{page}"));
        let mut form =
            form_of(&html, action).unwrap_or_else(|| panic!("no {action} on {page}:\n{html}"));
        for (name, value) in extra {
            form = with(form, name, value);
        }
        let answer = server.post(&format!("_decide/{page}"), Some(&server.origin()), &form);
        assert_eq!(answer.status, 303, "{action} {page}: {}", answer.body);
    };

    // alice may approve, but neither publish nor assign: those buttons are carol's alone.
    let (_, html) = alice.get("_review/kb/a");
    assert!(form_of(&html, "approve").is_some(), "{html}");
    for action in ["approve-publish", "assign", "retract"] {
        assert!(
            form_of(&html, action).is_none(),
            "{action} offered to alice"
        );
    }
    post(&carol, "kb/a", "approve-publish", &[]);
    post(&alice, "kb/b", "approve", &[]);
    let status = site.status_json(NOW);
    assert_eq!(page_entry(&status, "kb/a")["status"], "published");
    assert_eq!(page_entry(&status, "kb/b")["status"], "approved");
    post(&carol, "kb/b", "publish", &[]);
    post(&carol, "kb/a", "unpublish", &[("comment", "Out of date")]);
    post(&carol, "kb/c", "assign", &[("assignees", "alice")]);
    drop((carol, alice));

    site.imprimatur(&["verify"]).at(NOW).run();
    let status = site.status_json(NOW);
    assert_eq!(page_entry(&status, "kb/a")["status"], "unpublished");
    assert_eq!(page_entry(&status, "kb/b")["status"], "published");
    assert_eq!(
        page_entry(&status, "kb/c")["waiting_on"],
        serde_json::json!(["alice"])
    );
}

const SHOWS_APPROVAL: &str = "location.pathname.startsWith('/_review/') && !document.getElementById('approve-technical') && document.body.innerText.includes('approve (technical)')";

/// Opens the review page of `page`, clicks Approve, and waits until the page shows the
/// approval; returns the time from the click to that.
fn click_approve(browser: &mut Browser, server: &Reviewing, page: &str) -> Duration {
    browser.open(&format!("{}_review/{page}", server.url));
    browser.wait_until(
        "!!document.getElementById('approve-technical') && document.readyState === 'complete'",
        "the Approve button",
    );
    let clicked = Instant::now();
    browser.eval("document.getElementById('approve-technical').click(); true");
    browser.wait_until(SHOWS_APPROVAL, "the approval");
    clicked.elapsed()
}

#[test]
fn clicking_approve_in_headless_chromium_signs_the_version_and_the_page_shows_it() {
    let Some(chromium) = needs(Tool::Chromium) else {
        return;
    };
    let site = site_with(ONE_STEP, &["a"]);
    let server = Reviewing::start(&site, Some("alice"));
    let mut browser = Browser::start(&chromium);
    let before = records(&site);
    click_approve(&mut browser, &server, "kb/a");
    assert_eq!(records(&site), before + 1);
    let text = browser.eval("document.body.innerText");
    assert!(text.as_str().unwrap().contains("published"), "{text}");
    drop((browser, server));
    site.imprimatur(&["build"]).at(NOW).run();
    assert_eq!(
        page_entry(&site.status_json(NOW), "kb/a")["status"],
        "published"
    );
    assert!(site.exists("output/kb/a/index.html"));
}

/// `bench/click.sh`: 20 clicks on Approve, each on its own page, from the click to the review
/// page showing the written, verified (counted) record; prints every time and the median.
#[test]
#[ignore = "a benchmark: bench/click.sh runs it"]
fn bench_click_to_record() {
    let Some(chromium) = needs(Tool::Chromium) else {
        return;
    };
    let names: Vec<String> = (0..20).map(|n| format!("p{n:02}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let site = site_with(ONE_STEP, &names);
    let server = Reviewing::start(&site, Some("alice"));
    let mut browser = Browser::start(&chromium);
    let mut times: Vec<Duration> = names
        .iter()
        .map(|name| click_approve(&mut browser, &server, &format!("kb/{name}")))
        .collect();
    assert_eq!(records(&site), 40);
    for (name, t) in names.iter().zip(&times) {
        println!("kb/{name}: {:.1} ms", t.as_secs_f64() * 1000.0);
    }
    println!(
        "DevTools commands unanswered and sent again: {}",
        browser.unanswered
    );
    times.sort();
    let median = (times[9] + times[10]) / 2;
    println!(
        "click to written, verified record: median of 20 = {:.1} ms (min {:.1}, max {:.1})",
        median.as_secs_f64() * 1000.0,
        times[0].as_secs_f64() * 1000.0,
        times[19].as_secs_f64() * 1000.0
    );
}
