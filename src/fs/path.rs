//! How paths and names are shown to people: relative to the site, with control characters
//! escaped, so that a file name can't forge a line of a report or a manifest.

use std::path::Path;

/// The control characters U+0000–U+001F and U+007F: never part of a page id or a bundle path
/// (a newline in a file name would forge a manifest line).
pub fn is_control(c: char) -> bool {
    c <= '\u{1f}' || c == '\u{7f}'
}

/// `text` with its control characters escaped (`\n`, `\u{7f}`), for ids and paths in reports.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_control(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// `path` relative to `root` with `/` separators (the path itself when it is not below root).
pub fn display_relative(root: &Path, path: &Path) -> String {
    // The common case, without taking the path apart: UTF-8, `root/` then plain names.
    if let (Some(root), Some(path)) = (root.to_str(), path.to_str()) {
        let rest = path
            .strip_prefix(root)
            .filter(|_| !root.is_empty())
            .and_then(|rest| rest.strip_prefix('/'));
        if let Some(rest) = rest.filter(|rest| {
            !rest.is_empty() && rest.split('/').all(|name| !name.is_empty() && name != ".")
        }) {
            return rest.to_string();
        }
    }
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_escapes_control_characters_only() {
        assert_eq!(printable("kb/a\nb\u{7f}é"), "kb/a\\nb\\u{7f}é");
    }
}
