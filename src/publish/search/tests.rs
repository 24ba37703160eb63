//! Unit tests of `publish::search`, kept beside its files so that each stays short.

use super::postings::{slot_and_score, LAST_DIGITS, MORE_DIGITS};
use super::tokens::words;
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
        assert_eq!(
            super::postings::decode(&spelled, 70_001),
            Some(postings),
            "{spelled}"
        );
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
        assert_eq!(super::postings::decode(bad, 100), None, "{bad:?}");
    }
    assert_eq!(super::postings::decode("D1Z7", 3), None);
    assert_eq!(super::postings::decode("D1z7", 3).map(|p| p.len()), Some(3));
    assert_eq!(super::postings::decode("S", 100), Some(vec![]));
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
fn patch_with(before: &[SearchEntry], after: &[SearchEntry], tamper: &Tamper) -> Option<Patched> {
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
