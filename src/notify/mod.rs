//! `imprimatur notify`: delivers the outbox (SPEC §9, `reports/notifications.json`) by e-mail,
//! Slack-compatible chat and a signed JSON webhook, each notification once per person and
//! channel. The stages, in order: the items due (the outbox of the judged site, plus
//! `cancelled` derived from the ledger), the plan (`plan`: routing, ledger, digests,
//! baseline), then delivery, recording each delivered message in the ledger as it goes.
//! Formats and guarantees: docs/notifications.md.

mod chat;
pub mod config;
mod email;
pub(crate) mod ledger;
mod message;
pub(crate) mod plan;
mod webhook;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::error::Result;
use crate::notify::config::NotifyConfig;
use crate::notify::ledger::{Entry, How, Ledger, LedgerLock};
use crate::notify::plan::{Channel, Item, Message, MessageKind, Plan, Route};
use crate::report::inbox::ReviewLink;
use crate::report::notifications::{self, notification_id, Notification, Recipient};
use crate::site::{Evaluation, Site};
use crate::time::{self, Instant};
use crate::trust::keyring::Keyring;
use crate::trust::review::Outcome;

/// How long a run waits for another run's lock before it gives up.
const LOCK_WAIT: Duration = Duration::from_secs(30);

/// Why one message did not go out.
#[derive(Debug)]
pub(crate) enum SendError {
    /// The channel itself failed (down, timeout, 5xx): retried, then the rest of the route
    /// waits for the next run.
    Route(String),
    /// Only this message can't go (a malformed address, a permanent refusal): not retried
    /// now, tried again next run; the route goes on.
    Message(String),
}

#[derive(Debug, Clone, Serialize)]
pub struct DeliveryItem {
    pub id: String,
    pub event: String,
    pub page: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    /// `sent`, `would_send` (--dry-run), `failed`, `not_tried` (its route failed earlier in
    /// this run), `seen` (baseline: marked, not sent), `deferred` (in tomorrow's digest).
    pub status: &'static str,
    pub channel: &'static str,
    pub route: String,
    pub to: Option<String>,
    pub address: Option<String>,
    /// `event`, `digest` or `baseline` (the first digest of a new route); none for `seen`
    /// and `deferred`.
    pub kind: Option<&'static str>,
    pub subject: Option<String>,
    pub items: Vec<DeliveryItem>,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NotifyReport {
    pub now: String,
    pub dry_run: bool,
    pub ledger: Option<String>,
    /// Routes that started in this run (baseline).
    pub started: Vec<String>,
    pub deliveries: Vec<Delivery>,
    /// Channels that could not be used at all (a secret missing from the environment).
    pub errors: Vec<String>,
    pub notes: Vec<String>,
}

impl NotifyReport {
    /// Whether anything due was not delivered (exit 4).
    pub fn failed(&self) -> bool {
        !self.errors.is_empty()
            || self
                .deliveries
                .iter()
                .any(|d| matches!(d.status, "failed" | "not_tried"))
    }

    fn count(&self, status: &str) -> usize {
        self.deliveries
            .iter()
            .filter(|d| d.status == status)
            .count()
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        if let Some(ledger) = &self.ledger {
            out.push_str(&format!(
                "notify at {}{}, ledger {ledger}\n",
                self.now,
                if self.dry_run {
                    " (dry run: nothing is sent or written)"
                } else {
                    ""
                }
            ));
        }
        for route in &self.started {
            out.push_str(&format!(
                "new route {route}: past events marked seen, one digest of what waits now\n"
            ));
        }
        for d in &self.deliveries {
            if matches!(d.status, "seen" | "deferred") {
                continue;
            }
            let to = match (&d.to, &d.address) {
                (Some(to), Some(a)) => format!("{to} <{}>", crate::fs::printable(a)),
                (Some(to), None) => to.clone(),
                _ => d.route.clone(),
            };
            let what = d
                .items
                .iter()
                .map(|i| format!("{} {}", i.event, i.page))
                .collect::<Vec<_>>()
                .join(", ");
            out.push_str(&format!(
                "{:<10} {:<7} {to}: {}{what}{}\n",
                d.status.replace('_', " "),
                d.channel,
                match d.kind {
                    Some("digest") => "digest: ",
                    Some("baseline") => "waiting now: ",
                    _ => "",
                },
                d.detail
                    .as_ref()
                    .map(|x| format!(" — {x}"))
                    .unwrap_or_default()
            ));
        }
        for e in &self.errors {
            out.push_str(&format!("error      {e}\n"));
        }
        for n in &self.notes {
            out.push_str(&format!("note: {n}\n"));
        }
        let sent = if self.dry_run {
            format!("{} would be sent", self.count("would_send"))
        } else {
            format!("{} sent", self.count("sent"))
        };
        out.push_str(&format!(
            "{sent}, {} failed, {} not tried, {} marked seen (baseline), {} deferred to the next digest\n",
            self.count("failed"),
            self.count("not_tried") + self.errors.len(),
            self.count("seen"),
            self.count("deferred"),
        ));
        out
    }
}

/// Everything due now: the outbox, plus a `cancelled` for each delivered request that a
/// retract or a newer submit made obsolete.
pub(crate) fn items(site: &Site, eval: &Evaluation, ledger: &Ledger) -> Vec<Item> {
    let item = |n: Notification, only| Item {
        space: n.page.split('/').next().unwrap_or("").to_string(),
        title: title_at(site, eval, &n.page, &n.version),
        review: ReviewLink::of(site.config.review_url.as_deref(), &n.page),
        n,
        only,
    };
    let mut items: Vec<Item> = notifications::outbox(site, eval)
        .notifications
        .into_iter()
        .map(|n| item(n, None))
        .collect();
    for (n, only) in cancelled(site, eval, ledger) {
        items.push(item(n, Some(only)));
    }
    items
}

/// The title of `page` at `version`, from that version's own bytes: a message about a version
/// says what that version says, never what the file holds now (an edit nobody submitted).
/// The current file when it still is that version, else the store, which keeps every version
/// submitted or decided; none when neither has it (the message then names the page id).
fn title_at(site: &Site, eval: &Evaluation, page: &str, version: &str) -> Option<String> {
    if let Some(p) = eval
        .page(page)
        .filter(|p| p.page.version.as_str() == version)
    {
        return p.front().ok().map(|f| f.title.clone());
    }
    let version = crate::trust::version::Version::parse(version)?;
    let files = site.store.get_version(&version).ok()?;
    crate::site::content::parse_page(&files.markdown)
        .ok()
        .map(|(front, _)| front.title)
}

type Destinations = BTreeSet<(String, Option<String>)>;

/// What became of the version a delivered `review_requested` asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    /// Still in review (maybe at another step), or decided (approved, rejected): no
    /// cancellation; those have their own events.
    Open,
    Retracted(Instant),
    /// A newer version was submitted at this instant.
    Replaced(Instant),
    PageRemoved,
}

/// Reads the fate of `page`'s `version` off the judged site.
fn fate(site: &Site, eval: &Evaluation, page: &str, version: &str) -> Fate {
    let Some(p) = eval.page(page) else {
        return if site.page(page).is_none() {
            Fate::PageRemoved
        } else {
            Fate::Open
        };
    };
    let Some(review) = p.review() else {
        return Fate::Open;
    };
    if review
        .in_review
        .as_ref()
        .is_some_and(|r| r.version.as_str() == version)
    {
        return Fate::Open;
    }
    let Some(v) = review
        .versions
        .values()
        .find(|v| v.version.as_str() == version)
    else {
        return Fate::Open;
    };
    match v.outcome {
        Outcome::Retracted => Fate::Retracted(
            v.history
                .last()
                .map_or(eval.now, |&i| p.records[i].record.signed_at),
        ),
        Outcome::Replaced => Fate::Replaced(
            review
                .versions
                .values()
                .map(|o| o.submitted_at)
                .filter(|t| *t > v.submitted_at)
                .min()
                .unwrap_or(eval.now),
        ),
        _ => Fate::Open,
    }
}

fn cancelled(site: &Site, eval: &Evaluation, ledger: &Ledger) -> Vec<(Notification, Destinations)> {
    cancellations(
        ledger,
        &|page, version| fate(site, eval, page, version),
        &site.keyring,
        eval.now,
    )
}

/// `cancelled`: a `review_requested` the ledger says went out (not one only marked seen at a
/// baseline), whose version is no longer asked about because it was retracted or replaced by
/// a newer submit, or its page is gone. To exactly the routes and people that got the request.
pub(crate) fn cancellations(
    ledger: &Ledger,
    fate: &dyn Fn(&str, &str) -> Fate,
    keyring: &Keyring,
    now: Instant,
) -> Vec<(Notification, Destinations)> {
    let mut requests: BTreeMap<&str, (&Entry, Destinations)> = BTreeMap::new();
    for e in &ledger.delivered {
        if e.event == "review_requested" && e.how != How::Baseline {
            requests
                .entry(e.id.as_str())
                .or_insert_with(|| (e, BTreeSet::new()))
                .1
                .insert((e.route.clone(), e.to.clone()));
        }
    }
    let mut out = Vec::new();
    for (e, only) in requests.into_values() {
        let (why, since) = match fate(&e.page, &e.version) {
            Fate::Open => continue,
            Fate::Retracted(at) => ("the version was retracted", at),
            Fate::Replaced(at) => ("a newer version was submitted", at),
            Fate::PageRemoved => ("the page was removed", now),
        };
        let to = only
            .iter()
            .filter_map(|(_, to)| to.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(|r| Recipient {
                email: keyring.reviewers.get(&r).and_then(|x| x.email.clone()),
                reviewer: r,
            })
            .collect();
        let step = e.step.as_deref();
        out.push((
            Notification {
                id: notification_id("cancelled", &e.page, &e.version, step),
                event: "cancelled",
                page: e.page.clone(),
                version: e.version.clone(),
                step: e.step.clone(),
                to,
                reason: format!(
                    "the review of '{}'{} is no longer needed: {why}",
                    e.page,
                    step.map(|s| format!(" in step '{s}'")).unwrap_or_default()
                ),
                since: time::format_utc(&since),
            },
            only,
        ));
    }
    out
}

enum Destination {
    Email(email::Mailer),
    Chat {
        url: String,
        env: String,
    },
    Hook {
        url: String,
        env: String,
        secret: String,
    },
}

fn resolve(route: &Route, config: &NotifyConfig) -> std::result::Result<Destination, String> {
    let var = |name: &str| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| format!("${name} is not set"))
    };
    match route.channel {
        Channel::Email => {
            let email = config.email.as_ref().expect("an e-mail route has a config");
            email::Mailer::new(email, config.timeout).map(Destination::Email)
        }
        Channel::Slack => {
            let env = route.env.clone().unwrap_or_default();
            let url = var(&env)?;
            webhook::check_url(&url, &env)?;
            Ok(Destination::Chat { url, env })
        }
        Channel::Webhook => {
            let env = route.env.clone().unwrap_or_default();
            let secret_env = config
                .webhook
                .iter()
                .chain(config.spaces.values().filter_map(|s| s.webhook.as_ref()))
                .find(|w| w.url_env == env)
                .map(|w| w.secret_env.clone())
                .unwrap_or_default();
            let url = var(&env)?;
            webhook::check_url(&url, &env)?;
            Ok(Destination::Hook {
                url,
                env,
                secret: var(&secret_env)?,
            })
        }
    }
}

fn send(
    dest: &Destination,
    site_title: &str,
    msg: &Message,
    items: &[Item],
    site: &Site,
    timeout: Duration,
) -> std::result::Result<(), SendError> {
    match dest {
        Destination::Email(mailer) => {
            let to = recipient(site, msg).map_err(SendError::Message)?;
            let text = message::compose(site_title, msg, items);
            mailer.send(to, &text)
        }
        Destination::Chat { url, env } => {
            let body = message::chat_body(site_title, msg, items, &site.keyring);
            chat::send(url, env, &body, timeout)
        }
        Destination::Hook { url, env, secret } => {
            let item = &items[msg.new[0]];
            let body = serde_json::to_vec(&message::webhook_body(site_title, item))
                .expect("a webhook body serializes");
            // The clock, not --now: the receiver compares it with its own to refuse replays.
            let timestamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let headers = [
                ("X-Imprimatur-Event", item.n.event.to_string()),
                ("X-Imprimatur-Delivery", item.n.id.clone()),
                ("X-Imprimatur-Timestamp", timestamp.to_string()),
                (
                    "X-Imprimatur-Signature",
                    webhook::signature(secret.as_bytes(), timestamp, &body),
                ),
            ];
            webhook::post(url, env, &headers, &body, timeout).map_err(SendError::Route)
        }
    }
}

/// The mailbox an e-mail message goes to, or why the keyring's entry can't be one
/// (named, for the report; the rest of the run goes on).
fn recipient(site: &Site, msg: &Message) -> std::result::Result<lettre::message::Mailbox, String> {
    let who = msg.to.as_deref().unwrap_or_default();
    let address = address_of(site, msg).unwrap_or_default();
    email::recipient(&site.keyring.name_of(who), &address).map_err(|why| {
        format!("recipient '{who}': {why}; fix their entry in approvals/keyring.yaml")
    })
}

fn address_of(site: &Site, msg: &Message) -> Option<String> {
    msg.to
        .as_deref()
        .filter(|_| msg.route.channel == Channel::Email)
        .and_then(|r| site.keyring.reviewers.get(r))
        .and_then(|r| r.email.clone())
}

/// Sends with retries: `tries` attempts, waiting `backoff`, then twice that, ... between.
fn send_with_retries(
    config: &NotifyConfig,
    attempt: &mut dyn FnMut() -> std::result::Result<(), SendError>,
) -> std::result::Result<(), SendError> {
    let mut wait = config.backoff;
    let mut tries = 0;
    loop {
        tries += 1;
        match attempt() {
            Ok(()) => return Ok(()),
            Err(SendError::Route(_)) if tries < config.tries => {
                std::thread::sleep(wait);
                wait *= 2;
            }
            Err(SendError::Route(why)) => {
                return Err(SendError::Route(format!("{why} ({tries} tries)")))
            }
            Err(e) => return Err(e),
        }
    }
}

fn entry(item: &Item, route: &Route, to: Option<&String>, at: &str, how: How) -> Entry {
    Entry {
        id: item.n.id.clone(),
        event: item.n.event.to_string(),
        page: item.n.page.clone(),
        version: item.n.version.clone(),
        step: item.n.step.clone(),
        route: route.key(),
        to: to.cloned(),
        at: at.to_string(),
        how,
    }
}

fn delivery_items(items: &[Item], idx: &[usize]) -> Vec<DeliveryItem> {
    idx.iter()
        .map(|&i| DeliveryItem {
            id: items[i].n.id.clone(),
            event: items[i].n.event.to_string(),
            page: items[i].n.page.clone(),
        })
        .collect()
}

/// Judges nothing itself: `eval` is the site judged at `now`. Without `dry_run`, holds the
/// ledger's lock for the whole run and records every delivered message at once.
pub fn run(site: &Site, eval: &Evaluation, dry_run: bool) -> Result<NotifyReport> {
    let now = eval.now;
    let mut report = NotifyReport {
        now: time::format_utc(&now),
        dry_run,
        ledger: None,
        started: Vec::new(),
        deliveries: Vec::new(),
        errors: Vec::new(),
        notes: Vec::new(),
    };
    let config = config::load(&site.config)?;
    let Some(config) = config.as_ref().filter(|c| c.has_channels()) else {
        report.notes.push(
            "imprimatur.yaml configures no notification channel (notifications: email, slack, webhook): nothing to deliver".into(),
        );
        return Ok(report);
    };
    report.ledger = Some(config.ledger_shown.clone());
    let _lock = if dry_run {
        None
    } else {
        Some(LedgerLock::acquire(
            &site.config.root,
            Path::new(&config.ledger_shown),
            LOCK_WAIT,
        )?)
    };
    let root = &site.config.root;
    let ledger_rel = Path::new(&config.ledger_shown);
    let mut ledger =
        Ledger::load(root, Path::new(&config.ledger_shown))?.unwrap_or_else(Ledger::new);
    let items = items(site, eval, &ledger);

    let mut destinations = BTreeMap::new();
    for route in plan::configured_routes(config) {
        match resolve(&route, config) {
            Ok(d) => {
                destinations.insert(route, d);
            }
            Err(why) => report.errors.push(format!("{}: {why}", route.key())),
        }
    }
    let available: BTreeSet<Route> = destinations.keys().cloned().collect();
    let today = now.format("%Y-%m-%d").to_string();
    let Plan {
        started,
        seen,
        messages,
        deferred,
        notes,
    } = plan::plan(&items, &ledger, config, &site.keyring, &available, &today);
    report.notes = notes;
    report.started = started.clone();
    let at = time::format_utc(&now);

    let marked = |status, list: &[(usize, Route, Option<String>)], out: &mut Vec<Delivery>| {
        for (i, route, to) in list {
            out.push(Delivery {
                status,
                channel: route.channel.as_str(),
                route: route.key(),
                to: to.clone(),
                address: None,
                kind: None,
                subject: None,
                items: delivery_items(&items, &[*i]),
                detail: None,
            });
        }
    };
    marked("seen", &seen, &mut report.deliveries);
    marked("deferred", &deferred, &mut report.deliveries);
    if !dry_run {
        for route in &started {
            ledger.start_route(route, &at);
        }
        for (i, route, to) in &seen {
            ledger.record(entry(&items[*i], route, to.as_ref(), &at, How::Baseline));
        }
        // Written even when nothing was due: the routes have started, and a later run must
        // not take what is past by then for new.
        ledger.save(root, ledger_rel)?;
    }

    let site_title = &site.config.title;
    let mut broken: BTreeMap<Route, String> = BTreeMap::new();
    for msg in &messages {
        let text = message::compose(site_title, msg, &items);
        let mut d = Delivery {
            status: "would_send",
            channel: msg.route.channel.as_str(),
            route: msg.route.key(),
            to: msg.to.clone(),
            address: address_of(site, msg),
            kind: Some(match msg.kind {
                MessageKind::Event => "event",
                MessageKind::Digest => "digest",
                MessageKind::Baseline => "baseline",
            }),
            subject: (msg.route.channel == Channel::Email).then(|| text.subject.clone()),
            items: delivery_items(&items, &msg.new),
            detail: None,
        };
        // A recipient whose name or address can't go in a header fails alone, dry run or not.
        if msg.route.channel == Channel::Email {
            if let Err(why) = recipient(site, msg) {
                d.status = "failed";
                d.detail = Some(why);
                report.deliveries.push(d);
                continue;
            }
        }
        if dry_run {
            report.deliveries.push(d);
            continue;
        }
        if let Some(why) = broken.get(&msg.route) {
            d.status = "not_tried";
            d.detail = Some(format!(
                "{} failed earlier in this run: {why}",
                msg.route.key()
            ));
            report.deliveries.push(d);
            continue;
        }
        let dest = &destinations[&msg.route];
        match send_with_retries(config, &mut || {
            send(dest, site_title, msg, &items, site, config.timeout)
        }) {
            Ok(()) => {
                let how = match msg.kind {
                    MessageKind::Event => How::Sent,
                    MessageKind::Digest | MessageKind::Baseline => How::Digest,
                };
                for &i in &msg.new {
                    ledger.record(entry(&items[i], &msg.route, msg.to.as_ref(), &at, how));
                }
                if msg.kind == MessageKind::Digest {
                    ledger.set_digest_day(&msg.route.key(), msg.to.as_deref(), &today);
                }
                ledger.save(root, ledger_rel)?;
                d.status = "sent";
            }
            Err(SendError::Route(why)) => {
                d.status = "failed";
                d.detail = Some(why.clone());
                broken.insert(msg.route.clone(), why);
            }
            Err(SendError::Message(why)) => {
                d.status = "failed";
                d.detail = Some(why);
            }
        }
        report.deliveries.push(d);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(page: &str, route: &str, to: Option<&str>, how: How) -> Entry {
        Entry {
            id: notification_id("review_requested", page, "sha256:01", Some("technical")),
            event: "review_requested".into(),
            page: page.into(),
            version: "sha256:01".into(),
            step: Some("technical".into()),
            route: route.into(),
            to: to.map(String::from),
            at: "2026-11-17T09:00:00Z".into(),
            how,
        }
    }

    #[test]
    fn a_delivered_request_that_was_retracted_replaced_or_removed_is_cancelled_where_it_went() {
        let keyring = Keyring::parse(
            "reviewers:\n  - {id: alice, name: Alice, email: alice@example.com}\n  - {id: bob, name: Bob}\n",
        )
        .unwrap();
        let mut ledger = Ledger::new();
        for e in [
            request("kb/retracted", "email", Some("alice"), How::Sent),
            request("kb/retracted", "slack:S", None, How::Sent),
            request("kb/replaced", "email", Some("bob"), How::Digest),
            request("kb/open", "email", Some("alice"), How::Sent),
            request("kb/removed", "webhook:H", None, How::Sent),
            // Only marked seen at a baseline: nobody was asked, nobody is told it is off.
            request("kb/baseline", "email", Some("alice"), How::Baseline),
        ] {
            ledger.record(e);
        }
        let at = |t: &str| time::parse_rfc3339(t).unwrap();
        let fate = |page: &str, _: &str| match page {
            "kb/retracted" => Fate::Retracted(at("2026-11-18T10:00:00Z")),
            "kb/replaced" => Fate::Replaced(at("2026-11-18T11:00:00Z")),
            "kb/removed" => Fate::PageRemoved,
            _ => Fate::Open,
        };
        let now = at("2026-11-20T00:00:00Z");
        let got = cancellations(&ledger, &fate, &keyring, now);
        let summary: Vec<String> = got
            .iter()
            .map(|(n, only)| {
                let to: Vec<&str> = n.to.iter().map(|r| r.reviewer.as_str()).collect();
                let only: Vec<String> = only
                    .iter()
                    .map(|(r, t)| format!("{r}/{}", t.as_deref().unwrap_or("-")))
                    .collect();
                format!(
                    "{} {} to[{}] via[{}] {}",
                    n.page,
                    n.since,
                    to.join(","),
                    only.join(","),
                    n.reason
                )
            })
            .collect();
        let mut summary = summary;
        summary.sort();
        assert_eq!(
            summary,
            [
                "kb/removed 2026-11-20T00:00:00Z to[] via[webhook:H/-] the review of 'kb/removed' in step 'technical' is no longer needed: the page was removed",
                "kb/replaced 2026-11-18T11:00:00Z to[bob] via[email/bob] the review of 'kb/replaced' in step 'technical' is no longer needed: a newer version was submitted",
                "kb/retracted 2026-11-18T10:00:00Z to[alice] via[email/alice,slack:S/-] the review of 'kb/retracted' in step 'technical' is no longer needed: the version was retracted",
            ]
        );
        let (n, _) = got.iter().find(|(n, _)| n.page == "kb/retracted").unwrap();
        assert_eq!(n.event, "cancelled");
        assert_eq!(
            n.id,
            notification_id("cancelled", "kb/retracted", "sha256:01", Some("technical"))
        );
        assert_eq!(n.to[0].email.as_deref(), Some("alice@example.com"));
    }
}
