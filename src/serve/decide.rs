//! Decisions in the review page (issue 34): under `serve --key FILE` or `--agent`, the review
//! page offers the actions `Policy::authorize` allows the server's reviewer on the version
//! shown, and a button signs one through `workflow::sign::sign_in`, the same path as the CLI
//! command (so it refuses exactly what the CLI refuses, and what the build would not count).
//! Without a key, the same panel prints the commands, each with a copy button.
//!
//! Safe by construction: nothing changes state over GET (a GET to `/_decide/…` is 405). A POST
//! must come from a page of this server (`Origin` is the server's own, and `Host` was checked
//! before routing), and carry a token bound to the page and the version it shows:
//! HMAC-SHA256 under a secret drawn at start, compared in constant time. A decision about a
//! version that is no longer the one the action acts on is refused (409) and the page reloads.

use std::fmt::Write as _;

use axum::http::{header, HeaderMap, StatusCode};
use base64::Engine as _;
use hmac::{KeyInit, Mac};
use sha2::Sha256;

use crate::error::{Error, Result};
use crate::escape::html as escape;
use crate::report::inbox::review_link;
use crate::site::{PageEvaluation, Site};
use crate::time::Instant;
use crate::trust::authority::{Act, Refusal};
use crate::trust::policy::Policy;
use crate::trust::review::ReviewState;
use crate::trust::signer::{KeySource, Signer};
use crate::trust::version::Version;
use crate::workflow::sign::{self, Action, SignRequest};

/// Where the review page posts its decisions: `/_decide/<page id>`.
pub(crate) const DECIDE_PREFIX: &str = "/_decide/";

/// The tokens a server's forms carry: HMAC-SHA256 under a secret drawn at start, over a
/// purpose and the parts the form is bound to (page, version, session), each length-prefixed
/// so no parts can pose as others; compared in constant time.
#[derive(Clone)]
pub(crate) struct Tokens {
    secret: [u8; 32],
}

impl Tokens {
    pub(crate) fn new() -> Result<Tokens> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret)
            .map_err(|e| Error::Refused(format!("cannot read the system's randomness: {e}")))?;
        Ok(Tokens { secret })
    }

    fn mac(&self, purpose: &str, parts: &[&str]) -> hmac::Hmac<Sha256> {
        let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret)
            .expect("HMAC takes a key of any length");
        mac.update(format!("imprimatur-{purpose}-v1\n").as_bytes());
        for part in parts {
            mac.update(format!("{}\n", part.len()).as_bytes());
        }
        for part in parts {
            mac.update(part.as_bytes());
        }
        mac
    }

    /// The token a form for `purpose` about `parts` carries.
    pub(crate) fn token(&self, purpose: &str, parts: &[&str]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(self.mac(purpose, parts).finalize().into_bytes())
    }

    /// Whether `token` was made by this process for `purpose` about `parts`.
    pub(crate) fn matches(&self, purpose: &str, parts: &[&str], token: &str) -> bool {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token)
            .is_ok_and(|bytes| self.mac(purpose, parts).verify_slice(&bytes).is_ok())
    }
}

/// Who reviews through this server: the key opened once at start (its passphrase asked then),
/// the reviewer the keyring says it belongs to, and the secret the tokens are made with.
pub(crate) struct Decider {
    source: KeySource,
    signer: Signer,
    reviewer: String,
    tokens: Tokens,
}

impl Decider {
    /// Opens the decider for `signer`, whose key must be in the site's keyring.
    pub(crate) fn new(source: KeySource, signer: Signer, site: &Site) -> Result<Decider> {
        let reviewer = site
            .keyring
            .key_for_public(&signer.public_key())
            .map(|k| k.reviewer.clone())
            .ok_or_else(|| {
                Error::Refused(format!(
                    "{}: this key is not in approvals/keyring.yaml; serve --key needs a reviewer's key",
                    signer.name()
                ))
            })?;
        Ok(Decider {
            source,
            signer,
            reviewer,
            tokens: Tokens::new()?,
        })
    }

    pub(crate) fn reviewer(&self) -> &str {
        &self.reviewer
    }

    /// The token a form about `version` of `page` carries.
    fn token(&self, page: &str, version: &str) -> String {
        self.tokens.token("decide", &[page, version])
    }

    /// Whether `token` was made by this process for `version` of `page` (constant time).
    fn token_matches(&self, page: &str, version: &str, token: &str) -> bool {
        self.tokens.matches("decide", &[page, version], token)
    }
}

/// The signed-in reviewer of a team server (`serve --team`) looking at a review page: the
/// panel's buttons ask their passkey to sign, with tokens bound to their session.
pub(crate) struct PasskeyReviewer {
    pub(crate) reviewer: String,
    pub(crate) session: String,
    pub(crate) tokens: Tokens,
}

impl PasskeyReviewer {
    pub(crate) fn token(&self, page: &str, version: &str) -> String {
        self.tokens
            .token("passkey-decide", &[&self.session, page, version])
    }

    pub(crate) fn token_matches(&self, page: &str, version: &str, token: &str) -> bool {
        self.tokens
            .matches("passkey-decide", &[&self.session, page, version], token)
    }

    /// The token of the sign-out form.
    pub(crate) fn signout_token(&self) -> String {
        self.tokens.token("signout", &[&self.session])
    }

    pub(crate) fn signout_token_matches(&self, token: &str) -> bool {
        self.tokens.matches("signout", &[&self.session], token)
    }
}

/// Who the review page's panel decides for.
#[derive(Clone, Copy)]
pub(crate) enum Signing<'a> {
    /// No key: the panel prints the commands.
    Nobody,
    /// `serve --key` or `--agent`: the buttons sign with the server's key.
    Key(&'a Decider),
    /// `serve --team`: the buttons ask the signed-in reviewer's passkey.
    Passkey(&'a PasskeyReviewer),
}

/// One action the panel offers, as the form names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Choice {
    Approve { step: String },
    ApprovePublish { step: String },
    Reject { step: String },
    Retract,
    Publish,
    Unpublish,
    Assign { step: String },
    Submit,
}

impl Choice {
    fn name(&self) -> &'static str {
        match self {
            Choice::Approve { .. } => "approve",
            Choice::ApprovePublish { .. } => "approve-publish",
            Choice::Reject { .. } => "reject",
            Choice::Retract => "retract",
            Choice::Publish => "publish",
            Choice::Unpublish => "unpublish",
            Choice::Assign { .. } => "assign",
            Choice::Submit => "submit",
        }
    }

    fn step(&self) -> Option<&str> {
        match self {
            Choice::Approve { step }
            | Choice::ApprovePublish { step }
            | Choice::Reject { step }
            | Choice::Assign { step } => Some(step),
            _ => None,
        }
    }

    /// The one version this action may be about on the page as judged now, or why there is
    /// none. The panel shows it; a POST naming another is refused as a change since.
    pub(crate) fn version(
        &self,
        judged: &PageEvaluation,
    ) -> std::result::Result<Version, &'static str> {
        let review = judged.review().ok_or("the page's space has no policy")?;
        match self {
            Choice::Approve { .. }
            | Choice::ApprovePublish { .. }
            | Choice::Reject { .. }
            | Choice::Retract
            | Choice::Assign { .. } => review
                .in_review
                .as_ref()
                .map(|r| r.version.clone())
                .ok_or("no version of the page is in review"),
            Choice::Publish => (review.current_state == ReviewState::Approved)
                .then(|| review.current.clone())
                .ok_or("the current version is not approved and waiting to be published"),
            Choice::Unpublish => judged
                .live()
                .map(|l| l.version.version.clone())
                .ok_or("nothing of the page is published"),
            Choice::Submit => (review.current_state == ReviewState::Draft)
                .then(|| judged.page.version.clone())
                .ok_or("the current version was submitted already"),
        }
    }
}

/// Every action that could apply to the page as judged, whoever acts (the commands shown
/// without a key).
fn applicable(judged: &PageEvaluation) -> Vec<Choice> {
    let Some(review) = judged.review() else {
        return Vec::new();
    };
    let mut choices = Vec::new();
    if let Some(r) = &review.in_review {
        for step in &r.open_steps {
            choices.push(Choice::Approve { step: step.clone() });
            choices.push(Choice::ApprovePublish { step: step.clone() });
            choices.push(Choice::Reject { step: step.clone() });
        }
        choices.push(Choice::Retract);
        for step in &r.open_steps {
            choices.push(Choice::Assign { step: step.clone() });
        }
    }
    choices.extend([Choice::Publish, Choice::Unpublish, Choice::Submit]);
    choices.retain(|c| c.version(judged).is_ok());
    choices
}

/// The actions `who` may take on the page as judged: `applicable`, kept where
/// `Policy::authorize` allows them (the one answer the build and the signing commands use).
fn allowed(policy: &Policy, who: &str, judged: &PageEvaluation) -> Vec<Choice> {
    let review = judged.review();
    let in_review = review.and_then(|r| r.in_review.as_ref());
    let submitter = in_review.map(|r| r.submitter.as_str());
    let assigned = |step: &str| -> Option<Vec<String>> {
        let r = in_review?;
        let (index, _) = policy.step(step)?;
        review?
            .versions
            .get(&r.version)?
            .assigned
            .get(&index)
            .cloned()
    };
    // A comment stands in for the one the form asks for: whether one is required is the
    // form's `required`, not a reason to hide the action.
    let decide = |step: &str, reject: bool, publish: bool| {
        let assigned = assigned(step);
        policy.authorize(
            who,
            &Act::Decide {
                step,
                reject,
                comment: Some("a comment"),
                override_: false,
                publish,
                submitter,
                assigned: assigned.as_deref(),
            },
        )
    };
    applicable(judged)
        .into_iter()
        .filter(|c| match c {
            Choice::Approve { step } => decide(step, false, false).is_ok(),
            // With auto_publish an approval publishes by itself: one Approve button is enough.
            Choice::ApprovePublish { step } => {
                !policy.auto_publish && decide(step, false, true).is_ok()
            }
            Choice::Reject { step } => decide(step, true, false).is_ok(),
            Choice::Retract => submitter.is_some_and(|s| {
                policy
                    .authorize(who, &Act::Retract { submitter: s })
                    .is_ok()
            }),
            Choice::Assign { step } => submitter.is_some_and(|s| {
                // Who is named is the form's to say; whether this reviewer may re-assign at
                // all is the first thing `authorize` asks.
                !matches!(
                    policy.authorize(
                        who,
                        &Act::Assign {
                            step,
                            assignees: &[],
                            submitter: s
                        }
                    ),
                    Err(Refusal::NotManagerToAssign { .. })
                )
            }),
            Choice::Publish => policy.authorize(who, &Act::Publish).is_ok(),
            Choice::Unpublish => policy.authorize(who, &Act::Unpublish).is_ok(),
            Choice::Submit => policy.authorize(who, &Act::Submit { assign: None }).is_ok(),
        })
        .collect()
}

/// Whether a comment is required for `choice` by `who`: `authorize` refuses it without one.
fn comment_required(policy: &Policy, who: &str, choice: &Choice) -> bool {
    match choice {
        Choice::Approve { step } | Choice::Reject { step } | Choice::ApprovePublish { step } => {
            let act = |comment| Act::Decide {
                step,
                reject: matches!(choice, Choice::Reject { .. }),
                comment,
                override_: false,
                publish: matches!(choice, Choice::ApprovePublish { .. }),
                submitter: None,
                assigned: None,
            };
            matches!(
                policy.authorize(who, &act(None)),
                Err(Refusal::CommentRequired { .. } | Refusal::ApproveCommentRequired { .. })
            )
        }
        _ => false,
    }
}

/// The command line that signs `choice` of `version` (shown without a key).
fn command(choice: &Choice, id: &str, version: &Version) -> String {
    let v = version.as_str();
    let key = "--key YOUR-KEY.pem";
    match choice {
        Choice::Approve { step } => {
            format!("imprimatur approve {id} --step {step} --version {v} {key}")
        }
        Choice::ApprovePublish { step } => {
            format!("imprimatur approve {id} --step {step} --version {v} --publish {key}")
        }
        Choice::Reject { step } => {
            format!("imprimatur reject {id} --step {step} --version {v} --comment \"why\" {key}")
        }
        Choice::Retract => format!("imprimatur retract {id} {key}"),
        Choice::Publish => format!("imprimatur publish {id} --version {v} {key}"),
        Choice::Unpublish => format!("imprimatur unpublish {id} {key}"),
        Choice::Assign { step } => format!("imprimatur assign {id} --step {step} REVIEWERS {key}"),
        Choice::Submit => format!("imprimatur submit {id} {key}"),
    }
}

fn label(choice: &Choice) -> &'static str {
    match choice {
        Choice::Approve { .. } => "Approve",
        Choice::ApprovePublish { .. } => "Approve and publish",
        Choice::Reject { .. } => "Reject",
        Choice::Retract => "Retract",
        Choice::Publish => "Publish",
        Choice::Unpublish => "Unpublish",
        Choice::Assign { .. } => "Assign",
        Choice::Submit => "Submit for review",
    }
}

const COPY_JS: &str = "document.addEventListener('click',e=>{const b=e.target.closest('button.copy');if(!b)return;const t=document.getElementById(b.dataset.for).textContent;navigator.clipboard&&navigator.clipboard.writeText(t).then(()=>{b.textContent='Copied';});});";

/// The decision panel of `/_review/<id>`: buttons under `--key` (and, under `--team`, buttons
/// that ask the signed-in reviewer's passkey), else the commands, one per action that
/// applies, each with a copy button.
pub(crate) fn panel(signing: Signing, site: &Site, judged: &PageEvaluation) -> String {
    let id = judged.page.id.as_str();
    let mut html = String::new();
    if matches!(signing, Signing::Nobody) {
        let choices = applicable(judged);
        if choices.is_empty() {
            return html;
        }
        html.push_str("<h2>Sign your decision</h2>\n<p class=\"muted\">Run in the site folder with your own key; each command signs exactly the version shown. (<code>imprimatur serve --key FILE</code> shows buttons instead.)</p>\n");
        for (n, choice) in choices.iter().enumerate() {
            let version = choice.version(judged).expect("applicable");
            let _ = writeln!(
                html,
                "<div class=\"decide-cmd\"><pre class=\"cmd\" id=\"cmd-{n}\">{}</pre><button type=\"button\" class=\"copy\" data-for=\"cmd-{n}\">Copy</button></div>",
                escape(&command(choice, id, &version))
            );
        }
        let _ = writeln!(html, "<script>{COPY_JS}</script>");
        return html;
    }
    let Some(policy) = site.policies.get(&judged.page.space) else {
        return html;
    };
    let (who, with, passkey) = match signing {
        Signing::Key(d) => (d.reviewer(), d.signer.name().to_string(), None),
        Signing::Passkey(p) => (p.reviewer.as_str(), "your passkey".to_string(), Some(p)),
        Signing::Nobody => unreachable!("handled above"),
    };
    let token_of = |version: &str| match signing {
        Signing::Key(d) => d.token(id, version),
        Signing::Passkey(p) => p.token(id, version),
        Signing::Nobody => unreachable!("handled above"),
    };
    let choices = allowed(policy, who, judged);
    let _ = writeln!(
        html,
        "<h2>Your decision</h2>\n<p class=\"muted\">Signed as <strong>{}</strong> with {}; each button signs exactly the version shown.</p>",
        escape(who),
        escape(&with)
    );
    if let Some(p) = passkey {
        let _ = writeln!(
            html,
            "<form method=\"post\" action=\"/_signout\" class=\"signout\"><input type=\"hidden\" name=\"token\" value=\"{}\"><button type=\"submit\" id=\"signout\">Sign out</button></form>\n<p class=\"decide-status\" role=\"alert\" hidden></p>\n<script src=\"/_imprimatur/passkey.js\" defer></script>",
            p.signout_token()
        );
    }
    if choices.is_empty() {
        html.push_str("<p class=\"decide-none\">Nothing here is yours to decide now.</p>\n");
        return html;
    }
    let action = escape(&review_link(DECIDE_PREFIX, id));
    for choice in &choices {
        let version = choice.version(judged).expect("applicable");
        let token = token_of(version.as_str());
        let name = choice.name();
        let step = choice.step();
        let passkey_class = if passkey.is_some() { " passkey" } else { "" };
        let _ = write!(
            html,
            "<form method=\"post\" action=\"{action}\" class=\"decide decide-{name}{passkey_class}\">\n<input type=\"hidden\" name=\"action\" value=\"{name}\"><input type=\"hidden\" name=\"version\" value=\"{v}\"><input type=\"hidden\" name=\"token\" value=\"{token}\">",
            v = escape(version.as_str()),
        );
        if let Some(step) = step {
            let _ = write!(
                html,
                "<input type=\"hidden\" name=\"step\" value=\"{}\">",
                escape(step)
            );
        }
        let required = if comment_required(policy, who, choice) {
            " required"
        } else {
            ""
        };
        match choice {
            Choice::Approve { .. } | Choice::ApprovePublish { .. } | Choice::Reject { .. } => {
                let _ = write!(
                    html,
                    "\n<label>Comment <input name=\"comment\"{required}></label> <label>Role <input name=\"role\"></label>"
                );
                if matches!(choice, Choice::Reject { .. }) {
                    html.push_str(" <label><input type=\"checkbox\" name=\"discard\" value=\"true\"> discard (no resume)</label>");
                }
            }
            Choice::Unpublish | Choice::Submit => {
                html.push_str("\n<label>Comment <input name=\"comment\"></label>");
            }
            Choice::Assign { .. } => {
                html.push_str(
                    "\n<label>Reviewers <input name=\"assignees\" required placeholder=\"raj,eli\"></label>",
                );
            }
            Choice::Retract | Choice::Publish => {}
        }
        let _ = writeln!(
            html,
            "\n<button type=\"submit\" id=\"{name}{}\">{}{}</button>\n</form>",
            step.map_or(String::new(), |s| format!("-{}", escape(s))),
            label(choice),
            step.map_or(String::new(), |s| format!(" ({})", escape(s)))
        );
    }
    html
}

/// What one POST asks for, from its `application/x-www-form-urlencoded` body.
#[derive(Debug, Default)]
pub(crate) struct Form {
    pub(crate) action: String,
    pub(crate) version: String,
    pub(crate) token: String,
    step: String,
    comment: String,
    role: String,
    discard: bool,
    assignees: String,
}

impl Form {
    pub(crate) fn parse(body: &[u8]) -> Form {
        let mut form = Form::default();
        for (k, v) in url::form_urlencoded::parse(body) {
            let v = v.into_owned();
            match k.as_ref() {
                "action" => form.action = v,
                "version" => form.version = v,
                "token" => form.token = v,
                "step" => form.step = v,
                "comment" => form.comment = v,
                "role" => form.role = v,
                "discard" => form.discard = v == "true",
                "assignees" => form.assignees = v,
                _ => {}
            }
        }
        form
    }

    pub(crate) fn choice(&self) -> Option<Choice> {
        let step = self.step.clone();
        Some(match self.action.as_str() {
            "approve" => Choice::Approve { step },
            "approve-publish" => Choice::ApprovePublish { step },
            "reject" => Choice::Reject { step },
            "retract" => Choice::Retract,
            "publish" => Choice::Publish,
            "unpublish" => Choice::Unpublish,
            "assign" => Choice::Assign { step },
            "submit" => Choice::Submit,
            _ => return None,
        })
    }

    fn text(value: &str) -> Option<String> {
        let value = value.trim();
        (!value.is_empty()).then(|| value.to_string())
    }

    /// The action the CLI would build from the same choices.
    pub(crate) fn action(&self, choice: &Choice) -> Action {
        let comment = Form::text(&self.comment);
        let role = Form::text(&self.role);
        match choice {
            Choice::Approve { step } | Choice::ApprovePublish { step } => Action::Approve {
                step: step.clone(),
                role,
                comment,
                publish: matches!(choice, Choice::ApprovePublish { .. }),
                override_: false,
            },
            Choice::Reject { step } => Action::Reject {
                step: step.clone(),
                role,
                comment,
                discard: self.discard,
            },
            Choice::Retract => Action::Retract,
            Choice::Publish => Action::Publish,
            Choice::Unpublish => Action::Unpublish { comment },
            Choice::Assign { step } => {
                let mut assignees: Vec<String> = self
                    .assignees
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect();
                assignees.sort();
                assignees.dedup();
                Action::Assign {
                    step: step.clone(),
                    assignees,
                }
            }
            Choice::Submit => Action::Submit {
                comment,
                assign: None,
            },
        }
    }
}

/// How a POST ended: a record written (its path), or refused with a status and the reason.
pub(crate) enum Outcome {
    Written(String),
    Refused(StatusCode, String),
}

/// The checks a POST passes before anything is read from disk: a key to sign with, and an
/// `Origin` that is this server's own (`host`, already checked against the names it was
/// started for).
pub(crate) fn check_request(
    decider: Option<&Decider>,
    headers: &HeaderMap,
    host: &str,
) -> std::result::Result<(), (StatusCode, String)> {
    if decider.is_none() {
        return Err((
            StatusCode::FORBIDDEN,
            "this server signs nothing: start it with `imprimatur serve --key FILE` (or --agent) to decide in the browser".into(),
        ));
    }
    let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok());
    let own = [format!("http://{host}"), format!("https://{host}")];
    match origin {
        Some(o) if own.iter().any(|own| own == o) => Ok(()),
        Some(o) => Err((
            StatusCode::FORBIDDEN,
            format!("a decision must come from this server's own pages; this one came from {o}"),
        )),
        None => Err((
            StatusCode::FORBIDDEN,
            "a decision must come from this server's own pages; this request names no Origin"
                .into(),
        )),
    }
}

/// Signs what the form asks on page `id`, at `now`, through the CLI's signing path. Loads the
/// site afresh: the decision is about the bytes on disk now, not the ones last judged.
pub(crate) fn decide(
    decider: &Decider,
    site_root: &std::path::Path,
    id: &str,
    now: Instant,
    body: &[u8],
) -> Outcome {
    let form = Form::parse(body);
    let refused = |why: String| Outcome::Refused(StatusCode::FORBIDDEN, why);
    // The token first: without it, nothing of the request is looked at further.
    if !decider.token_matches(id, &form.version, &form.token) {
        return refused(
            "this decision carries no valid token for the page and version it names; open the review page and decide there".into(),
        );
    }
    let Some(choice) = form.choice() else {
        return Outcome::Refused(
            StatusCode::BAD_REQUEST,
            format!("'{}' is not a decision", form.action),
        );
    };
    let site = match Site::load(site_root) {
        Ok(site) => site,
        Err(e) => return Outcome::Refused(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let Some(judged) = site.evaluate_one(id, now, None) else {
        return Outcome::Refused(StatusCode::NOT_FOUND, format!("no page '{id}' in content/"));
    };
    match choice.version(&judged) {
        Ok(v) if v.as_str() == form.version => {}
        _ => {
            return Outcome::Refused(
                StatusCode::CONFLICT,
                "the page changed since you opened it: nothing was signed; the page reloads to show it as it is now".into(),
            )
        }
    }
    let req = SignRequest {
        site_root,
        action: form.action(&choice),
        page: id,
        key: &decider.source,
        version: Some(&form.version),
        now,
        force: false,
    };
    match sign::sign_in(&site, &decider.signer, &req) {
        Ok(path) => Outcome::Written(path),
        Err(Error::Refused(why) | Error::Usage(why)) => refused(why),
        Err(e) => Outcome::Refused(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// The page a refused decision answers with: why, and the way back (after a 409, by itself).
pub(crate) fn refusal_page(status: StatusCode, why: &str, id: Option<&str>) -> String {
    let back = id.map(|id| review_link("/_review/", id));
    let refresh = match (&back, status) {
        (Some(back), StatusCode::CONFLICT) => format!(
            "<meta http-equiv=\"refresh\" content=\"2;url={}\">\n",
            escape(back)
        ),
        _ => String::new(),
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"robots\" content=\"noindex\">{refresh}<title>Not signed · imprimatur review</title></head>\n<body style=\"font:16px/1.5 system-ui,sans-serif;margin:2rem\">\n<h1>Nothing was signed</h1>\n<p class=\"refusal\">{}</p>\n{}</body></html>\n",
        escape(why),
        back.map_or(String::new(), |b| format!(
            "<p><a href=\"{}\">Back to the review page</a></p>\n",
            escape(&b)
        ))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decider() -> Decider {
        let secret = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        Decider {
            source: KeySource::File("k.pem".into()),
            signer: Signer::from_secret(secret, std::path::Path::new("k.pem")),
            reviewer: "alice".into(),
            tokens: Tokens { secret: [9; 32] },
        }
    }

    #[test]
    fn a_token_signs_for_its_page_and_version_only() {
        let d = decider();
        let token = d.token("kb/a", "sha256:01");
        assert!(d.token_matches("kb/a", "sha256:01", &token));
        assert!(!d.token_matches("kb/a", "sha256:02", &token));
        assert!(!d.token_matches("kb/b", "sha256:01", &token));
        // The lengths are bound too: no page id and version can pose as another pair.
        assert!(!d.token_matches("kb/asha256:0", "1", &token));
        assert!(!d.token_matches("kb/a", "sha256:01", ""));
        assert!(!d.token_matches("kb/a", "sha256:01", "not base64!"));
        // Another process draws another secret.
        let other = Decider {
            tokens: Tokens { secret: [10; 32] },
            ..decider()
        };
        assert!(!other.token_matches("kb/a", "sha256:01", &token));
    }

    #[test]
    fn a_passkey_form_token_is_bound_to_its_session_too() {
        let reviewer = |session: &str| PasskeyReviewer {
            reviewer: "dana".into(),
            session: session.into(),
            tokens: Tokens { secret: [9; 32] },
        };
        let token = reviewer("s1").token("kb/a", "sha256:01");
        assert!(reviewer("s1").token_matches("kb/a", "sha256:01", &token));
        assert!(!reviewer("s2").token_matches("kb/a", "sha256:01", &token));
        assert!(!reviewer("s1").token_matches("kb/b", "sha256:01", &token));
        // Not a token of serve --key's forms, nor of the sign-out, under the same secret.
        assert_ne!(
            token,
            Tokens { secret: [9; 32] }.token("decide", &["kb/a", "sha256:01"])
        );
        assert!(!reviewer("s1").signout_token_matches(&token));
        assert!(reviewer("s1").signout_token_matches(&reviewer("s1").signout_token()));
        assert!(!reviewer("s2").signout_token_matches(&reviewer("s1").signout_token()));
    }

    #[test]
    fn a_form_names_the_decision_and_its_fields() {
        let form = Form::parse(b"action=reject&version=sha256%3A01&token=t&step=technical&comment=+Too+short+&discard=true&role=");
        assert_eq!(
            form.choice(),
            Some(Choice::Reject {
                step: "technical".into()
            })
        );
        assert_eq!(
            form.action(&form.choice().unwrap()),
            Action::Reject {
                step: "technical".into(),
                role: None,
                comment: Some("Too short".into()),
                discard: true
            }
        );
        assert_eq!(Form::parse(b"action=delete-everything").choice(), None);
    }
}
