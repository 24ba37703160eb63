//! `imprimatur notify`: notifications reach people through real servers on loopback — an SMTP
//! server (Python's aiosmtpd) and HTTP receivers started by the test that check the webhook's
//! HMAC — each exactly once across runs, through channels that fail, time out, or die mid-run.
//!
//! The tests that send mail say so in their name (`…_with_aiosmtpd`, and `…_and_openssl` when
//! they also make a certificate). They ask `util::needs` first: skipped with one line on stderr
//! when the tool is missing, failed under `IMPRIMATUR_REQUIRE_TOOLS=1` (`bash .ci/run`). No
//! test installs anything.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hmac::{KeyInit, Mac};
use imprimatur::trust::record::Kind;
use serde_json::Value;

use crate::serve::free_port;
use crate::util::{needs, TestSite, Tool};

const DAY0: &str = "2026-11-16T09:00:00Z";
const DAY1: &str = "2026-11-17T09:00:00Z";
const DAY2: &str = "2026-11-18T09:00:00Z";
const DAY3: &str = "2026-11-19T09:00:00Z";
const DAY4: &str = "2026-11-20T09:00:00Z";
const SECRET: &str = "s3cret-for-the-hook";

const POLICY: &str = "\
title: Knowledge Base
contributors: [group:writers]
managers: [carol]
steps:
  - name: technical
    approvers: [group:engineering]
    min_approvals: 1
  - name: legal
    approvers: [group:legal]
    min_approvals: 1
";

// --- an HTTP receiver -----------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
enum Answer {
    Ok,
    Fail,
    /// Reads the request, never answers (until told otherwise; then drops the connection).
    Hang,
    /// Answers 200 after this many milliseconds.
    Slow(u64),
}

#[derive(Debug, Clone)]
struct Received {
    headers: BTreeMap<String, String>,
    body: Value,
}

#[derive(Default)]
struct HookState {
    answer: Option<Answer>,
    attempts: usize,
    hanging: usize,
    /// Requests answered 200: delivered.
    acked: Vec<Received>,
    bad_signatures: usize,
}

/// An HTTP server on 127.0.0.1 that takes POSTs; with a secret it checks
/// `X-Imprimatur-Signature` as docs/notifications.md tells receivers to, and refuses (401)
/// what does not verify.
struct Hook {
    url: String,
    state: Arc<Mutex<HookState>>,
}

impl Hook {
    fn start(secret: Option<&str>) -> Hook {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(HookState {
            answer: Some(Answer::Ok),
            ..HookState::default()
        }));
        let shared = state.clone();
        let secret = secret.map(String::from);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (state, secret) = (shared.clone(), secret.clone());
                std::thread::spawn(move || answer(stream, &state, secret.as_deref()));
            }
        });
        Hook { url, state }
    }

    fn set(&self, answer: Answer) {
        self.state.lock().unwrap().answer = Some(answer);
    }

    fn acked(&self) -> Vec<Received> {
        self.state.lock().unwrap().acked.clone()
    }

    fn attempts(&self) -> usize {
        self.state.lock().unwrap().attempts
    }

    fn events(&self) -> Vec<String> {
        self.acked()
            .iter()
            .map(|r| {
                format!(
                    "{} {}",
                    r.body["event"].as_str().unwrap(),
                    r.body["page"].as_str().unwrap()
                )
            })
            .collect()
    }
}

fn answer(mut stream: TcpStream, state: &Mutex<HookState>, secret: Option<&str>) {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let headers: BTreeMap<String, String> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let body = buf[head_end..head_end + len].to_vec();
    let mode = {
        let mut s = state.lock().unwrap();
        s.attempts += 1;
        s.answer.unwrap_or(Answer::Ok)
    };
    let reply = |stream: &mut TcpStream, status: &str| {
        let _ = stream.write_all(
            format!("HTTP/1.1 {status}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                .as_bytes(),
        );
    };
    match mode {
        Answer::Fail => return reply(&mut stream, "500 Internal Server Error"),
        Answer::Hang => {
            state.lock().unwrap().hanging += 1;
            let start = Instant::now();
            while state.lock().unwrap().answer == Some(Answer::Hang)
                && start.elapsed() < Duration::from_secs(20)
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            return; // never answered: not delivered
        }
        Answer::Slow(ms) => std::thread::sleep(Duration::from_millis(ms)),
        Answer::Ok => {}
    }
    if let Some(secret) = secret {
        if !verifies(secret, &headers, &body) {
            state.lock().unwrap().bad_signatures += 1;
            return reply(&mut stream, "401 Unauthorized");
        }
    }
    let body: Value = serde_json::from_slice(&body).expect("a JSON body");
    // Recorded before the answer: once the sender sees 200, the delivery exists here.
    state.lock().unwrap().acked.push(Received { headers, body });
    reply(&mut stream, "200 OK");
}

/// What docs/notifications.md tells a receiver to do: HMAC-SHA256 over `<timestamp>.<body>`
/// with the shared secret, compared with `X-Imprimatur-Signature`, and a fresh timestamp.
fn verifies(secret: &str, headers: &BTreeMap<String, String>, body: &[u8]) -> bool {
    let (Some(ts), Some(sig)) = (
        headers.get("x-imprimatur-timestamp"),
        headers.get("x-imprimatur-signature"),
    ) else {
        return false;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let fresh = ts.parse::<u64>().is_ok_and(|t| t.abs_diff(now) <= 300);
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(ts.as_bytes());
    mac.update(b".");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    fresh && sig == &format!("sha256={hex}")
}

// --- an SMTP server ---------------------------------------------------------------------------

const SMTP_SERVER: &str = r#"
import os, ssl, sys, time
from aiosmtpd.controller import Controller

port, out = int(sys.argv[1]), sys.argv[2]

class Keep:
    async def handle_DATA(self, server, session, envelope):
        name = os.path.join(out, "%d" % time.time_ns())
        with open(name + ".tmp", "wb") as f:
            f.write(b"X-Rcpt-To: " + ",".join(envelope.rcpt_tos).encode() + b"\r\n")
            login = session.auth_data.login if session.authenticated else b"-"
            f.write(b"X-Logged-In-As: " + login + b"\r\n")
            f.write(envelope.content)
        os.rename(name + ".tmp", name + ".eml")
        return "250 OK"

params = {}
if len(sys.argv) > 3:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(sys.argv[3], sys.argv[4])
    params = dict(tls_context=ctx, require_starttls=True)
# With SMTP_USER and SMTP_PASSWORD set, mail is taken only after AUTH with them (and only
# over TLS: aiosmtpd refuses AUTH in clear text).
if os.environ.get("SMTP_USER"):
    from aiosmtpd.smtp import AuthResult, LoginPassword
    user, password = os.environ["SMTP_USER"].encode(), os.environ["SMTP_PASSWORD"].encode()
    def check(server, session, envelope, mechanism, data):
        ok = isinstance(data, LoginPassword) and data.login == user and data.password == password
        return AuthResult(success=ok, handled=False, auth_data=data)
    params.update(authenticator=check, auth_required=True, auth_require_tls=True)
c = Controller(Keep(), hostname="127.0.0.1", port=port, **params)
c.start()
print("ready", flush=True)
while True:
    time.sleep(3600)
"#;

struct Smtp {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

struct Mail {
    rcpt: String,
    raw: String,
}

impl Mail {
    /// A header's value, unfolded.
    fn header(&self, name: &str) -> String {
        self.raw
            .replace("\r\n ", " ")
            .replace("\r\n\t", " ")
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or_default()
            .to_string()
    }
    /// The text, soft line breaks of quoted-printable undone.
    fn text(&self) -> String {
        self.raw.replace("=\r\n", "").replace("=3D", "=")
    }
}

impl Smtp {
    fn start(port: u16, tls: Option<(&PathBuf, &PathBuf)>) -> Smtp {
        Smtp::start_with_login(port, tls, None)
    }

    /// A server that takes mail only from a client logged in as `login` (user, password).
    fn start_with_login(
        port: u16,
        tls: Option<(&PathBuf, &PathBuf)>,
        login: Option<(&str, &str)>,
    ) -> Smtp {
        let python = needs(Tool::Aiosmtpd).expect("python3 with aiosmtpd");
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(python);
        cmd.args(["-c", SMTP_SERVER, &port.to_string()])
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .env_remove("SMTP_USER");
        if let Some((cert, key)) = tls {
            cmd.arg(cert).arg(key);
        }
        if let Some((user, password)) = login {
            cmd.env("SMTP_USER", user).env("SMTP_PASSWORD", password);
        }
        let mut child = cmd.spawn().expect("python3 runs");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "the SMTP server started");
        Smtp { child, dir, port }
    }

    fn mails(&self) -> Vec<Mail> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|f| {
                let raw = std::fs::read_to_string(f).unwrap();
                let rcpt = raw.lines().next().unwrap()["X-Rcpt-To: ".len()..].to_string();
                Mail { rcpt, raw }
            })
            .collect()
    }

    /// `rcpt subject` of every message received.
    fn summary(&self) -> Vec<String> {
        self.mails()
            .iter()
            .map(|m| format!("{} {}", m.rcpt, m.header("Subject")))
            .collect()
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// --- the site -------------------------------------------------------------------------------

fn site_with(notifications: &str) -> TestSite {
    let mut site = TestSite::new();
    site.reviewer("wanda", &["writers"])
        .reviewer("alice", &["engineering"])
        .reviewer("dave", &["legal"])
        .reviewer("carol", &["managers"])
        .policy("kb", POLICY)
        .page("kb/install.md", "Install the agent", "Words.\n");
    site.file(
        "imprimatur.yaml",
        format!("title: Example Help Center\nbase_url: https://help.example.com/\nnotifications:\n{notifications}"),
    );
    site
}

fn email(port: u16) -> String {
    format!("  email: {{smtp: '127.0.0.1:{port}', from: 'Docs <docs@example.com>', tls: none}}\n")
}

const HOOK: &str = "  webhook: {url_env: DOCS_HOOK_URL, secret_env: DOCS_HOOK_SECRET}\n";
const FAST: &str = "  tries: 3\n  backoff_ms: 50\n  timeout_ms: 3000\n";

fn hook_env(hook: &Hook) -> Vec<(String, String)> {
    vec![
        ("DOCS_HOOK_URL".into(), hook.url.clone()),
        ("DOCS_HOOK_SECRET".into(), SECRET.into()),
    ]
}

fn notify(site: &TestSite, now: &str, env: &[(String, String)], code: i32) -> String {
    let out = site
        .imprimatur(&["notify"])
        .at(now)
        .env(env)
        .exits(code)
        .run();
    String::from_utf8(out.stdout).unwrap()
}

fn ledger(site: &TestSite) -> Value {
    serde_json::from_str(&site.read(".imprimatur/notified.json")).expect("the ledger is JSON")
}

/// The ledger's sent (not baseline) deliveries as `route to event page`.
fn ledger_sent(site: &TestSite) -> Vec<String> {
    ledger(site)["delivered"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["how"] != "baseline")
        .map(|e| {
            format!(
                "{} {} {} {}",
                e["route"].as_str().unwrap(),
                e["to"].as_str().unwrap_or("-"),
                e["event"].as_str().unwrap(),
                e["page"].as_str().unwrap()
            )
        })
        .collect()
}

fn submit(site: &TestSite, page: &str, at: &str) {
    site.sign("wanda", Kind::Submit, page, &[], at);
}

// --- the stories ----------------------------------------------------------------------------

#[test]
fn a_review_goes_out_event_by_event_by_email_and_signed_webhook_each_once_with_aiosmtpd() {
    let Some(_) = needs(Tool::Aiosmtpd) else {
        return;
    };
    let smtp = Smtp::start(free_port(), None);
    let hook = Hook::start(Some(SECRET));
    let site = site_with(&format!("{}{HOOK}{FAST}", email(smtp.port)));
    let env = hook_env(&hook);

    // The first run starts the routes: nothing has happened yet, nothing goes out.
    let out = notify(&site, DAY0, &env, 0);
    assert!(out.contains("new route email"), "{out}");
    assert!(smtp.mails().is_empty() && hook.acked().is_empty());

    submit(&site, "kb/install", DAY1);
    let out = notify(&site, DAY1, &env, 0);
    assert!(
        out.contains("sent       email   alice <alice@example.com>: review_requested kb/install"),
        "{out}"
    );
    assert_eq!(smtp.summary(), ["alice@example.com [Example Help Center] Review requested: Install the agent (kb/install)"]);
    let mail = &smtp.mails()[0];
    assert!(mail.raw.contains("multipart/alternative"), "{}", mail.raw);
    assert!(mail.raw.contains("text/plain") && mail.raw.contains("text/html"));
    // No review_url in this site: the mail says how to open the review, and names no
    // loopback address (it would point at the reader's own machine).
    assert!(
        mail.text()
            .contains("Review:  open it with `imprimatur serve` (then /_review/kb/install)"),
        "{}",
        mail.raw
    );
    assert!(!mail.raw.contains("127.0.0.1:1111"), "{}", mail.raw);
    assert_eq!(mail.header("From"), "Docs <docs@example.com>");
    assert_eq!(hook.events(), ["review_requested kb/install"]);
    let got = &hook.acked()[0];
    assert_eq!(got.headers["x-imprimatur-event"], "review_requested");
    assert_eq!(
        got.headers["x-imprimatur-delivery"],
        got.body["id"].as_str().unwrap()
    );
    assert_eq!(got.body["step"], "technical");
    assert_eq!(got.body["space"], "kb");
    assert_eq!(got.body["to"][0]["reviewer"], "alice");
    assert_eq!(got.body["review_url"], serde_json::Value::Null);
    assert_eq!(hook.state.lock().unwrap().bad_signatures, 0);

    // Again, with nothing new: nothing goes out.
    let out = notify(&site, DAY1, &env, 0);
    assert!(out.contains("0 sent, 0 failed"), "{out}");
    assert_eq!(smtp.mails().len(), 1);
    assert_eq!(hook.acked().len(), 1);

    // The step passes: the author and the next step hear of it; the next step is asked.
    site.sign(
        "alice",
        Kind::Approve,
        "kb/install",
        &["--step", "technical"],
        DAY2,
    );
    notify(&site, DAY2, &env, 0);
    let mut mails = smtp.summary()[1..].to_vec();
    mails.sort();
    assert_eq!(
        mails,
        [
            "dave@example.com [Example Help Center] Review requested: Install the agent (kb/install)",
            "dave@example.com [Example Help Center] Step passed: Install the agent (kb/install)",
            "wanda@example.com [Example Help Center] Step passed: Install the agent (kb/install)",
        ]
    );

    // Approved and live: the author hears it is published.
    site.sign(
        "dave",
        Kind::Approve,
        "kb/install",
        &["--step", "legal"],
        DAY3,
    );
    notify(&site, DAY3, &env, 0);
    notify(&site, DAY4, &env, 0);
    assert_eq!(
        smtp.summary()[4..],
        ["wanda@example.com [Example Help Center] Published: Install the agent (kb/install)"]
    );
    let events = hook.events();
    assert_eq!(
        events,
        [
            "review_requested kb/install",
            "step_passed kb/install",
            "review_requested kb/install",
            "published kb/install",
        ]
    );
    let ids: BTreeSet<String> = hook
        .acked()
        .iter()
        .map(|r| r.body["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), events.len(), "each event once");
    assert_eq!(
        ledger_sent(&site).len(),
        smtp.mails().len() + hook.acked().len()
    );
}

#[test]
fn a_rejection_reaches_the_author_with_the_comment_and_obsolete_requests_are_cancelled_with_aiosmtpd(
) {
    let Some(_) = needs(Tool::Aiosmtpd) else {
        return;
    };
    let smtp = Smtp::start(free_port(), None);
    let site = site_with(&format!("{}{FAST}", email(smtp.port)));
    notify(&site, DAY0, &[], 0);

    submit(&site, "kb/install", DAY1);
    notify(&site, DAY1, &[], 0);
    site.sign(
        "alice",
        Kind::Reject,
        "kb/install",
        &["--step", "technical", "--comment", "The port is wrong"],
        DAY2,
    );
    notify(&site, DAY2, &[], 0);
    let rejected = smtp.mails().pop().unwrap();
    assert_eq!(rejected.rcpt, "wanda@example.com");
    assert!(rejected
        .header("Subject")
        .contains("Rejected: Install the agent"));
    assert!(
        rejected.text().contains("The port is wrong"),
        "{}",
        rejected.raw
    );
    let before = smtp.mails().len();

    // A new version replaces the one asked for: alice hears the old request is void and
    // gets the new one. Then wanda retracts it: the new request is cancelled too.
    let mut site = site;
    site.page("kb/install.md", "Install the agent", "Better words.\n");
    submit(&site, "kb/install", DAY3);
    notify(&site, DAY3, &[], 0);
    site.page("kb/install.md", "Install the agent", "Even better words.\n");
    submit(&site, "kb/install", DAY3.replace("09:", "10:").as_str());
    notify(&site, &DAY3.replace("09:", "10:"), &[], 0);
    site.sign("wanda", Kind::Retract, "kb/install", &[], DAY4);
    notify(&site, DAY4, &[], 0);
    notify(&site, DAY4, &[], 0);
    let after: Vec<String> = smtp.summary()[before..].to_vec();
    assert_eq!(
        after,
        [
            "alice@example.com [Example Help Center] Review requested: Install the agent (kb/install)",
            "alice@example.com [Example Help Center] Review request cancelled: Install the agent (kb/install)",
            "alice@example.com [Example Help Center] Review requested: Install the agent (kb/install)",
            "alice@example.com [Example Help Center] Review request cancelled: Install the agent (kb/install)",
        ],
        "the resumed review asks alice again; each obsolete request is cancelled once"
    );
    let cancelled = &smtp.mails()[before + 3];
    assert!(
        cancelled.text().contains("the version was retracted"),
        "{}",
        cancelled.raw
    );
    assert!(smtp.mails()[before + 1]
        .text()
        .contains("a newer version was submitted"));
}

#[test]
fn a_lost_ledger_sends_one_digest_of_what_waits_and_never_the_old_events_with_aiosmtpd() {
    let Some(_) = needs(Tool::Aiosmtpd) else {
        return;
    };
    let smtp = Smtp::start(free_port(), None);
    let hook = Hook::start(Some(SECRET));
    let mut site = site_with(&format!("{}{HOOK}{FAST}", email(smtp.port)));
    site.page("kb/live.md", "Live page", "Live.\n")
        .page("kb/second.md", "Second", "Two.\n");
    // A page published long ago, and two that wait on alice now.
    submit(&site, "kb/live", DAY0);
    site.sign(
        "alice",
        Kind::Approve,
        "kb/live",
        &["--step", "technical"],
        DAY0,
    );
    site.sign("dave", Kind::Approve, "kb/live", &["--step", "legal"], DAY0);
    submit(&site, "kb/second", DAY2);
    submit(&site, "kb/install", DAY1);
    let env = hook_env(&hook);

    let out = notify(&site, DAY4, &env, 0);
    assert!(out.contains("marked seen (baseline)"), "{out}");
    assert_eq!(
        smtp.summary(),
        ["alice@example.com [Example Help Center] 2 item(s) wait on you"],
        "one digest for alice; nothing to wanda about the old publication or step"
    );
    let digest = smtp.mails()[0].text();
    let (first, second) = (
        digest.find("kb/install").unwrap(),
        digest.find("kb/second").unwrap(),
    );
    assert!(first < second, "oldest first: {digest}");
    assert!(
        hook.acked().is_empty(),
        "the webhook gets no flood of the past"
    );
    let entries = ledger(&site)["delivered"].as_array().unwrap().len();
    assert!(entries >= 5, "the past is marked seen: {entries}");

    // The next run sends nothing more; a later event goes out normally.
    notify(&site, DAY4, &env, 0);
    assert_eq!(smtp.mails().len(), 1);
    site.sign(
        "alice",
        Kind::Approve,
        "kb/install",
        &["--step", "technical"],
        DAY4,
    );
    notify(&site, DAY4, &env, 0);
    assert!(smtp
        .summary()
        .iter()
        .any(|m| m.starts_with("dave@example.com") && m.contains("Review requested")));
    assert!(hook
        .events()
        .contains(&"step_passed kb/install".to_string()));
}

#[test]
fn a_daily_digest_goes_once_a_day_per_person_and_the_webhook_still_gets_every_event_with_aiosmtpd()
{
    let Some(_) = needs(Tool::Aiosmtpd) else {
        return;
    };
    let smtp = Smtp::start(free_port(), None);
    let hook = Hook::start(Some(SECRET));
    let mut site = site_with(&format!(
        "{}{HOOK}{FAST}  digest: daily\n",
        email(smtp.port)
    ));
    site.page("kb/second.md", "Second", "Two.\n");
    let env = hook_env(&hook);
    notify(&site, DAY0, &env, 0);

    submit(&site, "kb/install", DAY1);
    notify(&site, DAY1, &env, 0);
    submit(&site, "kb/second", "2026-11-17T10:00:00Z");
    notify(&site, "2026-11-17T10:00:00Z", &env, 0);
    assert_eq!(
        smtp.summary(),
        ["alice@example.com [Example Help Center] Digest: 1 new, 0 still waiting"]
    );
    assert_eq!(
        hook.events(),
        ["review_requested kb/install", "review_requested kb/second"]
    );

    // The next day: one digest with the new request and the one still waiting.
    let out = notify(&site, DAY2, &env, 0);
    assert!(out.contains("digest: review_requested kb/second"), "{out}");
    assert_eq!(
        smtp.summary()[1],
        "alice@example.com [Example Help Center] Digest: 1 new, 1 still waiting"
    );
    let text = smtp.mails()[1].text();
    assert!(text.find("New since your last digest").unwrap() < text.find("kb/second").unwrap());
    assert!(text.find("Still waiting on you").unwrap() < text.find("kb/install").unwrap());
    notify(&site, DAY2, &env, 0);
    assert_eq!(smtp.mails().len(), 2);
    assert_eq!(ledger(&site)["digests"][0]["day"], "2026-11-18");
}

#[test]
fn a_channel_that_is_down_is_retried_next_run_while_the_others_go_out_with_aiosmtpd() {
    let Some(_) = needs(Tool::Aiosmtpd) else {
        return;
    };
    let port = free_port();
    let hook = Hook::start(Some(SECRET));
    let site = site_with(&format!("{}{HOOK}{FAST}", email(port)));
    let env = hook_env(&hook);
    notify(&site, DAY0, &env, 0);
    submit(&site, "kb/install", DAY1);

    // No SMTP server: e-mail fails after its tries, exit 4; the webhook goes out.
    let out = notify(&site, DAY1, &env, 4);
    assert!(
        out.contains("failed     email   alice <alice@example.com>"),
        "{out}"
    );
    assert!(out.contains("(3 tries)"), "{out}");
    assert_eq!(hook.events(), ["review_requested kb/install"]);
    assert_eq!(
        ledger_sent(&site),
        ["webhook:DOCS_HOOK_URL - review_requested kb/install"]
    );

    // The server is back: only the e-mail goes, once.
    let smtp = Smtp::start(port, None);
    notify(&site, DAY1, &env, 0);
    notify(&site, DAY2, &env, 0);
    assert_eq!(smtp.mails().len(), 1);
    assert_eq!(hook.acked().len(), 1);
}

#[test]
fn a_webhook_answering_500_or_never_answering_fails_the_run_and_delivers_once_later() {
    let hook = Hook::start(Some(SECRET));
    let site = site_with(&format!(
        "{HOOK}  tries: 3\n  backoff_ms: 20\n  timeout_ms: 400\n"
    ));
    let env = hook_env(&hook);
    notify(&site, DAY0, &env, 0);
    submit(&site, "kb/install", DAY1);

    hook.set(Answer::Fail);
    let out = notify(&site, DAY1, &env, 4);
    assert!(
        out.contains("$DOCS_HOOK_URL answered HTTP 500 (3 tries)"),
        "{out}"
    );
    assert_eq!(hook.attempts(), 3, "retried with backoff within the run");
    assert!(
        !out.contains(&hook.url),
        "URLs are secrets; never printed: {out}"
    );

    hook.set(Answer::Hang);
    let started = Instant::now();
    let out = notify(&site, DAY1, &env, 4);
    assert!(out.contains("did not answer within 400 ms"), "{out}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "bounded by the timeout"
    );
    assert!(ledger_sent(&site).is_empty());

    hook.set(Answer::Ok);
    notify(&site, DAY1, &env, 0);
    notify(&site, DAY1, &env, 0);
    assert_eq!(hook.events(), ["review_requested kb/install"]);
}

#[test]
fn a_run_killed_mid_delivery_loses_nothing_and_sends_nothing_twice() {
    let hook = Hook::start(Some(SECRET));
    let mut site = site_with(&format!("{HOOK}  tries: 1\n  timeout_ms: 30000\n"));
    site.page("kb/second.md", "Second", "Two.\n")
        .page("kb/third.md", "Third", "Three.\n");
    let env = hook_env(&hook);
    notify(&site, DAY0, &env, 0);
    submit(&site, "kb/install", DAY1);
    submit(&site, "kb/second", DAY1);
    submit(&site, "kb/third", DAY1);

    // The receiver takes the first request, then holds the second: kill the run there.
    let delivered_first = {
        let mut child = site.spawn_env(&["notify", "--now", DAY1], &env);
        let start = Instant::now();
        while hook.acked().is_empty() && start.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(5));
        }
        hook.set(Answer::Hang);
        while hook.state.lock().unwrap().hanging == 0 && start.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        hook.acked().len()
    };
    assert!(delivered_first >= 1, "the run was killed mid-way");
    let sent = ledger_sent(&site);
    assert_eq!(
        sent.len(),
        delivered_first,
        "the ledger is whole and holds what was acknowledged"
    );

    hook.set(Answer::Ok);
    notify(&site, DAY1, &env, 0);
    notify(&site, DAY2, &env, 0);
    let mut events = hook.events();
    events.sort();
    assert_eq!(
        events,
        [
            "review_requested kb/install",
            "review_requested kb/second",
            "review_requested kb/third",
        ],
        "each exactly once across the killed run and the next"
    );
}

#[test]
fn two_runs_at_once_do_not_send_anything_twice() {
    let hook = Hook::start(Some(SECRET));
    let mut site = site_with(&format!("{HOOK}{FAST}"));
    site.page("kb/second.md", "Second", "Two.\n");
    let env = hook_env(&hook);
    notify(&site, DAY0, &env, 0);
    submit(&site, "kb/install", DAY1);
    submit(&site, "kb/second", DAY1);
    hook.set(Answer::Slow(300));
    let runs: Vec<Child> = (0..2)
        .map(|_| site.spawn_env(&["notify", "--now", DAY1], &env))
        .collect();
    for mut run in runs {
        assert!(run.wait().unwrap().success());
    }
    let mut events = hook.events();
    events.sort();
    assert_eq!(
        events,
        ["review_requested kb/install", "review_requested kb/second"]
    );
}

#[test]
fn a_dry_run_says_what_would_go_to_whom_and_sends_and_writes_nothing_with_aiosmtpd() {
    let Some(_) = needs(Tool::Aiosmtpd) else {
        return;
    };
    let smtp = Smtp::start(free_port(), None);
    let hook = Hook::start(Some(SECRET));
    let site = site_with(&format!("{}{HOOK}{FAST}", email(smtp.port)));
    let env = hook_env(&hook);
    notify(&site, DAY0, &env, 0);
    let before = site.read(".imprimatur/notified.json");
    submit(&site, "kb/install", DAY1);
    let out = site
        .imprimatur(&["notify", "--dry-run"])
        .at(DAY1)
        .env(&env)
        .stdout_has("would send email   alice <alice@example.com>: review_requested kb/install")
        .stdout_has("would send webhook webhook:DOCS_HOOK_URL: review_requested kb/install")
        .stdout_has("2 would be sent")
        .run();
    let json = site
        .imprimatur(&["notify", "--dry-run", "--format", "json"])
        .at(DAY1)
        .env(&env)
        .run();
    let report: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["dry_run"], true);
    assert_eq!(
        report["deliveries"][0]["subject"],
        "[Example Help Center] Review requested: Install the agent (kb/install)"
    );
    assert!(
        smtp.mails().is_empty() && hook.attempts() == 0,
        "{}",
        stdout_of(&out)
    );
    assert_eq!(
        site.read(".imprimatur/notified.json"),
        before,
        "no ledger written"
    );
}

fn stdout_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn a_missing_secret_fails_its_channel_clearly_while_the_others_go_out() {
    let hook = Hook::start(Some(SECRET));
    let site = site_with(&format!(
        "{HOOK}  slack: {{webhook_env: TEAM_SLACK_URL}}\n{FAST}"
    ));
    let env = hook_env(&hook);
    submit(&site, "kb/install", DAY1);
    let out = notify(&site, DAY1, &env, 4);
    assert!(
        out.contains("error      slack:TEAM_SLACK_URL: $TEAM_SLACK_URL is not set"),
        "{out}"
    );
    assert!(
        !ledger(&site)["routes"]
            .as_object()
            .unwrap()
            .contains_key("slack:TEAM_SLACK_URL"),
        "a route starts only when it can deliver"
    );
    // Once set, Slack starts with its baseline: what waits now, not the past.
    let slack = Hook::start(None);
    let mut both = env.clone();
    both.push(("TEAM_SLACK_URL".into(), slack.url.clone()));
    notify(&site, DAY2, &both, 0);
    let text = slack.acked()[0].body["text"].as_str().unwrap().to_string();
    assert!(
        text.contains("Waiting now") && text.contains("kb/install"),
        "{text}"
    );
}

#[test]
fn spaces_route_to_their_own_chat_and_reviewers_may_opt_out_with_aiosmtpd() {
    let Some(_) = needs(Tool::Aiosmtpd) else {
        return;
    };
    let smtp = Smtp::start(free_port(), None);
    let default_chat = Hook::start(None);
    let kb_chat = Hook::start(None);
    let mut site = site_with(&format!(
        "{}  slack: {{webhook_env: SLACK_URL}}\n  spaces:\n    kb: {{slack: {{webhook_env: KB_SLACK_URL}}}}\n{FAST}",
        email(smtp.port)
    ));
    site.reviewer("bob", &["engineering"])
        .reviewer_option("bob", "notify", "{email: false}");
    let env = vec![
        ("SLACK_URL".to_string(), default_chat.url.clone()),
        ("KB_SLACK_URL".to_string(), kb_chat.url.clone()),
    ];
    notify(&site, DAY0, &env, 0);
    submit(&site, "kb/install", DAY1);
    notify(&site, DAY1, &env, 0);
    assert_eq!(
        smtp.summary().len(),
        1,
        "bob opted out of e-mail: {:?}",
        smtp.summary()
    );
    assert!(smtp.summary()[0].starts_with("alice@example.com"));
    assert!(default_chat.acked().is_empty(), "kb has its own channel");
    let text = kb_chat.acked()[0].body["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        text.contains("*Review requested*") && text.contains("alice Example, bob Example"),
        "{text}"
    );
}

/// A self-signed certificate for 127.0.0.1 (openssl), as a private mail server might have.
fn self_signed(dir: &std::path::Path) -> (PathBuf, PathBuf) {
    let cnf = dir.join("cert.cnf");
    std::fs::write(
        &cnf,
        "[req]\ndistinguished_name = dn\nx509_extensions = ext\nprompt = no\n[dn]\nCN = 127.0.0.1\n[ext]\nbasicConstraints = critical,CA:FALSE\nsubjectAltName = IP:127.0.0.1,DNS:localhost\nkeyUsage = digitalSignature,keyEncipherment\nextendedKeyUsage = serverAuth\n",
    )
    .unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-config",
        ])
        .arg(&cnf)
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(made.success(), "openssl req made a certificate");
    (cert, key)
}

#[test]
fn mail_goes_over_starttls_and_never_falls_back_to_plain_text_with_aiosmtpd_and_openssl() {
    if needs(Tool::Aiosmtpd).is_none() || needs(Tool::OpenSsl).is_none() {
        return;
    }
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(certs.path());
    let tls = Smtp::start(free_port(), Some((&cert, &key)));
    let config = |port: u16| {
        format!(
            "  email: {{smtp: '127.0.0.1:{port}', from: 'docs@example.com', tls: starttls, ca_file: '{}'}}\n{FAST}",
            cert.display()
        )
    };
    let site = site_with(&config(tls.port));
    notify(&site, DAY0, &[], 0);
    submit(&site, "kb/install", DAY1);
    notify(&site, DAY1, &[], 0);
    assert_eq!(
        tls.mails().len(),
        1,
        "delivered after STARTTLS (the server requires it)"
    );

    // A server that offers no STARTTLS gets nothing: the run fails instead.
    let plain = Smtp::start(free_port(), None);
    let site = site_with(&config(plain.port));
    notify(&site, DAY0, &[], 0);
    submit(&site, "kb/install", DAY1);
    let out = notify(&site, DAY1, &[], 4);
    assert!(out.contains("failed     email"), "{out}");
    assert!(plain.mails().is_empty());
}

#[test]
fn mail_logs_in_with_the_credentials_named_in_the_config_and_is_refused_without_them_with_aiosmtpd_and_openssl(
) {
    if needs(Tool::Aiosmtpd).is_none() || needs(Tool::OpenSsl).is_none() {
        return;
    }
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(certs.path());
    let smtp = Smtp::start_with_login(
        free_port(),
        Some((&cert, &key)),
        Some(("docs-bot", "correct horse")),
    );
    let site = site_with(&format!(
        "  email: {{smtp: '127.0.0.1:{}', from: 'docs@example.com', tls: starttls, ca_file: '{}', user_env: DOCS_SMTP_USER, password_env: DOCS_SMTP_PASSWORD}}\n{FAST}",
        smtp.port,
        cert.display()
    ));
    let login = |password: &str| -> Vec<(String, String)> {
        vec![
            ("DOCS_SMTP_USER".into(), "docs-bot".into()),
            ("DOCS_SMTP_PASSWORD".into(), password.into()),
        ]
    };
    notify(&site, DAY0, &login("correct horse"), 0);
    submit(&site, "kb/install", DAY1);

    // A wrong password: the server refuses the login, nothing is delivered, and the event
    // stays due for the next run.
    let out = notify(&site, DAY1, &login("wrong horse"), 4);
    assert!(out.contains("failed     email"), "{out}");
    assert!(smtp.mails().is_empty());
    // The password named in the config but not set: the run says which variable is missing.
    let out = site
        .imprimatur(&["notify"])
        .at(DAY1)
        .env(&[("DOCS_SMTP_USER".into(), "docs-bot".into())])
        .exits(4)
        .run();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("$DOCS_SMTP_PASSWORD is not set"), "{said}");
    assert!(smtp.mails().is_empty());

    // The right one: delivered once, by a client logged in as the configured user.
    notify(&site, DAY1, &login("correct horse"), 0);
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1, "{:?}", smtp.summary());
    assert_eq!(mails[0].header("X-Logged-In-As"), "docs-bot");
    assert_eq!(mails[0].rcpt, "alice@example.com");
}

#[test]
fn a_reviewer_whose_name_could_write_header_lines_fails_alone_and_everyone_else_gets_mail_with_aiosmtpd(
) {
    let Some(_) = needs(Tool::Aiosmtpd) else {
        return;
    };
    let smtp = Smtp::start(free_port(), None);
    let mut site = site_with(&format!("{}{FAST}", email(smtp.port)));
    site.reviewer("rae", &["engineering"]);
    // Anyone who can commit can edit the keyring: a name that would add a `Bcc:` line.
    let keyring = site.read("approvals/keyring.yaml").replace(
        "name: rae Example",
        "name: \"Rae\\r\\nBcc: mallory@evil.example\"",
    );
    site.file("approvals/keyring.yaml", keyring);
    notify(&site, DAY0, &[], 0);

    submit(&site, "kb/install", DAY1);
    let out = notify(&site, DAY1, &[], 4);
    assert!(
        out.contains("sent       email   alice <alice@example.com>: review_requested kb/install"),
        "{out}"
    );
    assert!(
        out.contains("failed     email   rae <rae@example.com>: review_requested kb/install — recipient 'rae': the name \"Rae\\r\\nBcc: mallory@evil.example\" holds a control character"),
        "{out}"
    );
    assert_eq!(smtp.summary(), ["alice@example.com [Example Help Center] Review requested: Install the agent (kb/install)"]);
    assert!(smtp.mails().iter().all(|m| !m.raw.contains("mallory")));
    // Not recorded as delivered: once the name is fixed, the next run sends it.
    assert_eq!(
        ledger_sent(&site),
        ["email alice review_requested kb/install"]
    );
    let keyring = site
        .read("approvals/keyring.yaml")
        .replace("name: \"Rae\\r\\nBcc: mallory@evil.example\"", "name: Rae");
    site.file("approvals/keyring.yaml", keyring);
    notify(&site, DAY1, &[], 0);
    assert_eq!(smtp.mails().len(), 2);
    assert_eq!(smtp.mails()[1].rcpt, "rae@example.com");
}

#[test]
fn a_ledger_folder_or_lock_committed_as_a_link_is_refused_and_nothing_is_made_outside() {
    let site = site_with(&email(free_port()));
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), site.path().join(".imprimatur")).unwrap();
    site.imprimatur(&["notify"])
        .at(DAY0)
        .exits(1)
        .stderr_has(".imprimatur: is a symbolic link")
        .run();
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);

    // The folder is real, the lock a link to a file that does not exist yet.
    std::fs::remove_file(site.path().join(".imprimatur")).unwrap();
    std::fs::create_dir(site.path().join(".imprimatur")).unwrap();
    let target = outside.path().join("made-by-notify");
    std::os::unix::fs::symlink(&target, site.path().join(".imprimatur/notified.json.lock"))
        .unwrap();
    site.imprimatur(&["notify"])
        .at(DAY0)
        .exits(1)
        .stderr_has("notified.json.lock: is a symbolic link")
        .run();
    assert!(!target.exists());
    assert!(!site.exists(".imprimatur/notified.json"));
}

#[test]
fn a_notice_about_an_approved_version_carries_its_title_not_that_of_a_later_edit_with_aiosmtpd() {
    let Some(_) = needs(Tool::Aiosmtpd) else {
        return;
    };
    let smtp = Smtp::start(free_port(), None);
    let mut site = site_with(&format!("{}{FAST}", email(smtp.port)));
    notify(&site, DAY0, &[], 0);
    submit(&site, "kb/install", DAY1);
    site.sign(
        "alice",
        Kind::Approve,
        "kb/install",
        &["--step", "technical"],
        DAY2,
    );
    site.sign(
        "dave",
        Kind::Approve,
        "kb/install",
        &["--step", "legal"],
        DAY3,
    );
    // Edited after the approval, never submitted: the file now holds another title.
    site.page("kb/install.md", "Uninstall everything", "Other words.\n");
    notify(&site, DAY3, &[], 0);
    let mails = smtp.summary();
    assert!(
        mails.contains(
            &"wanda@example.com [Example Help Center] Published: Install the agent (kb/install)"
                .to_string()
        ),
        "{mails:?}"
    );
    for mail in smtp.mails() {
        assert!(!mail.raw.contains("Uninstall everything"), "{}", mail.raw);
    }
}

/// Legal waits on its required reviewer; the other approvers, then the managers, then the
/// site's admins hear of it after 7, 14 and 30 days.
const LADDER: &str = "\
title: Knowledge Base
contributors: [group:writers]
managers: [carol]
escalate_after_days: [7, 14, 30]
steps:
  - name: technical
    approvers: [group:engineering]
    min_approvals: 1
    required: [alice]
  - name: legal
    approvers: [group:legal]
    min_approvals: 1
";

#[test]
fn a_waiting_step_climbs_the_ladder_each_rung_to_its_people_once_and_no_rung_grants_authority_with_aiosmtpd(
) {
    use crate::governance::{key, new_root, pin_of, sign_governance};
    let Some(_) = needs(Tool::Aiosmtpd) else {
        return;
    };
    let smtp = Smtp::start(free_port(), None);
    let mut site = site_with(&email(smtp.port));
    // Ada is the site's admin (the root's), and a reviewer in the keyring: but no approver.
    site.reviewer("bob", &["engineering"])
        .reviewer("ada", &["admins"])
        .policy("kb", LADDER);
    new_root(&site, "1", &["ada"]);
    site.imprimatur(&["root", "sign", "--key", &key("ada")])
        .run();
    let pin = pin_of(&site);
    sign_governance(&site, &pin, "ada");
    // Her root key is kept apart; keys/ada.pem is her reviewer key again.
    crate::util::write_secret_key(&site.path().join("keys/ada.pem"), site.signing_key("ada"));

    notify(&site, DAY0, &[], 0);
    submit(&site, "kb/install", DAY1);
    notify(&site, DAY1, &[], 0);
    assert_eq!(smtp.summary(), ["alice@example.com [Example Help Center] Review requested: Install the agent (kb/install)"]);

    // Alice, the required reviewer, is asked already; six days on, nobody else hears yet.
    let out = notify(&site, "2026-11-23T09:00:00Z", &[], 0);
    assert!(out.contains("0 sent, 0 failed"), "{out}");
    let escalated = |n: usize| -> Vec<String> {
        smtp.summary()[n..]
            .iter()
            .map(|m| {
                m.replace(
                    " [Example Help Center] Escalated: Install the agent (kb/install)",
                    "",
                )
            })
            .collect()
    };
    // Rung 1 (7 days): the step's other approver, bob; not alice again.
    let out = notify(&site, "2026-11-24T09:00:00Z", &[], 0);
    assert!(out.contains("escalation kb/install"), "{out}");
    assert_eq!(escalated(1), ["bob@example.com"]);
    assert!(
        smtp.mails()[1]
            .text()
            .contains("rung 1 of 3: the step's other approvers"),
        "{}",
        smtp.mails()[1].raw
    );
    // Rung 2 (14 days): the space's managers.
    notify(&site, "2026-12-01T09:00:00Z", &[], 0);
    assert_eq!(escalated(2), ["carol@example.com"]);
    // Rung 3 (30 days): the site's admins, from the trust root.
    notify(&site, "2026-12-17T09:00:00Z", &[], 0);
    assert_eq!(escalated(3), ["ada@example.com"]);
    // Each rung once: nothing more while nothing changes.
    let out = notify(&site, "2026-12-20T09:00:00Z", &[], 0);
    assert!(out.contains("0 sent, 0 failed"), "{out}");
    assert_eq!(smtp.mails().len(), 4);

    // The reports carry the rung, the days waited and who was told; a reminder, not a defect.
    let status = site.status_json("2026-12-17T09:00:00Z");
    let found = crate::util::findings_of(&status, "escalation");
    assert_eq!(found.len(), 1, "{status:#}");
    assert_eq!(
        found[0]["detail"],
        "rung 3 of 3 ([7, 14, 30] days): step 'technical' has waited 30 days, since 2026-11-17T09:00:00Z, on alice; notifies the site's admins: ada"
    );
    site.imprimatur(&["build", "--strict", "--trust-root", &pin])
        .at("2026-12-17T09:00:00Z")
        .run();

    // Hearing of a step grants nothing: the admin can't approve in it, and a record she
    // signs by hand does not count.
    site.imprimatur(&["approve", "kb/install", "--step", "technical"])
        .story("ada was told of the waiting step, but is no approver of it")
        .by("ada")
        .at("2026-12-17T10:00:00Z")
        .exits(1)
        .stderr_has("'ada' may not act in step 'technical'")
        .signs_nothing()
        .run();
    let forged = imprimatur::trust::record::Record {
        step: Some("technical".into()),
        ..site.record_for("ada", Kind::Approve, "kb/install", "2026-12-17T10:00:00Z")
    };
    let file = site.write_record_signed_by("ada-approves", &forged, "ada");
    let status = site.status_json("2026-12-17T11:00:00Z");
    let page = crate::util::page_entry(&status, "kb/install");
    assert_eq!(page["status"], "pending", "{status:#}");
    assert_eq!(page["step"], "technical");
    assert!(
        status["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["kind"] == "invalid_record" && f["file"] == file.as_str()),
        "{status:#}"
    );
}
