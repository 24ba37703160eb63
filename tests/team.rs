//! The team review server (`imprimatur serve --team`, issue 35): a reviewer with no terminal
//! signs in with a passkey and approves in the browser (headless Chromium with a virtual
//! authenticator holding a P-256 key made here, so the keyring knows its public half), and
//! the record on disk carries the passkey's `webauthn` envelope and counts in `build`. Every
//! refusal is shown over raw HTTP with assertions made here as a browser makes them: a passkey
//! not in the keyring, no user verification, another origin, a replayed challenge or
//! signature, another page, a cookie from another server, a reviewer outside their step. Each
//! writes nothing.

use base64::Engine as _;
use imprimatur::trust::record::Kind;
use p256::ecdsa::signature::Signer as _;
use p256::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _};
use sha2::{Digest, Sha256};

use crate::serve::free_port;
use crate::util::cdp::Browser;
use crate::util::remote::{median, subjects, BareRemote};
use crate::util::{needs, page_entry, TestSite, Tool};

const SUBMITTED: &str = "2026-11-20T09:00:00Z";
/// The `--now` serve runs at (tests/serve.rs).
const NOW: &str = "2026-11-21T12:00:00Z";

const ONE_STEP: &str = "\
title: Knowledge Base
contributors: [group:writers]
steps:
  - name: technical
    approvers: [group:engineering]
    min_approvals: 1
";

/// User present and user verified: what an authenticator sets after a fingerprint or PIN.
const UP_UV: u8 = 0x05;
/// User present only.
const UP: u8 = 0x01;

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A reviewer's passkey: a P-256 key and its credential id, as a phone makes them.
struct Passkey {
    reviewer: &'static str,
    key: p256::ecdsa::SigningKey,
    credential: Vec<u8>,
}

impl Passkey {
    fn new(reviewer: &'static str) -> Passkey {
        let seed: [u8; 32] = Sha256::digest(format!("imprimatur team passkey {reviewer}")).into();
        Passkey {
            reviewer,
            key: p256::ecdsa::SigningKey::from_slice(&seed).unwrap(),
            credential: Sha256::digest(format!("credential {reviewer}"))[..16].to_vec(),
        }
    }

    /// The reviewer's keyring entry: this passkey, for `localhost` at `origin`.
    fn keyring_entry(&self, groups: &str, origin: &str) -> String {
        let spki = self.key.verifying_key().to_public_key_der().unwrap();
        format!(
            "  - id: {r}\n    name: {r}\n    groups: [{groups}]\n    keys:\n      - id: {r}-passkey\n        webauthn:\n          alg: ES256\n          public_key: {}\n          rp_id: localhost\n          origins: [\"{origin}\"]\n          credential_id: {}\n",
            base64::engine::general_purpose::STANDARD.encode(spki.as_bytes()),
            b64url(&self.credential),
            r = self.reviewer,
        )
    }

    /// What `navigator.credentials.get` answers for `challenge` asked from `origin`, with the
    /// authenticator's `flags`, as the page's script posts it.
    fn answer(&self, challenge: &str, origin: &str, flags: u8) -> Vec<(String, String)> {
        let client_data_json = format!(
            "{{\"type\":\"webauthn.get\",\"challenge\":\"{challenge}\",\"origin\":\"{origin}\",\"crossOrigin\":false}}"
        );
        let mut authenticator_data = Sha256::digest(b"localhost").to_vec();
        authenticator_data.push(flags);
        authenticator_data.extend_from_slice(&[0, 0, 0, 1]);
        let mut message = authenticator_data.clone();
        message.extend_from_slice(&Sha256::digest(client_data_json.as_bytes()));
        let signature: p256::ecdsa::Signature = self.key.sign(&message);
        vec![
            ("credential_id".into(), b64url(&self.credential)),
            ("authenticator_data".into(), b64url(&authenticator_data)),
            (
                "client_data_json".into(),
                b64url(client_data_json.as_bytes()),
            ),
            ("signature".into(), b64url(signature.to_der().as_bytes())),
        ]
    }
}

/// `kb/install` and `kb/other` submitted by wanda (ed25519); `kb/draft` not submitted. Dana
/// (engineering) and paul (writers) review with passkeys; the team server is
/// `http://localhost:PORT`.
fn team_site(port: u16) -> TestSite {
    team_site_pushing_to(port, None)
}

/// [`team_site`], a git checkout (the team server commits every decision; it needs git): of
/// `remote` when given, which the server then pushes to (`review.git.remote: origin`), with
/// erin (engineering) reviewing too; else a checkout with no remote.
fn team_site_pushing_to(port: u16, remote: Option<&BareRemote>) -> TestSite {
    needs(Tool::Git).expect("the team server commits with git");
    let mut site = TestSite::new();
    site.reviewer("wanda", &["writers"]).policy("kb", ONE_STEP);
    let origin = format!("http://localhost:{port}");
    let keyring = site.read("approvals/keyring.yaml");
    let erin = match remote {
        Some(_) => Passkey::new("erin").keyring_entry("engineering", &origin),
        None => String::new(),
    };
    site.file(
        "approvals/keyring.yaml",
        format!(
            "{keyring}{}{}{erin}",
            Passkey::new("dana").keyring_entry("engineering", &origin),
            Passkey::new("paul").keyring_entry("writers", &origin)
        ),
    );
    for name in ["install", "other", "draft"] {
        site.page(
            &format!("kb/{name}.md"),
            &format!("Page {name}"),
            &format!("The words of {name}.\n"),
        );
    }
    for name in ["install", "other"] {
        site.sign("wanda", Kind::Submit, &format!("kb/{name}"), &[], SUBMITTED);
    }
    let config = site.read("imprimatur.yaml");
    let git = match remote {
        Some(_) => "  git:\n    remote: origin\n    author_name: Review server\n    author_email: review@example.com\n",
        None => "",
    };
    site.file(
        "imprimatur.yaml",
        format!("{config}review:\n  public_url: {origin}\n  rp_id: localhost\n{git}"),
    );
    match remote {
        Some(remote) => remote.seed_from(site.path()),
        None => crate::util::remote::init_checkout(site.path()),
    }
    site
}

/// Every record file under approvals/records/, with its text.
fn records(site: &TestSite) -> Vec<String> {
    let mut texts: Vec<String> = site
        .files_under("approvals/records")
        .into_iter()
        .map(|(_, bytes)| String::from_utf8(bytes).unwrap())
        .collect();
    texts.sort();
    texts
}

#[derive(Debug)]
struct Answer {
    status: u16,
    location: Option<String>,
    cookie: Option<String>,
    csp: Option<String>,
    body: String,
}

/// A running `imprimatur serve --team` on `port`, killed when dropped.
struct TeamServer {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT`: where raw requests go (the Host is a loopback name).
    base: String,
    /// `http://localhost:PORT`: the public URL, what its pages send as `Origin`.
    origin: String,
    agent: ureq::Agent,
}

impl TeamServer {
    fn start(site: &TestSite, port: u16) -> TeamServer {
        let (child, url, agent) = crate::serve::spawn_on(site, port, &["--team".as_ref()]);
        // Its public URL (another server of the same site prints the same one).
        assert!(
            url.starts_with("http://localhost:") || url == "https://review.example.com/",
            "{url}"
        );
        TeamServer {
            child,
            base: format!("http://127.0.0.1:{port}"),
            origin: format!("http://localhost:{port}"),
            agent,
        }
    }

    fn answer(mut resp: ureq::http::Response<ureq::Body>) -> Answer {
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
        };
        let location = header("location");
        let csp = header("content-security-policy");
        let cookie = header("set-cookie").map(|c| c.split(';').next().unwrap().to_string());
        Answer {
            status: resp.status().as_u16(),
            location,
            cookie,
            csp,
            body: resp.body_mut().read_to_string().unwrap(),
        }
    }

    fn get(&self, path: &str, cookie: Option<&str>) -> Answer {
        let mut req = self.agent.get(&format!("{}{path}", self.base));
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        TeamServer::answer(req.call().expect("the server answers"))
    }

    fn post(
        &self,
        path: &str,
        origin: &str,
        cookie: Option<&str>,
        fields: &[(String, String)],
    ) -> Answer {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let mut req = self
            .agent
            .post(&format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("origin", origin);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        TeamServer::answer(req.send(body.as_bytes()).expect("the server answers"))
    }

    /// Signs in with `passkey` answering with `flags`: the session cookie, or the refusal.
    fn sign_in(&self, passkey: &Passkey, flags: u8) -> Result<String, Answer> {
        let page = self.get("/_signin", None);
        assert_eq!(page.status, 200);
        let token = attr(&page.body, "data-token").expect("the sign-in button's token");
        let fields = vec![("token".to_string(), token.clone())];
        let issued = self.post("/_signin/challenge", &self.origin, None, &fields);
        assert_eq!(issued.status, 200, "{}", issued.body);
        let challenge = json(&issued.body)["challenge"]
            .as_str()
            .unwrap()
            .to_string();
        let mut fields = fields;
        fields.extend(passkey.answer(&challenge, &self.origin, flags));
        let answer = self.post("/_signin", &self.origin, None, &fields);
        match answer.status {
            200 => Ok(answer.cookie.expect("a session cookie")),
            _ => Err(answer),
        }
    }

    /// The first half of a decision: the form of `action` on the review page of `page`
    /// (with `changes`), posted for its challenge. Returns the form's fields and the answer.
    fn prepare(
        &self,
        cookie: &str,
        page: &str,
        action: &str,
    ) -> (Vec<(String, String)>, serde_json::Value) {
        let review = self.get(&format!("/_review/{page}"), Some(cookie));
        assert_eq!(review.status, 200, "{}", review.body);
        let fields = form_of(&review.body, action)
            .unwrap_or_else(|| panic!("no {action} form on {page}:\n{}", review.body));
        let prepared = self.post(
            &format!("/_decide/{page}?challenge"),
            &self.origin,
            Some(cookie),
            &fields,
        );
        assert_eq!(prepared.status, 200, "{}", prepared.body);
        (fields, json(&prepared.body))
    }

    /// The second half: the passkey's answer to `prepared`, posted to `page`'s decision.
    fn sign(
        &self,
        cookie: &str,
        page: &str,
        fields: &[(String, String)],
        prepared: &serde_json::Value,
        answer: Vec<(String, String)>,
    ) -> Answer {
        let mut body: Vec<(String, String)> = fields
            .iter()
            .filter(|(k, _)| k == "token" || k == "version")
            .cloned()
            .collect();
        body.push(("id".into(), prepared["id"].as_str().unwrap().into()));
        body.extend(answer);
        self.post(
            &format!("/_decide/{page}"),
            &self.origin,
            Some(cookie),
            &body,
        )
    }
}

impl Drop for TeamServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// The value of the first `name="…"` attribute in `html`.
fn attr(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("{name}=\""))? + name.len() + 2;
    Some(
        html[at..at + html[at..].find('"')?]
            .replace("&#x2F;", "/")
            .replace("&amp;", "&"),
    )
}

/// The hidden fields of the panel's form for `action`, as the browser sends them.
fn form_of(html: &str, action: &str) -> Option<Vec<(String, String)>> {
    let start = html.find(&format!("class=\"decide decide-{action} passkey\""))?;
    let form = &html[start..start + html[start..].find("</form>")?];
    Some(
        form.split("<input type=\"hidden\" ")
            .skip(1)
            .map(|input| (attr(input, "name").unwrap(), attr(input, "value").unwrap()))
            .collect(),
    )
}

fn with(mut fields: Vec<(String, String)>, name: &str, value: &str) -> Vec<(String, String)> {
    fields.retain(|(n, _)| n != name);
    fields.push((name.to_string(), value.to_string()));
    fields
}

/// Headless Chromium with a virtual authenticator (ctap2, internal, resident keys, user
/// verification on) holding `passkey` for `localhost`; and the authenticator's id.
fn browser_with_passkey(chromium: &std::path::Path, passkey: &Passkey) -> (Browser, String) {
    let mut browser = Browser::start(chromium);
    browser.call("WebAuthn.enable", serde_json::json!({}));
    let authenticator = browser.call(
        "WebAuthn.addVirtualAuthenticator",
        serde_json::json!({"options": {
            "protocol": "ctap2", "transport": "internal", "hasResidentKey": true,
            "hasUserVerification": true, "isUserVerified": true,
            "automaticPresenceSimulation": true,
        }}),
    )["authenticatorId"]
        .as_str()
        .unwrap()
        .to_string();
    let std64 = base64::engine::general_purpose::STANDARD;
    browser.call(
        "WebAuthn.addCredential",
        serde_json::json!({"authenticatorId": authenticator, "credential": {
            "credentialId": std64.encode(&passkey.credential),
            "isResidentCredential": true,
            "rpId": "localhost",
            "privateKey": std64.encode(passkey.key.to_pkcs8_der().unwrap().as_bytes()),
            "userHandle": std64.encode(passkey.reviewer.as_bytes()),
            "signCount": 0,
        }}),
    );
    (browser, authenticator)
}

#[test]
fn a_legal_reviewer_signs_in_with_a_passkey_approves_in_chromium_and_the_build_publishes() {
    let Some(chromium) = needs(Tool::Chromium) else {
        return;
    };
    let port = free_port();
    let site = team_site(port);
    let server = TeamServer::start(&site, port);
    let dana = Passkey::new("dana");
    let (mut browser, authenticator) = browser_with_passkey(&chromium, &dana);
    let before = records(&site);

    // The link an e-mail gives her leads to the sign-in page first.
    browser.open(&format!("{}/_review/kb/install", server.origin));
    browser.wait_until(
        "location.pathname === '/_signin' && !!document.getElementById('signin') && document.readyState === 'complete'",
        "the sign-in page",
    );
    let verified = |browser: &mut Browser, yes: bool| {
        browser.call(
            "WebAuthn.setUserVerified",
            serde_json::json!({"authenticatorId": authenticator, "isUserVerified": yes}),
        );
    };
    // Her fingerprint not recognised: not signed in, and the page says why.
    verified(&mut browser, false);
    browser.eval("document.getElementById('signin').click(); true");
    browser.wait_until(
        "!document.getElementById('signin-status').hidden",
        "the sign-in refused",
    );
    let refusal = browser.eval("document.getElementById('signin-status').textContent");
    println!("sign-in without user verification: {refusal}");
    assert_eq!(browser.eval("location.pathname"), "/_signin");
    verified(&mut browser, true);
    browser.eval("document.getElementById('signin').click(); true");
    browser.wait_until(
        "location.pathname === '/_review/kb/install' && !!document.getElementById('approve-technical') && document.readyState === 'complete'",
        "the review page with an Approve button",
    );
    // And at the decision: nothing is signed.
    verified(&mut browser, false);
    browser.eval("document.getElementById('approve-technical').click(); true");
    browser.wait_until(
        "!document.querySelector('.decide-status').hidden",
        "the decision refused",
    );
    let refusal = browser.eval("document.querySelector('.decide-status').textContent");
    println!("decision without user verification: {refusal}");
    assert!(
        refusal.as_str().unwrap().starts_with("Nothing was signed"),
        "{refusal}"
    );
    assert_eq!(records(&site), before);
    verified(&mut browser, true);
    let text = browser.eval("document.body.innerText");
    assert!(
        text.as_str()
            .unwrap()
            .contains("Signed as dana with your passkey"),
        "{text}"
    );
    let clicked = std::time::Instant::now();
    browser.eval("document.getElementById('approve-technical').click(); true");
    browser.wait_until(
        "location.pathname === '/_review/kb/install' && !document.getElementById('approve-technical') && document.body.innerText.includes('approve (technical)')",
        "the approval",
    );
    println!(
        "click to the review page showing the passkey's approval: {:.0} ms",
        clicked.elapsed().as_secs_f64() * 1000.0
    );
    drop((browser, server));

    let after = records(&site);
    assert_eq!(after.len(), before.len() + 1);
    let record = after.iter().find(|r| !before.contains(r)).unwrap();
    assert!(record.contains("kind: \"approve\""), "{record}");
    assert!(record.contains("key: \"dana-passkey\""), "{record}");
    assert!(
        record.contains("webauthn:\n  authenticator_data: "),
        "{record}"
    );
    // Committed as it was written: the branch holds the decision.
    let subjects = subjects(site.path());
    assert!(
        subjects[0].starts_with("approve kb/install [technical] ")
            && subjects[0].ends_with(" (dana)"),
        "{subjects:?}"
    );
    site.imprimatur(&["build"]).at(NOW).run();
    assert_eq!(
        page_entry(&site.status_json(NOW), "kb/install")["status"],
        "published"
    );
    assert!(site.exists("output/kb/install/index.html"));
}

#[test]
fn only_signed_in_reviewers_see_drafts_and_review_pages_and_every_forged_sign_in_is_refused() {
    let port = free_port();
    let site = team_site(port);
    let server = TeamServer::start(&site, port);
    let before = records(&site);

    // Nobody signed in: the published view is open; drafts and reviews lead to the sign-in.
    assert_eq!(server.get("/", None).status, 200);
    assert_eq!(
        server.get("/", None).csp.as_deref(),
        Some("frame-ancestors 'none'"),
        "no other site frames a team server's page"
    );
    assert!(server
        .get("/_signin", None)
        .csp
        .unwrap()
        .contains("script-src 'self'"));
    for (path, next) in [
        ("/_review/", "%2F_review%2F"),
        ("/_drafts/", "%2F_drafts%2F"),
        ("/_review/kb/install", "%2F_review%2Fkb%2Finstall"),
    ] {
        let answer = server.get(path, None);
        assert_eq!(answer.status, 303, "{path}");
        assert_eq!(
            answer.location.as_deref(),
            Some(format!("/_signin?next={next}").as_str())
        );
        assert!(!answer.body.contains("kb/install"));
    }
    let forged = server.post("/_decide/kb/install", &server.origin, None, &[]);
    assert_eq!(forged.status, 403);
    assert!(
        forged.body.contains("sign in with your passkey first"),
        "{}",
        forged.body
    );

    // A passkey not in the keyring.
    let stranger = server
        .sign_in(&Passkey::new("stranger"), UP_UV)
        .unwrap_err();
    assert_eq!(stranger.status, 403);
    assert!(
        stranger.body.contains("this passkey is not in the keyring"),
        "{}",
        stranger.body
    );
    assert!(stranger.body.contains("/_keys/"));
    // Dana's passkey, without user verification.
    let unverified = server.sign_in(&Passkey::new("dana"), UP).unwrap_err();
    assert!(
        unverified.body.contains("flag UV clear"),
        "{}",
        unverified.body
    );
    assert!(unverified.cookie.is_none());
    // From another origin.
    let page = server.get("/_signin", None);
    let token = vec![("token".to_string(), attr(&page.body, "data-token").unwrap())];
    let elsewhere = server.post(
        "/_signin/challenge",
        "https://evil.example.net",
        None,
        &token,
    );
    assert_eq!(elsewhere.status, 403);
    assert!(elsewhere
        .body
        .contains("which is not one of this review server"));
    // A challenge answered twice.
    let issued = server.post("/_signin/challenge", &server.origin, None, &token);
    let challenge = json(&issued.body)["challenge"]
        .as_str()
        .unwrap()
        .to_string();
    let mut fields = token.clone();
    fields.extend(Passkey::new("dana").answer(&challenge, &server.origin, UP_UV));
    assert_eq!(
        server
            .post("/_signin", &server.origin, None, &fields)
            .status,
        200
    );
    let again = server.post("/_signin", &server.origin, None, &fields);
    assert_eq!(again.status, 403);
    assert!(
        again.body.contains("used already or expired"),
        "{}",
        again.body
    );
    // A challenge never issued.
    let mut fields = token.clone();
    fields.extend(Passkey::new("dana").answer(&b64url(&[7; 32]), &server.origin, UP_UV));
    assert_eq!(
        server
            .post("/_signin", &server.origin, None, &fields)
            .status,
        403
    );

    // A session of another server (same site, same keyring) is no session here.
    let other_port = free_port();
    let mut other = TeamServer::start(&site, other_port);
    // Its pages are the public URL's too: the site names one.
    other.origin = server.origin.clone();
    let foreign = other.sign_in(&Passkey::new("dana"), UP_UV).unwrap();
    assert_eq!(server.get("/_review/", Some(&foreign)).status, 303);

    // Signed in: the queue, the drafts and the review page; signing out ends it.
    let cookie = server.sign_in(&Passkey::new("dana"), UP_UV).unwrap();
    assert_eq!(server.get("/_review/", Some(&cookie)).status, 200);
    assert_eq!(server.get("/_drafts/", Some(&cookie)).status, 200);
    let review = server.get("/_review/kb/install", Some(&cookie));
    assert!(review.body.contains("Signed as <strong>dana</strong>"));
    let signout = vec![("token".to_string(), {
        let at = review.body.find("action=\"/_signout\"").unwrap();
        attr(&review.body[at..], "value").unwrap()
    })];
    assert_eq!(
        server
            .post("/_signout", &server.origin, Some(&cookie), &signout)
            .status,
        303
    );
    assert_eq!(server.get("/_review/", Some(&cookie)).status, 303);

    // A key revoked while its session lasts ends the session at once.
    let cookie = server.sign_in(&Passkey::new("dana"), UP_UV).unwrap();
    assert_eq!(server.get("/_review/", Some(&cookie)).status, 200);
    let dana_credential = format!(
        "credential_id: {}\n",
        b64url(&Passkey::new("dana").credential)
    );
    let keyring = site.read("approvals/keyring.yaml").replace(
        &dana_credential,
        &format!("{dana_credential}        revoked_at: \"2026-11-21T00:00:00Z\"\n"),
    );
    site.write("approvals/keyring.yaml", keyring.as_bytes());
    let start = std::time::Instant::now();
    while server.get("/_review/", Some(&cookie)).status != 303 {
        assert!(
            start.elapsed().as_secs() < 20,
            "the session outlived its key"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let revoked = server.sign_in(&Passkey::new("dana"), UP_UV).unwrap_err();
    assert!(revoked.body.contains("was revoked at"), "{}", revoked.body);

    drop(server);
    assert_eq!(records(&site), before, "nothing was written");
}

#[test]
fn a_decision_counts_only_when_the_sessions_passkey_signs_that_very_record() {
    let port = free_port();
    let mut site = team_site(port);
    let server = TeamServer::start(&site, port);
    let dana = Passkey::new("dana");
    let before = records(&site);
    let cookie = server.sign_in(&dana, UP_UV).unwrap();

    // Without user verification.
    let (fields, prepared) = server.prepare(&cookie, "kb/install", "approve");
    assert_eq!(prepared["rpId"], "localhost");
    assert_eq!(prepared["credentialId"], b64url(&dana.credential));
    let challenge = prepared["challenge"].as_str().unwrap();
    let refused = server.sign(
        &cookie,
        "kb/install",
        &fields,
        &prepared,
        dana.answer(challenge, &server.origin, UP),
    );
    assert_eq!(refused.status, 403);
    assert!(refused.body.contains("flag UV clear"), "{}", refused.body);
    // The prepared decision was used by that attempt: a good signature for it now is late.
    let late = server.sign(
        &cookie,
        "kb/install",
        &fields,
        &prepared,
        dana.answer(challenge, &server.origin, UP_UV),
    );
    assert!(late.body.contains("signed already"), "{}", late.body);

    // From another origin, at either half.
    let (fields, prepared) = server.prepare(&cookie, "kb/install", "approve");
    let elsewhere = server.post(
        "/_decide/kb/install?challenge",
        "https://evil.example.net",
        Some(&cookie),
        &fields,
    );
    assert_eq!(elsewhere.status, 403);
    let signed_elsewhere = server.sign(
        &cookie,
        "kb/install",
        &fields,
        &prepared,
        dana.answer(
            prepared["challenge"].as_str().unwrap(),
            "https://evil.example.net",
            UP_UV,
        ),
    );
    assert_eq!(signed_elsewhere.status, 403);
    assert!(
        signed_elsewhere.body.contains("origin"),
        "{}",
        signed_elsewhere.body
    );

    // A signature of kb/install's record replayed for kb/other, and kb/install's prepared id
    // used on kb/other.
    let (_, install) = server.prepare(&cookie, "kb/install", "approve");
    let (other_fields, other) = server.prepare(&cookie, "kb/other", "approve");
    let replayed = server.sign(
        &cookie,
        "kb/other",
        &other_fields,
        &other,
        dana.answer(
            install["challenge"].as_str().unwrap(),
            &server.origin,
            UP_UV,
        ),
    );
    assert_eq!(replayed.status, 403);
    assert!(
        replayed.body.contains("not the SHA-256 of this record"),
        "{}",
        replayed.body
    );
    let crossed = server.sign(
        &cookie,
        "kb/other",
        &other_fields,
        &install,
        dana.answer(
            install["challenge"].as_str().unwrap(),
            &server.origin,
            UP_UV,
        ),
    );
    assert_eq!(crossed.status, 403);
    assert!(
        crossed.body.contains("another page, version or session"),
        "{}",
        crossed.body
    );
    // kb/other edited and submitted again between the two halves: the decision is stale.
    let (fields, prepared) = server.prepare(&cookie, "kb/other", "approve");
    site.page("kb/other.md", "Page other", "New words.\n");
    site.sign("wanda", Kind::Submit, "kb/other", &[], NOW);
    let stale = server.sign(
        &cookie,
        "kb/other",
        &fields,
        &prepared,
        dana.answer(
            prepared["challenge"].as_str().unwrap(),
            &server.origin,
            UP_UV,
        ),
    );
    assert_eq!(stale.status, 409, "{}", stale.body);
    assert!(stale.body.contains("the page changed since you opened it"));
    // Another passkey's signature (paul's) on dana's session.
    let (fields, prepared) = server.prepare(&cookie, "kb/install", "approve");
    let paul = Passkey::new("paul");
    let borrowed = server.sign(
        &cookie,
        "kb/install",
        &fields,
        &prepared,
        paul.answer(
            prepared["challenge"].as_str().unwrap(),
            &server.origin,
            UP_UV,
        ),
    );
    assert_eq!(borrowed.status, 403);
    assert!(
        borrowed.body.contains("another passkey"),
        "{}",
        borrowed.body
    );
    assert_eq!(
        records(&site).len(),
        before.len() + 1,
        "wanda's submit only"
    );
    site.imprimatur(&["build"]).at(NOW).run();
    assert_eq!(
        page_entry(&site.status_json(NOW), "kb/install")["status"],
        "pending"
    );

    // Paul (writers) is not an approver: nothing on the page is his to decide.
    let paul_cookie = server.sign_in(&paul, UP_UV).unwrap();
    let review = server.get("/_review/kb/install", Some(&paul_cookie));
    assert!(review.body.contains("Nothing here is yours to decide now."));
    // He submits his draft with his passkey; its panel then offers him Retract, and an
    // approval forged with that form's token is refused with the policy's reason.
    let (fields, prepared) = server.prepare(&paul_cookie, "kb/draft", "submit");
    let submitted = server.sign(
        &paul_cookie,
        "kb/draft",
        &fields,
        &prepared,
        paul.answer(
            prepared["challenge"].as_str().unwrap(),
            &server.origin,
            UP_UV,
        ),
    );
    assert_eq!(submitted.status, 303, "{}", submitted.body);
    let review = server.get("/_review/kb/draft", Some(&paul_cookie));
    let retract = form_of(&review.body, "retract").expect("his Retract");
    let forged = with(with(retract, "action", "approve"), "step", "technical");
    let refused = server.post(
        "/_decide/kb/draft?challenge",
        &server.origin,
        Some(&paul_cookie),
        &forged,
    );
    assert_eq!(refused.status, 403);
    assert!(
        refused
            .body
            .contains("the build would not count this approve"),
        "{}",
        refused.body
    );

    // Dana's approval, signed as the browser signs it: written once, with its envelope.
    let (fields, prepared) = server.prepare(&cookie, "kb/install", "approve");
    let answer = dana.answer(
        prepared["challenge"].as_str().unwrap(),
        &server.origin,
        UP_UV,
    );
    let approved = server.sign(&cookie, "kb/install", &fields, &prepared, answer.clone());
    assert_eq!(approved.status, 303, "{}", approved.body);
    assert_eq!(approved.location.as_deref(), Some("/_review/kb/install"));
    let replay = server.sign(&cookie, "kb/install", &fields, &prepared, answer);
    assert_eq!(replay.status, 403, "a prepared decision is signed once");
    drop(server);

    let after = records(&site);
    assert_eq!(
        after.len(),
        before.len() + 3,
        "wanda's second submit, paul's submit and dana's approval"
    );
    assert!(after
        .iter()
        .any(|r| r.contains("key: \"dana-passkey\"") && r.contains("webauthn:")));
    site.imprimatur(&["build"]).at(NOW).run();
    let status = site.status_json(NOW);
    assert_eq!(page_entry(&status, "kb/install")["status"], "published");
    assert_eq!(page_entry(&status, "kb/draft")["status"], "pending");
}

#[test]
fn serve_team_needs_a_review_section_and_refuses_a_key_or_plain_http_beyond_loopback() {
    let site = TestSite::new();
    site.imprimatur(&["serve", "--team", "--port", "0"])
        .exits(1)
        .stderr_has("imprimatur.yaml: review: serve --team needs a review: section")
        .run();
    let port = free_port();
    let site = team_site(port);
    site.imprimatur(&["serve", "--team", "--bind", "0.0.0.0", "--port", "0"])
        .exits(2)
        .stderr_has("is not loopback, and review.public_url (http://localhost:")
        .run();
    site.imprimatur(&["serve", "--team", "--key", "k.pem"])
        .exits(2)
        .stderr_has("cannot be used with")
        .run();
}

/// `scripts/screenshots.sh` (ignored here): the sign-in page, and a review page's passkey
/// decision before and after Approve, at 1280 and 390 px, light and dark, into the folder
/// `IMPRIMATUR_SCREENSHOTS` names.
#[test]
#[ignore = "pictures: scripts/screenshots.sh runs it"]
fn screenshots_of_the_sign_in_and_a_passkey_decision() {
    let Some(chromium) = needs(Tool::Chromium) else {
        return;
    };
    let out = std::path::PathBuf::from(
        std::env::var("IMPRIMATUR_SCREENSHOTS").expect("IMPRIMATUR_SCREENSHOTS: where to write"),
    );
    let port = free_port();
    let site = team_site(port);
    let server = TeamServer::start(&site, port);
    let dana = Passkey::new("dana");
    let (mut browser, _) = browser_with_passkey(&chromium, &dana);
    browser.open(&format!("{}/_review/kb/install", server.origin));
    browser.wait_until(
        "location.pathname === '/_signin' && document.readyState === 'complete'",
        "the sign-in page",
    );
    browser.screenshots(&out, "team-signin", (1100, 1500));
    browser.eval("document.getElementById('signin').click(); true");
    browser.wait_until(
        "!!document.getElementById('approve-technical') && document.readyState === 'complete'",
        "the review page",
    );
    browser.screenshots(&out, "team-decision", (1100, 1500));
    browser.eval("document.getElementById('approve-technical').click(); true");
    browser.wait_until(
        "!document.getElementById('approve-technical') && document.body.innerText.includes('approve (technical)')",
        "the approval",
    );
    browser.screenshots(&out, "team-decided", (1100, 1500));
}

/// `bench/click.sh team`: 20 clicks on Approve through `serve --team` pushing to a local bare
/// remote, each on its own page in review, timed from the click to the pushed commit's arrival
/// at the remote (its `post-receive` hook notes the time, on this machine's clock) — the
/// record prepared, signed by the (virtual) passkey, verified with the build's verifier,
/// written, committed and pushed — and to the review page showing the approval. Prints each
/// time and the medians.
#[test]
#[ignore = "a benchmark: bench/click.sh team runs it"]
fn bench_passkey_click_to_pushed_commit() {
    let Some(chromium) = needs(Tool::Chromium) else {
        return;
    };
    let remote = BareRemote::new();
    let port = free_port();
    let mut site = team_site_pushing_to(port, Some(&remote));
    let names: Vec<String> = (0..20).map(|n| format!("p{n:02}")).collect();
    for name in &names {
        site.page(
            &format!("kb/{name}.md"),
            name,
            &format!("The words of {name}.\n"),
        );
        site.sign("wanda", Kind::Submit, &format!("kb/{name}"), &[], SUBMITTED);
    }
    remote.push_all(site.path(), "twenty pages in review");
    let server = TeamServer::start(&site, port);
    let (mut browser, _) = browser_with_passkey(&chromium, &Passkey::new("dana"));
    browser.open(&format!("{}/_signin", server.origin));
    browser.wait_until(
        "document.readyState === 'complete' && !!document.getElementById('signin')",
        "the sign-in page",
    );
    browser.eval("document.getElementById('signin').click(); true");
    browser.wait_until("location.pathname === '/_review/'", "the review queue");
    let mut shown = Vec::new();
    let mut pushed = Vec::new();
    for name in &names {
        browser.open(&format!("{}/_review/kb/{name}", server.origin));
        browser.wait_until(
            "!!document.getElementById('approve-technical') && document.readyState === 'complete'",
            "the Approve button",
        );
        let arrivals = remote.arrivals().len();
        let clicked = std::time::SystemTime::now();
        browser.eval("document.getElementById('approve-technical').click(); true");
        browser.wait_until(
            "!document.getElementById('approve-technical') && document.body.innerText.includes('approve (technical)')",
            "the approval",
        );
        let page = clicked.elapsed().unwrap();
        let arrival = remote.wait_for_arrivals(arrivals + 1, std::time::Duration::from_secs(30))
            [arrivals]
            .at
            .duration_since(clicked)
            .unwrap();
        println!(
            "kb/{name}: pushed commit at the remote {:.1} ms, page showing it {:.1} ms",
            arrival.as_secs_f64() * 1000.0,
            page.as_secs_f64() * 1000.0
        );
        shown.push(page);
        pushed.push(arrival);
        // Untimed: the server's watcher sees the record a moment later and tells the tab to
        // reload, which would cancel the next page's navigation.
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    drop((browser, server));
    let landed = remote
        .files()
        .into_iter()
        .filter(|f| f.starts_with("approvals/records/kb/p"))
        .count();
    assert_eq!(
        landed, 40,
        "twenty submits and twenty approvals on the remote"
    );
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    let (min, max) = (
        pushed.iter().min().copied().unwrap(),
        pushed.iter().max().copied().unwrap(),
    );
    println!(
        "click to the pushed commit at the remote: median of 20 = {:.1} ms (min {:.1}, max {:.1}); to the page showing it: median {:.1} ms",
        ms(median(pushed)),
        ms(min),
        ms(max),
        ms(median(shown))
    );
}

/// The status of a GET of `path` written by hand with `Host: host`.
fn status_as_host(base: &str, host: &str, path: &str) -> u16 {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(base.trim_start_matches("http://")).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
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

#[test]
fn behind_its_tls_proxy_a_team_server_answers_its_public_host_and_no_other() {
    let port = free_port();
    let site = team_site(port);
    let config = site.read("imprimatur.yaml").replace(
        &format!("public_url: http://localhost:{port}\n  rp_id: localhost\n"),
        "public_url: https://review.example.com\n",
    );
    site.write("imprimatur.yaml", config.as_bytes());
    let server = TeamServer::start(&site, port);
    assert_eq!(status_as_host(&server.base, "review.example.com", "/"), 200);
    assert_eq!(
        status_as_host(&server.base, "review.example.com:443", "/"),
        200
    );
    assert_eq!(
        status_as_host(&server.base, "review.example.com", "/_review/"),
        303,
        "drafts and reviews still need a sign-in"
    );
    assert_eq!(status_as_host(&server.base, "evil.example.net", "/"), 421);
}

#[test]
fn two_reviewers_approving_at_once_both_land_in_the_remote_even_when_a_writer_pushed_meanwhile() {
    let remote = BareRemote::new();
    let port = free_port();
    let site = team_site_pushing_to(port, Some(&remote));
    let server = TeamServer::start(&site, port);
    let (dana, erin) = (Passkey::new("dana"), Passkey::new("erin"));
    let dana_in = server.sign_in(&dana, UP_UV).expect("dana signs in");
    let erin_in = server.sign_in(&erin, UP_UV).expect("erin signs in");
    let (dana_form, dana_prepared) = server.prepare(&dana_in, "kb/install", "approve");
    let (erin_form, erin_prepared) = server.prepare(&erin_in, "kb/other", "approve");
    // Between the server's pull and its push, a writer pushes to the branch: the server's
    // first push is rejected, and it lands after a rebase.
    remote.push_from_another_clone("content/kb/news.md", "---\ntitle: News\n---\nNew.\n");
    let arrivals_before = remote.arrivals().len();
    let answers: Vec<Answer> = std::thread::scope(|scope| {
        let mut decided = Vec::new();
        for (passkey, cookie, page, form, prepared) in [
            (&dana, &dana_in, "kb/install", &dana_form, &dana_prepared),
            (&erin, &erin_in, "kb/other", &erin_form, &erin_prepared),
        ] {
            let server = &server;
            decided.push(scope.spawn(move || {
                let challenge = prepared["challenge"].as_str().unwrap();
                let answer = passkey.answer(challenge, &server.origin, UP_UV);
                server.sign(cookie, page, form, prepared, answer)
            }));
        }
        decided.into_iter().map(|t| t.join().unwrap()).collect()
    });
    for answer in &answers {
        assert_eq!(answer.status, 303, "{}", answer.body);
    }
    // Both decisions, one commit each, on the remote's branch after the writer's.
    remote.wait_for_arrivals(arrivals_before + 2, std::time::Duration::from_secs(30));
    let landed: Vec<String> = subjects(remote.path()).into_iter().take(3).collect();
    assert!(
        landed
            .iter()
            .filter(|s| s.starts_with("approve kb/"))
            .count()
            == 2
            && landed.iter().any(|s| s == "a writer's edit"),
        "{landed:?}"
    );
    let files = remote.files();
    let records: Vec<&String> = files
        .iter()
        .filter(|f| {
            f.starts_with("approvals/records/kb/install/")
                || f.starts_with("approvals/records/kb/other/")
        })
        .collect();
    assert_eq!(
        records.len(),
        4,
        "two submits and two approvals: {records:?}"
    );
    assert!(files.contains(&"content/kb/news.md".to_string()));
    drop(server);

    // What the remote holds is what the build counts: a fresh clone publishes both pages.
    let clone = tempfile::tempdir().unwrap();
    let cloned = std::process::Command::new("git")
        .args(["clone", "--quiet"])
        .arg(remote.path())
        .arg(clone.path())
        .status()
        .unwrap();
    assert!(cloned.success());
    let built = std::process::Command::new(env!("CARGO_BIN_EXE_imprimatur"))
        .args(["build", "--now", NOW, "--site"])
        .arg(clone.path())
        .output()
        .unwrap();
    assert!(built.status.success(), "{built:?}");
    for page in ["kb/install", "kb/other"] {
        assert!(
            clone
                .path()
                .join(format!("output/{page}/index.html"))
                .exists(),
            "{page} is not published from the remote's branch"
        );
    }
}
