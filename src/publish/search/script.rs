//! The `.js` wrapping of a piece: its data stored under `window.IMPRIMATUR_SEARCH_PARTS`,
//! serialized with sorted keys.

/// What a piece's data follows: it stores it under its name (`t-abc`, `p-12`).
pub(super) fn script_head(name: &str) -> String {
    format!(
        "(window.IMPRIMATUR_SEARCH_PARTS = window.IMPRIMATUR_SEARCH_PARTS || {{}})[\"{name}\"] = "
    )
}

pub(super) fn script(name: &str, data: &impl serde::Serialize, size_hint: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size_hint + 100);
    out.extend_from_slice(script_head(name).as_bytes());
    // Straight into the piece, not into a string copied into it.
    serde_json::to_writer(&mut out, data).expect("a search piece serializes");
    out.extend_from_slice(b";\n");
    out
}

/// Pairs sorted by their first, unique, serialized as a JSON object (as a `BTreeMap` of them
/// is), without building the map.
pub(super) struct SortedMap<'a>(pub(super) &'a [(&'a str, String)]);

impl serde::Serialize for SortedMap<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

/// About how many bytes the JSON of one page's fields takes: their lengths, and a little for
/// the syntax around them.
pub(super) fn fields_size(texts: [&str; 5], tags: &[String]) -> usize {
    let texts: usize = texts.iter().map(|t| t.len()).sum();
    texts + tags.iter().map(|t| t.len() + 3).sum::<usize>() + 96
}
