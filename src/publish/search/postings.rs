//! Postings, the pages holding a word: each a slot and a score packed in a `u32`, spelled in
//! a piece as distances between slots in a compact base-32 text.

/// The pages a word is on, each as one [`posting`]: four bytes a page, not the places and a
/// machine word (100,000 pages make 25 million).
pub(super) type Postings = Vec<u32>;

/// A page's slot and a word's score there in one number: the slot above six bits of score
/// (the score is below 36; slots are fewer than 2^26, see [`slots`]). Sorted, postings are in
/// slot order.
pub(super) fn posting(slot: u32, score: u32) -> u32 {
    debug_assert!(score < 64 && slot < 1 << 26);
    slot << 6 | score
}

/// The slot and the score of a [`posting`].
pub(super) fn slot_and_score(posting: u32) -> (usize, u32) {
    ((posting >> 6) as usize, posting & 63)
}

/// The postings [`encode`] spelled as `spelled` for `count` slots, sorted; `None` if it is
/// not such a spelling.
pub(super) fn decode(spelled: &str, count: usize) -> Option<Postings> {
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
pub(super) const LAST_DIGITS: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";

pub(super) const MORE_DIGITS: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZwxyz-_";

/// A word's pages with their scores (sorted by slot), in the shorter of two spellings: `D`
/// and one base-36 score digit per slot of the site (`0`: not on it); or `S` and, per page
/// holding it, its score digit then the number of slots skipped since the previous page (or
/// before the first), in base 32: its last digit from `0-9a-v`, those before it from
/// `A-Z w-z - _`. Two characters a page for a word on every page, three or four for a rare
/// one.
pub(super) fn encode(pages: &[u32], count: usize) -> String {
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
pub(super) fn push_distance(into: &mut String, mut n: usize) {
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
