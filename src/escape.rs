//! HTML and XML escaping, written once for the notifications, the review pages and the
//! sitemap: pulldown-cmark's escaper, the one every page's Markdown already goes through,
//! instead of three hand-written copies. Ground floor: it imports nothing of the crate.

use pulldown_cmark_escape::{escape_html, escape_html_body_text};

/// Text for an HTML element or a quoted attribute: `&`, `<`, `>`, `"` and `'` (`&#39;`).
pub(crate) fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_html(&mut out, text).expect("writing to a String cannot fail");
    out
}

/// Only `&`, `<` and `>`: what Slack's mrkdwn reserves.
pub(crate) fn text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_html_body_text(&mut out, text).expect("writing to a String cannot fail");
    out
}

/// XML as sitemaps.org asks for it: as `html`, with `'` written `&apos;`.
pub(crate) fn xml(text: &str) -> String {
    html(text).replace("&#39;", "&apos;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bytes_the_hand_written_escapers_wrote() {
        let s = "a&b<c>d\"e'f/g é";
        assert_eq!(html(s), "a&amp;b&lt;c&gt;d&quot;e&#39;f/g é");
        assert_eq!(text(s), "a&amp;b&lt;c&gt;d\"e'f/g é");
        assert_eq!(xml(s), "a&amp;b&lt;c&gt;d&quot;e&apos;f/g é");
        assert_eq!(html(""), "");
    }
}
