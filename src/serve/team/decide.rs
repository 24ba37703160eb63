//! A decision signed with the reviewer's passkey, in two requests. `POST /_decide/<page>?challenge`
//! (the panel's form, its token bound to the page, the version and the session) runs every
//! check the CLI runs (`workflow::sign::prepare`) and keeps the unsigned record under a
//! single-use id for two minutes, bound to the page, the version and the session; the answer
//! is the challenge, SHA-256 of the record's signed bytes, and the session's credential. The
//! browser asks the passkey; `POST /_decide/<page>` with the id and the assertion attaches
//! the signature and its `webauthn` envelope, and `workflow::sign::finish` verifies the
//! record with the build's own verifier before it is written (through `team::land`).

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::{header, Method, StatusCode};
use axum::response::Response;
use base64::Engine as _;

use super::{answer, refused, session, Assertion, Request, Session, Team};
use crate::error::Error;
use crate::serve::decide::{Choice, Form};
use crate::serve::Shared;
use crate::site::Site;
use crate::trust::keyring::{Key, PublicKey};
use crate::trust::webauthn::{Challenge, WebAuthnKey};
use crate::workflow::sign::{self, Ask, Prepared};

/// A decision prepared and waiting for the passkey's signature.
#[derive(Clone)]
pub(crate) struct Pending {
    page: String,
    version: String,
    session: String,
    choice: Choice,
    prepared: Prepared,
}

/// Why a request was refused: its status and what to tell the reviewer.
type Refusal = (StatusCode, String);

pub(super) async fn route(
    shared: &Arc<Shared>,
    team: &Arc<Team>,
    req: &Request<'_>,
    session_id: &str,
    session: &Session,
    page: &str,
) -> Response {
    if req.method != Method::POST {
        return refused(
            StatusCode::METHOD_NOT_ALLOWED,
            "a decision is signed only by the review page's buttons (POST); nothing changes over GET",
        );
    }
    if let Err(why) = team.check_origin(req.headers) {
        return refused(StatusCode::FORBIDDEN, &why);
    }
    let form = Form::parse(req.body);
    // The token first: without it, nothing of the request is looked at further.
    if !team
        .reviewer(session_id, session)
        .token_matches(page, &form.version, &form.token)
    {
        return refused(
            StatusCode::FORBIDDEN,
            "this decision carries no valid token for the page, version and session it names; open the review page and decide there",
        );
    }
    let (shared, team) = (shared.clone(), team.clone());
    let (session_id, session, page) = (session_id.to_string(), session.clone(), page.to_string());
    let body = req.body.clone();
    let challenge = req.query == "challenge";
    let outcome = tokio::task::spawn_blocking(move || {
        if challenge {
            prepare(&shared, &team, &session_id, &session, &page, form)
        } else {
            finish(&shared, &team, &session_id, &session, &page, form, &body)
        }
    })
    .await
    .unwrap_or_else(|e| Err((StatusCode::INTERNAL_SERVER_ERROR, e.to_string())));
    match outcome {
        Ok(response) => response,
        Err((status, why)) => refused(status, &why),
    }
}

fn now(shared: &Shared) -> Result<crate::time::Instant, Refusal> {
    crate::time::resolve_now(shared.now.as_deref())
        .map_err(|why| (StatusCode::INTERNAL_SERVER_ERROR, why))
}

/// The site as it is on disk now, `page` judged, and the version `choice` acts on still
/// `version`.
fn current(
    shared: &Shared,
    page: &str,
    choice: &Choice,
    version: &str,
    at: crate::time::Instant,
) -> Result<Site, Refusal> {
    let site = Site::load(&shared.site_root)
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let judged = site.evaluate_one(page, at, None).ok_or_else(|| {
        (
            StatusCode::NOT_FOUND,
            format!("no page '{page}' in content/"),
        )
    })?;
    match choice.version(&judged) {
        Ok(v) if v.as_str() == version => Ok(site),
        _ => Err((
            StatusCode::CONFLICT,
            "the page changed since you opened it: nothing was signed; reload the page to see it as it is now".into(),
        )),
    }
}

/// The session's passkey, as the keyring holds it now.
fn passkey<'a>(site: &'a Site, session: &Session) -> Result<(&'a Key, &'a WebAuthnKey), Refusal> {
    match site
        .keyring
        .keys
        .get(&session.key_id)
        .map(|k| (k, &k.public_key))
    {
        Some((k, PublicKey::WebAuthn(w))) if k.reviewer == session.reviewer => Ok((k, w)),
        _ => Err((
            StatusCode::FORBIDDEN,
            format!(
                "passkey '{}' you signed in with is no longer in the keyring: sign in again",
                session.key_id
            ),
        )),
    }
}

fn signing_refusal(e: Error) -> Refusal {
    match e {
        Error::Refused(why) | Error::Usage(why) => (StatusCode::FORBIDDEN, why),
        e => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

fn prepare(
    shared: &Shared,
    team: &Team,
    session_id: &str,
    session: &Session,
    page: &str,
    form: Form,
) -> Result<Response, Refusal> {
    let choice = form.choice().ok_or_else(|| {
        (
            StatusCode::BAD_REQUEST,
            format!("'{}' is not a decision", form.action),
        )
    })?;
    // The branch first: a decision is judged on what it holds (another server's decisions,
    // a writer's edit), not on what this checkout last saw.
    let pulled = team.landing.pull().map_err(|e| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("nothing was signed: the server can't bring its checkout up to date: {e}"),
        )
    })?;
    if pulled.changed() {
        shared.reload(std::slice::from_ref(&shared.site_root));
    }
    let at = now(shared)?;
    let site = current(shared, page, &choice, &form.version, at)?;
    let (key, passkey) = passkey(&site, session)?;
    let action = form.action(&choice);
    let ask = Ask {
        action: &action,
        page,
        version: Some(&form.version),
        now: at,
        force: false,
    };
    let prepared = sign::prepare(&site, key, &format!("passkey '{}'", key.id), &ask)
        .map_err(signing_refusal)?;
    let challenge = Challenge::Record(&prepared.record.signed_bytes()).encoded();
    let (id, _) = session::random_id().map_err(signing_refusal)?;
    team.pending
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(
            id.clone(),
            Pending {
                page: page.to_string(),
                version: form.version.clone(),
                session: session_id.to_string(),
                choice,
                prepared,
            },
            Instant::now(),
        );
    Ok(answer(
        StatusCode::OK,
        "application/json",
        serde_json::json!({
            "id": id,
            "challenge": challenge,
            "rpId": passkey.rp_id,
            "credentialId": passkey.credential_id,
        })
        .to_string(),
    ))
}

fn finish(
    shared: &Shared,
    team: &Team,
    session_id: &str,
    session: &Session,
    page: &str,
    form: Form,
    body: &[u8],
) -> Result<Response, Refusal> {
    let forbid = |why: &str| (StatusCode::FORBIDDEN, why.to_string());
    let id = url::form_urlencoded::parse(body)
        .find(|(k, _)| k == "id")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    // Taken now: a prepared decision is answered once, even when the answer is refused.
    let pending = team
        .pending
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take(&id, Instant::now())
        .ok_or_else(|| forbid("this decision was not prepared by this server, or was signed already, or waited more than two minutes: press the button again"))?;
    if pending.session != session_id || pending.page != page || pending.version != form.version {
        return Err(forbid(
            "this signature answers a decision prepared for another page, version or session: nothing was signed",
        ));
    }
    let assertion = Assertion::from_form(body).map_err(|why| (StatusCode::BAD_REQUEST, why))?;
    let at = now(shared)?;
    let site = current(shared, page, &pending.choice, &pending.version, at)?;
    let (key, passkey) = passkey(&site, session)?;
    let own = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&passkey.credential_id)
        .unwrap_or_default();
    if assertion.credential_id != own {
        return Err(forbid(&format!(
            "this signature was made by another passkey than '{}', the one you signed in with: nothing was signed",
            key.id
        )));
    }
    // The origin the browser reports must be this server's as well as the key's (the key's
    // list is checked again, with every other rule, by the build's verifier in `finish`).
    let origin = passkey
        .verify_assertion(
            &Challenge::Record(&pending.prepared.record.signed_bytes()),
            &assertion.signature,
            &assertion.envelope,
        )
        .map_err(|why| forbid(&format!("nothing was signed: {why}")))?;
    if !team.config.origins.contains(&origin) {
        return Err(forbid(&format!(
            "nothing was signed: the passkey was asked from {origin}, which is not one of review.origins"
        )));
    }
    let record = pending.prepared.record.clone();
    let path = sign::finish(
        &site,
        pending.prepared,
        assertion.signature,
        Some(assertion.envelope),
        at,
    )
    .map_err(signing_refusal)?;
    let landed = team.land(&site, &record, &path).map_err(|e| {
        // Written and verified, so it counts here; but the branch does not hold it yet.
        shared.reload(&[shared.site_root.join("approvals")]);
        (
            StatusCode::BAD_GATEWAY,
            format!("your decision is signed and written as {path}, but: {e}"),
        )
    })?;
    // Before the answer: the page the browser is sent to shows the new record.
    shared.reload(&[shared.site_root.join("approvals")]);
    eprintln!(
        "imprimatur: '{}' signed {} with passkey '{}'",
        session.reviewer,
        landed.records.join(", "),
        key.id
    );
    eprintln!(
        "imprimatur: committed {}{}",
        landed.commit,
        if landed.pushed { ", pushed" } else { "" }
    );
    Ok(Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(
            header::LOCATION,
            crate::report::inbox::review_link("/_review/", page),
        )
        .header(header::CACHE_CONTROL, "no-store")
        .header("x-imprimatur-record", path)
        .body(Body::empty())
        .expect("a valid response"))
}
