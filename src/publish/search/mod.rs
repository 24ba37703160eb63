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

use crate::publish::render::SearchEntry;
use rayon::prelude::*;
use std::collections::BTreeMap;

mod patch;
pub use patch::{patch, Before};
mod postings;
use postings::{encode, posting, Postings};
mod script;
use script::{fields_size, script, SortedMap};
mod tokens;
pub use tokens::key_of;
use tokens::{page_words, score, PageWords, SHARDS};
#[cfg(test)]
mod tests;

/// Slots per `p-<n>.js` piece (a quarter to a half of them hold a page): a result list of 20
/// loads at most 20 small pieces.
pub const SLOTS_PER_PART: usize = 8;

/// The piece folder under `output/`.
pub const DIR: &str = "search-index";

/// Pages whose words are gathered at a time (in parallel) before they join the index, so at
/// most this many pages' word maps are held at once.
const PAGES_AT_A_TIME: usize = 1024;

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
