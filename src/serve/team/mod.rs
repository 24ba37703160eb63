//! `imprimatur serve --team`: the review server a team shares, configured in `review:`
//! (`config`). Reviewers sign in with a passkey from the keyring (`signin`: a WebAuthn
//! assertion over a challenge this server issued, checked by the same rules as a record's
//! passkey signature); the session is a random id in a `Secure; HttpOnly; SameSite=Strict`
//! cookie, kept in memory (`session`). Only signed-in reviewers see `/_drafts/` and
//! `/_review/`; the published view stays open. A decision is signed in the reviewer's browser
//! (`decide`): the server prepares the record through `workflow::sign::prepare`, the passkey
//! signs SHA-256 of its signed bytes, and `workflow::sign::finish` verifies it with the
//! build's own verifier before anything is written. The server holds no signing key: it can
//! withhold a decision, never forge or alter one. Every record written passes through
//! [`land`].

pub(crate) mod config;
pub(crate) mod decide;
pub(crate) mod session;
pub(crate) mod signin;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::Response;
use base64::Engine as _;

use crate::error::Result;
use crate::serve::decide::{PasskeyReviewer, Tokens};
use crate::serve::Shared;
use crate::site::Site;
use crate::trust::keyring::{Key, PublicKey};
use crate::trust::record::{Kind, Record};
use crate::trust::store::Store;
use crate::trust::webauthn::{Envelope, WebAuthnKey};
use crate::workflow::git::{self, GitSettings, Landing};
use config::ReviewConfig;
use session::{Expiring, Session, Sessions};

/// The session cookie's name.
pub(crate) const COOKIE: &str = "imprimatur_session";
/// How long a sign-in challenge, or a decision waiting for its signature, may wait.
pub(crate) const PENDING_LIFETIME: Duration = Duration::from_secs(120);

/// A team server's state: its settings, the secret its forms' tokens are made with, the
/// sessions, and what waits for a passkey's answer.
pub(crate) struct Team {
    pub(crate) config: ReviewConfig,
    pub(crate) tokens: Tokens,
    pub(crate) sessions: Mutex<Sessions>,
    /// Sign-in challenges issued, by their base64url text.
    pub(crate) challenges: Mutex<Expiring<()>>,
    /// Decisions prepared and waiting for the passkey's signature, by a random id.
    pub(crate) pending: Mutex<Expiring<decide::Pending>>,
    /// The site's git checkout: every record written is committed (and pushed, with a remote)
    /// here, and the branch is pulled before a decision is judged.
    pub(crate) landing: Landing,
}

impl Team {
    pub(crate) fn new(config: ReviewConfig, landing: Landing) -> Result<Team> {
        let lifetime = Duration::from_secs(u64::from(config.session_hours) * 3600);
        Ok(Team {
            config,
            tokens: Tokens::new()?,
            sessions: Mutex::new(Sessions::new(lifetime)),
            challenges: Mutex::new(Expiring::new(PENDING_LIFETIME)),
            pending: Mutex::new(Expiring::new(PENDING_LIFETIME)),
            landing,
        })
    }

    /// The session the request's cookie names, if it is one of this run's and not expired.
    pub(crate) fn session(&self, headers: &HeaderMap) -> Option<(String, Session)> {
        let id = cookie(headers, COOKIE)?;
        let session = self
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id, Instant::now())?;
        Some((id, session))
    }

    /// Whether the key a session signed in with is still in the keyring and usable now (a
    /// key revoked or removed since ends its sessions at once); a site that does not load
    /// now shows nobody anything private.
    pub(super) fn still_valid(&self, shared: &Shared, id: &str, session: &Session) -> bool {
        let snapshot = shared.snapshot.read().expect("the snapshot lock").clone();
        let valid = snapshot.loaded.as_ref().is_ok_and(|l| {
            let now = crate::time::resolve_now(shared.now.as_deref());
            l.site.keyring.keys.get(&session.key_id).is_some_and(|k| {
                k.reviewer == session.reviewer
                    && matches!(k.public_key, PublicKey::WebAuthn(_))
                    && now.is_ok_and(|now| k.unusable_at(&now).is_none())
            })
        });
        if !valid {
            self.sessions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(id);
        }
        valid
    }

    /// The reviewer a review page is rendered for.
    pub(crate) fn reviewer(&self, id: &str, session: &Session) -> PasskeyReviewer {
        PasskeyReviewer {
            reviewer: session.reviewer.clone(),
            session: id.to_string(),
            tokens: self.tokens.clone(),
        }
    }

    /// A POST must come from one of `review.origins` (the browser's `Origin`), or it is
    /// refused before anything is read.
    pub(crate) fn check_origin(&self, headers: &HeaderMap) -> std::result::Result<(), String> {
        origin_allowed(headers, &self.config.origins)
    }

    /// The `Set-Cookie` value of a new session.
    pub(crate) fn cookie_for(&self, id: &str) -> String {
        format!(
            "{COOKIE}={id}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={}",
            u64::from(self.config.session_hours) * 3600
        )
    }
}

/// Whether a POST comes from one of `origins` (`review.origins`), by its `Origin` header: the
/// one rule for sign-ins, decisions and passkey registrations.
pub(crate) fn origin_allowed(
    headers: &HeaderMap,
    origins: &[String],
) -> std::result::Result<(), String> {
    match headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        Some(o) if origins.iter().any(|own| own == o) => Ok(()),
        Some(o) => Err(format!(
            "this request came from {o}, which is not one of this review server's origins (review.origins in imprimatur.yaml: {})",
            origins.join(", ")
        )),
        None => Err("this request names no Origin: decisions, sign-ins and registrations come from this server's own pages".into()),
    }
}

/// The value of cookie `name` in the request, if it sends one.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
}

/// Whether `path` shows what only signed-in reviewers may see: drafts and review pages.
pub(crate) fn is_private(path: &str) -> bool {
    ["/_drafts", "/_review", "/_decide"]
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{p}/")))
}

/// `next` when it is a path of this server (a sign-in sends the reviewer back there), else
/// the review queue.
pub(crate) fn same_site_path(next: &str) -> String {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control() || c == '\\');
    if ok {
        next.to_string()
    } else {
        "/_review/".to_string()
    }
}

/// One request, as the router read it.
#[derive(Clone, Copy)]
pub(crate) struct Request<'a> {
    pub(crate) method: &'a Method,
    pub(crate) headers: &'a HeaderMap,
    /// Decoded.
    pub(crate) path: &'a str,
    pub(crate) query: &'a str,
    pub(crate) body: &'a axum::body::Bytes,
}

impl Request<'_> {
    /// The form field `name` of a POST body.
    pub(crate) fn field(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.body)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// What a browser's `navigator.credentials.get` answered, as the page's script posts it
/// (base64url fields).
pub(crate) struct Assertion {
    pub(crate) credential_id: Vec<u8>,
    pub(crate) signature: Vec<u8>,
    pub(crate) envelope: Envelope,
}

impl Assertion {
    pub(crate) fn from_form(body: &[u8]) -> std::result::Result<Assertion, String> {
        let mut fields = std::collections::HashMap::new();
        for (k, v) in url::form_urlencoded::parse(body) {
            fields.insert(k.into_owned(), v.into_owned());
        }
        let field = |name: &str| -> std::result::Result<Vec<u8>, String> {
            let text = fields
                .get(name)
                .ok_or_else(|| format!("the passkey's answer has no {name}"))?;
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(text)
                .map_err(|_| format!("the passkey's {name} is not base64url"))
        };
        Ok(Assertion {
            credential_id: field("credential_id")?,
            signature: field("signature")?,
            envelope: Envelope {
                authenticator_data: field("authenticator_data")?,
                client_data_json: field("client_data_json")?,
            },
        })
    }
}

/// The keyring's passkey with this credential id, and the key entry it is.
pub(crate) fn passkey_by_credential<'a>(
    site: &'a Site,
    credential: &[u8],
) -> Option<(&'a Key, &'a WebAuthnKey)> {
    site.keyring
        .keys
        .values()
        .find_map(|k| match &k.public_key {
            PublicKey::WebAuthn(w)
                if base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(&w.credential_id)
                    .is_ok_and(|id| id == credential) =>
            {
                Some((k, w.as_ref()))
            }
            _ => None,
        })
}

/// How often the team server pulls its branch between decisions.
pub(crate) const PULL_EVERY: Duration = Duration::from_secs(30);

/// What [`Team::land`] did with the records written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Landed {
    /// The records' paths, relative to the site root.
    pub records: Vec<String>,
    /// The commit that holds them, and whether the remote has it.
    pub commit: String,
    pub pushed: bool,
}

/// `review.git` as the git module takes it: the branch checked out when none is named, and
/// the server as the commits' author unless the section names one.
pub(crate) fn git_settings(config: &ReviewConfig, site_root: &Path) -> Result<GitSettings> {
    let branch = match &config.git.branch {
        Some(b) => b.clone(),
        None => git::checked_out_branch(site_root)?,
    };
    Ok(GitSettings {
        remote: config.git.remote.clone(),
        branch,
        author_name: config
            .git
            .author_name
            .clone()
            .unwrap_or_else(|| "imprimatur review server".into()),
        author_email: config
            .git
            .author_email
            .clone()
            .unwrap_or_else(|| format!("imprimatur@{}", config.host)),
    })
}

impl Team {
    /// Every record the team server writes passes through here, after it is written and
    /// before the answer: committed with the files it needs (a submit's stored version), and
    /// pushed when `review.git.remote` is set. The signature inside says who decided; the
    /// commit only says which server wrote it down.
    pub(crate) fn land(&self, site: &Site, record: &Record, path: &str) -> Result<Landed> {
        let mut paths = vec![site.config.root.join(path)];
        if record.kind == Kind::Submit {
            paths.extend(Store::new(site.config.store_dir()).blob_paths_of(&record.version));
        }
        let message = format!(
            "{} {}{} {} ({})\n\nSigned by {} with passkey '{}' through imprimatur serve --team.\nRecord: {path}\n",
            record.kind.as_str(),
            record.content,
            record.step.as_deref().map(|s| format!(" [{s}]")).unwrap_or_default(),
            record.version.short(),
            record.reviewer,
            record.reviewer,
            record.key,
        );
        let landed = self.landing.land(&paths, &message)?;
        Ok(Landed {
            records: vec![path.to_string()],
            commit: landed.commit,
            pushed: landed.pushed,
        })
    }
}

/// An answer of the team server's own (JSON, a refusal, a redirect), never cached.
pub(crate) fn answer(status: StatusCode, content_type: &'static str, body: String) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::from(body))
        .expect("a valid response")
}

pub(crate) fn refused(status: StatusCode, why: &str) -> Response {
    answer(
        status,
        "text/html; charset=utf-8",
        crate::serve::decide::refusal_page(status, why, None),
    )
}

/// The routes of a team server that come before the site's own: the sign-in and sign-out,
/// the passkey script, decisions, and the gate in front of drafts and review pages. `None`:
/// the request goes on to the site (the published view, or a private page for a signed-in
/// reviewer).
pub(super) async fn route(
    shared: &Arc<Shared>,
    team: &Arc<Team>,
    req: &Request<'_>,
) -> Option<Response> {
    let Request {
        method,
        headers,
        path,
        query,
        ..
    } = *req;
    match path {
        "/_imprimatur/passkey.js" => {
            return Some(answer(
                StatusCode::OK,
                "text/javascript; charset=utf-8",
                PASSKEY_JS.to_string(),
            ))
        }
        "/_signin" | "/_signin/" | "/_signout" | "/_signin/challenge" => {
            return Some(signin::route(shared, team, req).await)
        }
        _ => {}
    }
    if !is_private(path) {
        return None;
    }
    let session = team
        .session(headers)
        .filter(|(id, s)| team.still_valid(shared, id, s));
    let Some((id, session)) = session else {
        if method == Method::GET || method == Method::HEAD {
            let next = if query.is_empty() {
                path.to_string()
            } else {
                format!("{path}?{query}")
            };
            let location = format!(
                "/_signin?next={}",
                url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
            );
            return Some(
                Response::builder()
                    .status(StatusCode::SEE_OTHER)
                    .header(header::LOCATION, location)
                    .header(header::CACHE_CONTROL, "no-store")
                    .body(Body::empty())
                    .expect("a valid response"),
            );
        }
        return Some(refused(
            StatusCode::FORBIDDEN,
            "sign in with your passkey first (/_signin): only reviewers in the keyring decide here",
        ));
    };
    if let Some(page) = path.strip_prefix(crate::serve::decide::DECIDE_PREFIX) {
        let page = page.trim_end_matches('/').to_string();
        return Some(decide::route(shared, team, req, &id, &session, &page).await);
    }
    None
}

/// Signs in and signs decisions with a passkey (`navigator.credentials.get`); served at
/// `/_imprimatur/passkey.js`, so the pages carry no inline script.
const PASSKEY_JS: &str = include_str!("passkey.js");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sign_in_sends_back_only_to_a_path_of_this_server() {
        for (next, to) in [
            ("/_review/kb/a", "/_review/kb/a"),
            ("/_review/?space=kb", "/_review/?space=kb"),
            ("//evil.example.net/", "/_review/"),
            ("/\\evil.example.net", "/_review/"),
            ("https://evil.example.net/", "/_review/"),
            ("javascript:alert(1)", "/_review/"),
            ("/_review/\n", "/_review/"),
            ("", "/_review/"),
        ] {
            assert_eq!(same_site_path(next), to, "{next:?}");
        }
    }

    #[test]
    fn the_session_cookie_is_read_by_its_exact_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "other=1; imprimatur_session_x=no; imprimatur_session=abc"
                .parse()
                .unwrap(),
        );
        assert_eq!(cookie(&headers, COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&HeaderMap::new(), COOKIE), None);
    }

    #[test]
    fn only_drafts_reviews_and_decisions_are_private() {
        for path in [
            "/_drafts",
            "/_drafts/kb/a/",
            "/_review",
            "/_review/kb/a",
            "/_decide/kb/a",
        ] {
            assert!(is_private(path), "{path}");
        }
        for path in [
            "/",
            "/kb/a/",
            "/_reviewers",
            "/_signin",
            "/_imprimatur/passkey.js",
        ] {
            assert!(!is_private(path), "{path}");
        }
    }
}
