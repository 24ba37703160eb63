//! The `review:` section of `imprimatur.yaml`: where the team review server is reached
//! (`public_url`), which relying party its passkeys belong to (`rp_id`), which origins may ask
//! them to sign (`origins`), how long a sign-in lasts (`session_hours`), and where decisions
//! are committed (`git`). Parsed once into [`ReviewConfig`]; plain HTTP only on loopback.

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::site::config::{SiteConfig, CONFIG_FILE};
use crate::trust::webauthn::registration::Relying;

/// A sign-in lasts this long unless `session_hours` says otherwise.
pub const DEFAULT_SESSION_HOURS: u32 = 12;
/// The longest sign-in `session_hours` allows: 30 days.
pub const MAX_SESSION_HOURS: u32 = 720;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReview {
    public_url: String,
    #[serde(default)]
    rp_id: Option<String>,
    #[serde(default)]
    origins: Option<Vec<String>>,
    #[serde(default)]
    session_hours: Option<u32>,
    #[serde(default)]
    git: Option<RawGit>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGit {
    #[serde(default)]
    remote: Option<String>,
    #[serde(default)]
    branch: Option<String>,
    #[serde(default)]
    author_name: Option<String>,
    #[serde(default)]
    author_email: Option<String>,
}

/// The team review server's settings, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewConfig {
    /// Where reviewers open the server (https, or http on a loopback host), without a
    /// trailing slash: `https://review.example.com`.
    pub public_url: String,
    /// The host of `public_url`: the `Host` a proxy forwards.
    pub host: String,
    /// Whether `public_url` is https (then the server may listen beyond loopback, behind the
    /// TLS proxy).
    pub https: bool,
    /// The WebAuthn relying party: `public_url`'s host or a registrable suffix of it.
    pub rp_id: String,
    /// The origins a sign-in or a decision may come from (each also in the key's own list).
    pub origins: Vec<String>,
    pub session_hours: u32,
    pub git: GitConfig,
}

/// Where and as whom decisions are committed (`review.git`): read by the git module.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GitConfig {
    /// A remote's name or URL to push to; none: commit only.
    pub remote: Option<String>,
    /// The branch to commit on; none: the checkout's current branch (`main` if it has none).
    pub branch: Option<String>,
    /// The commit's author; none: git's own configuration.
    pub author_name: Option<String>,
    pub author_email: Option<String>,
}

impl ReviewConfig {
    /// The relying party passkeys are registered for and asked by: `/_keys/` and sign-in.
    pub fn relying(&self) -> Relying {
        Relying {
            rp_id: self.rp_id.clone(),
            origins: self.origins.clone(),
        }
    }
}

fn bad(field: &str, message: impl Into<String>) -> Error {
    Error::config(CONFIG_FILE, format!("review.{field}"), message)
}

/// The site's `review:` section, checked; none when the config has no such section.
pub fn load(config: &SiteConfig) -> Result<Option<ReviewConfig>> {
    /// The config file with every field but `review` ignored: `SiteConfig` checked them.
    #[derive(Deserialize)]
    struct Section {
        #[serde(default)]
        review: Option<RawReview>,
    }
    let Some(section) = &config.review else {
        return Ok(None);
    };
    let section: Section = crate::yaml::from_str(&section.config_text, &crate::yaml::ADMIN)
        .map_err(|e| Error::config(CONFIG_FILE, e.field, e.message))?;
    section.review.map(parse).transpose()
}

fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// `text` as a browser reports an origin (`scheme://host[:port]`), https unless its host is
/// loopback; the parsed URL.
fn web_origin(field: &str, text: &str, what: &str) -> Result<url::Url> {
    let url = url::Url::parse(text.trim()).map_err(|e| {
        bad(
            field,
            format!("'{text}' is not an absolute URL ({e}); write it as {what}"),
        )
    })?;
    let Some(host) = url.host() else {
        return Err(bad(
            field,
            format!("'{text}' names no host; write it as {what}"),
        ));
    };
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&host) => {}
        "http" => {
            return Err(bad(
                field,
                format!("'{text}' is plain HTTP: a team server is reached over https (its TLS proxy's address); plain HTTP only on loopback (localhost, 127.0.0.1)"),
            ))
        }
        other => {
            return Err(bad(
                field,
                format!("'{text}' is a {other}: URL; write it as {what}"),
            ))
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            field,
            format!("'{text}' carries a user name or password"),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() || url.path() != "/" {
        return Err(bad(
            field,
            format!("'{text}' has a path, query or fragment; the server answers at the root: write it as {what}"),
        ));
    }
    Ok(url)
}

fn parse(raw: RawReview) -> Result<ReviewConfig> {
    const URL: &str = "https://review.example.com";
    let public = web_origin("public_url", &raw.public_url, URL)?;
    let host = public.host_str().expect("checked").to_string();
    let public_url = public.origin().ascii_serialization();
    let https = public.scheme() == "https";

    let rp_id = match raw.rp_id {
        None => host.clone(),
        Some(rp) => {
            let rp = rp.trim().to_ascii_lowercase();
            let host_lower = host.to_ascii_lowercase();
            let suffix = host_lower
                .strip_suffix(&rp)
                .is_some_and(|rest| rest.is_empty() || rest.ends_with('.'));
            let ip = matches!(public.host(), Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)));
            if rp.is_empty() || !suffix || ip {
                return Err(bad(
                    "rp_id",
                    format!("'{rp}' is neither public_url's host '{host}' nor a suffix of it (a passkey belongs to a domain name: leave rp_id out to use the host)"),
                ));
            }
            // A suffix a browser would refuse as a relying party: a bare top-level label.
            if !rp.contains('.') && rp != "localhost" && rp != host_lower {
                return Err(bad(
                    "rp_id",
                    format!("'{rp}' is a top-level domain, not a registrable one: name the company's domain (example.com) or leave rp_id out"),
                ));
            }
            rp
        }
    };
    if matches!(public.host(), Some(url::Host::Ipv4(_) | url::Host::Ipv6(_))) {
        return Err(bad(
            "public_url",
            format!("'{}' names an IP address: passkeys belong to a domain name; use https://review.example.com (or http://localhost:PORT on this machine)", raw.public_url),
        ));
    }

    let origins = match raw.origins {
        None => vec![public_url.clone()],
        Some(list) if list.is_empty() => {
            return Err(bad(
                "origins",
                "lists no origin: leave it out to allow public_url's own",
            ))
        }
        Some(list) => list
            .iter()
            .map(|o| {
                let url = web_origin("origins", o, URL)?;
                let origin = url.origin().ascii_serialization();
                if o.trim() != origin {
                    return Err(bad(
                        "origins",
                        format!("'{o}' is not an origin as a browser reports it: write '{origin}'"),
                    ));
                }
                Ok(origin)
            })
            .collect::<Result<Vec<_>>>()?,
    };

    let session_hours = raw.session_hours.unwrap_or(DEFAULT_SESSION_HOURS);
    if !(1..=MAX_SESSION_HOURS).contains(&session_hours) {
        return Err(bad(
            "session_hours",
            format!("{session_hours} is not between 1 and {MAX_SESSION_HOURS} (30 days)"),
        ));
    }

    let git = parse_git(raw.git.unwrap_or_default())?;
    Ok(ReviewConfig {
        public_url,
        host,
        https,
        rp_id,
        origins,
        session_hours,
        git,
    })
}

fn parse_git(raw: RawGit) -> Result<GitConfig> {
    let text = |field: &str, value: Option<String>| -> Result<Option<String>> {
        match value.map(|v| v.trim().to_string()) {
            Some(v) if v.is_empty() => Err(bad(field, "is empty: leave it out instead")),
            Some(v) if v.chars().any(|c| c.is_control()) => {
                Err(bad(field, "holds a control character"))
            }
            Some(v) if v.starts_with('-') => Err(bad(
                field,
                format!("'{v}' starts with '-': git would read it as an option"),
            )),
            v => Ok(v),
        }
    };
    let remote = text("git.remote", raw.remote)?;
    let branch = text("git.branch", raw.branch)?;
    if let Some(b) = &branch {
        let bad_ref = b.contains("..")
            || b.ends_with('/')
            || b.ends_with(".lock")
            || b.chars()
                .any(|c| c.is_whitespace() || "~^:?*[\\".contains(c));
        if bad_ref {
            return Err(bad(
                "git.branch",
                format!("'{b}' is not a branch name git accepts"),
            ));
        }
    }
    let author_name = text("git.author_name", raw.author_name)?;
    let author_email = text("git.author_email", raw.author_email)?;
    match (&author_name, &author_email) {
        (Some(_), None) | (None, Some(_)) => {
            return Err(bad(
                if author_name.is_some() {
                    "git.author_email"
                } else {
                    "git.author_name"
                },
                "a commit's author has a name and an e-mail address: set both, or neither (git's own configuration is used)",
            ))
        }
        _ => {}
    }
    if let Some(email) = &author_email {
        if !email.contains('@') || email.contains(['<', '>']) {
            return Err(bad(
                "git.author_email",
                format!("'{email}' is not an e-mail address"),
            ));
        }
    }
    if author_name.as_ref().is_some_and(|n| n.contains(['<', '>'])) {
        return Err(bad("git.author_name", "must not contain '<' or '>'"));
    }
    Ok(GitConfig {
        remote,
        branch,
        author_name,
        author_email,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(review: &str) -> Result<ReviewConfig> {
        let text = format!("review:\n{review}");
        #[derive(Deserialize)]
        struct Section {
            review: RawReview,
        }
        let section: Section = crate::yaml::from_str(&text, &crate::yaml::ADMIN)
            .map_err(|e| Error::config(CONFIG_FILE, e.field, e.message))?;
        parse(section.review)
    }

    #[test]
    fn defaults_come_from_the_public_url() {
        let c = parse_text("  public_url: https://Review.Example.com/\n").unwrap();
        assert_eq!(c.public_url, "https://review.example.com");
        assert_eq!(c.host, "review.example.com");
        assert_eq!(c.rp_id, "review.example.com");
        assert_eq!(c.origins, vec!["https://review.example.com".to_string()]);
        assert_eq!(c.session_hours, DEFAULT_SESSION_HOURS);
        assert!(c.https);
        assert_eq!(c.git, GitConfig::default());
    }

    #[test]
    fn every_field_is_read_when_set() {
        let c = parse_text(
            "  public_url: http://localhost:8123\n  rp_id: localhost\n  origins: [\"http://localhost:8123\", \"https://docs.example.com\"]\n  session_hours: 720\n  git: {remote: origin, branch: reviews/main, author_name: Review Bot, author_email: review@example.com}\n",
        )
        .unwrap();
        assert_eq!(c.public_url, "http://localhost:8123");
        assert_eq!(c.rp_id, "localhost");
        assert!(!c.https);
        assert_eq!(c.origins.len(), 2);
        assert_eq!(c.session_hours, 720);
        assert_eq!(
            c.git,
            GitConfig {
                remote: Some("origin".into()),
                branch: Some("reviews/main".into()),
                author_name: Some("Review Bot".into()),
                author_email: Some("review@example.com".into()),
            }
        );
        let c =
            parse_text("  public_url: https://review.example.com\n  rp_id: example.com\n").unwrap();
        assert_eq!(c.rp_id, "example.com");
    }

    #[test]
    fn each_bad_value_is_refused_naming_its_field() {
        let cases: &[(&str, &str, &str)] = &[
            ("  public_url: http://review.example.com\n", "review.public_url", "plain HTTP only on loopback"),
            ("  public_url: ftp://review.example.com\n", "review.public_url", "ftp: URL"),
            ("  public_url: review.example.com\n", "review.public_url", "not an absolute URL"),
            ("  public_url: https://review.example.com/review/\n", "review.public_url", "has a path"),
            ("  public_url: https://u:p@review.example.com\n", "review.public_url", "user name or password"),
            ("  public_url: http://127.0.0.1:8000\n", "review.public_url", "names an IP address"),
            ("  public_url: https://review.example.com\n  rp_id: example.org\n", "review.rp_id", "nor a suffix"),
            ("  public_url: https://review.example.com\n  rp_id: view.example.com\n", "review.rp_id", "nor a suffix"),
            ("  public_url: https://review.example.com\n  rp_id: com\n", "review.rp_id", "top-level domain"),
            ("  public_url: https://review.example.com\n  origins: []\n", "review.origins", "lists no origin"),
            ("  public_url: https://review.example.com\n  origins: [\"http://docs.example.com\"]\n", "review.origins", "plain HTTP"),
            ("  public_url: https://review.example.com\n  origins: [\"https://docs.example.com/\"]\n", "review.origins", "write 'https://docs.example.com'"),
            ("  public_url: https://review.example.com\n  session_hours: 0\n", "review.session_hours", "between 1 and 720"),
            ("  public_url: https://review.example.com\n  session_hours: 721\n", "review.session_hours", "between 1 and 720"),
            ("  public_url: https://review.example.com\n  git: {branch: \"a..b\"}\n", "review.git.branch", "not a branch name"),
            ("  public_url: https://review.example.com\n  git: {remote: \"--upload-pack=x\"}\n", "review.git.remote", "starts with '-'"),
            ("  public_url: https://review.example.com\n  git: {author_name: Bot}\n", "review.git.author_email", "set both"),
            ("  public_url: https://review.example.com\n  git: {author_name: Bot, author_email: bot}\n", "review.git.author_email", "not an e-mail"),
            ("  public_url: https://review.example.com\n  colour: red\n", "colour", "unknown field"),
        ];
        for (yaml, field, says) in cases {
            let e = parse_text(yaml).expect_err(yaml).to_string();
            assert!(
                e.starts_with("imprimatur.yaml: ") && e.contains(field) && e.contains(says),
                "{yaml}: {e}"
            );
        }
    }
}
