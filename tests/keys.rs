//! Registering a passkey at `/_keys/` (issue 35): a reviewer with no terminal makes a passkey
//! in the browser, the page shows the keyring entry, an admin adds it and the admins sign the
//! governed change, and from then on what that passkey signs counts.
//!
//! The browser is headless Chromium with a virtual authenticator (CTAP2, internal transport,
//! resident keys, user verification on), driven over the DevTools protocol: these tests need
//! Chromium (`util::needs(Tool::Chromium)`). Passkeys refuse IP addresses as relying parties,
//! so the server is reached as `localhost` (which Chromium resolves to loopback itself).

use std::process::Child;

use base64::Engine as _;
use imprimatur::trust::record::Kind;

use crate::governance::{key, new_root, pin_of, sign_governance};
use crate::passkeys::LEGAL_STEP;
use crate::serve::{free_port, spawn_on};
use crate::util::cdp::Browser;
use crate::util::{needs, page_entry, TestSite, Tool};

const PAGE: &str = "kb/install";
const SUBMITTED: &str = "2026-11-20T09:00:00Z";
const NOW: &str = "2026-11-21T12:00:00Z";

struct Desk {
    site: TestSite,
    child: Child,
    origin: String,
    agent: ureq::Agent,
}

impl Drop for Desk {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A governed site (admins ada and bo) whose `kb` space needs one approval from legal, with
/// `kb/install` submitted by wanda, and a server reached at `http://localhost:<port>`.
fn desk() -> Desk {
    let port = free_port();
    let origin = format!("http://localhost:{port}");
    let mut site = TestSite::new();
    // Lou is legal already (a policy may not name a group nobody is in); dana joins him.
    site.reviewer("wanda", &["writers"])
        .reviewer("lou", &["legal"])
        .reviewer("ada", &["admins"])
        .reviewer("bo", &["admins"])
        .policy("kb", LEGAL_STEP)
        .page(
            "kb/install.md",
            "Install the agent",
            "Run `agent install`.\n",
        );
    let config = site.read("imprimatur.yaml");
    site.file(
        "imprimatur.yaml",
        format!("{config}review:\n  public_url: {origin}\n  rp_id: localhost\n"),
    );
    site.sign("wanda", Kind::Submit, PAGE, &[], SUBMITTED);
    new_root(&site, "2", &["ada", "bo"]);
    for admin in ["ada", "bo"] {
        site.imprimatur(&["root", "sign", "--key", &key(admin)])
            .run();
    }
    let pin = pin_of(&site);
    sign_governance(&site, &pin, "ada");
    sign_governance(&site, &pin, "bo");
    let (child, _, agent) = spawn_on(&site, port, &[]);
    Desk {
        site,
        child,
        origin,
        agent,
    }
}

/// A tab with a virtual platform authenticator that verifies its user; returns its id.
fn with_authenticator(browser: &mut Browser, user_verified: bool) -> String {
    browser.call("WebAuthn.enable", serde_json::json!({}));
    let added = browser.call(
        "WebAuthn.addVirtualAuthenticator",
        serde_json::json!({"options": {
            "protocol": "ctap2", "transport": "internal", "hasResidentKey": true,
            "hasUserVerification": true, "isUserVerified": user_verified,
            "automaticPresenceSimulation": true,
        }}),
    );
    added["authenticatorId"].as_str().unwrap().to_string()
}

/// Fills in `/_keys/` as dana and presses Create passkey; returns what the page shows then.
fn register_dana(browser: &mut Browser, desk: &Desk) -> String {
    browser.open(&format!("{}/_keys/", desk.origin));
    browser.wait_until(
        "!!document.getElementById('register') && document.readyState === 'complete'",
        "the registration form",
    );
    browser.eval(
        "(function () { var f = document.getElementById('register');
           f.reviewer.value = 'dana'; f.elements['name'].value = 'Dana Example';
           f.email.value = 'dana@example.com'; f.groups.value = 'legal';
           f.querySelector('button[type=submit]').click(); return true; })()",
    );
    browser.wait_until(
        "!!document.querySelector('pre.keyring-entry') || /No passkey|can't|not /.test(document.getElementById('status').textContent)",
        "the keyring entry or a refusal",
    );
    browser
        .eval("(document.querySelector('pre.keyring-entry') || document.getElementById('status')).textContent")
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_passkey_registered_in_the_browser_signs_in_and_approves_once_the_admins_sign_its_entry() {
    let Some(chromium) = needs(Tool::Chromium) else {
        return;
    };
    needs(Tool::Git).expect("the team server commits with git");
    let mut desk = desk();
    let mut browser = Browser::start(&chromium);
    let authenticator = with_authenticator(&mut browser, true);
    let entry = register_dana(&mut browser, &desk);
    println!("the keyring entry /_keys/ showed:\n{entry}");
    assert!(entry.contains("- id: \"dana\""), "{entry}");
    assert!(entry.contains("alg: \"ES256\""), "{entry}");
    assert!(entry.contains("rp_id: \"localhost\""), "{entry}");
    assert!(entry.contains(&format!("- \"{}\"", desk.origin)), "{entry}");

    // The passkey lives in the authenticator: the page's entry names its credential.
    let credentials = browser.call(
        "WebAuthn.getCredentials",
        serde_json::json!({"authenticatorId": authenticator}),
    );
    let credential = &credentials["credentials"][0];
    assert_eq!(credential["isResidentCredential"], true);
    let credential_id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
        base64::engine::general_purpose::STANDARD
            .decode(credential["credentialId"].as_str().unwrap())
            .unwrap(),
    );
    assert!(
        entry.contains(&format!("credential_id: \"{credential_id}\"")),
        "{entry}"
    );

    // Registering wrote nothing: the keyring is the admins' to change.
    let keyring = desk.site.read("approvals/keyring.yaml");
    assert!(!keyring.contains("dana"));

    // An admin pastes the entry; until the admins sign it, the governed keyring fails closed.
    desk.site.write(
        "approvals/keyring.yaml",
        format!("{keyring}{entry}").as_bytes(),
    );
    let pin = pin_of(&desk.site);
    desk.site
        .cmd(&["build", "--now", NOW, "--trust-root", &pin])
        .code(1);
    sign_governance(&desk.site, &pin, "ada");
    sign_governance(&desk.site, &pin, "bo");

    // The team server on the same address, over the site's checkout: dana signs in with the
    // passkey she registered and approves in the same browser.
    let _ = desk.child.kill();
    let _ = desk.child.wait();
    crate::util::remote::init_checkout(desk.site.path());
    let port: u16 = desk.origin.rsplit(':').next().unwrap().parse().unwrap();
    let (child, _, _) = spawn_on(&desk.site, port, &["--team".as_ref()]);
    desk.child = child;
    browser.open(&format!("{}/_review/{PAGE}", desk.origin));
    browser.wait_until(
        "location.pathname === '/_signin' && !!document.getElementById('signin') && document.readyState === 'complete'",
        "the sign-in page",
    );
    browser.eval("document.getElementById('signin').click(); true");
    browser.wait_until(
        "!!document.getElementById('approve-legal') && document.readyState === 'complete'",
        "the review page with an Approve button",
    );
    browser.eval("document.getElementById('approve-legal').click(); true");
    browser.wait_until(
        "!document.getElementById('approve-legal') && document.body.innerText.includes('approve (legal)')",
        "the approval",
    );
    drop(browser);

    // The record on disk carries the passkey's envelope, and the build counts it.
    let record = desk
        .site
        .files_under("approvals/records")
        .into_iter()
        .map(|(_, bytes)| String::from_utf8(bytes).unwrap())
        .find(|r| r.contains("kind: \"approve\""))
        .expect("an approval on disk");
    assert!(record.contains("key: \"dana-passkey\""), "{record}");
    assert!(record.contains("webauthn:"), "{record}");
    desk.site
        .cmd(&["build", "--strict", "--now", NOW, "--trust-root", &pin])
        .success();
    let status = desk.site.status_json(NOW);
    assert_eq!(page_entry(&status, PAGE)["status"], "published");
    assert!(desk.site.exists("output/kb/install/index.html"));
}

#[test]
fn registering_is_refused_from_another_origin_without_the_token_over_get_and_twice() {
    let desk = desk();
    let post = |path: &str, origin: Option<&str>, body: &str| {
        let mut request = desk
            .agent
            .post(&format!(
                "{}{path}",
                desk.origin.replace("localhost", "127.0.0.1")
            ))
            .header("Content-Type", "application/x-www-form-urlencoded");
        if let Some(o) = origin {
            request = request.header("Origin", o);
        }
        let mut answer = request.send(body).unwrap();
        let status = answer.status().as_u16();
        (status, answer.body_mut().read_to_string().unwrap())
    };
    let page = desk
        .agent
        .get(&format!(
            "{}/_keys/",
            desk.origin.replace("localhost", "127.0.0.1")
        ))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    let token = page
        .split("name=\"token\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("the page carries a token");
    let fields = format!("token={token}&reviewer=dana&name=Dana");

    let (status, why) = post("/_keys/challenge", Some("https://evil.example"), &fields);
    assert_eq!(status, 403, "{why}");
    let (status, why) = post("/_keys/challenge", None, &fields);
    assert_eq!(status, 403, "{why}");
    let (status, why) = post(
        "/_keys/challenge",
        Some(&desk.origin),
        "token=forged&reviewer=dana&name=Dana",
    );
    assert_eq!(status, 403, "{why}");
    assert!(why.contains("no valid token"), "{why}");
    let (status, why) = post(
        "/_keys/challenge",
        Some(&desk.origin),
        &format!("token={token}&reviewer=Dana%20X&name=Dana"),
    );
    assert_eq!(status, 422, "{why}");
    assert!(why.contains("reviewer id 'Dana X'"), "{why}");

    // A challenge answered by something that is not a browser's registration.
    let (status, challenge) = post("/_keys/challenge", Some(&desk.origin), &fields);
    assert_eq!(status, 200, "{challenge}");
    let challenge: serde_json::Value = serde_json::from_str(&challenge).unwrap();
    assert_eq!(challenge["rp_id"], "localhost");
    let client_data = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
        r#"{{"type":"webauthn.create","challenge":"{}","origin":"{}"}}"#,
        challenge["challenge"].as_str().unwrap(),
        desk.origin
    ));
    let forged = format!("{fields}&attestation_object=oA&client_data_json={client_data}");
    let (status, why) = post("/_keys/register", Some(&desk.origin), &forged);
    assert_eq!(status, 422, "{why}");
    assert!(why.contains("the passkey can't be used"), "{why}");
    // The challenge was spent on that attempt.
    let (status, why) = post("/_keys/register", Some(&desk.origin), &forged);
    assert_eq!(status, 403, "{why}");
    assert!(why.contains("used already"), "{why}");

    let get = desk
        .agent
        .get(&format!(
            "{}/_keys/register",
            desk.origin.replace("localhost", "127.0.0.1")
        ))
        .call()
        .unwrap();
    assert_eq!(get.status().as_u16(), 405);
    assert!(!desk.site.read("approvals/keyring.yaml").contains("dana"));
}

#[test]
fn without_user_verification_no_passkey_is_made() {
    let Some(chromium) = needs(Tool::Chromium) else {
        return;
    };
    let desk = desk();
    let mut browser = Browser::start(&chromium);
    with_authenticator(&mut browser, false);
    let shown = register_dana(&mut browser, &desk);
    assert!(shown.contains("No passkey was made"), "{shown}");
}

/// `scripts/screenshots.sh`: the registration form and the entry it shows, at desktop and
/// 390 px, light and dark, into the folder `IMPRIMATUR_SCREENSHOTS` names.
#[test]
#[ignore = "pictures: scripts/screenshots.sh runs it"]
fn screenshots_of_registering_a_passkey() {
    let Some(chromium) = needs(Tool::Chromium) else {
        return;
    };
    let out = std::path::PathBuf::from(
        std::env::var("IMPRIMATUR_SCREENSHOTS").expect("IMPRIMATUR_SCREENSHOTS: where to write"),
    );
    let desk = desk();
    let mut browser = Browser::start(&chromium);
    with_authenticator(&mut browser, true);
    browser.open(&format!("{}/_keys/", desk.origin));
    browser.wait_until(
        "!!document.getElementById('register') && document.readyState === 'complete'",
        "the registration form",
    );
    browser.screenshots(&out, "keys-form", (900, 1300));
    register_dana(&mut browser, &desk);
    browser.screenshots(&out, "keys-entry", (1000, 1500));
}
