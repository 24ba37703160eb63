//! Inputs on which two parsers of untrusted input once disagreed, or a fuzz target in `fuzz/`
//! crashed (README, "Fuzzing"), each kept as it was minimized, so that what was found once
//! stays found. The noncharacter cases came from issue 32's report (the fuzzer's short runs
//! did not reach them); the flat readers now hand them to the full reader.

use imprimatur::site::content::parse_page;
use imprimatur::trust::record::parse;

/// A record the signing commands could write (every string double-quoted, no escapes): the
/// form the flat reader reads.
const RECORD: &str = "imprimatur: 1
kind: \"approve\"
space: \"kb\"
content: \"kb/getting-started/install\"
version: \"sha256:8a0c9e0a00efbcbc641cc9b315b996e3e1c89076071be3c95fce1bf5c1ffaee3\"
step: \"technical\"
reviewer: \"bob\"
key: \"bob-2026\"
signed_at: \"2026-11-02T14:30:00Z\"
comment: \"COMMENT\"
signature: \"QfC3qk5gFQAJWYPiWs3HmOSEcJhipqFFZBEpRet4PnzTY2QWjgB7/0Rv9O1/GoszaON6Je3E1oUFywTF9RZrCQ==\"
";

/// Whether a record counts must not depend on which reader read it: a `# note` first line
/// sends the same fields to the full YAML reader.
fn both_readers_accept_alike(comment: &str) {
    let flat = RECORD.replace("COMMENT", comment);
    let full = format!("# note\n{flat}");
    assert_eq!(
        parse(&flat).is_ok(),
        parse(&full).is_ok(),
        "flat {:?} / full {:?}",
        parse(&flat).map(|_| ()),
        parse(&full).map(|_| ())
    );
}

#[test]
fn the_record_readers_agree_on_ordinary_comments() {
    both_readers_accept_alike("Looks right");
}

/// record_readers_agree: the flat reader takes U+FFFE and U+FFFF inside a quoted value, the
/// full reader refuses them.
#[test]
fn the_record_readers_agree_on_noncharacters() {
    both_readers_accept_alike("ok\u{fffe}");
    both_readers_accept_alike("ok\u{ffff}");
}

/// front_matter_readers_agree: the same noncharacters in front matter make a draft of the flat
/// form and an invalid page of the same fields behind a comment.
#[test]
fn the_front_matter_readers_agree_on_noncharacters() {
    for title in ["Install\u{fffe}", "Install\u{ffff}"] {
        let flat = format!("---\ntitle: \"{title}\"\n---\nWords.\n");
        let full = format!("---\n# note\ntitle: \"{title}\"\n---\nWords.\n");
        assert_eq!(
            parse_page(flat.as_bytes()).is_ok(),
            parse_page(full.as_bytes()).is_ok(),
            "{title:?}"
        );
    }
}
