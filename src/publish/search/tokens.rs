//! The words of a page, as the index keys them: split, lowercased, scored by where they
//! occur (title, tags, description, text), and sharded by key.

use std::borrow::Cow;

use crate::publish::render::SearchEntry;

/// How many leading characters of a word name its piece.
pub(super) const KEY_CHARS: usize = 3;

/// Where a word is on one page: in the title, a tag, the description; how often in the text.
pub(super) type Places = (bool, bool, bool, usize);

/// The score of a word on a page (1..=35, one base-36 digit): found in the title counts most,
/// then in a tag, in the description, and how often in the text.
pub(super) fn score(in_title: bool, in_tags: bool, in_description: bool, in_text: usize) -> u32 {
    let s = if in_title { 20 } else { 0 }
        + if in_tags { 6 } else { 0 }
        + if in_description { 3 } else { 0 }
        + in_text.min(6) as u32;
    s.clamp(1, 35)
}

/// Runs of letters and digits, as written (what splitting at every other character yields,
/// without its empty pieces), each with whether it is already lowercase: ASCII is read byte
/// by byte, and only other characters are decoded (most text of a help center is ASCII).
pub(super) fn words(text: &str) -> Words<'_> {
    Words { text, at: 0 }
}

pub(super) struct Words<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Iterator for Words<'a> {
    /// The word, and whether it has no character but lowercase ASCII letters and digits.
    type Item = (&'a str, bool);

    fn next(&mut self) -> Option<(&'a str, bool)> {
        let bytes = self.text.as_bytes();
        let mut start = None;
        let mut lower = true;
        let mut i = self.at;
        while i < bytes.len() {
            let b = bytes[i];
            let (alnum, len) = if b.is_ascii() {
                (b.is_ascii_alphanumeric(), 1)
            } else {
                let c = self.text[i..].chars().next().expect("a char starts here");
                (c.is_alphanumeric(), c.len_utf8())
            };
            if alnum {
                if start.is_none() {
                    start = Some(i);
                }
                lower &= b.is_ascii_lowercase() || b.is_ascii_digit();
            } else if let Some(from) = start {
                self.at = i + len;
                return Some((&self.text[from..i], lower));
            }
            i += len;
        }
        self.at = bytes.len();
        start.map(|from| (&self.text[from..], lower))
    }
}

/// How many parts the words are split into while the index is gathered, each part merged on
/// its own thread: a word's part is fixed by its hash.
pub(super) const SHARDS: usize = 8;

/// The words of one page with where each is on it, in [`SHARDS`] parts.
pub(super) type PageWords<'a> = Vec<Vec<(Cow<'a, str>, Places)>>;

/// Every word of one page (lowercased) with where it is on the page, split into the
/// [`SHARDS`] parts by the word's hash.
pub(super) fn page_words<'a>(entry: &'a SearchEntry) -> PageWords<'a> {
    // Sized for a help-center page (a few hundred distinct words): the map does not grow.
    let mut found: foldhash::HashMap<Cow<str>, Places> =
        foldhash::HashMap::with_capacity_and_hasher(512, Default::default());
    let mut mark = |text: &'a str, field: usize| {
        for (word, lower) in words(text) {
            // Most words are already lowercase: borrowed, not copied.
            let word = if lower {
                Cow::Borrowed(word)
            } else {
                Cow::Owned(word.to_lowercase())
            };
            let at = found.entry(word).or_default();
            match field {
                0 => at.0 = true,
                1 => at.1 = true,
                2 => at.2 = true,
                _ => at.3 += 1,
            }
        }
    };
    mark(entry.title, 0);
    for tag in entry.tags {
        mark(tag, 1);
    }
    mark(entry.description.unwrap_or(""), 2);
    mark(&entry.text, 3);
    let mut shards: Vec<Vec<(Cow<str>, Places)>> = (0..SHARDS)
        .map(|_| Vec::with_capacity(found.len() / SHARDS * 2))
        .collect();
    for (word, places) in found {
        shards[shard_of(&word)].push((word, places));
    }
    shards
}

/// The part of the index a word is gathered in (the same in every run: a fixed hash).
pub(super) fn shard_of(word: &str) -> usize {
    use std::hash::BuildHasher;
    (foldhash::fast::FixedState::with_seed(0).hash_one(word) % SHARDS as u64) as usize
}

/// The piece a word is in: its first three characters, spelled safely for a file name.
pub fn key_of(word: &str) -> String {
    let mut key = String::new();
    for c in word.chars().take(KEY_CHARS) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            key.push(c);
        } else {
            key.push_str(&format!("_{:x}", c as u32));
        }
    }
    key
}
