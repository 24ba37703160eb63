//! The search index in pieces a browser loads on demand, so one search at 10,000 pages costs
//! kilobytes, not the whole 17 MB index. Every piece is a `.js` file under `search-index/`
//! that stores its data in `window.IMPRIMATUR_SEARCH_PARTS[name]`: loaded by a script tag,
//! it works served and opened from disk (`file://`, where `fetch()` is refused).
//!
//! - `search-index/t-<key>.js`: the words whose first three characters are `<key>` (shorter
//!   words: the whole word), each with the pages holding it and a score per page. A query
//!   word of three characters or more matches every word it begins; a shorter one, only
//!   itself.
//! - `search-index/p-<n>.js`: what results show of pages `n*PAGES_PER_PART ..`: title, URL,
//!   space, description, tags and the indexed text (for the snippet).
//!
//! Built only from the entries of the published pages, like `search-index.json`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::publish::render::SearchEntry;

/// Pages per `p-<n>.js` piece: a result list of 20 loads at most 20 small pieces.
pub const PAGES_PER_PART: usize = 4;
/// How many leading characters of a word name its piece.
const KEY_CHARS: usize = 3;
/// The piece folder under `output/`.
pub const DIR: &str = "search-index";

/// Where a word is on one page: in the title, a tag, the description; how often in the text.
type Places = (bool, bool, bool, usize);
/// The pages a word is on (their numbers, in page order), each with the word's score there:
/// five bytes a page, not the places and a machine word (100,000 pages make 25 million).
type Postings = Vec<(u32, u8)>;
/// Pages whose words are gathered at a time (in parallel) before they join the index, so at
/// most this many pages' word maps are held at once.
const PAGES_AT_A_TIME: usize = 1024;

/// The score of a word on a page (1..=35, one base-36 digit): found in the title counts most,
/// then in a tag, in the description, and how often in the text.
fn score(in_title: bool, in_tags: bool, in_description: bool, in_text: usize) -> u32 {
    let s = if in_title { 20 } else { 0 }
        + if in_tags { 6 } else { 0 }
        + if in_description { 3 } else { 0 }
        + in_text.min(6) as u32;
    s.clamp(1, 35)
}

/// Runs of letters and digits, as written (what splitting at every other character yields,
/// without its empty pieces), each with whether it is already lowercase: ASCII is read byte
/// by byte, and only other characters are decoded (most text of a help center is ASCII).
fn words(text: &str) -> Words<'_> {
    Words { text, at: 0 }
}

struct Words<'a> {
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
const SHARDS: usize = 8;

/// The words of one page with where each is on it, in [`SHARDS`] parts.
type PageWords<'a> = Vec<Vec<(Cow<'a, str>, Places)>>;

/// Every word of one page (lowercased) with where it is on the page, split into the
/// [`SHARDS`] parts by the word's hash.
fn page_words<'a>(entry: &'a SearchEntry) -> PageWords<'a> {
    let mut found: foldhash::HashMap<Cow<str>, Places> = foldhash::HashMap::default();
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
    let mut shards: Vec<Vec<(Cow<str>, Places)>> = vec![Vec::new(); SHARDS];
    for (word, places) in found {
        shards[shard_of(&word)].push((word, places));
    }
    shards
}

/// The part of the index a word is gathered in (the same in every run: a fixed hash).
fn shard_of(word: &str) -> usize {
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

/// Every piece of the index of `entries` (sorted by URL: a page's number is its place), by
/// path relative to `output/`.
pub fn pieces(entries: &[SearchEntry]) -> Vec<(String, Vec<u8>)> {
    // The pages' words are gathered in parallel, a batch at a time; then word → pages in
    // order with their scores, each part of the words on its own thread; then words by piece.
    let mut shards: Vec<foldhash::HashMap<String, Postings>> =
        (0..SHARDS).map(|_| foldhash::HashMap::default()).collect();
    for (batch, chunk) in entries.chunks(PAGES_AT_A_TIME).enumerate() {
        let found: Vec<PageWords> = chunk.par_iter().map(page_words).collect();
        shards.par_iter_mut().enumerate().for_each(|(k, index)| {
            for (n, page_shards) in found.iter().enumerate() {
                let page = u32::try_from(batch * PAGES_AT_A_TIME + n).expect("under 2^32 pages");
                for (word, (t, g, d, x)) in &page_shards[k] {
                    let posting = (page, score(*t, *g, *d, *x) as u8);
                    // Pages come in order, so each word's list is sorted by page.
                    match index.get_mut(word.as_ref()) {
                        Some(pages) => pages.push(posting),
                        None => {
                            index.insert(word.to_string(), vec![posting]);
                        }
                    }
                }
            }
        });
    }
    let mut by_word: Vec<(String, Postings)> = shards.into_iter().flatten().collect();
    by_word.par_sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let encoded: Vec<(String, &str, String)> = by_word
        .par_iter()
        .map(|(word, pages)| (key_of(word), word.as_str(), encode(pages, entries.len())))
        .collect();
    let mut by_key: BTreeMap<String, BTreeMap<&str, String>> = BTreeMap::new();
    for (key, word, code) in encoded {
        by_key.entry(key).or_default().insert(word, code);
    }
    let by_key: Vec<(String, BTreeMap<&str, String>)> = by_key.into_iter().collect();
    let mut files: Vec<(String, Vec<u8>)> = by_key
        .par_iter()
        .map(|(key, words)| {
            let name = format!("t-{key}");
            (format!("{DIR}/{name}.js"), script(&name, words))
        })
        .collect();
    let pages: Vec<(String, Vec<u8>)> = entries
        .par_chunks(PAGES_PER_PART)
        .enumerate()
        .map(|(n, chunk)| {
            let pages: Vec<_> = chunk
                .iter()
                .map(|e| {
                    (
                        e.title,
                        e.url,
                        e.space,
                        e.description.unwrap_or(""),
                        e.tags,
                        e.text.as_str(),
                    )
                })
                .collect();
            let name = format!("p-{n}");
            (format!("{DIR}/{name}.js"), script(&name, &pages))
        })
        .collect();
    files.extend(pages);
    files
}

/// A word's pages with their scores, in the shorter of two spellings: `D` and one base-36
/// digit per page of the site (`0`: not on it), or `S` and, per page holding it, the distance
/// from the previous one in base 36 followed by the score digit, comma-separated.
fn encode(pages: &[(u32, u8)], total: usize) -> String {
    let digit = |s: u8| char::from_digit(u32::from(s), 36).expect("a score is below 36");
    let mut sparse = String::from("S");
    let mut previous: Option<usize> = None;
    for &(page, score) in pages {
        let page = page as usize;
        if previous.is_some() {
            sparse.push(',');
        }
        let delta = page - previous.map_or(0, |p| p + 1);
        sparse.push_str(&base36(delta));
        sparse.push(digit(score));
        previous = Some(page);
    }
    if sparse.len() <= total + 1 {
        return sparse;
    }
    let mut dense: Vec<char> = std::iter::once('D')
        .chain(std::iter::repeat_n('0', total))
        .collect();
    for &(page, score) in pages {
        dense[page as usize + 1] = digit(score);
    }
    dense.into_iter().collect()
}

fn base36(mut n: usize) -> String {
    let mut digits = Vec::new();
    loop {
        digits.push(char::from_digit((n % 36) as u32, 36).expect("below 36"));
        n /= 36;
        if n == 0 {
            break;
        }
    }
    digits.iter().rev().collect()
}

fn script(name: &str, data: &impl serde::Serialize) -> Vec<u8> {
    let json = serde_json::to_string(data).expect("a search piece serializes");
    format!(
        "(window.IMPRIMATUR_SEARCH_PARTS = window.IMPRIMATUR_SEARCH_PARTS || {{}})[\"{name}\"] = {json};\n"
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry<'a>(title: &'a str, url: &'a str, text: &str) -> SearchEntry<'a> {
        SearchEntry {
            title,
            url,
            space: "KB",
            description: None,
            tags: &[],
            text: text.to_string(),
            text_key: None,
        }
    }

    #[test]
    fn words_go_to_the_piece_of_their_first_three_characters_with_scored_pages() {
        let entries = [
            entry("Install", "kb/a/", "install the agent"),
            entry("Other", "kb/b/", "the Ünïcode word"),
        ];
        let files: BTreeMap<String, String> = pieces(&entries)
            .into_iter()
            .map(|(p, b)| (p, String::from_utf8(b).unwrap()))
            .collect();
        let ins = &files["search-index/t-ins.js"];
        // In the title (20) and once in the text (1) of page 0 only.
        assert!(ins.contains("\"install\":\"S0l\""), "{ins}");
        // "the" is on both pages: page 0 then one page further.
        assert!(files["search-index/t-the.js"].contains("\"the\":\"D11\""));
        assert!(files.contains_key("search-index/t-_fcn_ef.js"), "{files:?}");
        let pages = &files["search-index/p-0.js"];
        assert!(pages.starts_with("(window.IMPRIMATUR_SEARCH_PARTS"));
        assert!(pages.contains("[\"Install\",\"kb/a/\",\"KB\",\"\",[],\"install the agent\"]"));
    }

    #[test]
    fn words_are_the_runs_of_letters_and_digits_with_whether_they_are_lowercase() {
        let cases = [
            "",
            "plain words here",
            "  Leading, trailing!  ",
            "Ünïcode wörds, naïve café; 日本語テキスト and x2y",
            "snake_case kebab-case dot.ted CamelCase ALLCAPS 42 4x4",
            "emoji 🙂 between🙂words, tab\tand\nnewline",
            "ǅungla (titlecase) ß straße İstanbul",
        ];
        for text in cases {
            let by_split: Vec<&str> = text
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .collect();
            let found: Vec<(&str, bool)> = words(text).collect();
            let only: Vec<&str> = found.iter().map(|(w, _)| *w).collect();
            assert_eq!(only, by_split, "{text}");
            for (word, lower) in found {
                let expected = word
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
                assert_eq!(lower, expected, "{word} in {text}");
            }
        }
    }

    #[test]
    fn sparse_and_dense_spellings() {
        let one = [(40, score(false, false, false, 2) as u8)];
        assert_eq!(encode(&one, 100), "S142");
        let two = [
            (0, score(true, false, false, 0) as u8),
            (1, score(false, false, false, 9) as u8),
        ];
        assert_eq!(encode(&two, 2), "Dk6");
    }
}
