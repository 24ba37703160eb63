//! The rebuild's shortcut: the last build's index, read back from `output/` and checked
//! against the render memo, changed only where pages changed, instead of gathering every
//! page's words again.

use std::collections::BTreeMap;

use rayon::prelude::*;

use super::postings::{decode, posting, slot_and_score, Postings};
use super::script::script_head;
use super::tokens::{key_of, page_words, score, PageWords};
use super::{
    page_path, page_pieces, slots, slots_of, word_path, word_piece, Emit, DIR, SLOTS_PER_PART,
};
use crate::publish::render::SearchEntry;

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
pub(super) fn changes(
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
pub(super) type LastPieces<'a> = (
    BTreeMap<&'a str, &'a str>,
    BTreeMap<usize, (&'a str, &'a str)>,
);

/// The last index's files (path → hash) by kind (`search-index.json` aside); `None` if it has
/// any other file: it is made anew.
pub(super) fn last_pieces(files: &BTreeMap<String, String>) -> Option<LastPieces<'_>> {
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
pub(super) fn read_words(key: &str, bytes: &[u8], count: usize) -> Option<Vec<(String, Postings)>> {
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
