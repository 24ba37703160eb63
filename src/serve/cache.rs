//! The rendered responses `serve` keeps between requests, bounded twice: by how many it holds
//! and by their bytes. Anyone who can reach the server chooses the addresses it is asked for,
//! so without a bound every distinct address (`?x=1`, `?x=2`, …) would stay in memory until
//! the next reload; past either bound the least recently used answers go first.

use std::num::NonZeroUsize;

use lru::LruCache;

/// How many answers one snapshot keeps: a few thousand pages' worth of a browsing session.
pub(crate) const MAX_ENTRIES: usize = 2048;
/// How many bytes of answers one snapshot keeps (bodies and keys).
pub(crate) const MAX_BYTES: usize = 64 << 20;

/// A least-recently-used map of answers, bounded by count and by bytes.
pub(crate) struct Bounded<V> {
    entries: LruCache<String, (V, usize)>,
    bytes: usize,
    max_bytes: usize,
}

impl<V: Clone> Bounded<V> {
    pub(crate) fn new(max_entries: usize, max_bytes: usize) -> Bounded<V> {
        Bounded {
            entries: LruCache::new(NonZeroUsize::new(max_entries).unwrap_or(NonZeroUsize::MIN)),
            bytes: 0,
            max_bytes,
        }
    }

    /// The answer kept for `key`, which becomes the most recently used.
    pub(crate) fn get(&mut self, key: &str) -> Option<V> {
        self.entries.get(key).map(|(v, _)| v.clone())
    }

    /// Keeps `value` (of `size` bytes) for `key`, dropping the least recently used answers
    /// until both bounds hold. An answer larger than the byte bound alone is not kept.
    pub(crate) fn insert(&mut self, key: String, value: V, size: usize) {
        let size = size + key.len();
        if size > self.max_bytes {
            return;
        }
        if let Some((_, (_, old))) = self.entries.push(key, (value, size)) {
            // Either the same key's earlier answer, or the least recently used one evicted
            // by the count bound: its bytes leave with it.
            self.bytes -= old;
        }
        self.bytes += size;
        while self.bytes > self.max_bytes {
            match self.entries.pop_lru() {
                Some((_, (_, old))) => self.bytes -= old,
                None => break,
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_of_distinct_keys_leave_the_cache_within_both_bounds() {
        let mut cache = Bounded::new(100, 10_000);
        for i in 0..3000 {
            cache.insert(format!("/kb/?x={i}"), i, 50);
            assert!(cache.len() <= 100);
            assert!(cache.bytes() <= 10_000);
        }
        assert_eq!(cache.len(), 100);
        // The most recent answers are the ones kept.
        assert_eq!(cache.get("/kb/?x=2999"), Some(2999));
        assert_eq!(cache.get("/kb/?x=0"), None);
    }

    #[test]
    fn the_byte_bound_evicts_the_least_recently_used_first() {
        let mut cache = Bounded::new(100, 1000);
        cache.insert("a".into(), 'a', 399);
        cache.insert("b".into(), 'b', 399);
        // `a` is used again: `b` is now the least recently used.
        assert_eq!(cache.get("a"), Some('a'));
        cache.insert("c".into(), 'c', 399);
        assert_eq!(cache.get("b"), None);
        assert_eq!(cache.get("a"), Some('a'));
        assert_eq!(cache.get("c"), Some('c'));
        assert_eq!(cache.bytes(), 800);
        // Replacing an answer counts its bytes once.
        cache.insert("c".into(), 'C', 99);
        assert_eq!(cache.bytes(), 500);
        // Too large to keep at all: nothing else is pushed out for it.
        cache.insert("huge".into(), 'h', 5000);
        assert_eq!((cache.len(), cache.get("huge")), (2, None));
    }
}
