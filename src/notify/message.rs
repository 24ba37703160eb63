//! What people read: the subject, plain text and HTML of a message about one event or a
//! digest, the chat text, and the webhook's JSON. One wording per event, used by every
//! channel.

// Slack's mrkdwn reserves `&`, `<` and `>`: `text` escapes only those.
use crate::escape::{html as escape, text as mrkdwn};
use crate::notify::plan::{Item, Message, MessageKind};
use crate::trust::keyring::Keyring;

/// A short headline per event (also the chat message's first line).
pub fn headline(event: &str) -> &'static str {
    match event {
        "review_requested" => "Review requested",
        "step_passed" => "Step passed",
        "approved" => "Approved",
        "published" => "Published",
        "rejected" => "Rejected",
        "escalation" => "Escalated",
        "stale" => "Stale review",
        "review_due" => "Review due",
        "cancelled" => "Review request cancelled",
        _ => "Notification",
    }
}

fn page_label(item: &Item) -> String {
    match &item.title {
        Some(t) => format!("{t} ({})", item.n.page),
        None => item.n.page.clone(),
    }
}

pub struct Text {
    pub subject: String,
    pub plain: String,
    pub html: String,
}

/// The text of `msg`, for the site titled `site`.
pub fn compose(site: &str, msg: &Message, items: &[Item]) -> Text {
    match msg.kind {
        MessageKind::Event => event_text(site, &items[msg.new[0]]),
        MessageKind::Digest | MessageKind::Baseline => digest_text(site, msg, items),
    }
}

fn event_text(site: &str, item: &Item) -> Text {
    let n = &item.n;
    let subject = format!("[{site}] {}: {}", headline(n.event), page_label(item));
    let mut rows = vec![("Page", page_label(item)), ("Version", n.version.clone())];
    if let Some(step) = &n.step {
        rows.push(("Step", step.clone()));
    }
    rows.push(("Since", n.since.clone()));
    rows.push(("Review", item.review.to_string()));
    let mut plain = format!("{}\n\n", n.reason);
    for (k, v) in &rows {
        plain.push_str(&format!("{:<9}{v}\n", format!("{k}:")));
    }
    let mut html = format!(
        "<!doctype html>\n<html><body>\n<p>{}</p>\n<table>\n",
        escape(&n.reason)
    );
    for (k, v) in &rows {
        let v = if let (true, Some(url)) = (*k == "Review", item.review.url()) {
            format!("<a href=\"{0}\">{0}</a>", escape(url))
        } else {
            escape(v)
        };
        html.push_str(&format!(
            "<tr><th align=\"left\">{k}</th><td>{v}</td></tr>\n"
        ));
    }
    html.push_str("</table>\n</body></html>\n");
    Text {
        subject,
        plain,
        html,
    }
}

fn digest_text(site: &str, msg: &Message, items: &[Item]) -> Text {
    let (first, second) = match msg.kind {
        MessageKind::Baseline => ("Waiting on you now", None),
        _ => ("New since your last digest", Some("Still waiting on you")),
    };
    let subject = match msg.kind {
        MessageKind::Baseline => format!("[{site}] {} item(s) wait on you", msg.new.len()),
        _ => format!(
            "[{site}] Digest: {} new, {} still waiting",
            msg.new.len(),
            msg.waiting.len()
        ),
    };
    let mut sections = vec![(first, &msg.new)];
    if let Some(second) = second.filter(|_| !msg.waiting.is_empty()) {
        sections.push((second, &msg.waiting));
    }
    let mut plain = String::new();
    let mut html = String::from("<!doctype html>\n<html><body>\n");
    for (title, list) in sections {
        plain.push_str(&format!("{title} (oldest first):\n"));
        html.push_str(&format!("<h2>{title}</h2>\n<ul>\n"));
        for &i in list.iter() {
            let item = &items[i];
            plain.push_str(&format!(
                "  - {}: {}\n    {}\n    since {}  review: {}\n",
                headline(item.n.event),
                page_label(item),
                item.n.reason,
                item.n.since,
                item.review
            ));
            let (label, how) = match item.review.url() {
                Some(url) => (
                    format!(
                        "<a href=\"{}\">{}</a>",
                        escape(url),
                        escape(&page_label(item))
                    ),
                    String::new(),
                ),
                None => (
                    escape(&page_label(item)),
                    format!(
                        "<br><small>review: {}</small>",
                        escape(&item.review.to_string())
                    ),
                ),
            };
            html.push_str(&format!(
                "<li><strong>{}</strong>: {label}<br>{}<br><small>since {}</small>{how}</li>\n",
                headline(item.n.event),
                escape(&item.n.reason),
                escape(&item.n.since)
            ));
        }
        plain.push('\n');
        html.push_str("</ul>\n");
    }
    html.push_str("</body></html>\n");
    Text {
        subject,
        plain,
        html,
    }
}

/// A Slack-compatible incoming-webhook body (Slack, Mattermost, Teams' Slack format):
/// `{"text": ...}` in Slack's mrkdwn, naming the people it is for.
pub fn chat_body(
    site: &str,
    msg: &Message,
    items: &[Item],
    keyring: &Keyring,
) -> serde_json::Value {
    let for_whom = |item: &Item| -> String {
        let names: Vec<String> = item
            .n
            .to
            .iter()
            .filter(|r| keyring.notify_prefs(&r.reviewer).slack)
            .map(|r| keyring.name_of(&r.reviewer))
            .collect();
        if names.is_empty() {
            String::new()
        } else {
            format!(" (for {})", names.join(", "))
        }
    };
    let line = |item: &Item| -> String {
        let page = match item.review.url() {
            Some(url) => format!("<{url}|{}>", mrkdwn(&page_label(item))),
            None => format!(
                "{} ({})",
                mrkdwn(&page_label(item)),
                mrkdwn(&item.review.to_string())
            ),
        };
        format!(
            "*{}*: {page}{}\n{}",
            headline(item.n.event),
            mrkdwn(&for_whom(item)),
            mrkdwn(&item.n.reason)
        )
    };
    let text = match msg.kind {
        MessageKind::Event => format!("[{}] {}", mrkdwn(site), line(&items[msg.new[0]])),
        MessageKind::Digest | MessageKind::Baseline => {
            let mut t = format!(
                "[{}] {}:\n",
                mrkdwn(site),
                if msg.kind == MessageKind::Baseline {
                    "Waiting now"
                } else {
                    "Digest"
                }
            );
            for &i in msg.new.iter().chain(msg.waiting.iter()) {
                t.push_str(&format!("• {}\n", line(&items[i]).replace('\n', " — ")));
            }
            t
        }
    };
    serde_json::json!({ "text": text })
}

/// The webhook's body for one event (see docs/notifications.md).
pub fn webhook_body(site: &str, item: &Item) -> serde_json::Value {
    let n = &item.n;
    serde_json::json!({
        "id": n.id,
        "event": n.event,
        "site": site,
        "page": n.page,
        "space": item.space,
        "title": item.title,
        "version": n.version,
        "step": n.step,
        "to": n.to,
        "reason": n.reason,
        "since": n.since,
        "review_url": item.review.url(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::plan::{Channel, Route};
    use crate::report::notifications::{Notification, Recipient};

    fn item(event: &'static str, reason: &str) -> Item {
        Item {
            n: Notification {
                id: "abc".into(),
                event,
                page: "kb/a".into(),
                version: "sha256:00".into(),
                step: Some("technical".into()),
                to: vec![Recipient {
                    reviewer: "alice".into(),
                    email: Some("alice@example.com".into()),
                }],
                reason: reason.into(),
                since: "2026-11-01T00:00:00Z".into(),
            },
            space: "kb".into(),
            title: Some("Install <the> agent".into()),
            review: crate::report::inbox::ReviewLink::Url(
                "http://127.0.0.1:1111/_review/kb/a".into(),
            ),
            only: None,
        }
    }

    #[test]
    fn an_event_mail_has_a_subject_a_plain_part_and_an_escaped_html_part_with_the_review_link() {
        let items = [item(
            "rejected",
            "'kb/a' was rejected by bob in step 'technical': <script>",
        )];
        let msg = Message {
            route: Route {
                channel: Channel::Email,
                env: None,
            },
            to: Some("wanda".into()),
            kind: MessageKind::Event,
            new: vec![0],
            waiting: vec![],
        };
        let t = compose("Help", &msg, &items);
        assert_eq!(t.subject, "[Help] Rejected: Install <the> agent (kb/a)");
        assert!(
            t.plain
                .contains("Review:  http://127.0.0.1:1111/_review/kb/a\n"),
            "{}",
            t.plain
        );
        assert!(
            t.html.contains("&lt;script&gt;") && !t.html.contains("<script>"),
            "{}",
            t.html
        );
        assert!(t
            .html
            .contains("<a href=\"http://127.0.0.1:1111/_review/kb/a\">"));
        let chat = chat_body("Help", &msg, &items, &Keyring::default());
        let text = chat["text"].as_str().unwrap();
        assert!(text.starts_with("[Help] *Rejected*: <http://127.0.0.1:1111/_review/kb/a|Install &lt;the&gt; agent (kb/a)> (for alice)"), "{text}");
    }
}
