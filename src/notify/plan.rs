//! What a run must deliver, decided without touching the network: the notifications due now
//! (the outbox, plus `cancelled` from the ledger), routed to each channel and person, minus
//! what the ledger says was delivered, grouped into messages — one per event, or one digest
//! per person and day. A route the ledger has never seen starts with a baseline: its past
//! events are marked seen unsent, and each person gets one digest of what waits on them.

use std::collections::{BTreeMap, BTreeSet};

use crate::notify::config::{DigestMode, NotifyConfig};
use crate::notify::ledger::Ledger;
use crate::report::notifications::Notification;
use crate::trust::keyring::Keyring;

/// Events that describe work someone still has to do; the rest are news of the past.
pub const WAITING: &[&str] = &["review_requested", "escalation", "stale", "review_due"];

pub fn is_waiting(event: &str) -> bool {
    WAITING.contains(&event)
}

/// One notification and what a message about it needs beside the outbox fields.
#[derive(Debug, Clone)]
pub struct Item {
    pub n: Notification,
    pub space: String,
    pub title: Option<String>,
    /// Where the page's review is: a URL under `review_url`, or how to open it.
    pub review: crate::report::inbox::ReviewLink,
    /// For `cancelled`: only the routes and recipients that received the request.
    pub only: Option<BTreeSet<(String, Option<String>)>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Channel {
    Email,
    Slack,
    Webhook,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Slack => "slack",
            Channel::Webhook => "webhook",
        }
    }
}

/// A channel and its destination: `email`, `slack:<ENV>`, `webhook:<ENV>`, named by the
/// environment variable holding the URL (so the ledger never holds a secret).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Route {
    pub channel: Channel,
    pub env: Option<String>,
}

impl Route {
    pub fn key(&self) -> String {
        match &self.env {
            Some(env) => format!("{}:{env}", self.channel.as_str()),
            None => self.channel.as_str().to_string(),
        }
    }
}

/// Every route the config can deliver through, in a fixed order.
pub fn configured_routes(config: &NotifyConfig) -> Vec<Route> {
    let mut routes = BTreeSet::new();
    if config.email.is_some() {
        routes.insert(Route {
            channel: Channel::Email,
            env: None,
        });
    }
    let slack = config
        .slack
        .iter()
        .chain(config.spaces.values().filter_map(|s| s.slack.as_ref()));
    for s in slack {
        routes.insert(Route {
            channel: Channel::Slack,
            env: Some(s.webhook_env.clone()),
        });
    }
    let hooks = config
        .webhook
        .iter()
        .chain(config.spaces.values().filter_map(|s| s.webhook.as_ref()));
    for w in hooks {
        routes.insert(Route {
            channel: Channel::Webhook,
            env: Some(w.url_env.clone()),
        });
    }
    routes.into_iter().collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// One event.
    Event,
    /// Everything new for one person (or chat channel) today, plus what still waits on them.
    Digest,
    /// The first message of a new route: what waits on them now; nothing of the past.
    Baseline,
}

#[derive(Debug, Clone)]
pub struct Message {
    pub route: Route,
    /// The reviewer, for e-mail.
    pub to: Option<String>,
    pub kind: MessageKind,
    /// Items this message delivers (recorded in the ledger when it goes out), oldest first.
    pub new: Vec<usize>,
    /// Items already delivered that still wait on them, shown again in a digest.
    pub waiting: Vec<usize>,
}

#[derive(Debug, Default)]
pub struct Plan {
    /// Routes that start with this run (no entry in the ledger yet).
    pub started: Vec<String>,
    /// Past events on a starting route, marked seen without a message.
    pub seen: Vec<(usize, Route, Option<String>)>,
    pub messages: Vec<Message>,
    /// Due, but today's digest for them went out already: in tomorrow's.
    pub deferred: Vec<(usize, Route, Option<String>)>,
    pub notes: Vec<String>,
}

/// Oldest first; at one moment, in the order things happen: a cancellation or a passed step
/// before the request that follows it, news before reminders.
fn order(n: &Notification) -> (&str, &str, usize, &str) {
    const STORY: &[&str] = &[
        "cancelled",
        "rejected",
        "step_passed",
        "approved",
        "published",
        "review_requested",
        "escalation",
        "stale",
        "review_due",
    ];
    let rank = STORY
        .iter()
        .position(|e| *e == n.event)
        .unwrap_or(STORY.len());
    (&n.since, &n.page, rank, &n.id)
}

/// Where one notification goes: (route, reviewer for e-mail), per channel and opt-outs.
fn destinations(
    item: &Item,
    config: &NotifyConfig,
    keyring: &Keyring,
    notes: &mut BTreeSet<String>,
) -> Vec<(Route, Option<String>)> {
    let mut out = Vec::new();
    if config.email.is_some() {
        for r in &item.n.to {
            if !keyring.notify_prefs(&r.reviewer).email {
                continue;
            }
            if r.email.is_none() {
                notes.insert(format!(
                    "{} has no email in approvals/keyring.yaml: no e-mail to them",
                    r.reviewer
                ));
                continue;
            }
            out.push((
                Route {
                    channel: Channel::Email,
                    env: None,
                },
                Some(r.reviewer.clone()),
            ));
        }
    }
    if let Some(slack) = config.slack_for(&item.space) {
        let anyone = item.n.to.is_empty()
            || item
                .n
                .to
                .iter()
                .any(|r| keyring.notify_prefs(&r.reviewer).slack);
        if anyone {
            out.push((
                Route {
                    channel: Channel::Slack,
                    env: Some(slack.webhook_env.clone()),
                },
                None,
            ));
        }
    }
    if let Some(hook) = config.webhook_for(&item.space) {
        out.push((
            Route {
                channel: Channel::Webhook,
                env: Some(hook.url_env.clone()),
            },
            None,
        ));
    }
    if let Some(only) = &item.only {
        out.retain(|(route, to)| only.contains(&(route.key(), to.clone())));
    }
    out
}

/// The run's plan. `available`: the routes whose secrets are set (the others are reported
/// as failed by the caller and left out, so they do not start before they can deliver).
pub fn plan(
    items: &[Item],
    ledger: &Ledger,
    config: &NotifyConfig,
    keyring: &Keyring,
    available: &BTreeSet<Route>,
    today: &str,
) -> Plan {
    let mut notes = BTreeSet::new();
    let mut due: BTreeMap<(Route, Option<String>), Vec<usize>> = BTreeMap::new();
    let mut still_waiting: BTreeMap<(Route, Option<String>), Vec<usize>> = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        for (route, to) in destinations(item, config, keyring, &mut notes) {
            if !available.contains(&route) {
                continue;
            }
            if ledger.has(&item.n.id, &route.key(), to.as_deref()) {
                if is_waiting(item.n.event) {
                    still_waiting.entry((route, to)).or_default().push(i);
                }
            } else {
                due.entry((route, to)).or_default().push(i);
            }
        }
    }
    let oldest_first = |v: &mut Vec<usize>| v.sort_by_key(|&i| order(&items[i].n));
    let mut plan = Plan {
        started: available
            .iter()
            .map(Route::key)
            .filter(|k| !ledger.has_route(k))
            .collect(),
        ..Plan::default()
    };
    for ((route, to), mut new) in due {
        oldest_first(&mut new);
        let key = route.key();
        if !ledger.has_route(&key) {
            let (waiting, past): (Vec<usize>, Vec<usize>) = new
                .into_iter()
                .partition(|&i| route.channel != Channel::Webhook && is_waiting(items[i].n.event));
            plan.seen
                .extend(past.into_iter().map(|i| (i, route.clone(), to.clone())));
            if !waiting.is_empty() {
                plan.messages.push(Message {
                    route,
                    to,
                    kind: MessageKind::Baseline,
                    new: waiting,
                    waiting: Vec::new(),
                });
            }
            continue;
        }
        match (route.channel, config.digest) {
            (Channel::Webhook, _) | (_, DigestMode::Immediate) => {
                for i in new {
                    plan.messages.push(Message {
                        route: route.clone(),
                        to: to.clone(),
                        kind: MessageKind::Event,
                        new: vec![i],
                        waiting: Vec::new(),
                    });
                }
            }
            (_, DigestMode::Daily) => {
                if ledger.digest_day(&key, to.as_deref()) == Some(today) {
                    plan.deferred
                        .extend(new.into_iter().map(|i| (i, route.clone(), to.clone())));
                    continue;
                }
                let mut waiting = still_waiting
                    .remove(&(route.clone(), to.clone()))
                    .unwrap_or_default();
                oldest_first(&mut waiting);
                plan.messages.push(Message {
                    route,
                    to,
                    kind: MessageKind::Digest,
                    new,
                    waiting,
                });
            }
        }
    }
    // Oldest news first across routes, so a failing route never reorders the others.
    plan.messages.sort_by(|a, b| {
        (order(&items[a.new[0]].n), &a.route, &a.to).cmp(&(
            order(&items[b.new[0]].n),
            &b.route,
            &b.to,
        ))
    });
    plan.notes = notes.into_iter().collect();
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::config::RawNotifications;
    use crate::notify::ledger::{Entry, How};
    use crate::report::notifications::Recipient;

    fn config(yaml: &str) -> NotifyConfig {
        let raw: RawNotifications = crate::yaml::from_str(yaml, &crate::yaml::ADMIN).unwrap();
        crate::notify::config::parse(raw, std::path::Path::new("/site"), &[]).unwrap()
    }

    fn keyring() -> Keyring {
        Keyring::parse(
            "reviewers:\n  - {id: alice, name: Alice, email: alice@example.com}\n  - {id: bob, name: Bob, email: bob@example.com, notify: {email: false}}\n  - {id: wanda, name: Wanda, email: wanda@example.com}\n  - {id: nomail, name: No Mail}\n",
        )
        .unwrap()
    }

    fn item(id: &str, event: &'static str, page: &str, since: &str, to: &[&str]) -> Item {
        let keyring = keyring();
        Item {
            n: Notification {
                id: id.into(),
                event,
                page: page.into(),
                version: "sha256:00".into(),
                step: None,
                to: to
                    .iter()
                    .map(|r| Recipient {
                        reviewer: r.to_string(),
                        email: keyring.reviewers[*r].email.clone(),
                    })
                    .collect(),
                reason: format!("{event} {page}"),
                since: since.into(),
            },
            space: page.split('/').next().unwrap().into(),
            title: None,
            review: crate::report::inbox::ReviewLink::Url(format!(
                "http://127.0.0.1:1111/_review/{page}"
            )),
            only: None,
        }
    }

    fn started(config: &NotifyConfig) -> Ledger {
        let mut l = Ledger::new();
        for r in configured_routes(config) {
            l.start_route(&r.key(), "2026-11-01T00:00:00Z");
        }
        l
    }

    fn sent(l: &mut Ledger, item: &Item, route: &str, to: Option<&str>) {
        l.record(Entry {
            id: item.n.id.clone(),
            event: item.n.event.into(),
            page: item.n.page.clone(),
            version: item.n.version.clone(),
            step: None,
            route: route.into(),
            to: to.map(String::from),
            at: "2026-11-02T00:00:00Z".into(),
            how: How::Sent,
        });
    }

    const EMAIL: &str = "email: {smtp: '127.0.0.1:2525', from: 'docs@example.com', tls: none}\n";

    fn all(config: &NotifyConfig) -> BTreeSet<Route> {
        configured_routes(config).into_iter().collect()
    }

    fn summary(plan: &Plan, items: &[Item]) -> Vec<String> {
        plan.messages
            .iter()
            .map(|m| {
                let ids = |v: &[usize]| {
                    v.iter()
                        .map(|&i| items[i].n.id.as_str())
                        .collect::<Vec<_>>()
                        .join(",")
                };
                format!(
                    "{:?} {} {} new[{}] waiting[{}]",
                    m.kind,
                    m.route.key(),
                    m.to.as_deref().unwrap_or("-"),
                    ids(&m.new),
                    ids(&m.waiting)
                )
            })
            .collect()
    }

    #[test]
    fn each_event_goes_once_to_each_person_who_wants_it_and_has_an_address() {
        let c = config(&format!(
            "{EMAIL}webhook: {{url_env: HOOK, secret_env: SECRET}}\n"
        ));
        let items = vec![item(
            "r1",
            "review_requested",
            "kb/a",
            "2026-11-03T00:00:00Z",
            &["alice", "bob", "nomail"],
        )];
        let mut ledger = started(&c);
        let p = plan(&items, &ledger, &c, &keyring(), &all(&c), "2026-11-05");
        assert_eq!(
            summary(&p, &items),
            [
                "Event email alice new[r1] waiting[]",
                "Event webhook:HOOK - new[r1] waiting[]"
            ]
        );
        assert!(
            p.notes.iter().any(|n| n.contains("nomail has no email")),
            "{:?}",
            p.notes
        );
        sent(&mut ledger, &items[0], "email", Some("alice"));
        let p = plan(&items, &ledger, &c, &keyring(), &all(&c), "2026-11-05");
        assert_eq!(
            summary(&p, &items),
            ["Event webhook:HOOK - new[r1] waiting[]"],
            "only what failed is retried"
        );
    }

    #[test]
    fn a_daily_digest_lists_what_is_new_oldest_first_and_what_still_waits_once_a_day() {
        let c = config(&format!(
            "{EMAIL}digest: daily\nwebhook: {{url_env: HOOK, secret_env: S}}\n"
        ));
        let items = vec![
            item(
                "old",
                "review_requested",
                "kb/a",
                "2026-11-01T00:00:00Z",
                &["alice"],
            ),
            item(
                "late",
                "review_requested",
                "kb/b",
                "2026-11-04T00:00:00Z",
                &["alice"],
            ),
            item(
                "early",
                "approved",
                "kb/c",
                "2026-11-02T00:00:00Z",
                &["alice", "wanda"],
            ),
        ];
        let mut ledger = started(&c);
        sent(&mut ledger, &items[0], "email", Some("alice"));
        sent(&mut ledger, &items[0], "webhook:HOOK", None);
        let p = plan(&items, &ledger, &c, &keyring(), &all(&c), "2026-11-05");
        assert_eq!(
            summary(&p, &items),
            [
                "Digest email alice new[early,late] waiting[old]",
                "Digest email wanda new[early] waiting[]",
                "Event webhook:HOOK - new[early] waiting[]",
                "Event webhook:HOOK - new[late] waiting[]",
            ],
        );
        ledger.set_digest_day("email", Some("alice"), "2026-11-05");
        let p = plan(&items, &ledger, &c, &keyring(), &all(&c), "2026-11-05");
        assert_eq!(
            p.deferred.len(),
            2,
            "alice's second digest waits for tomorrow"
        );
        assert!(summary(&p, &items).iter().all(|m| !m.contains("alice")));
        let p = plan(&items, &ledger, &c, &keyring(), &all(&c), "2026-11-06");
        assert!(summary(&p, &items)
            .contains(&"Digest email alice new[early,late] waiting[old]".to_string()));
    }

    #[test]
    fn a_new_route_sends_one_digest_of_what_waits_and_marks_the_past_seen() {
        let c = config(&format!(
            "{EMAIL}slack: {{webhook_env: SLACK}}\nwebhook: {{url_env: HOOK, secret_env: S}}\n"
        ));
        let items = vec![
            item(
                "pub",
                "published",
                "kb/a",
                "2026-10-01T00:00:00Z",
                &["wanda"],
            ),
            item(
                "req1",
                "review_requested",
                "kb/b",
                "2026-11-01T00:00:00Z",
                &["alice"],
            ),
            item(
                "req2",
                "escalation",
                "kb/b",
                "2026-11-03T00:00:00Z",
                &["alice", "wanda"],
            ),
        ];
        let p = plan(
            &items,
            &Ledger::new(),
            &c,
            &keyring(),
            &all(&c),
            "2026-11-05",
        );
        assert_eq!(p.started, ["email", "slack:SLACK", "webhook:HOOK"]);
        assert_eq!(
            summary(&p, &items),
            [
                "Baseline email alice new[req1,req2] waiting[]",
                "Baseline slack:SLACK - new[req1,req2] waiting[]",
                "Baseline email wanda new[req2] waiting[]",
            ]
        );
        let seen: Vec<String> = p
            .seen
            .iter()
            .map(|(i, r, to)| {
                format!(
                    "{} {} {}",
                    items[*i].n.id,
                    r.key(),
                    to.as_deref().unwrap_or("-")
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                "pub email wanda",
                "pub slack:SLACK -",
                "pub webhook:HOOK -",
                "req1 webhook:HOOK -",
                "req2 webhook:HOOK -",
            ]
        );
    }

    #[test]
    fn a_space_may_route_to_its_own_channel_and_an_unavailable_route_waits() {
        let c = config(
            "slack: {webhook_env: SLACK}\nspaces:\n  kb: {slack: {webhook_env: KB_SLACK}}\n",
        );
        let items = vec![
            item("a", "approved", "kb/a", "2026-11-01T00:00:00Z", &["alice"]),
            item(
                "b",
                "approved",
                "guides/b",
                "2026-11-01T00:00:00Z",
                &["alice"],
            ),
        ];
        let ledger = started(&c);
        let only_default: BTreeSet<Route> = all(&c)
            .into_iter()
            .filter(|r| r.env.as_deref() == Some("SLACK"))
            .collect();
        let p = plan(&items, &ledger, &c, &keyring(), &all(&c), "2026-11-05");
        assert_eq!(
            summary(&p, &items),
            [
                "Event slack:SLACK - new[b] waiting[]",
                "Event slack:KB_SLACK - new[a] waiting[]"
            ]
        );
        let p = plan(&items, &ledger, &c, &keyring(), &only_default, "2026-11-05");
        assert_eq!(
            summary(&p, &items),
            ["Event slack:SLACK - new[b] waiting[]"]
        );
    }

    #[test]
    fn a_cancellation_goes_only_where_the_request_went() {
        let c = config(&format!("{EMAIL}slack: {{webhook_env: SLACK}}\n"));
        let mut cancelled = item(
            "c1",
            "cancelled",
            "kb/a",
            "2026-11-04T00:00:00Z",
            &["alice", "wanda"],
        );
        cancelled.only = Some(BTreeSet::from([(
            "email".to_string(),
            Some("alice".to_string()),
        )]));
        let p = plan(
            &[cancelled.clone()],
            &started(&c),
            &c,
            &keyring(),
            &all(&c),
            "2026-11-05",
        );
        assert_eq!(
            summary(&p, &[cancelled]),
            ["Event email alice new[c1] waiting[]"]
        );
    }
}
