//! The search index in pieces a browser loads on demand, so one search at 10,000 pages costs
//! kilobytes, not the whole 17 MB index. Every piece is a `.js` file under `search-index/`
//! that stores its data in `window.IMPRIMATUR_SEARCH_PARTS[name]`: loaded by a script tag,
//! it works served and opened from disk (`file://`, where `fetch()` is refused).
//!
//! - `search-index/t-<key>.js`: the words whose first three characters are `<key>` (shorter
//!   words: the whole word), each with the slots of the pages holding it and a score per
//!   page. A query word of three characters or more matches every word it begins; a shorter
//!   one, only itself.
//! - `search-index/p-<n>.js`: what results show of the pages in slots `n*SLOTS_PER_PART ..`:
//!   title, URL, space, description, tags and the indexed text (for the snippet); `null`
//!   for an empty slot, trailing ones left out.
//!
//! A page's slot is where the hash of its URL points (see [`slots`]), not its place among
//! the pages: a page added or removed changes the piece of its own slot and the pieces of its
//! own words, not every piece after it. A rebuild then rewrites a few hundred pieces, not
//! thousands; and it makes only those: [`patch`] takes the last build's index (read back from
//! `output/`, each piece checked against the hash the authenticated render memo holds) and
//! changes the pieces of the pages that changed, instead of gathering every page's words
//! again (that was 40 % of the CPU of adding one page to 10,000).
//!
//! Built only from the entries of the published pages, like `search-index.json`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::publish::render::SearchEntry;

/// Slots per `p-<n>.js` piece (a quarter to a half of them hold a page): a result list of 20
/// loads at most 20 small pieces.
pub const SLOTS_PER_PART: usize = 8;
/// How many leading characters of a word name its piece.
const KEY_CHARS: usize = 3;
/// The piece folder under `output/`.
pub const DIR: &str = "search-index";

/// Where a word is on one page: in the title, a tag, the description; how often in the text.
type Places = (bool, bool, bool, usize);
/// The pages a word is on, each as one [`posting`]: four bytes a page, not the places and a
/// machine word (100,000 pages make 25 million).
type Postings = Vec<u32>;

/// A page's slot and a word's score there in one number: the slot above six bits of score
/// (the score is below 36; slots are fewer than 2^26, see [`slots`]). Sorted, postings are in
/// slot order.
fn posting(slot: u32, score: u32) -> u32 {
    debug_assert!(score < 64 && slot < 1 << 26);
    slot << 6 | score
}

/// The slot and the score of a [`posting`].
fn slot_and_score(posting: u32) -> (usize, u32) {
    ((posting >> 6) as usize, posting & 63)
}
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

/// Each page's slot, by its place in `entries` (sorted by URL), and how many slots there are:
/// a power of two at least twice the pages, so a quarter to a half are taken. A page's slot
/// is the one its URL's SHA-256 points at, or the next free one after it (pages placed in
/// URL order, wrapping at the end): the same pages always get the same slots, and adding a
/// page moves no other page unless it takes a slot another would have probed past.
fn slots(entries: &[SearchEntry]) -> (Vec<u32>, usize) {
    slots_of(entries.iter().map(|e| e.url), entries.len())
}

/// [`slots`] of `count` pages by their URLs (sorted).
fn slots_of<'u>(urls: impl Iterator<Item = &'u str>, pages: usize) -> (Vec<u32>, usize) {
    use sha2::Digest;
    let count = (2 * pages).next_power_of_two().max(SLOTS_PER_PART);
    let mut taken = vec![false; count];
    let slots = urls
        .map(|url| {
            let digest = sha2::Sha256::digest(url.as_bytes());
            let hash = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
            // `count` is a power of two: the low bits.
            let mut slot = (hash as usize) & (count - 1);
            while taken[slot] {
                slot = (slot + 1) & (count - 1);
            }
            taken[slot] = true;
            // Fewer than 2^26 slots (33 million pages), so a slot fits a posting.
            u32::try_from(slot)
                .ok()
                .filter(|&s| s < 1 << 26)
                .expect("fewer than 2^26 slots")
        })
        .collect();
    (slots, count)
}

/// Takes one file of the index: its path relative to `output/`, its bytes.
pub type Emit<'a, E> = dyn Fn(&str, &[u8]) -> Result<(), E> + Sync + 'a;

/// Makes every piece of the index of `entries` (sorted by URL) and hands each to `emit` (its
/// path relative to `output/`, its bytes) as soon as it is made, so that the pieces are never
/// all held at once (100 MB at 100,000 pages): the paths of the pieces, sorted.
pub fn pieces<E>(entries: &[SearchEntry], emit: &Emit<'_, E>) -> Result<Vec<String>, E>
where
    E: Send,
{
    let (slots, count) = slots(entries);
    // The pages' words are gathered in parallel, a batch at a time; then word → pages with
    // their scores, each part of the words on its own thread; then words by piece.
    let mut shards: Vec<foldhash::HashMap<String, Postings>> =
        (0..SHARDS).map(|_| foldhash::HashMap::default()).collect();
    for (batch, chunk) in entries.chunks(PAGES_AT_A_TIME).enumerate() {
        let found: Vec<PageWords> = chunk.par_iter().map(page_words).collect();
        shards.par_iter_mut().enumerate().for_each(|(k, index)| {
            for (n, page_shards) in found.iter().enumerate() {
                let slot = slots[batch * PAGES_AT_A_TIME + n];
                for (word, (t, g, d, x)) in &page_shards[k] {
                    let posting = posting(slot, score(*t, *g, *d, *x));
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
    // The words of one piece are next to each other (the key is their first characters):
    // each piece is spelled and handed out on its own, and its words' postings go with it,
    // so no spelling of the whole index is ever held.
    let mut by_key: Vec<(String, Vec<(String, Postings)>)> = Vec::new();
    for (word, pages) in by_word {
        let key = key_of(&word);
        match by_key.last_mut() {
            Some((last, words)) if *last == key => words.push((word, pages)),
            _ => by_key.push((key, vec![(word, pages)])),
        }
    }
    let mut made: Vec<String> = by_key
        .into_par_iter()
        .map(|(key, mut words)| {
            for (_, pages) in &mut words {
                // Pages came in URL order; slots are spelled in their own order.
                pages.sort_unstable();
            }
            let path = word_path(&key);
            emit(&path, &word_piece(&key, &words, count))?;
            Ok(path)
        })
        .collect::<Result<_, E>>()?;
    made.extend(page_pieces(entries, &slots, None, emit)?);
    made.sort_unstable();
    Ok(made)
}

/// The path of the piece of the words with key `key` (see [`key_of`]).
fn word_path(key: &str) -> String {
    format!("{DIR}/t-{key}.js")
}

/// The path of the piece of the pages in slots `n*SLOTS_PER_PART ..`.
fn page_path(n: usize) -> String {
    format!("{DIR}/p-{n}.js")
}

/// The bytes of the piece of the words with key `key`: each word (sorted) with its pages
/// (sorted postings) of `count` slots.
fn word_piece(key: &str, words: &[(String, Postings)], count: usize) -> Vec<u8> {
    let words: Vec<(&str, String)> = words
        .iter()
        .map(|(word, pages)| (word.as_str(), encode(pages, count)))
        .collect();
    let size: usize = words.iter().map(|(w, c)| w.len() + c.len() + 6).sum();
    script(&format!("t-{key}"), &SortedMap(&words), size)
}

/// Makes the pieces of the pages (`entries`, in `slots`), or of those of them in the parts
/// `only`, and hands each to `emit`: their paths. A part no page is in has no piece.
fn page_pieces<E: Send>(
    entries: &[SearchEntry],
    slots: &[u32],
    only: Option<&std::collections::HashSet<usize>>,
    emit: &Emit<'_, E>,
) -> Result<Vec<String>, E> {
    type Shown<'e> = (&'e str, &'e str, &'e str, &'e str, &'e [String], &'e str);
    let mut by_part: BTreeMap<usize, Vec<Option<Shown>>> = BTreeMap::new();
    for (e, &slot) in entries.iter().zip(slots) {
        let slot = slot as usize;
        let n = slot / SLOTS_PER_PART;
        if only.is_some_and(|only| !only.contains(&n)) {
            continue;
        }
        let part = by_part.entry(n).or_default();
        let at = slot % SLOTS_PER_PART;
        if part.len() <= at {
            part.resize(at + 1, None);
        }
        part[at] = Some((
            e.title,
            e.url,
            e.space,
            e.description.unwrap_or(""),
            e.tags,
            &*e.text,
        ));
    }
    by_part
        .into_par_iter()
        .map(|(n, pages)| {
            let size: usize = pages
                .iter()
                .flatten()
                .map(|(t, u, s, d, g, x)| fields_size([t, u, s, d, x], g))
                .sum();
            let path = page_path(n);
            emit(&path, &script(&format!("p-{n}"), &pages, size))?;
            Ok(path)
        })
        .collect()
}

/// What the last build's index was made from and holds: what [`patch`] remakes only the
/// changed pieces of.
pub struct Before<'a, E> {
    /// The pages it was made from: each one's URL and the digest of its entry, sorted by URL.
    pub entries: &'a [(String, [u8; 32])],
    /// Its files: path relative to `output/` → hex SHA-256.
    pub files: &'a BTreeMap<String, String>,
    /// One of its files' bytes (path, hash), if they are still exactly those.
    pub read: &'a (dyn Fn(&str, &str) -> Option<Vec<u8>> + Sync),
    /// Keeps one of its files (path, hash) as it is, as part of the new index.
    pub keep: &'a (dyn Fn(&str, &str) -> Result<(), E> + Sync),
}

/// [`pieces`] of `entries` (sorted by URL, `digests` their entries' digests), made from the
/// last build's index (`before`) by changing only what the pages added, removed or changed
/// since then are in: the pieces of their slots and those of their words (when pages went
/// away or changed, every word piece is read to take their postings out). Every other piece
/// is kept as it is. The same bytes as [`pieces`] makes, piece for piece.
///
/// `Ok(None)`, with nothing emitted or kept, when the last index can't be patched into this
/// one: a page kept its URL but not its slot (the slots grew, or a page added took one another
/// probed past), a piece of it can't be read back as written, or so many pages changed that
/// making it anew costs no more.
pub fn patch<E: Send>(
    entries: &[SearchEntry],
    digests: &[[u8; 32]],
    before: &Before<'_, E>,
    emit: &Emit<'_, E>,
) -> Result<Option<Vec<String>>, E> {
    use std::collections::HashSet;
    let (slots, count) = slots(entries);
    let Some((vacated, filled)) = changes(entries, digests, &slots, count, before.entries) else {
        return Ok(None);
    };
    if (vacated.len() + filled.len()) * 4 > entries.len().max(16) {
        return Ok(None);
    }
    let Some((word_pieces, page_pieces_before)) = last_pieces(before.files) else {
        return Ok(None);
    };
    // The words of the pages new or changed, by piece: word → their postings.
    let found: Vec<PageWords> = filled
        .par_iter()
        .map(|&i| page_words(&entries[i]))
        .collect();
    let mut adding: BTreeMap<String, BTreeMap<String, Postings>> = BTreeMap::new();
    for (&i, page) in filled.iter().zip(&found) {
        for (word, (t, g, d, x)) in page.iter().flatten() {
            adding
                .entry(key_of(word))
                .or_default()
                .entry(word.to_string())
                .or_default()
                .push(posting(slots[i], score(*t, *g, *d, *x)));
        }
    }
    drop(found);
    // The word pieces that change, with what they held, read back before anything is emitted
    // (a piece that does not read back as written, and the index is made anew).
    let mut opened: BTreeMap<&str, Option<&str>> = adding
        .keys()
        .map(|key| (key.as_str(), word_pieces.get(key.as_str()).copied()))
        .collect();
    if !vacated.is_empty() {
        opened.extend(word_pieces.iter().map(|(&key, &hash)| (key, Some(hash))));
    }
    /// A word piece to change: its key, its hash in the last index (if it had it), its words.
    type Opened<'k> = (&'k str, Option<&'k str>, Vec<(String, Postings)>);
    let read: Option<Vec<Opened>> = opened
        .into_par_iter()
        .map(|(key, hash)| {
            let words = match hash {
                Some(hash) => {
                    let bytes = (before.read)(&word_path(key), hash)?;
                    read_words(key, &bytes, count)?
                }
                None => Vec::new(),
            };
            Some((key, hash, words))
        })
        .collect();
    let Some(read) = read else {
        return Ok(None);
    };
    let opened: HashSet<&str> = read.iter().map(|(key, _, _)| *key).collect();
    let mut made: Vec<String> = read
        .into_par_iter()
        .map(|(key, hash, mut words)| -> Result<Option<String>, E> {
            let path = word_path(key);
            let mut changed = false;
            for (_, pages) in &mut words {
                let had = pages.len();
                pages.retain(|&p| !vacated.contains(&(slot_and_score(p).0 as u32)));
                changed |= pages.len() != had;
            }
            words.retain(|(_, pages)| !pages.is_empty());
            if let Some(added) = adding.get(key) {
                changed = true;
                for (word, postings) in added {
                    match words.binary_search_by(|(w, _)| w.as_str().cmp(word)) {
                        Ok(at) => {
                            words[at].1.extend(postings);
                            words[at].1.sort_unstable();
                        }
                        Err(at) => {
                            let mut postings = postings.clone();
                            postings.sort_unstable();
                            words.insert(at, (word.clone(), postings));
                        }
                    }
                }
            }
            match hash {
                Some(hash) if !changed => (before.keep)(&path, hash)?,
                _ if words.is_empty() => return Ok(None),
                _ => emit(&path, &word_piece(key, &words, count))?,
            }
            Ok(Some(path))
        })
        .collect::<Result<Vec<Option<String>>, E>>()?
        .into_iter()
        .flatten()
        .collect();
    for (&key, &hash) in &word_pieces {
        if !opened.contains(key) {
            let path = word_path(key);
            (before.keep)(&path, hash)?;
            made.push(path);
        }
    }
    // The page pieces of the slots vacated or filled are made from the entries; the others
    // are kept.
    let parts: HashSet<usize> = vacated
        .iter()
        .map(|&slot| slot as usize / SLOTS_PER_PART)
        .chain(filled.iter().map(|&i| slots[i] as usize / SLOTS_PER_PART))
        .collect();
    for (n, (path, hash)) in &page_pieces_before {
        if !parts.contains(n) {
            (before.keep)(path, hash)?;
            made.push(path.to_string());
        }
    }
    made.extend(page_pieces(entries, &slots, Some(&parts), emit)?);
    made.sort_unstable();
    Ok(Some(made))
}

/// What changed since the last index (its pages `before`: URL and entry digest, sorted) in
/// `entries` (in `slots` of `count`, with `digests`): the slots of the pages gone or changed,
/// and the pages new or changed (by index). `None` when the slots differ: their count, or a
/// page kept whose slot moved.
fn changes(
    entries: &[SearchEntry],
    digests: &[[u8; 32]],
    slots: &[u32],
    count: usize,
    before: &[(String, [u8; 32])],
) -> Option<(std::collections::HashSet<u32>, Vec<usize>)> {
    let urls_before = before.iter().map(|(url, _)| url.as_str());
    let (slots_before, count_before) = slots_of(urls_before, before.len());
    if count != count_before {
        return None;
    }
    let mut vacated = std::collections::HashSet::new();
    let mut filled = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < entries.len() || j < before.len() {
        let now = entries.get(i).map(|e| e.url);
        let then = before.get(j).map(|(url, _)| url.as_str());
        match (now, then) {
            (Some(now), Some(then)) if now == then => {
                if digests[i] != before[j].1 {
                    vacated.insert(slots_before[j]);
                    filled.push(i);
                } else if slots[i] != slots_before[j] {
                    return None;
                }
                i += 1;
                j += 1;
            }
            (Some(now), then) if then.is_none_or(|then| now < then) => {
                filled.push(i);
                i += 1;
            }
            _ => {
                vacated.insert(slots_before[j]);
                j += 1;
            }
        }
    }
    Some((vacated, filled))
}

/// The last index's word pieces (key → hash) and page pieces (number → path and hash).
type LastPieces<'a> = (
    BTreeMap<&'a str, &'a str>,
    BTreeMap<usize, (&'a str, &'a str)>,
);

/// The last index's files (path → hash) by kind (`search-index.json` aside); `None` if it has
/// any other file: it is made anew.
fn last_pieces(files: &BTreeMap<String, String>) -> Option<LastPieces<'_>> {
    let mut words = BTreeMap::new();
    let mut pages = BTreeMap::new();
    for (path, hash) in files {
        if path == "search-index.json" {
            continue;
        }
        let name = path
            .strip_prefix(DIR)?
            .strip_prefix('/')?
            .strip_suffix(".js")?;
        if let Some(key) = name.strip_prefix("t-") {
            (word_path(key) == *path).then_some(())?;
            words.insert(key, hash.as_str());
        } else {
            let n: usize = name.strip_prefix("p-")?.parse().ok()?;
            (page_path(n) == *path).then_some(())?;
            pages.insert(n, (path.as_str(), hash.as_str()));
        }
    }
    Some((words, pages))
}

/// The words of the piece `t-<key>.js` (`bytes`, as [`word_piece`] spells it for `count`
/// slots) with their postings, sorted; `None` if it is not spelled so.
fn read_words(key: &str, bytes: &[u8], count: usize) -> Option<Vec<(String, Postings)>> {
    let head = script_head(&format!("t-{key}"));
    let json = bytes.strip_prefix(head.as_bytes())?.strip_suffix(b";\n")?;
    let words: BTreeMap<String, String> = serde_json::from_slice(json).ok()?;
    words
        .into_iter()
        .map(|(word, spelled)| {
            let pages = decode(&spelled, count)?;
            (key_of(&word) == key && !pages.is_empty()).then_some((word, pages))
        })
        .collect()
}

/// The postings [`encode`] spelled as `spelled` for `count` slots, sorted; `None` if it is
/// not such a spelling.
fn decode(spelled: &str, count: usize) -> Option<Postings> {
    let score = |c: u8| {
        char::from(c)
            .to_digit(36)
            .filter(|s| (1..36).contains(s) && !c.is_ascii_uppercase())
    };
    let bytes = spelled.as_bytes();
    let mut pages = Postings::new();
    match bytes.first()? {
        b'D' => {
            if bytes.len() != count + 1 {
                return None;
            }
            for (slot, &c) in bytes[1..].iter().enumerate() {
                if c != b'0' {
                    pages.push(posting(slot as u32, score(c)?));
                }
            }
        }
        b'S' => {
            let (mut i, mut next) = (1, 0usize);
            while i < bytes.len() {
                let score = score(bytes[i])?;
                i += 1;
                let mut distance = 0usize;
                loop {
                    let c = *bytes.get(i)?;
                    i += 1;
                    distance = distance.checked_mul(32)?;
                    if let Some(d) = LAST_DIGITS.iter().position(|&x| x == c) {
                        distance += d;
                        break;
                    }
                    distance += MORE_DIGITS.iter().position(|&x| x == c)?;
                }
                let slot = next.checked_add(distance)?;
                if slot >= count {
                    return None;
                }
                pages.push(posting(slot as u32, score));
                next = slot + 1;
            }
        }
        _ => return None,
    }
    Some(pages)
}

/// The characters of the last digit of a distance (base 32) and of the digits before it.
const LAST_DIGITS: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";
const MORE_DIGITS: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZwxyz-_";

/// A word's pages with their scores (sorted by slot), in the shorter of two spellings: `D`
/// and one base-36 score digit per slot of the site (`0`: not on it); or `S` and, per page
/// holding it, its score digit then the number of slots skipped since the previous page (or
/// before the first), in base 32: its last digit from `0-9a-v`, those before it from
/// `A-Z w-z - _`. Two characters a page for a word on every page, three or four for a rare
/// one.
fn encode(pages: &[u32], count: usize) -> String {
    let digit = |s: u32| char::from_digit(s, 36).expect("a score is below 36");
    let mut sparse = String::from("S");
    let mut next = 0usize;
    for &p in pages {
        let (slot, score) = slot_and_score(p);
        sparse.push(digit(score));
        push_distance(&mut sparse, slot - next);
        next = slot + 1;
    }
    if sparse.len() <= count + 1 {
        return sparse;
    }
    let mut dense = vec![b'0'; count + 1];
    dense[0] = b'D';
    for &p in pages {
        let (slot, score) = slot_and_score(p);
        dense[slot + 1] = digit(score) as u8;
    }
    String::from_utf8(dense).expect("ASCII")
}

/// `n` in base 32, most significant digit first, the last one marked by its alphabet.
fn push_distance(into: &mut String, mut n: usize) {
    let mut digits = [0u8; 13];
    let mut len = 0;
    loop {
        digits[len] = (n % 32) as u8;
        len += 1;
        n /= 32;
        if n == 0 {
            break;
        }
    }
    for (i, &d) in digits[..len].iter().enumerate().rev() {
        let alphabet = if i == 0 { LAST_DIGITS } else { MORE_DIGITS };
        into.push(char::from(alphabet[usize::from(d)]));
    }
}

/// What a piece's data follows: it stores it under its name (`t-abc`, `p-12`).
fn script_head(name: &str) -> String {
    format!(
        "(window.IMPRIMATUR_SEARCH_PARTS = window.IMPRIMATUR_SEARCH_PARTS || {{}})[\"{name}\"] = "
    )
}

fn script(name: &str, data: &impl serde::Serialize, size_hint: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size_hint + 100);
    out.extend_from_slice(script_head(name).as_bytes());
    // Straight into the piece, not into a string copied into it.
    serde_json::to_writer(&mut out, data).expect("a search piece serializes");
    out.extend_from_slice(b";\n");
    out
}

/// Pairs sorted by their first, unique, serialized as a JSON object (as a `BTreeMap` of them
/// is), without building the map.
struct SortedMap<'a>(&'a [(&'a str, String)]);

impl serde::Serialize for SortedMap<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

/// About how many bytes the JSON of one page's fields takes: their lengths, and a little for
/// the syntax around them.
fn fields_size(texts: [&str; 5], tags: &[String]) -> usize {
    let texts: usize = texts.iter().map(|t| t.len()).sum();
    texts + tags.iter().map(|t| t.len() + 3).sum::<usize>() + 96
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every piece `super::pieces` hands out, by path; it names exactly these.
    fn pieces(entries: &[SearchEntry]) -> Vec<(String, Vec<u8>)> {
        let made = std::sync::Mutex::new(Vec::new());
        let named = super::pieces(entries, &|path: &str, bytes: &[u8]| {
            made.lock()
                .unwrap()
                .push((path.to_string(), bytes.to_vec()));
            Ok::<(), ()>(())
        })
        .unwrap();
        let mut made = made.into_inner().unwrap();
        made.sort();
        let paths: Vec<&String> = made.iter().map(|(p, _)| p).collect();
        assert_eq!(paths, named.iter().collect::<Vec<_>>());
        made
    }

    fn entry<'a>(title: &'a str, url: &'a str, text: &str) -> SearchEntry<'a> {
        SearchEntry {
            title,
            url,
            space: "KB",
            description: None,
            tags: &[],
            text: text.into(),
            text_key: None,
        }
    }

    /// What search.js reads from a spelled word: slot → score.
    fn as_search_js_reads(spelled: &str) -> BTreeMap<usize, u32> {
        let mut found = BTreeMap::new();
        let bytes = spelled.as_bytes();
        if bytes[0] == b'D' {
            for (slot, c) in spelled[1..].chars().enumerate() {
                let score = c.to_digit(36).unwrap();
                if score != 0 {
                    found.insert(slot, score);
                }
            }
            return found;
        }
        assert_eq!(bytes[0], b'S', "{spelled}");
        let (mut i, mut next) = (1, 0);
        while i < bytes.len() {
            let score = char::from(bytes[i]).to_digit(36).unwrap();
            i += 1;
            let mut distance = 0;
            loop {
                let c = bytes[i];
                i += 1;
                if let Some(d) = LAST_DIGITS.iter().position(|&x| x == c) {
                    distance = distance * 32 + d;
                    break;
                }
                let d = MORE_DIGITS.iter().position(|&x| x == c).unwrap();
                distance = distance * 32 + d;
            }
            let slot = next + distance;
            found.insert(slot, score);
            next = slot + 1;
        }
        found
    }

    /// The data of a piece (the JSON after ` = `).
    fn data(piece: &[u8]) -> serde_json::Value {
        let text = std::str::from_utf8(piece).unwrap();
        assert!(
            text.starts_with("(window.IMPRIMATUR_SEARCH_PARTS"),
            "{text}"
        );
        let json = &text[text.find("] = ").unwrap() + 4..text.len() - 2];
        serde_json::from_str(json).unwrap()
    }

    /// Every word of the index with the URLs of its pages and their scores, read back from
    /// the pieces alone as search.js reads them.
    fn read_back(files: &[(String, Vec<u8>)]) -> BTreeMap<String, BTreeMap<String, u32>> {
        let by_path: BTreeMap<&str, &[u8]> = files
            .iter()
            .map(|(p, b)| (p.as_str(), b.as_slice()))
            .collect();
        let url_at = |slot: usize| -> String {
            let part = data(by_path[format!("{DIR}/p-{}.js", slot / SLOTS_PER_PART).as_str()]);
            part[slot % SLOTS_PER_PART][1].as_str().unwrap().to_string()
        };
        let mut words = BTreeMap::new();
        for (path, bytes) in files {
            if !path.starts_with(&format!("{DIR}/t-")) {
                continue;
            }
            for (word, spelled) in data(bytes).as_object().unwrap() {
                assert_eq!(path, &format!("{DIR}/t-{}.js", key_of(word)));
                let pages = as_search_js_reads(spelled.as_str().unwrap())
                    .into_iter()
                    .map(|(slot, score)| (url_at(slot), score))
                    .collect();
                words.insert(word.clone(), pages);
            }
        }
        words
    }

    #[test]
    fn words_go_to_the_piece_of_their_first_three_characters_with_scored_pages() {
        let entries = [
            entry("Install", "kb/a/", "install the agent"),
            entry("Other", "kb/b/", "the Ünïcode word"),
        ];
        let files = pieces(&entries);
        let words = read_back(&files);
        // In the title (20) and once in the text (1) of the first page only.
        assert_eq!(
            words["install"],
            BTreeMap::from([("kb/a/".to_string(), 21)])
        );
        assert_eq!(
            words["the"],
            BTreeMap::from([("kb/a/".to_string(), 1), ("kb/b/".to_string(), 1)])
        );
        assert!(words.contains_key("ünïcode"));
        assert!(files.iter().any(|(p, _)| p == "search-index/t-_fcn_ef.js"));
        let (slots, count) = slots(&entries);
        assert_eq!(count, SLOTS_PER_PART);
        let part = files
            .iter()
            .find(|(p, _)| *p == format!("{DIR}/p-0.js"))
            .unwrap();
        let shown = &data(&part.1)[slots[0] as usize];
        assert_eq!(
            shown,
            &serde_json::json!(["Install", "kb/a/", "KB", "", [], "install the agent"])
        );
    }

    #[test]
    fn every_word_reads_back_with_its_pages_whether_spelled_sparse_or_dense() {
        let texts: Vec<(String, String)> = (0..300)
            .map(|n| {
                // "common" is on every page, "some" on every third, "rare<n%7>" on one in 40.
                let mut text = format!("common words of page{n}");
                if n % 3 == 0 {
                    text.push_str(" some some");
                }
                if n % 40 == 0 {
                    text.push_str(&format!(" rare{}", n % 7));
                }
                (format!("kb/p{n:03}/"), text)
            })
            .collect();
        let entries: Vec<SearchEntry> = texts
            .iter()
            .map(|(url, text)| entry("T", url, text))
            .collect();
        let words = read_back(&pieces(&entries));
        assert_eq!(words["common"].len(), 300);
        assert_eq!(words["some"].len(), 100);
        assert!(words["some"].values().all(|&s| s == 2));
        assert_eq!(
            words["page123"],
            BTreeMap::from([("kb/p123/".to_string(), 1)])
        );
        for (n, (url, _)) in texts.iter().enumerate() {
            assert_eq!(words[&format!("page{n}")].keys().collect::<Vec<_>>(), [url]);
        }
        // Both spellings, each read back the same.
        let postings = |pages: &[(u32, u32)]| -> Vec<u32> {
            pages
                .iter()
                .map(|&(slot, score)| posting(slot, score))
                .collect()
        };
        for pages in [
            vec![(0, 1), (1, 35), (2, 7)],
            vec![(5, 3), (40, 1), (1000, 9), (70_000, 2)],
            (0..64).map(|s| (s, 1 + s % 35)).collect(),
        ] {
            let spelled = encode(&postings(&pages), 70_001);
            let expected: BTreeMap<usize, u32> = pages
                .iter()
                .map(|&(slot, score)| (slot as usize, score))
                .collect();
            assert_eq!(as_search_js_reads(&spelled), expected, "{spelled}");
            let mut postings = postings(&pages);
            postings.sort_unstable();
            assert_eq!(super::decode(&spelled, 70_001), Some(postings), "{spelled}");
        }
        assert_eq!(encode(&postings(&[(0, 1), (1, 35), (2, 7)]), 3), "D1z7");
        assert_eq!(encode(&postings(&[(40, 2)]), 100), "S2B8");
        // Sorted postings are in slot order, whatever the scores.
        let mut sorted = postings(&[(9, 1), (3, 35), (1 << 25, 2), (4, 1)]);
        sorted.sort_unstable();
        let slots: Vec<usize> = sorted.iter().map(|&p| slot_and_score(p).0).collect();
        assert_eq!(slots, [3, 4, 9, 1 << 25]);
        assert_eq!(as_search_js_reads("S2B8"), BTreeMap::from([(40, 2)]));
        // What no encoding spells is no postings: a piece reading so is made anew.
        let overflow = format!("S1{}0", "_".repeat(20));
        for bad in [
            "", "X12", "S2", "S2B", "SA0", "S00", "D1z", "S2_v", &overflow,
        ] {
            assert_eq!(super::decode(bad, 100), None, "{bad:?}");
        }
        assert_eq!(super::decode("D1Z7", 3), None);
        assert_eq!(super::decode("D1z7", 3).map(|p| p.len()), Some(3));
        assert_eq!(super::decode("S", 100), Some(vec![]));
    }

    #[test]
    fn a_page_added_changes_its_own_piece_and_the_pieces_of_its_words_only() {
        let texts: Vec<(String, String)> = (0..400)
            .map(|n| {
                let word = ["alpha", "bravo", "charlie", "delta", "echo"][n % 5];
                (format!("kb/p{n:03}/"), format!("the {word} page number{n}"))
            })
            .collect();
        let mut entries: Vec<SearchEntry> = texts
            .iter()
            .map(|(url, text)| entry("T", url, text))
            .collect();
        let before: BTreeMap<String, Vec<u8>> = pieces(&entries).into_iter().collect();
        // In the middle of the URL order: every page after it is one place further.
        entries.insert(200, entry("T", "kb/p199b/", "the zulu page added"));
        let after: BTreeMap<String, Vec<u8>> = pieces(&entries).into_iter().collect();
        let changed: Vec<&String> = after
            .iter()
            .filter(|(path, bytes)| before.get(*path) != Some(*bytes))
            .map(|(path, _)| path)
            .collect();
        assert!(before.keys().all(|p| after.contains_key(p)));
        // The words of the new page ("T" is every page's title), and its own page piece.
        let mut expected = vec!["t-add", "t-pag", "t-t", "t-the", "t-zul"];
        let (slots, _) = slots(&entries);
        let part = format!("p-{}", slots[200] as usize / SLOTS_PER_PART);
        expected.push(&part);
        expected.sort();
        let names: Vec<&str> = changed
            .iter()
            .map(|p| {
                p.trim_start_matches("search-index/")
                    .trim_end_matches(".js")
            })
            .collect();
        assert_eq!(names, expected, "of {} pieces", after.len());
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

    /// An entry's digest for [`super::patch`], as the renderer's stands for an entry: here, of
    /// its title, URL and text.
    fn digest(e: &SearchEntry) -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(format!("{}\n{}\n{}", e.title, e.url, e.text)).into()
    }

    /// What [`super::patch`] did: the pieces of the new index by path (those kept read from
    /// `before`), which it emitted and which it kept.
    struct Patched {
        files: Vec<(String, Vec<u8>)>,
        emitted: Vec<String>,
        kept: Vec<String>,
    }

    /// What reading a file of the last index gives instead of its bytes.
    type Tamper = dyn Fn(&str, Vec<u8>) -> Option<Vec<u8>> + Sync;

    /// [`super::patch`] of `after` from the index [`pieces`] made of `before`, whose files
    /// read back through `tamper` (path, bytes → what is read).
    fn patch_with(
        before: &[SearchEntry],
        after: &[SearchEntry],
        tamper: &Tamper,
    ) -> Option<Patched> {
        use crate::trust::version::sha256_hex;
        let old: BTreeMap<String, Vec<u8>> = pieces(before).into_iter().collect();
        let files: BTreeMap<String, String> = old
            .iter()
            .map(|(p, b)| (p.clone(), sha256_hex(b)))
            .chain([("search-index.json".to_string(), "ff".repeat(32))])
            .collect();
        let entries: Vec<(String, [u8; 32])> = before
            .iter()
            .map(|e| (e.url.to_string(), digest(e)))
            .collect();
        let read = |path: &str, hash: &str| {
            let bytes = tamper(path, old.get(path)?.clone())?;
            (sha256_hex(&bytes) == hash).then_some(bytes)
        };
        let kept = std::sync::Mutex::new(Vec::new());
        let keep = |path: &str, hash: &str| {
            assert_eq!(files[path], hash);
            kept.lock().unwrap().push(path.to_string());
            Ok::<(), ()>(())
        };
        let emitted = std::sync::Mutex::new(Vec::new());
        let emit = |path: &str, bytes: &[u8]| {
            emitted
                .lock()
                .unwrap()
                .push((path.to_string(), bytes.to_vec()));
            Ok::<(), ()>(())
        };
        let digests: Vec<[u8; 32]> = after.iter().map(digest).collect();
        let before = Before {
            entries: &entries,
            files: &files,
            read: &read,
            keep: &keep,
        };
        let named = super::patch(after, &digests, &before, &emit).unwrap();
        let (kept, emitted) = (kept.into_inner().unwrap(), emitted.into_inner().unwrap());
        let Some(named) = named else {
            assert!(kept.is_empty() && emitted.is_empty(), "nothing done");
            return None;
        };
        let mut files: Vec<(String, Vec<u8>)> = kept
            .iter()
            .map(|p| (p.clone(), old[p].clone()))
            .chain(emitted.iter().cloned())
            .collect();
        files.sort();
        let paths: Vec<&String> = files.iter().map(|(p, _)| p).collect();
        assert_eq!(paths, named.iter().collect::<Vec<_>>());
        let mut emitted: Vec<String> = emitted.into_iter().map(|(p, _)| p).collect();
        emitted.sort();
        Some(Patched {
            files,
            emitted,
            kept,
        })
    }

    fn patch(before: &[SearchEntry], after: &[SearchEntry]) -> Option<Patched> {
        patch_with(before, after, &|_, bytes| Some(bytes))
    }

    /// Pages `kb/p000/` .. with a word of five each and one of their own.
    fn texts(n: usize) -> Vec<(String, String)> {
        (0..n)
            .map(|n| {
                let word = ["alpha", "bravo", "charlie", "delta", "echo"][n % 5];
                (format!("kb/p{n:03}/"), format!("the {word} page number{n}"))
            })
            .collect()
    }

    fn entries(texts: &[(String, String)]) -> Vec<SearchEntry<'_>> {
        texts
            .iter()
            .map(|(url, text)| entry("T", url, text))
            .collect()
    }

    #[test]
    fn a_patched_index_is_byte_for_byte_the_index_made_anew() {
        let base = texts(300);
        let before = entries(&base);
        // (what changes, the site after it)
        let mut cases: Vec<(&str, Vec<SearchEntry>)> = Vec::new();
        let mut added = before.clone();
        added.insert(150, entry("T", "kb/p149b/", "the zulu page added"));
        cases.push(("a page added", added));
        let mut removed = before.clone();
        removed.remove(77);
        cases.push(("a page removed (its word number77 goes)", removed));
        let mut changed = before.clone();
        changed[10] = entry("T", "kb/p010/", "the alpha page rewritten with yankee");
        cases.push(("a page changed", changed));
        let mut several = before.clone();
        several.remove(200);
        several[3] = entry("New title", "kb/p003/", "the echo page");
        several.push(entry("T", "kb/p999/", "number5 again ünïcode"));
        cases.push(("added, removed and changed at once", several));
        cases.push(("nothing", before.clone()));
        for (what, after) in &cases {
            let patched = patch(&before, after).unwrap_or_else(|| panic!("{what}: patched"));
            assert_eq!(patched.files, pieces(after), "{what}");
            // Only what the change is in was made again.
            assert!(
                patched.emitted.len() < 20,
                "{what}: {:?} of {} pieces",
                patched.emitted,
                patched.files.len()
            );
            assert!(!patched.kept.is_empty(), "{what}");
        }
        let patched = patch(&before, &before).unwrap();
        assert!(patched.emitted.is_empty(), "{:?}", patched.emitted);
        // A word only the removed page had is gone with its piece.
        let removed = patch(&before, &cases[1].1).unwrap();
        assert!(!read_back(&removed.files).contains_key("number77"));
        assert!(read_back(&pieces(&before)).contains_key("number77"));
    }

    #[test]
    fn an_index_that_cannot_be_patched_is_left_to_be_made_anew() {
        let base = texts(300);
        let before = entries(&base);
        let mut added = before.clone();
        added.insert(150, entry("T", "kb/p149b/", "the zulu page added"));
        // Piece of a word of the added page, read back as other bytes, or not at all: not
        // patched (the test of the hash is the reader's).
        let tampered = |path: &str, mut bytes: Vec<u8>| {
            if path.ends_with("/t-zul.js") || path.ends_with("/t-the.js") {
                bytes.push(b' ');
            }
            Some(bytes)
        };
        assert!(patch_with(&before, &added, &tampered).is_none());
        let gone = |path: &str, bytes: Vec<u8>| (!path.ends_with("/t-the.js")).then_some(bytes);
        assert!(patch_with(&before, &added, &gone).is_none());
        // A page removed: every word piece is read, so any of them unreadable stops it.
        let mut removed = before.clone();
        removed.remove(5);
        let one_gone = |path: &str, bytes: Vec<u8>| (!path.ends_with("/t-cha.js")).then_some(bytes);
        assert!(patch_with(&before, &removed, &one_gone).is_none());
        assert!(
            patch_with(&before, &added, &one_gone).is_some(),
            "not read when only added"
        );
        // The slots double past 256 pages...
        let grown: Vec<(String, String)> = texts(600);
        assert!(patch(&before, &entries(&grown)).is_none());
        // ... and too many changes are made anew.
        let mut many = before.clone();
        for e in many.iter_mut().take(100) {
            e.title = "Changed";
        }
        assert!(patch(&before, &many).is_none());
    }

    #[test]
    fn a_page_that_takes_a_slot_another_probed_past_stops_the_patch() {
        // Pages whose URLs hash to one slot: the one added before them in URL order takes
        // the slot the first of them had, and moves it.
        let url = |n: usize| format!("kb/q{n:04}/");
        // The pages, one in 40 URLs; any other URL is sorted between two of them.
        let urls: Vec<String> = (0..100).map(|n| url(n * 40)).collect();
        let home = |url: &str| {
            use sha2::Digest;
            let digest = sha2::Sha256::digest(url.as_bytes());
            u64::from_be_bytes(digest[..8].try_into().unwrap()) as usize & 255
        };
        let base: Vec<(String, String)> = urls
            .iter()
            .map(|u| (u.clone(), format!("text of {u}")))
            .collect();
        let before = entries(&base);
        let (before_slots, count) = slots(&before);
        assert_eq!(count, 256);
        // A URL sorted right before a page (after the page before it) whose home slot is
        // that page's slot.
        let (at, new) = (1..100)
            .find_map(|i| {
                ((i - 1) * 40 + 1..i * 40)
                    .map(url)
                    .find(|u| home(u) == before_slots[i] as usize)
                    .map(|u| (i, u))
            })
            .expect("such a URL among 3900");
        let mut added = before.clone();
        let text = "text of the new page".to_string();
        added.insert(at, entry("T", &new, &text));
        let (after_slots, _) = slots(&added);
        assert_ne!(after_slots[at + 1], before_slots[at], "the page moved");
        assert!(patch(&before, &added).is_none());
    }
}
