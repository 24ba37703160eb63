//! A fast path for reading front matter: the flat form most pages have (one `key: value` per
//! line, known keys only, strings double-quoted without escapes or plain words, a plain
//! integer `weight`, `tags`/`audience` as a one-line list of plain words). For that form the
//! YAML reading is trivial, so the fields are handed straight to the same `Deserialize` the
//! full parser feeds; anything else (comments, other keys, escapes, block lists, CRLF, odd
//! spacing, a plain value YAML might read as anything but text) returns `None`, and the
//! caller uses the full YAML parser — as does a quoted value holding any character the full
//! parser might not read as itself (`yaml::flat_quoted_char`), so a page is never a draft by
//! one reader and `invalid_page` by the other. `tests::both_readers_agree_on_variants` and the
//! `differential_*` tests (a table of tricky lines, a seeded sweep) check it.

use serde_json::{Map, Value};

use super::RawFrontMatter;

/// The front matter fields, read without the YAML parser, or `None` when `yaml` is not in the
/// flat form.
pub(super) fn read(yaml: &str) -> Option<RawFrontMatter> {
    let mut fields = Map::new();
    for line in yaml.split('\n') {
        if line.is_empty() {
            continue;
        }
        let (key, value) = line.split_once(": ")?;
        let value = match key {
            "title" | "description" | "slug" => text(value)?,
            "publish_at" | "expires_at" => Value::String(quoted(value)?.to_string()),
            "weight" => integer(value)?,
            "tags" | "audience" => list(value)?,
            _ => return None,
        };
        if fields.insert(key.to_string(), value).is_some() {
            return None;
        }
    }
    serde_json::from_value(Value::Object(fields)).ok()
}

/// The inside of a double-quoted scalar that YAML surely reads as it is: no escapes, quotes,
/// control characters, separators or noncharacters ([`crate::yaml::flat_quoted_char`]).
fn quoted(value: &str) -> Option<&str> {
    let inner = value.strip_prefix('"')?.strip_suffix('"')?;
    inner
        .chars()
        .all(crate::yaml::flat_quoted_char)
        .then_some(inner)
}

/// A string: double-quoted (see [`quoted`]), or a plain scalar of [`plain`] text.
fn text(value: &str) -> Option<Value> {
    if value.starts_with('"') {
        return Some(Value::String(quoted(value)?.to_string()));
    }
    plain(value, |c| c.is_alphanumeric() || " .,'()?!-/".contains(c))
        .map(|v| Value::String(v.to_string()))
}

/// A plain scalar that YAML can only read as this very text: it starts with a letter, holds
/// only characters `allowed` says (no `: `, ` #` or other indicator among them), does not
/// end in a space, and is none of the words a YAML schema reads as a boolean, null or number.
fn plain(value: &str, allowed: impl Fn(char) -> bool) -> Option<&str> {
    const WORDS: &[&str] = &[
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "nan", "inf", "infinity",
    ];
    let first = value.chars().next()?;
    let ok = first.is_alphabetic()
        && value.chars().all(allowed)
        && !value.ends_with(' ')
        && !WORDS.iter().any(|w| value.eq_ignore_ascii_case(w));
    ok.then_some(value)
}

/// `0`, or a decimal integer without a leading zero or sign but `-`, that fits an `i64`.
fn integer(value: &str) -> Option<Value> {
    let digits = value.strip_prefix('-').unwrap_or(value);
    let ok = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && value != "-0";
    if !ok {
        return None;
    }
    value.parse::<i64>().ok().map(Value::from)
}

/// `[]`, or `[word, word]`: plain words of letters, digits, `-` and `_`, one space after each
/// comma.
fn list(value: &str) -> Option<Value> {
    let inner = value.strip_prefix('[')?.strip_suffix(']')?;
    if inner.is_empty() {
        return Some(Value::Array(Vec::new()));
    }
    inner
        .split(", ")
        .map(|item| {
            plain(item, |c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                .map(|w| Value::String(w.to_string()))
        })
        .collect::<Option<Vec<Value>>>()
        .map(Value::Array)
}

#[cfg(test)]
mod tests {
    use super::super::{parse_page, RawFrontMatter};

    const FLAT: &str = "title: \"Troubleshoot queues (28)\"
description: The agent's configuration file, the settings you are most likely to change.
weight: 28
tags: [users, sso, configure]
audience: [internal]
slug: queues
publish_at: \"2026-01-01T00:00:00Z\"
expires_at: \"2027-01-01T00:00:00Z\"
";

    fn full(yaml: &str) -> Result<RawFrontMatter, String> {
        crate::yaml::from_str(yaml, &crate::yaml::FRONT_MATTER).map_err(|e| e.to_string())
    }

    /// What the flat reader reads, the full parser reads alike; and the page parses the same
    /// either way (`parse_page` takes the flat path when it can).
    fn assert_agree(yaml: &str) {
        if let Some(flat) = super::read(yaml) {
            let full = full(yaml).unwrap_or_else(|e| panic!("{yaml:?}: flat reads, full: {e}"));
            assert_eq!(flat, full, "{yaml:?}");
        }
        let page = format!("---\n{yaml}---\nBody.\n");
        let fast = parse_page(page.as_bytes()).map(|(f, b)| (f, b.to_string()));
        let slow = full(yaml)
            .map_err(|e| format!("front matter: {e}"))
            .and_then(|_| super::super::parse_page_with(page.as_bytes(), false))
            .map(|(f, b)| (f, b.to_string()));
        match (&fast, &slow) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{yaml:?}"),
            (Err(_), Err(_)) => {}
            _ => panic!("the readers disagree on {yaml:?}: {fast:?} / {slow:?}"),
        }
    }

    #[test]
    fn the_flat_reader_reads_the_usual_front_matter() {
        assert!(super::read(FLAT).is_some());
        assert!(super::read(
            "title: Configure the agent\nweight: 20\ntags: [agent, configuration]\n"
        )
        .is_some());
        assert_agree(FLAT);
        // Left to the full parser: what YAML may read as other than this text, and any key
        // it does not know (kept in `extra` for templates).
        for yaml in [
            "title: yes\n",
            "title: Step 1: install\n",
            "title: a # b\n",
            "title: \"a\\tb\"\n",
            "weight: 07\n",
            "tags: [a, null]\n",
            "publish_at: 2026-01-01T00:00:00Z\n",
            "owner: docs\n",
            "title: a\r\n",
        ] {
            assert!(super::read(yaml).is_none(), "{yaml:?}");
        }
    }

    #[test]
    fn both_readers_agree_on_variants() {
        let mut variants = crate::yaml::line_variants(FLAT);
        for value in [
            "yes",
            "No",
            "ON",
            "off",
            "y",
            "N",
            "null",
            "Null",
            "~",
            "true",
            "False",
            "123",
            "1.5",
            "-3",
            "0x1F",
            ".inf",
            ".NaN",
            "nan",
            "Infinity",
            "2026-01-01",
            "2026-01-01T00:00:00Z",
            "a: b",
            "a #b",
            "a#b",
            "#a",
            "&a",
            "*a",
            "!a",
            "|a",
            ">a",
            "%a",
            "@a",
            "`a",
            "'a'",
            "'a",
            "a'",
            "\"a",
            "a\"",
            "\"a\\\"b\"",
            "\"a\\tb\"",
            "\"\"",
            "\"a\tb\"",
            "[a]",
            "{a: b}",
            "a, b",
            "a ",
            " a",
            "a  b",
            "Résumé",
            "日本",
            "a-b",
            "-a",
            "?a",
            "a?",
            "a/b",
            "(a)",
            "a,",
            "Step 1: install",
            "a:b",
            "a - b",
        ] {
            for key in ["title", "description", "slug"] {
                variants.push(FLAT.replacen(
                    &format!("{key}: "),
                    &format!("{key}: {value}\n{key}x: "),
                    1,
                ));
                let line = FLAT
                    .lines()
                    .find(|l| l.starts_with(&format!("{key}: ")))
                    .unwrap();
                variants.push(FLAT.replacen(line, &format!("{key}: {value}"), 1));
            }
        }
        for weight in [
            "0",
            "-0",
            "07",
            "+7",
            "7.0",
            "1_000",
            "99999999999999999999",
            "-12",
            "0o7",
            "\"7\"",
            "",
            "~",
        ] {
            variants.push(FLAT.replacen("weight: 28", &format!("weight: {weight}"), 1));
        }
        for tags in [
            "[]",
            "[a]",
            "[a,b]",
            "[a,  b]",
            "[ a ]",
            "[yes, no]",
            "[1, 2]",
            "[a-b, c_d]",
            "[-a]",
            "[a, ]",
            "[a b]",
            "[\"a\"]",
            "[a: b]",
            "[[a]]",
            "a",
            "",
            "[a, ~]",
            "[null]",
        ] {
            variants.push(FLAT.replacen(
                "tags: [users, sso, configure]",
                &format!("tags: {tags}"),
                1,
            ));
        }
        for (from, to) in [
            ("\n", "\r\n"),
            ("weight: 28\n", "weight: 28 # the order\n"),
            ("weight: 28\n", "weight:  28\n"),
            ("weight: 28\n", " weight: 28\n"),
            ("weight: 28\n", "weight: 28 \n"),
            ("weight: 28\n", "weight:\n  28\n"),
            ("weight: 28\n", "owner: docs-team\n"),
            ("weight: 28\n", "\n\nweight: 28\n\n"),
            ("tags: [users, sso, configure]\n", "tags:\n  - users\n"),
            (
                "publish_at: \"2026-01-01T00:00:00Z\"",
                "publish_at: 2026-01-01T00:00:00Z",
            ),
            (
                "publish_at: \"2026-01-01T00:00:00Z\"",
                "publish_at: \"not a time\"",
            ),
            ("slug: queues", "slug: a/b"),
            ("slug: queues", "slug: .hidden"),
            ("slug: queues", "slug: \"\""),
            ("title: \"Troubleshoot queues (28)\"", "title: \" \""),
        ] {
            variants.push(FLAT.replacen(from, to, 1));
        }
        for v in &variants {
            assert_agree(v);
        }
    }

    /// The one-grammar contract for front matter, case by case: each row replaces the title
    /// line (and some the weight or tags line) of the usual front matter.
    #[test]
    fn differential_both_readers_agree_on_tricky_lines() {
        let long = "x".repeat(60_000);
        let mut variants = Vec::new();
        for c in crate::yaml::TRICKY_IN_QUOTES {
            for line in [
                format!("title: \"Troubleshoot{c}\""),
                format!("title: Troubleshoot{c}"),
                format!("title: {c}Troubleshoot"),
                format!("slug: \"{c}\""),
                format!("tags: [users, a{c}]"),
                format!("weight: 2{c}"),
            ] {
                let key = &line[..line.find(':').unwrap()];
                let old = FLAT.lines().find(|l| l.starts_with(key)).unwrap();
                variants.push(FLAT.replacen(old, &line, 1));
            }
        }
        for line in [
            "title: 'single ''quoted'''",
            "title: ~",
            "title:",
            "title: \"\"",
            "title: &a Troubleshoot",
            "title: !!str Troubleshoot",
            "title: |\n  block",
            "title: \"a\"\ntitle: \"b\"",
            "title: \"a\" # comment",
            "title:\t\"a\"",
        ] {
            variants.push(FLAT.replacen("title: \"Troubleshoot queues (28)\"", line, 1));
        }
        variants.push(FLAT.replacen(
            "title: \"Troubleshoot queues (28)\"",
            &format!("title: \"{long}\""),
            1,
        ));
        variants.push(FLAT.replacen(
            "title: \"Troubleshoot queues (28)\"",
            &format!("title: {long}"),
            1,
        ));
        variants.push(FLAT.replace('\n', "\r\n"));
        variants.push(FLAT.replace('\n', "\u{2028}"));
        variants.push(format!("\u{feff}{FLAT}"));
        for v in &variants {
            assert_agree(v);
        }
    }

    /// A page whose quoted title ends in U+FFFE is invalid whichever reader reads its front
    /// matter — not a draft when flat, and `invalid_page` behind a `# note` line.
    #[test]
    fn a_noncharacter_in_a_quoted_title_gets_one_verdict_from_either_reader() {
        for c in ['\u{fffe}', '\u{ffff}'] {
            let page = format!("---\ntitle: \"Install{c}\"\n---\nBody.\n");
            let noted = format!("---\n# note\ntitle: \"Install{c}\"\n---\nBody.\n");
            let (plain, noted) = (parse_page(page.as_bytes()), parse_page(noted.as_bytes()));
            assert!(
                plain.is_err() && noted.is_err(),
                "{c:?}: {plain:?} / {noted:?}"
            );
        }
    }

    /// A seeded sweep over what the table may miss: values made of [`crate::yaml::TRICKY`]
    /// characters, quoted and plain, in every field, and characters inserted anywhere.
    #[test]
    fn differential_sweep_of_generated_front_matter() {
        let mut rng = crate::yaml::Sweep::new(32);
        let keys = [
            "title",
            "description",
            "slug",
            "weight",
            "tags",
            "publish_at",
        ];
        for case in 0..3_000 {
            let yaml = match rng.below(3) {
                0 => {
                    let key = *rng.pick(&keys);
                    let value = rng.text(8);
                    let value = match rng.below(4) {
                        0 => format!("\"{value}\""),
                        1 => value,
                        2 => format!("[{value}]"),
                        _ => format!("[a, {value}]"),
                    };
                    let old = FLAT.lines().find(|l| l.starts_with(key)).unwrap();
                    FLAT.replacen(old, &format!("{key}: {value}"), 1)
                }
                1 => {
                    let mut text = FLAT.to_string();
                    for _ in 0..=rng.below(3) {
                        let at: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
                        let at = *rng.pick(&at);
                        text.insert(at, *rng.pick(crate::yaml::TRICKY));
                    }
                    text
                }
                _ => format!("{FLAT}{}: \"{}\"\n", rng.pick(&keys), rng.text(4)),
            };
            std::panic::catch_unwind(|| assert_agree(&yaml))
                .unwrap_or_else(|_| panic!("sweep case {case} (seed 32): {yaml:?}"));
        }
    }
}
