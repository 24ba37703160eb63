//! `/_keys/`: a reviewer registers a passkey (issue 35). The page asks the browser for a new
//! credential (`navigator.credentials.create`, user verification required, resident key, for
//! the relying party and origins of the `review:` section), the server checks the answer
//! (`trust::webauthn::registration`) and shows the keyring entry to add. It writes nothing:
//! the keyring is governed, so an admin adds the entry and the admins sign the change
//! (`imprimatur governance sign`). Until then the passkey signs nothing that counts.
//!
//! Anyone who can reach the server may register (they are not in the keyring yet, so they
//! can't sign in); what they get is text for an admin to judge. Both POSTs (`/_keys/challenge`,
//! `/_keys/register`) must come from one of `review.origins` (`Origin`) with the page's token; a
//! challenge is random, used once, and expires after [`CHALLENGE_LIFETIME`]; at most
//! [`MAX_PENDING`] are outstanding.

use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::escape::html as escape;
use crate::serve::decide::Tokens;
use crate::serve::review;
use crate::serve::team::session::{random_id, Expiring};
use crate::serve::team::{answer, origin_allowed};
use crate::site::Site;
use crate::trust::keyring::{is_reviewer_id, PublicKey};
use crate::trust::webauthn::registration::{self, Relying};

/// Where the registration page lives.
pub(crate) const KEYS_PREFIX: &str = "/_keys/";
/// How long a challenge waits for the browser's answer (a person reads a prompt, touches a key).
pub(crate) const CHALLENGE_LIFETIME: Duration = Duration::from_secs(300);
/// The most challenges outstanding at once; more are refused until some expire.
pub(crate) const MAX_PENDING: usize = 1024;
/// The largest POST read (an attestation object and client data, base64url, and the form).
const MAX_BODY: usize = 64 * 1024;

/// The registration desk: the relying party passkeys are made for, the page's tokens, and the
/// challenges handed out and not yet answered (by their base64url text).
pub(crate) struct Registrar {
    relying: Option<Relying>,
    tokens: Tokens,
    pending: Mutex<Expiring<()>>,
}

/// What a POST to `/_keys/…` answers, before it becomes a response.
#[derive(Debug)]
pub(crate) enum Answer {
    Json(String),
    Html(String),
    Refused(StatusCode, String),
}

#[derive(Serialize)]
struct Challenge<'a> {
    challenge: String,
    rp_id: &'a str,
    rp_name: &'a str,
    user_id: String,
    user_name: &'a str,
    display_name: &'a str,
}

/// The fields the page POSTs.
#[derive(Default)]
struct Form {
    token: String,
    reviewer: String,
    name: String,
    email: String,
    groups: String,
    attestation_object: String,
    client_data_json: String,
}

impl Form {
    fn parse(body: &[u8]) -> Form {
        let mut form = Form::default();
        for (name, value) in url::form_urlencoded::parse(body) {
            let slot = match name.as_ref() {
                "token" => &mut form.token,
                "reviewer" => &mut form.reviewer,
                "name" => &mut form.name,
                "email" => &mut form.email,
                "groups" => &mut form.groups,
                "attestation_object" => &mut form.attestation_object,
                "client_data_json" => &mut form.client_data_json,
                _ => continue,
            };
            if slot.is_empty() {
                *slot = value.trim().to_string();
            }
        }
        form
    }

    fn groups(&self) -> Vec<String> {
        let mut groups: Vec<String> = self
            .groups
            .split(',')
            .map(|g| g.trim().to_string())
            .filter(|g| !g.is_empty())
            .collect();
        groups.sort();
        groups.dedup();
        groups
    }

    /// Why the person's fields can't make a keyring entry, if they can't.
    fn problem(&self) -> Option<String> {
        if !is_reviewer_id(&self.reviewer) {
            return Some(format!(
                "reviewer id '{}': use lower-case letters, digits, '.', '_' and '-' (like 'dana' or 'dana.legal')",
                self.reviewer
            ));
        }
        if self.name.is_empty() || self.name.chars().any(char::is_control) {
            return Some("name: give your name as colleagues know it".into());
        }
        if self.email.chars().any(char::is_control) || self.email.len() > 254 {
            return Some("email: one address, or nothing".into());
        }
        if let Some(g) = self.groups().into_iter().find(|g| !is_reviewer_id(g)) {
            return Some(format!(
                "group '{g}': use lower-case letters, digits, '.', '_' and '-'"
            ));
        }
        None
    }
}

impl Registrar {
    /// The desk for `relying` (the `review:` section's); none: the page says what to set.
    pub(crate) fn new(relying: Option<Relying>) -> crate::error::Result<Registrar> {
        Ok(Registrar {
            relying,
            tokens: Tokens::new()?,
            pending: Mutex::new(Expiring::new(CHALLENGE_LIFETIME)),
        })
    }

    /// The page's token: this run's, for this page alone.
    fn token(&self) -> String {
        self.tokens.token("keys-page", &[])
    }

    fn token_matches(&self, token: &str) -> bool {
        self.tokens.matches("keys-page", &[], token)
    }

    /// A fresh challenge, remembered until answered or expired.
    fn issue(&self, now: Instant) -> std::result::Result<[u8; 32], String> {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if pending.live(now) >= MAX_PENDING {
            return Err(
                "too many registrations are in progress; try again in a few minutes".into(),
            );
        }
        let (text, challenge) = random_id().map_err(|e| e.to_string())?;
        pending.insert(text, (), now);
        Ok(challenge)
    }

    /// Takes back the challenge `client_data_json` answers: it is used once, and only before it
    /// expires.
    fn redeem(&self, client_data_json: &[u8], now: Instant) -> Option<[u8; 32]> {
        let data: serde_json::Value = serde_json::from_slice(client_data_json).ok()?;
        let text = data.get("challenge")?.as_str()?;
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take(text, now)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .ok()?;
        bytes.try_into().ok()
    }

    /// GET `/_keys/`: the registration page, or what to configure first.
    pub(crate) fn page(&self, site: &Site) -> String {
        let Some(relying) = &self.relying else {
            return review::page(
                "Register a passkey",
                "<h1>Register a passkey</h1>\n<p>Passkeys are bound to the address reviewers open, so this server needs to know it: add a <code>review:</code> section with <code>public_url</code> to <code>imprimatur.yaml</code> (README, \"Reviewing with a passkey\") and start the server again.</p>\n",
            );
        };
        let mut body = String::new();
        let _ = write!(
            body,
            "<h1>Register a passkey</h1>\n<p>A passkey lets you approve or reject pages of <strong>{title}</strong> from this browser, with your fingerprint, face or device PIN — no key file, no terminal. It is made on your device and never leaves it; this server only sees its public half.</p>\n<ol class=\"steps\"><li>Fill in who you are and press <em>Create passkey</em>; your device asks you to confirm.</li><li>Send the entry this page then shows to an admin of the site.</li><li>Once the admins have added and signed it, sign in and review.</li></ol>\n<form id=\"register\" class=\"decide\" method=\"post\" action=\"{KEYS_PREFIX}register\">\n<input type=\"hidden\" name=\"token\" value=\"{token}\">\n<label>Reviewer id<input name=\"reviewer\" required pattern=\"[a-z0-9._\\-]+\" autocomplete=\"username\" placeholder=\"dana\"></label>\n<label>Name<input name=\"name\" required autocomplete=\"name\" placeholder=\"Dana Example\"></label>\n<label>E-mail<input name=\"email\" inputmode=\"email\" autocomplete=\"email\" placeholder=\"dana@example.com\"></label>\n<label>Groups<input name=\"groups\" placeholder=\"legal, compliance\"></label>\n<button type=\"submit\">Create passkey</button>\n</form>\n<p id=\"status\" class=\"muted\" role=\"status\">For <code>{rp}</code>, from {origins}.</p>\n<div id=\"result\"></div>\n<style>#register[hidden] {{ display:none; }} .keyring-entry {{ background:var(--card); border:1px solid var(--line); border-radius:6px; padding:.6rem; overflow-x:auto; }} ol.steps li {{ margin:.2rem 0; }}</style>\n<script>{REGISTER_JS}</script>\n",
            title = escape(&site.config.title),
            token = escape(&self.token()),
            rp = escape(&relying.rp_id),
            origins = relying
                .origins
                .iter()
                .map(|o| format!("<code>{}</code>", escape(o)))
                .collect::<Vec<_>>()
                .join(", "),
        );
        review::page("Register a passkey", &body)
    }

    /// A POST to `/_keys/challenge` or `/_keys/register`, from `origin` (checked by the
    /// caller against this server's own).
    pub(crate) fn post(&self, what: &str, body: &[u8], site: &Site, now: Instant) -> Answer {
        let Some(relying) = &self.relying else {
            return Answer::Refused(
                StatusCode::NOT_FOUND,
                "this server has no review: section, so it registers no passkeys".into(),
            );
        };
        if body.len() > MAX_BODY {
            return Answer::Refused(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("more than {MAX_BODY} bytes"),
            );
        }
        let form = Form::parse(body);
        if !self.token_matches(&form.token) {
            return Answer::Refused(
                StatusCode::FORBIDDEN,
                "no valid token: open /_keys/ on this server and register there".into(),
            );
        }
        if let Some(why) = form.problem() {
            return Answer::Refused(StatusCode::UNPROCESSABLE_ENTITY, why);
        }
        match what {
            "challenge" => self.challenge(&form, relying, site, now),
            "register" => self.register(&form, relying, site, now),
            _ => Answer::Refused(StatusCode::NOT_FOUND, "no such action".into()),
        }
    }

    fn challenge(&self, form: &Form, relying: &Relying, site: &Site, now: Instant) -> Answer {
        let challenge = match self.issue(now) {
            Ok(c) => c,
            Err(why) => return Answer::Refused(StatusCode::SERVICE_UNAVAILABLE, why),
        };
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        // One user handle per reviewer id on this relying party: registering again on the same
        // device replaces that device's passkey instead of piling up a second one.
        let user = Sha256::digest(format!("imprimatur-user-v1\n{}", form.reviewer));
        let answer = Challenge {
            challenge: b64.encode(challenge),
            rp_id: &relying.rp_id,
            rp_name: &site.config.title,
            user_id: b64.encode(&user[..16]),
            user_name: &form.reviewer,
            display_name: &form.name,
        };
        Answer::Json(serde_json::to_string(&answer).expect("serializable"))
    }

    fn register(&self, form: &Form, relying: &Relying, site: &Site, now: Instant) -> Answer {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let (Ok(attestation), Ok(client_data)) = (
            b64.decode(&form.attestation_object),
            b64.decode(&form.client_data_json),
        ) else {
            return Answer::Refused(
                StatusCode::BAD_REQUEST,
                "attestation_object and client_data_json must be base64url without padding".into(),
            );
        };
        let Some(challenge) = self.redeem(&client_data, now) else {
            return Answer::Refused(
                StatusCode::FORBIDDEN,
                "this answer is not to a challenge this server issued in the last five minutes, or it was used already; reload the page and try again".into(),
            );
        };
        let registered = match registration::verify(&attestation, &client_data, &challenge, relying)
        {
            Ok(r) => r,
            Err(why) => {
                return Answer::Refused(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("the passkey can't be used: {why}"),
                )
            }
        };
        let new_key = PublicKey::WebAuthn(Box::new(registered.key.clone()));
        if let Some(existing) = site
            .keyring
            .keys
            .values()
            .find(|k| k.public_key.point() == new_key.point())
        {
            return Answer::Refused(
                StatusCode::CONFLICT,
                format!(
                    "this passkey is already in approvals/keyring.yaml, as key '{}' of '{}'",
                    existing.id, existing.reviewer
                ),
            );
        }
        let key_id = fresh_key_id(site, &form.reviewer);
        let key = KeyEntry {
            id: key_id.clone().q(),
            webauthn: WebAuthnEntry {
                alg: registered.key.alg.as_str().to_string().q(),
                public_key: base64::engine::general_purpose::STANDARD
                    .encode(&registered.key.spki)
                    .q(),
                rp_id: relying.rp_id.clone().q(),
                origins: relying.origins.iter().map(|o| o.clone().q()).collect(),
                credential_id: registered.key.credential_id.clone().q(),
            },
        };
        let known = site.keyring.reviewers.get(&form.reviewer);
        let (entry, where_) = match known {
            Some(r) => (
                indent(&crate::yaml::to_string(&vec![key]).expect("serializable"), 6),
                format!(
                    "under <code>keys:</code> of reviewer <code>{}</code> ({}) in <code>approvals/keyring.yaml</code>",
                    escape(&r.id),
                    escape(&r.name)
                ),
            ),
            None => {
                let reviewer = ReviewerEntry {
                    id: form.reviewer.clone().q(),
                    name: form.name.clone().q(),
                    email: (!form.email.is_empty()).then(|| form.email.clone().q()),
                    groups: form.groups().into_iter().map(Q::q).collect(),
                    keys: vec![key],
                };
                (
                    indent(&crate::yaml::to_string(&vec![reviewer]).expect("serializable"), 2),
                    "under <code>reviewers:</code> in <code>approvals/keyring.yaml</code>".into(),
                )
            }
        };
        let mut html = String::new();
        let _ = write!(
            html,
            "<h2>Your passkey is made</h2>\n<p>Send this to an admin of the site. They add it {where_}, and the admins sign the change (<code>imprimatur governance sign --key FILE</code>). Your passkey counts from then on; until then it signs nothing.</p>\n<pre class=\"keyring-entry\" data-key-id=\"{id}\">{entry}</pre>\n<button type=\"button\" class=\"copy\" data-copy=\"{entry}\">Copy</button>\n",
            id = escape(&key_id),
            entry = escape(&entry),
        );
        Answer::Html(html)
    }
}

/// `<reviewer>-passkey`, or `-2`, `-3`… after it: a key id no key of the keyring has.
fn fresh_key_id(site: &Site, reviewer: &str) -> String {
    let base = format!("{reviewer}-passkey");
    std::iter::once(base.clone())
        .chain((2..).map(|n| format!("{base}-{n}")))
        .find(|id| !site.keyring.keys.contains_key(id))
        .expect("an unused id")
}

fn indent(text: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    text.lines()
        .map(|l| format!("{pad}{l}\n"))
        .collect::<String>()
}

type Quoted = serde_saphyr::DoubleQuoted<String>;

/// Every string of a keyring entry is written double-quoted, as records are (SPEC §4).
trait Q {
    fn q(self) -> Quoted;
}

impl Q for String {
    fn q(self) -> Quoted {
        serde_saphyr::DoubleQuoted(self)
    }
}

/// A keyring reviewer entry as `approvals/keyring.yaml` writes it (SPEC §3).
#[derive(Serialize)]
struct ReviewerEntry {
    id: Quoted,
    name: Quoted,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<Quoted>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    groups: Vec<Quoted>,
    keys: Vec<KeyEntry>,
}

#[derive(Serialize)]
struct KeyEntry {
    id: Quoted,
    webauthn: WebAuthnEntry,
}

/// A key's `webauthn:` entry (SPEC §3a).
#[derive(Serialize)]
struct WebAuthnEntry {
    alg: Quoted,
    public_key: Quoted,
    rp_id: Quoted,
    origins: Vec<Quoted>,
    credential_id: Quoted,
}

impl Registrar {
    pub(crate) fn relying(&self) -> Option<&Relying> {
        self.relying.as_ref()
    }

    /// The whole exchange of `/_keys/…`: the page over GET, the two actions over POST.
    pub(crate) fn respond(
        &self,
        method: &Method,
        headers: &HeaderMap,
        rest: &str,
        body: &[u8],
        site: Option<&Site>,
    ) -> Response {
        let Some(site) = site else {
            return answer(
                StatusCode::SERVICE_UNAVAILABLE,
                "text/plain; charset=utf-8",
                "the site does not load right now; see the server's output".into(),
            );
        };
        match (method, rest) {
            (&Method::GET | &Method::HEAD, "") => {
                answer(StatusCode::OK, "text/html; charset=utf-8", self.page(site))
            }
            (&Method::POST, "challenge" | "register") => {
                let origins = self.relying().map_or(&[][..], |r| &r.origins[..]);
                if let Err(why) = origin_allowed(headers, origins) {
                    return answer(StatusCode::FORBIDDEN, "text/plain; charset=utf-8", why);
                }
                match self.post(rest, body, site, Instant::now()) {
                    Answer::Json(json) => {
                        answer(StatusCode::OK, "application/json; charset=utf-8", json)
                    }
                    Answer::Html(html) => answer(StatusCode::OK, "text/html; charset=utf-8", html),
                    Answer::Refused(status, why) => {
                        answer(status, "text/plain; charset=utf-8", why)
                    }
                }
            }
            (_, "challenge" | "register") => answer(
                StatusCode::METHOD_NOT_ALLOWED,
                "text/plain; charset=utf-8",
                "only the /_keys/ page's button POSTs here; nothing changes over GET".into(),
            ),
            _ => answer(
                StatusCode::NOT_FOUND,
                "text/plain; charset=utf-8",
                "no such page: registration is at /_keys/".into(),
            ),
        }
    }
}

/// The page's script: asks for a challenge, has the browser make the passkey, posts its answer
/// and shows the entry the server sends back (escaped server-side).
const REGISTER_JS: &str = r#"(function () {
  var form = document.getElementById("register"), status = document.getElementById("status");
  function b64u(buffer) { var s = ""; new Uint8Array(buffer).forEach(function (b) { s += String.fromCharCode(b); });
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""); }
  function bytes(text) { var s = atob(text.replace(/-/g, "+").replace(/_/g, "/")), out = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) out[i] = s.charCodeAt(i); return out; }
  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    if (!window.PublicKeyCredential) { status.textContent = "This browser can't make passkeys; open this page in a current Chrome, Edge, Safari or Firefox."; return; }
    var fields = new URLSearchParams(new FormData(form));
    status.textContent = "Asking the server…";
    var asked = await fetch(form.action.replace(/register$/, "challenge"), { method: "POST", body: fields });
    if (!asked.ok) { status.textContent = await asked.text(); return; }
    var c = await asked.json(), credential;
    status.textContent = "Confirm on your device…";
    try {
      credential = await navigator.credentials.create({ publicKey: {
        rp: { id: c.rp_id, name: c.rp_name },
        user: { id: bytes(c.user_id), name: c.user_name, displayName: c.display_name },
        challenge: bytes(c.challenge),
        pubKeyCredParams: [{ type: "public-key", alg: -7 }, { type: "public-key", alg: -8 }],
        authenticatorSelection: { residentKey: "required", requireResidentKey: true, userVerification: "required" },
        attestation: "none", timeout: 300000 } });
    } catch (e) { status.textContent = "No passkey was made: " + e.message; return; }
    fields.set("attestation_object", b64u(credential.response.attestationObject));
    fields.set("client_data_json", b64u(credential.response.clientDataJSON));
    var answer = await fetch(form.action, { method: "POST", body: fields }), text = await answer.text();
    if (!answer.ok) { status.textContent = text; return; }
    status.textContent = "Done: send the entry below to an admin of the site.";
    form.hidden = true;
    document.getElementById("result").innerHTML = text;
  });
})();"#;

#[cfg(test)]
mod tests;
