//! Signing in to a team server with a passkey: `GET /_signin` shows a button; its script asks
//! `POST /_signin/challenge` for a fresh random challenge (single use, two minutes), the
//! browser asks the passkey (`navigator.credentials.get`, user verification required), and
//! `POST /_signin` checks the answer: a passkey of the keyring (found by its credential id)
//! for this server's relying party, valid now, whose assertion passes every rule a record's
//! passkey signature passes (`WebAuthnKey::verify_assertion`), from one of `review.origins`.
//! Then a session begins. `POST /_signout` ends it.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::{header, Method, StatusCode};
use axum::response::Response;
use base64::Engine as _;

use super::{answer, refused, session, Assertion, Request, Team};
use crate::escape::html as escape;
use crate::serve::Shared;
use crate::trust::webauthn::Challenge;

pub(super) async fn route(shared: &Arc<Shared>, team: &Arc<Team>, req: &Request<'_>) -> Response {
    match (req.method, req.path) {
        (&Method::GET | &Method::HEAD, "/_signin" | "/_signin/") => page(team, req),
        (&Method::POST, "/_signin/challenge") => challenge(team, req),
        (&Method::POST, "/_signin" | "/_signin/") => {
            let (shared, team) = (shared.clone(), team.clone());
            let body = req.body.clone();
            let origin = team.check_origin(req.headers);
            tokio::task::spawn_blocking(move || match origin {
                Ok(()) => sign_in(&shared, &team, &body),
                Err(why) => refused(StatusCode::FORBIDDEN, &why),
            })
            .await
            .unwrap_or_else(|e| refused(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()))
        }
        (&Method::POST, "/_signout") => sign_out(team, req),
        _ => refused(
            StatusCode::METHOD_NOT_ALLOWED,
            "the sign-in page is read with GET; its button POSTs",
        ),
    }
}

/// The token the sign-in page's script sends back: the same for every sign-in of this run
/// (there is no session yet to bind it to); with the `Origin` check, it keeps other sites'
/// pages from starting a sign-in.
fn signin_token(team: &Team) -> String {
    team.tokens.token("signin", &[])
}

fn page(team: &Team, req: &Request) -> Response {
    let next = url::form_urlencoded::parse(req.query.as_bytes())
        .find(|(k, _)| k == "next")
        .map(|(_, v)| super::same_site_path(&v))
        .unwrap_or_else(|| "/_review/".to_string());
    let signed_in = team
        .session(req.headers)
        .map(|(_, s)| format!("<p class=\"signed-in\">You are signed in as <strong>{}</strong>. <a href=\"{}\">Continue</a></p>\n", escape(&s.reviewer), escape(&next)))
        .unwrap_or_default();
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><meta name=\"robots\" content=\"noindex\"><title>Sign in · imprimatur review</title>\n<style>body{{font:16px/1.5 system-ui,sans-serif;margin:0;padding:2rem 1rem;background:#f6f7f9;color:#1f2328}}main{{max-width:28rem;margin:0 auto;background:#fff;border:1px solid #d0d7de;border-radius:12px;padding:1.5rem}}h1{{font-size:1.4rem;margin-top:0}}button{{font:inherit;width:100%;padding:.8rem;border:0;border-radius:8px;background:#1f6feb;color:#fff;cursor:pointer}}.refusal{{background:#fde2e1;color:#7f1d1d;padding:.75rem;border-radius:8px}}@media (prefers-color-scheme:dark){{body{{background:#0d1117;color:#e6edf3}}main{{background:#161b22;border-color:#30363d}}}}</style>\n</head>\n<body><main>\n<h1>Sign in to review</h1>\n<p>Use the passkey on this device (fingerprint, face or PIN). It proves who you are; nothing is signed until you press a decision's button.</p>\n{signed_in}<button type=\"button\" id=\"signin\" data-token=\"{}\" data-next=\"{}\">Sign in with your passkey</button>\n<p id=\"signin-status\" class=\"refusal\" role=\"alert\" hidden></p>\n<p class=\"muted\">New here? An administrator adds your passkey to the keyring first: register it at <a href=\"/_keys/\">/_keys/</a>.</p>\n</main>\n<script src=\"/_imprimatur/passkey.js\" defer></script>\n</body></html>\n",
        signin_token(team),
        escape(&next),
    );
    let mut response = answer(StatusCode::OK, "text/html; charset=utf-8", html);
    // The page works under a strict policy (its script is served, not inline), and no other
    // site may frame the button that asks for a passkey.
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(SIGNIN_CSP),
    );
    response
}

const SIGNIN_CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn challenge(team: &Team, req: &Request) -> Response {
    if let Err(why) = team.check_origin(req.headers) {
        return refused(StatusCode::FORBIDDEN, &why);
    }
    let token = req.field("token").unwrap_or_default();
    if !team.tokens.matches("signin", &[], &token) {
        return refused(
            StatusCode::FORBIDDEN,
            "this sign-in carries no valid token: open /_signin and press the button there",
        );
    }
    let (text, _) = match session::random_id() {
        Ok(id) => id,
        Err(e) => return refused(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    team.challenges
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(text.clone(), (), Instant::now());
    answer(
        StatusCode::OK,
        "application/json",
        serde_json::json!({"challenge": text, "rpId": team.config.rp_id}).to_string(),
    )
}

/// Checks a passkey's answer to a challenge this server issued; begins a session.
fn sign_in(shared: &Shared, team: &Team, body: &[u8]) -> Response {
    let forbid = |why: &str| refused(StatusCode::FORBIDDEN, why);
    let req_field = |name: &str| {
        url::form_urlencoded::parse(body)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    if !team
        .tokens
        .matches("signin", &[], &req_field("token").unwrap_or_default())
    {
        return forbid(
            "this sign-in carries no valid token: open /_signin and press the button there",
        );
    }
    let assertion = match Assertion::from_form(body) {
        Ok(a) => a,
        Err(why) => return refused(StatusCode::BAD_REQUEST, &why),
    };
    // The challenge the client data names must be one this run issued, unused and fresh:
    // taken now, so it is never used twice, whatever happens next.
    let asked = serde_json::from_slice::<serde_json::Value>(&assertion.envelope.client_data_json)
        .ok()
        .and_then(|v| {
            v.get("challenge")
                .and_then(|c| c.as_str())
                .map(String::from)
        })
        .unwrap_or_default();
    let issued = team
        .challenges
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take(&asked, Instant::now());
    let Some(()) = issued else {
        return forbid("this sign-in answers a challenge this server did not issue, or one used already or expired (they last two minutes): press the button again");
    };
    let nonce = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&asked)
        .unwrap_or_default();
    let snapshot = shared.snapshot.read().expect("the snapshot lock").clone();
    let site = match &snapshot.loaded {
        Ok(l) => &l.site,
        Err(_) => {
            return refused(
                StatusCode::SERVICE_UNAVAILABLE,
                "the site does not load right now, so its keyring can't be read: nobody signs in until it is fixed",
            )
        }
    };
    let Some((key, passkey)) = super::passkey_by_credential(site, &assertion.credential_id) else {
        return forbid("this passkey is not in the keyring (approvals/keyring.yaml): register it at /_keys/ and ask an administrator to add it");
    };
    if passkey.rp_id != team.config.rp_id {
        return forbid(&format!(
            "passkey '{}' belongs to relying party '{}', and this server is '{}' (review.rp_id)",
            key.id, passkey.rp_id, team.config.rp_id
        ));
    }
    let now = match crate::time::resolve_now(shared.now.as_deref()) {
        Ok(now) => now,
        Err(why) => return refused(StatusCode::INTERNAL_SERVER_ERROR, &why),
    };
    if let Some(why) = key.unusable_at(&now) {
        return forbid(&format!("{why}: it can't sign in"));
    }
    let origin = match passkey.verify_assertion(
        &Challenge::Issued(&nonce),
        &assertion.signature,
        &assertion.envelope,
    ) {
        Ok(origin) => origin,
        Err(why) => return forbid(&format!("not signed in: {why}")),
    };
    if !team.config.origins.contains(&origin) {
        return forbid(&format!(
            "not signed in: the passkey was asked from {origin}, which is not one of review.origins"
        ));
    }
    let begun = session::begin(
        &mut team.sessions.lock().unwrap_or_else(|e| e.into_inner()),
        &key.reviewer,
        &key.id,
        Instant::now(),
    );
    let (id, _) = match begun {
        Ok(b) => b,
        Err(e) => return refused(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    eprintln!(
        "imprimatur: '{}' signed in with passkey '{}'",
        key.reviewer, key.id
    );
    let next = super::same_site_path(&req_field("next").unwrap_or_default());
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-store")
        .header(header::SET_COOKIE, team.cookie_for(&id))
        .body(Body::from(
            serde_json::json!({"reviewer": key.reviewer, "next": next}).to_string(),
        ))
        .expect("a valid response")
}

fn sign_out(team: &Team, req: &Request) -> Response {
    if let Err(why) = team.check_origin(req.headers) {
        return refused(StatusCode::FORBIDDEN, &why);
    }
    if let Some((id, session)) = team.session(req.headers) {
        let token = req.field("token").unwrap_or_default();
        if !team.reviewer(&id, &session).signout_token_matches(&token) {
            return refused(
                StatusCode::FORBIDDEN,
                "this sign-out carries no valid token: use the Sign out button of a review page",
            );
        }
        team.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, "/_signin")
        .header(header::CACHE_CONTROL, "no-store")
        .header(
            header::SET_COOKIE,
            format!(
                "{}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0",
                super::COOKIE
            ),
        )
        .body(Body::empty())
        .expect("a valid response")
}
