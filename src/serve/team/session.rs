//! What a team server remembers between requests, in memory only: the sessions of signed-in
//! reviewers (a random id → who, which key, until when), and the single-use things it handed
//! out (sign-in challenges, decisions waiting for their passkey signature), each with a short
//! expiry. Both are bounded; expired entries go first. The clock is a parameter, so expiry is
//! tested without waiting; a server that restarts forgets everything, so a cookie from another
//! run, or another server, is no session.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine as _;

use crate::error::{Error, Result};

/// The most sessions (and pending things) kept at once: beyond it, the oldest to expire goes.
pub const MAX_ENTRIES: usize = 10_000;

/// 32 random bytes from the system, base64url: a session id, a challenge, a pending id.
pub fn random_id() -> Result<(String, [u8; 32])> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::Refused(format!("cannot read the system's randomness: {e}")))?;
    Ok((
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
        bytes,
    ))
}

/// A signed-in reviewer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub reviewer: String,
    /// The keyring key (a passkey) they signed in with: the one key their decisions use.
    pub key_id: String,
    pub expires_at: Instant,
}

/// Things that expire, by id, at most [`MAX_ENTRIES`] of them.
#[derive(Debug)]
pub struct Expiring<T> {
    entries: HashMap<String, (T, Instant)>,
    lifetime: Duration,
}

impl<T: Clone> Expiring<T> {
    pub fn new(lifetime: Duration) -> Expiring<T> {
        Expiring {
            entries: HashMap::new(),
            lifetime,
        }
    }

    /// Keeps `value` under `id` until `now` + the lifetime; returns when it expires.
    pub fn insert(&mut self, id: String, value: T, now: Instant) -> Instant {
        self.entries.retain(|_, (_, until)| *until > now);
        while self.entries.len() >= MAX_ENTRIES {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, (_, until))| *until)
                .map(|(id, _)| id.clone())
                .expect("not empty");
            self.entries.remove(&oldest);
        }
        let until = now + self.lifetime;
        self.entries.insert(id, (value, until));
        until
    }

    /// The value under `id`, if it has not expired at `now` (an expired one is dropped).
    pub fn get(&mut self, id: &str, now: Instant) -> Option<T> {
        match self.entries.get(id) {
            Some((value, until)) if *until > now => Some(value.clone()),
            Some(_) => {
                self.entries.remove(id);
                None
            }
            None => None,
        }
    }

    /// The value under `id`, removed: a single-use thing is used once, even when what it
    /// was used for is refused afterwards.
    pub fn take(&mut self, id: &str, now: Instant) -> Option<T> {
        let (value, until) = self.entries.remove(id)?;
        (until > now).then_some(value)
    }

    /// How many have not expired at `now` (the expired ones are dropped).
    pub fn live(&mut self, now: Instant) -> usize {
        self.entries.retain(|_, (_, until)| *until > now);
        self.entries.len()
    }

    pub fn remove(&mut self, id: &str) {
        self.entries.remove(id);
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

/// The sessions of one server run.
pub type Sessions = Expiring<Session>;

/// A session begun at `now` for `reviewer` with `key_id`, under a fresh random id.
pub fn begin(
    sessions: &mut Sessions,
    reviewer: &str,
    key_id: &str,
    now: Instant,
) -> Result<(String, Session)> {
    let (id, _) = random_id()?;
    let session = Session {
        reviewer: reviewer.to_string(),
        key_id: key_id.to_string(),
        expires_at: now + sessions.lifetime,
    };
    sessions.insert(id.clone(), session.clone(), now);
    Ok((id, session))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_ends_at_its_expiry_and_an_unknown_id_is_none() {
        let start = Instant::now();
        let hours = Duration::from_secs(12 * 3600);
        let mut sessions = Sessions::new(hours);
        let (id, session) = begin(&mut sessions, "dana", "dana-passkey", start).unwrap();
        assert_eq!(session.expires_at, start + hours);
        assert_eq!(id.len(), 43, "32 bytes, base64url");
        let just_before = start + hours - Duration::from_secs(1);
        assert_eq!(sessions.get(&id, just_before), Some(session));
        assert_eq!(sessions.get(&id, start + hours), None, "expired");
        assert_eq!(sessions.get(&id, start), None, "dropped once expired");
        // Another run's id (or a guess) is nothing here.
        let (other, _) = random_id().unwrap();
        assert_eq!(sessions.get(&other, start), None);
        // Signing out ends it at once.
        let (id, _) = begin(&mut sessions, "dana", "dana-passkey", start).unwrap();
        sessions.remove(&id);
        assert_eq!(sessions.get(&id, start), None);
    }

    #[test]
    fn a_single_use_entry_is_used_once_and_not_after_expiry() {
        let start = Instant::now();
        let mut pending = Expiring::new(Duration::from_secs(120));
        pending.insert("a".into(), 1, start);
        pending.insert("b".into(), 2, start);
        assert_eq!(pending.take("a", start), Some(1));
        assert_eq!(pending.take("a", start), None, "used once");
        assert_eq!(pending.take("b", start + Duration::from_secs(120)), None);
        assert_eq!(pending.len(), 0, "an expired entry is gone once asked for");
    }

    #[test]
    fn the_store_is_bounded_and_expired_entries_go_first() {
        let start = Instant::now();
        let mut pending = Expiring::new(Duration::from_secs(60));
        for n in 0..MAX_ENTRIES {
            pending.insert(format!("{n}"), n, start + Duration::from_millis(n as u64));
        }
        assert_eq!(pending.len(), MAX_ENTRIES);
        // Full: the one that expires first makes room.
        pending.insert("new".into(), 0, start + Duration::from_secs(1));
        assert_eq!(pending.len(), MAX_ENTRIES);
        assert_eq!(pending.get("0", start), None);
        assert_eq!(pending.get("1", start), Some(1));
        // Later, every expired entry is pruned at the next insert.
        pending.insert("late".into(), 0, start + Duration::from_secs(3600));
        assert_eq!(pending.len(), 1);
    }
}
