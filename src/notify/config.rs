//! The `notifications:` section of `imprimatur.yaml`: where the ledger lives, which channels
//! deliver (e-mail, Slack-compatible chat, a signed JSON webhook), per-space overrides, the
//! digest mode and the retry budget. Parsed once into the types the senders use; secrets are
//! never in the file, only the names of the environment variables that hold them.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use lettre::message::Mailbox;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::site::config::{SiteConfig, CONFIG_FILE};

pub const DEFAULT_LEDGER: &str = ".imprimatur/notified.json";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNotifications {
    #[serde(default)]
    ledger: Option<String>,
    #[serde(default)]
    digest: Option<String>,
    #[serde(default)]
    timeout_ms: Option<u64>,
    #[serde(default)]
    tries: Option<u32>,
    #[serde(default)]
    backoff_ms: Option<u64>,
    #[serde(default)]
    email: Option<RawEmail>,
    #[serde(default)]
    slack: Option<RawSlack>,
    #[serde(default)]
    webhook: Option<RawWebhook>,
    #[serde(default)]
    spaces: BTreeMap<String, RawSpace>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEmail {
    smtp: String,
    from: String,
    #[serde(default)]
    tls: Option<String>,
    #[serde(default)]
    user_env: Option<String>,
    #[serde(default)]
    password_env: Option<String>,
    #[serde(default)]
    ca_file: Option<String>,
    #[serde(default)]
    allow_plaintext: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSlack {
    webhook_env: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebhook {
    url_env: String,
    secret_env: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpace {
    #[serde(default)]
    slack: Option<RawSlack>,
    #[serde(default)]
    webhook: Option<RawWebhook>,
}

/// One message per event, or one message a day per person (the webhook always gets events).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestMode {
    Immediate,
    Daily,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (submission, port 587); refused if the server
    /// does not offer it.
    StartTls,
    /// TLS from the first byte (SMTPS, port 465).
    Tls,
    /// No encryption: loopback only, unless `allow_plaintext: true`.
    None,
}

#[derive(Debug, Clone)]
pub struct EmailConfig {
    pub host: String,
    pub port: u16,
    pub from: Mailbox,
    pub tls: SmtpTls,
    pub user_env: Option<String>,
    pub password_env: Option<String>,
    /// Extra trusted root certificate (PEM) for a private SMTP server.
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackConfig {
    pub webhook_env: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    pub url_env: String,
    pub secret_env: String,
}

#[derive(Debug, Clone, Default)]
pub struct SpaceRoutes {
    pub slack: Option<SlackConfig>,
    pub webhook: Option<WebhookConfig>,
}

#[derive(Debug, Clone)]
pub struct NotifyConfig {
    /// Absolute path of the ledger, and as written in the config (for messages). `run` opens
    /// the ledger through `ledger_shown` below the site root; the absolute path is what the
    /// tests check (it was reachable, so never flagged, while `SiteConfig` held this type).
    #[cfg_attr(not(test), allow(dead_code))]
    pub ledger: PathBuf,
    pub ledger_shown: String,
    pub digest: DigestMode,
    /// Per attempt (connect + send + answer).
    pub timeout: Duration,
    pub tries: u32,
    /// Waited after the first failed try, doubled after each further one.
    pub backoff: Duration,
    pub email: Option<EmailConfig>,
    pub slack: Option<SlackConfig>,
    pub webhook: Option<WebhookConfig>,
    pub spaces: BTreeMap<String, SpaceRoutes>,
}

impl NotifyConfig {
    /// The Slack-compatible webhook that carries `space`'s messages: its own, else the site's.
    pub fn slack_for(&self, space: &str) -> Option<&SlackConfig> {
        self.spaces
            .get(space)
            .and_then(|s| s.slack.as_ref())
            .or(self.slack.as_ref())
    }

    pub fn webhook_for(&self, space: &str) -> Option<&WebhookConfig> {
        self.spaces
            .get(space)
            .and_then(|s| s.webhook.as_ref())
            .or(self.webhook.as_ref())
    }

    pub fn has_channels(&self) -> bool {
        self.email.is_some()
            || self.slack.is_some()
            || self.webhook.is_some()
            || self
                .spaces
                .values()
                .any(|s| s.slack.is_some() || s.webhook.is_some())
    }
}

fn bad(field: impl Into<String>, message: impl Into<String>) -> Error {
    Error::config(CONFIG_FILE, field, message)
}

/// The site's `notifications:` section, parsed from the config's text and checked against
/// the site root (the ledger must not be inside `output/` or `reports/`); none when the
/// config has no such section. Every command that uses or vouches for the section asks this.
pub fn load(config: &SiteConfig) -> Result<Option<NotifyConfig>> {
    /// The config file with every field but `notifications` ignored: `SiteConfig` checked them.
    #[derive(Deserialize)]
    struct Section {
        #[serde(default)]
        notifications: Option<RawNotifications>,
    }
    let Some(section) = &config.notifications else {
        return Ok(None);
    };
    let section: Section = crate::yaml::from_str(&section.config_text, &crate::yaml::ADMIN)
        .map_err(|e| Error::config(CONFIG_FILE, e.field, e.message))?;
    section
        .notifications
        .map(|raw| {
            parse(
                raw,
                &config.root,
                &[&config.output_dir, &config.reports_dir],
            )
        })
        .transpose()
}

/// Validates the raw section against the site root (`reserved`: folders the ledger may not
/// be inside, because builds replace them).
pub fn parse(raw: RawNotifications, root: &Path, reserved: &[&Path]) -> Result<NotifyConfig> {
    let ledger_shown = raw.ledger.unwrap_or_else(|| DEFAULT_LEDGER.to_string());
    let rel = Path::new(&ledger_shown);
    let plain = !ledger_shown.is_empty()
        && rel.is_relative()
        && rel.components().all(|c| matches!(c, Component::Normal(_)));
    if !plain {
        return Err(bad(
            "notifications.ledger",
            format!("'{ledger_shown}' must be a file inside the site (relative, no '..')"),
        ));
    }
    let ledger = root.join(rel);
    if let Some(dir) = reserved.iter().find(|d| ledger.starts_with(d)) {
        return Err(bad(
            "notifications.ledger",
            format!(
                "'{ledger_shown}' is inside {}, which every build replaces: the ledger would be lost",
                crate::site::config::display_relative(root, dir)
            ),
        ));
    }
    let digest = match raw.digest.as_deref() {
        None | Some("immediate") => DigestMode::Immediate,
        Some("daily") => DigestMode::Daily,
        Some(other) => {
            return Err(bad(
                "notifications.digest",
                format!("'{other}' is neither 'immediate' nor 'daily'"),
            ))
        }
    };
    let tries = raw.tries.unwrap_or(3);
    if !(1..=10).contains(&tries) {
        return Err(bad("notifications.tries", "must be between 1 and 10"));
    }
    let timeout_ms = raw.timeout_ms.unwrap_or(10_000);
    if !(1..=600_000).contains(&timeout_ms) {
        return Err(bad(
            "notifications.timeout_ms",
            "must be between 1 and 600000",
        ));
    }
    let backoff_ms = raw.backoff_ms.unwrap_or(200);
    if backoff_ms > 60_000 {
        return Err(bad("notifications.backoff_ms", "must be at most 60000"));
    }
    let email = raw.email.map(|e| parse_email(e, root)).transpose()?;
    let slack = raw
        .slack
        .map(|s| parse_slack(s, "notifications.slack"))
        .transpose()?;
    let webhook = raw
        .webhook
        .map(|w| parse_webhook(w, "notifications.webhook"))
        .transpose()?;
    let mut spaces = BTreeMap::new();
    for (space, s) in raw.spaces {
        let at = format!("notifications.spaces.{space}");
        spaces.insert(
            space,
            SpaceRoutes {
                slack: s
                    .slack
                    .map(|x| parse_slack(x, &format!("{at}.slack")))
                    .transpose()?,
                webhook: s
                    .webhook
                    .map(|x| parse_webhook(x, &format!("{at}.webhook")))
                    .transpose()?,
            },
        );
    }
    Ok(NotifyConfig {
        ledger,
        ledger_shown,
        digest,
        timeout: Duration::from_millis(timeout_ms),
        tries,
        backoff: Duration::from_millis(backoff_ms),
        email,
        slack,
        webhook,
        spaces,
    })
}

/// An environment variable's name: letters, digits and `_`, not starting with a digit.
fn env_name(value: &str, field: &str) -> Result<String> {
    let ok = value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        return Err(bad(
            field,
            format!("'{value}' is not the name of an environment variable (secrets never go in imprimatur.yaml)"),
        ));
    }
    Ok(value.to_string())
}

fn parse_slack(raw: RawSlack, at: &str) -> Result<SlackConfig> {
    Ok(SlackConfig {
        webhook_env: env_name(&raw.webhook_env, &format!("{at}.webhook_env"))?,
    })
}

fn parse_webhook(raw: RawWebhook, at: &str) -> Result<WebhookConfig> {
    Ok(WebhookConfig {
        url_env: env_name(&raw.url_env, &format!("{at}.url_env"))?,
        secret_env: env_name(&raw.secret_env, &format!("{at}.secret_env"))?,
    })
}

fn parse_email(raw: RawEmail, root: &Path) -> Result<EmailConfig> {
    let (host, port) = raw
        .smtp
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.trim_matches(['[', ']']), p.parse::<u16>().ok()?)))
        .filter(|(h, p)| !h.is_empty() && *p != 0)
        .ok_or_else(|| {
            bad(
                "notifications.email.smtp",
                format!("'{}' is not HOST:PORT", raw.smtp),
            )
        })?;
    let from: Mailbox = raw.from.parse().map_err(|e| {
        bad(
            "notifications.email.from",
            format!("'{}' is not an e-mail address: {e}", raw.from),
        )
    })?;
    let tls = match raw.tls.as_deref() {
        None | Some("starttls") => SmtpTls::StartTls,
        Some("tls") => SmtpTls::Tls,
        Some("none") => SmtpTls::None,
        Some(other) => {
            return Err(bad(
                "notifications.email.tls",
                format!("'{other}' is none of 'starttls', 'tls', 'none'"),
            ))
        }
    };
    if tls == SmtpTls::None && !is_loopback(host) && !raw.allow_plaintext {
        return Err(bad(
            "notifications.email.tls",
            format!("'none' sends passwords and mail in clear text to {host}; use starttls or tls, or set allow_plaintext: true if that network is trusted"),
        ));
    }
    let user_env = raw
        .user_env
        .map(|v| env_name(&v, "notifications.email.user_env"))
        .transpose()?;
    let password_env = raw
        .password_env
        .map(|v| env_name(&v, "notifications.email.password_env"))
        .transpose()?;
    if user_env.is_some() != password_env.is_some() {
        return Err(bad(
            "notifications.email",
            "user_env and password_env go together",
        ));
    }
    Ok(EmailConfig {
        host: host.to_string(),
        port,
        from,
        tls,
        user_env,
        password_env,
        ca_file: raw.ca_file.map(|f| root.join(f)),
    })
}

pub(crate) fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_yaml(yaml: &str) -> Result<NotifyConfig> {
        let raw: RawNotifications = crate::yaml::from_str(yaml, &crate::yaml::ADMIN)
            .map_err(|e| Error::config(CONFIG_FILE, e.field, e.message))?;
        parse(raw, Path::new("/site"), &[Path::new("/site/output")])
    }

    #[test]
    fn a_full_section_parses_with_space_overrides_winning() {
        let c = parse_yaml(
            "ledger: state/notified.json\ndigest: daily\ntries: 2\nemail: {smtp: 'smtp.example.com:587', from: 'Docs <docs@example.com>', user_env: U, password_env: P}\nslack: {webhook_env: SLACK}\nwebhook: {url_env: HOOK, secret_env: SECRET}\nspaces:\n  kb: {slack: {webhook_env: KB_SLACK}}\n",
        )
        .unwrap();
        assert_eq!(c.ledger, Path::new("/site/state/notified.json"));
        assert_eq!(c.digest, DigestMode::Daily);
        assert_eq!(c.tries, 2);
        let email = c.email.as_ref().unwrap();
        assert_eq!((email.host.as_str(), email.port), ("smtp.example.com", 587));
        assert_eq!(email.tls, SmtpTls::StartTls);
        assert_eq!(c.slack_for("kb").unwrap().webhook_env, "KB_SLACK");
        assert_eq!(c.slack_for("guides").unwrap().webhook_env, "SLACK");
        assert_eq!(c.webhook_for("kb").unwrap().url_env, "HOOK");
    }

    #[test]
    fn unsafe_or_malformed_settings_are_refused_naming_the_field() {
        let cases = [
            (
                "email: {smtp: 'mail.example.com:25', from: 'a@example.com', tls: none}",
                "notifications.email.tls",
            ),
            (
                "email: {smtp: 'mail.example.com', from: 'a@example.com'}",
                "notifications.email.smtp",
            ),
            (
                "email: {smtp: 'mail.example.com:25', from: 'not an address'}",
                "notifications.email.from",
            ),
            (
                "slack: {webhook_env: 'https://hooks.slack.com/x'}",
                "notifications.slack.webhook_env",
            ),
            ("ledger: ../notified.json", "notifications.ledger"),
            ("ledger: output/notified.json", "notifications.ledger"),
            ("digest: weekly", "notifications.digest"),
            ("tries: 0", "notifications.tries"),
            ("emial: {}", "unknown field"),
        ];
        for (yaml, needle) in cases {
            let err = parse_yaml(yaml).unwrap_err().to_string();
            assert!(err.starts_with("imprimatur.yaml: "), "{err}");
            assert!(err.contains(needle), "{needle}: {err}");
        }
        // plaintext is fine on loopback, and elsewhere when said so explicitly
        for ok in [
            "email: {smtp: '127.0.0.1:2525', from: 'a@example.com', tls: none}",
            "email: {smtp: 'localhost:25', from: 'a@example.com', tls: none}",
            "email: {smtp: 'relay.internal:25', from: 'a@example.com', tls: none, allow_plaintext: true}",
        ] {
            parse_yaml(ok).unwrap();
        }
    }
}
