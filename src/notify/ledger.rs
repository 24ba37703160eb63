//! The ledger (`notifications.ledger`, default `.imprimatur/notified.json`): every delivery
//! `imprimatur notify` made, keyed by (notification id, route, recipient), so a run after
//! every build sends each notification once. It is rewritten atomically (a file beside it,
//! synced, renamed over it) after every delivered message: a killed run loses at most the
//! message in flight, never the file. A lock file beside it keeps two runs apart.
//!
//! Both live inside the site, whose files anyone who can commit may write: a folder on the way
//! or the lock committed as a symbolic link is refused, never followed, so nothing is created
//! or written outside the site.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant as Clock};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub const FORMAT: &str = "imprimatur-notified/1";

/// The largest ledger read (it grows by one short line per delivery).
const MAX_BYTES: u64 = 64 << 20;

/// How a notification came to be in the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum How {
    /// Delivered in a message of its own (or, on the webhook, always).
    Sent,
    /// Delivered as a line of a digest.
    Digest,
    /// Not sent: it was already past when the route started (a missing ledger, a new channel).
    Baseline,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub id: String,
    pub event: String,
    pub page: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// `email`, `slack:<ENV>` or `webhook:<ENV>` (the variable naming the URL, never the URL).
    pub route: String,
    /// The reviewer, for e-mail; none for a chat channel or webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    pub at: String,
    pub how: How,
}

impl Entry {
    fn key(&self) -> Key {
        (self.id.clone(), self.route.clone(), self.to.clone())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigestDay {
    pub route: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// `YYYY-MM-DD` (UTC) of the last digest sent to them on this route.
    pub day: String,
}

type Key = (String, String, Option<String>);

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ledger {
    pub format: String,
    /// Each route and when it started: before that, nothing was sent on it.
    pub routes: BTreeMap<String, String>,
    pub delivered: Vec<Entry>,
    #[serde(default)]
    pub digests: Vec<DigestDay>,
    #[serde(skip)]
    index: BTreeSet<Key>,
}

impl Ledger {
    pub fn new() -> Ledger {
        Ledger {
            format: FORMAT.to_string(),
            ..Ledger::default()
        }
    }

    /// The ledger at `root/rel`; `None` when there is none yet. A ledger that can't be read
    /// or parsed is an error: guessing would send everything again, or nothing.
    pub fn load(root: &Path, rel: &Path) -> Result<Option<Ledger>> {
        let shown = crate::site::config::display_relative(root, &root.join(rel));
        let bytes = match crate::fs::read_beneath(root, rel, MAX_BYTES) {
            Ok(b) => b,
            Err(e) if matches!(e.kind, crate::fs::ReadErrorKind::Missing) => return Ok(None),
            Err(e) => return Err(Error::Refused(e.describe(root))),
        };
        Ledger::parse(&bytes).map(Some).map_err(|why| {
            Error::Refused(format!(
                "{shown}: not a notification ledger ({why}); nothing was sent. Restore it, or remove it to start over (a missing ledger sends one digest of what is pending, never old events)"
            ))
        })
    }

    pub fn parse(bytes: &[u8]) -> std::result::Result<Ledger, String> {
        let mut ledger: Ledger = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if ledger.format != FORMAT {
            return Err(format!(
                "format is '{}', this imprimatur reads '{FORMAT}'",
                ledger.format
            ));
        }
        ledger.index = ledger.delivered.iter().map(Entry::key).collect();
        Ok(ledger)
    }

    pub fn to_json(&self) -> String {
        let mut sorted = self.clone();
        sorted.delivered.sort_by(|a, b| {
            (&a.at, &a.page, &a.id, &a.route, &a.to).cmp(&(&b.at, &b.page, &b.id, &b.route, &b.to))
        });
        sorted
            .digests
            .sort_by(|a, b| (&a.route, &a.to).cmp(&(&b.route, &b.to)));
        let mut json = serde_json::to_string_pretty(&sorted).expect("a ledger serializes");
        json.push('\n');
        json
    }

    /// Writes the ledger at `root/rel`: its folders reached without a link (made if missing),
    /// the file replaced by a rename (a link there is replaced, never written through).
    pub fn save(&self, root: &Path, rel: &Path) -> Result<()> {
        let path = real_parent(root, rel)?.join(file_name(root, rel)?);
        crate::fs::write_file_synced(&path, self.to_json().as_bytes())
    }

    pub fn has(&self, id: &str, route: &str, to: Option<&str>) -> bool {
        self.index
            .contains(&(id.to_string(), route.to_string(), to.map(String::from)))
    }

    pub fn has_route(&self, route: &str) -> bool {
        self.routes.contains_key(route)
    }

    pub fn start_route(&mut self, route: &str, at: &str) {
        self.routes
            .entry(route.to_string())
            .or_insert_with(|| at.to_string());
    }

    pub fn record(&mut self, entry: Entry) {
        if self.index.insert(entry.key()) {
            self.delivered.push(entry);
        }
    }

    pub fn digest_day(&self, route: &str, to: Option<&str>) -> Option<&str> {
        self.digests
            .iter()
            .find(|d| d.route == route && d.to.as_deref() == to)
            .map(|d| d.day.as_str())
    }

    pub fn set_digest_day(&mut self, route: &str, to: Option<&str>, day: &str) {
        self.digests
            .retain(|d| !(d.route == route && d.to.as_deref() == to));
        self.digests.push(DigestDay {
            route: route.to_string(),
            to: to.map(String::from),
            day: day.to_string(),
        });
    }
}

/// The lock beside the ledger (`<ledger>.lock`), held for a whole run. The file stays; only
/// the lock on it comes and goes, so there is no stale lock to clean up after a kill.
pub struct LedgerLock {
    _file: File,
}

impl LedgerLock {
    /// Locks `<root/rel>.lock`, waiting up to `wait` for another run. The folders on the way
    /// and the lock itself are never followed through a symbolic link.
    pub fn acquire(root: &Path, rel: &Path, wait: Duration) -> Result<LedgerLock> {
        let path = real_parent(root, rel)?.join(file_name(root, &lock_path(rel))?);
        let link = || Error::UnsafePath {
            path: path.clone(),
            why: "is a symbolic link; the ledger's lock is never opened through one (remove it)"
                .into(),
        };
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(link());
        }
        let mut options = OpenOptions::new();
        options.create(true).truncate(false).write(true);
        // And if one appears between that look and the open: open(2) refuses it (ELOOP).
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
        }
        let file = options.open(&path).map_err(|e| {
            if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
                link()
            } else {
                Error::io(&path, e)
            }
        })?;
        let started = Clock::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(LedgerLock { _file: file }),
                Err(TryLockError::WouldBlock) if started.elapsed() < wait => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(Error::Refused(format!(
                        "{}: another `imprimatur notify` is still delivering (waited {} s); this run sent nothing",
                        path.display(),
                        wait.as_secs()
                    )))
                }
                Err(TryLockError::Error(e)) => return Err(Error::io(&path, e)),
            }
        }
    }
}

/// The folder of `root/rel`, reached from `root` without a symbolic link and made if missing.
fn real_parent(root: &Path, rel: &Path) -> Result<PathBuf> {
    crate::fs::real_dir(root, rel.parent().unwrap_or(Path::new("")))
}

fn file_name<'a>(root: &Path, rel: &'a Path) -> Result<&'a std::ffi::OsStr> {
    rel.file_name().ok_or_else(|| Error::UnsafePath {
        path: root.join(rel),
        why: "names no file".into(),
    })
}

pub fn lock_path(ledger: &Path) -> PathBuf {
    let mut name = ledger.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    ledger.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, route: &str, to: Option<&str>) -> Entry {
        Entry {
            id: id.into(),
            event: "review_requested".into(),
            page: "kb/install".into(),
            version: "sha256:00".into(),
            step: Some("technical".into()),
            route: route.into(),
            to: to.map(String::from),
            at: "2026-11-20T10:00:00Z".into(),
            how: How::Sent,
        }
    }

    #[test]
    fn a_ledger_round_trips_and_knows_each_delivery_by_id_route_and_recipient() {
        let mut l = Ledger::new();
        l.start_route("email", "2026-11-20T10:00:00Z");
        l.record(entry("a1", "email", Some("alice")));
        l.record(entry("a1", "email", Some("alice")));
        l.record(entry("a1", "webhook:HOOK", None));
        l.set_digest_day("email", Some("bob"), "2026-11-19");
        l.set_digest_day("email", Some("bob"), "2026-11-20");
        let json = l.to_json();
        let back = Ledger::parse(json.as_bytes()).unwrap();
        assert_eq!(back.delivered.len(), 2, "{json}");
        assert!(back.has("a1", "email", Some("alice")));
        assert!(!back.has("a1", "email", Some("bob")));
        assert!(back.has("a1", "webhook:HOOK", None));
        assert!(back.has_route("email") && !back.has_route("slack:S"));
        assert_eq!(back.digest_day("email", Some("bob")), Some("2026-11-20"));
        assert_eq!(back.digests.len(), 1);
        assert!(
            json.contains("\"format\": \"imprimatur-notified/1\""),
            "{json}"
        );
        assert!(json.contains("\"how\": \"sent\""), "{json}");
        assert_eq!(back.to_json(), json, "the same ledger, the same bytes");
    }

    #[test]
    fn a_damaged_or_foreign_ledger_is_refused_not_guessed() {
        assert!(
            Ledger::parse(b"{\"format\": \"imprimatur-notified/1\", \"routes\": {}, \"deliv")
                .is_err()
        );
        let other = Ledger::parse(b"{\"format\": \"x/9\", \"routes\": {}, \"delivered\": []}");
        assert!(other.unwrap_err().contains("x/9"));
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("notified.json"), "[]").unwrap();
        let err = Ledger::load(root.path(), Path::new("notified.json"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("notified.json: not a notification ledger"),
            "{err}"
        );
        assert!(Ledger::load(root.path(), Path::new("none.json"))
            .unwrap()
            .is_none());
    }

    #[test]
    fn a_second_run_waits_for_the_lock_and_then_gives_up_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Path::new("state/notified.json");
        let held = LedgerLock::acquire(dir.path(), ledger, Duration::ZERO).unwrap();
        let err = LedgerLock::acquire(dir.path(), ledger, Duration::from_millis(100))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("another `imprimatur notify`"), "{err}");
        drop(held);
        LedgerLock::acquire(dir.path(), ledger, Duration::ZERO).unwrap();
    }

    #[test]
    fn a_lock_or_folder_committed_as_a_link_is_refused_and_nothing_is_made_outside() {
        let site = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let rel = Path::new(".imprimatur/notified.json");
        std::os::unix::fs::symlink(outside.path(), site.path().join(".imprimatur")).unwrap();
        let err = LedgerLock::acquire(site.path(), rel, Duration::ZERO)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains(".imprimatur: is a symbolic link"), "{err}");
        let err = Ledger::new()
            .save(site.path(), rel)
            .unwrap_err()
            .to_string();
        assert!(err.contains(".imprimatur: is a symbolic link"), "{err}");
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);

        std::fs::remove_file(site.path().join(".imprimatur")).unwrap();
        std::fs::create_dir(site.path().join(".imprimatur")).unwrap();
        let target = outside.path().join("made-by-notify");
        std::os::unix::fs::symlink(&target, site.path().join(".imprimatur/notified.json.lock"))
            .unwrap();
        let err = LedgerLock::acquire(site.path(), rel, Duration::ZERO)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("notified.json.lock: is a symbolic link"),
            "{err}"
        );
        assert!(!target.exists());
    }
}
