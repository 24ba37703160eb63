//! A fast path for reading record files: the exact flat form imprimatur writes (one
//! `key: value` per line, every string double-quoted without escapes, `imprimatur: 1`, flags
//! `true`/`false`). For that form the YAML reading is trivial, so the fields are handed
//! straight to the same strict `Deserialize` the full parser feeds, as the same scalars;
//! anything else (comments, unquoted or escaped strings, `assign` lists, CRLF, odd spacing)
//! returns `None`, and the caller uses the full YAML parser — as does a quoted value holding
//! any character the full parser might not read as itself (`yaml::flat_quoted_char`: controls,
//! separators, BOM, noncharacters). So both paths accept and refuse the same files with the
//! same fields, and a signature never counts by one reader and not by the other; the
//! `differential_*` tests check it on a table of tricky lines and a seeded sweep.

use serde::de::{self, value::MapDeserializer, Deserialize, IntoDeserializer, Visitor};

use super::RecordFileParsed;

/// More fields than any record has (SPEC §4 names fewer than 20).
const MAX_FIELDS: usize = 32;

/// The record fields, read without the YAML parser, or `None` when `text` is not in the flat
/// form (or its fields don't deserialize: the full parser then gives the error).
pub(super) fn read(text: &str) -> Option<RecordFileParsed> {
    if text.len() > crate::yaml::RECORD.max_bytes || !text.ends_with('\n') {
        return None;
    }
    let mut fields: Vec<(&str, Scalar)> = Vec::with_capacity(16);
    let mut seen = std::collections::HashSet::with_capacity(16);
    for line in text[..text.len() - 1].split('\n') {
        let (key, value) = line.split_once(": ")?;
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return None;
        }
        let value = match value {
            "true" => Scalar::Flag(true),
            "false" => Scalar::Flag(false),
            "1" if key == "imprimatur" => Scalar::One,
            quoted => {
                let inner = quoted.strip_prefix('"')?.strip_suffix('"')?;
                // Only characters the full reader surely reads as themselves (no escapes,
                // quotes, controls, separators or noncharacters): anything else is its call.
                if !inner.chars().all(crate::yaml::flat_quoted_char) {
                    return None;
                }
                Scalar::Text(inner)
            }
        };
        // A record has fewer fields than MAX_FIELDS: a line past it is an unknown field,
        // which the full parser names. Repeats are found with a set, not a scan of the fields
        // so far (6,631 distinct keys once cost 55 ms here, each compared with all before it).
        if fields.len() == MAX_FIELDS || !seen.insert(key) {
            return None;
        }
        fields.push((key, value));
    }
    RecordFileParsed::deserialize(MapDeserializer::<_, de::value::Error>::new(
        fields.into_iter(),
    ))
    .ok()
}

/// One value of a flat record, as the YAML parser would hand it over.
#[derive(Clone, Copy)]
enum Scalar<'a> {
    Flag(bool),
    /// `imprimatur: 1`, the format version.
    One,
    Text(&'a str),
}

impl<'de> de::Deserializer<'de> for Scalar<'de> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self {
            Scalar::Flag(b) => visitor.visit_bool(b),
            Scalar::One => visitor.visit_u64(1),
            Scalar::Text(text) => visitor.visit_borrowed_str(text),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

impl<'de> IntoDeserializer<'de, de::value::Error> for Scalar<'de> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::super::{check_fields, parse, parse_yaml, Origin};

    const CANONICAL: &str = "imprimatur: 1
kind: \"approve\"
space: \"kb\"
content: \"kb/install\"
version: \"sha256:800b8d5b130876c872bf6d3644f2ca43a5f589120e05d9704bf01aaff0164d46\"
step: \"technical\"
reviewer: \"alice\"
key: \"alice-2026\"
signed_at: \"2026-11-20T10:00:00Z\"
role: \"Technical reviewer\"
comment: \"Geprüft ✓ — no: #1, 'yes'\"
publish: true
signature: \"pVraYNao1MznTVDUtB88AX9z5SLSbUeUqsJJSU0NiIr5KRTck8BSOnknkvTfZ+8u1+yXZfzqqSpJQRmYaGJ7Ag==\"
";

    /// Both readers give the same fields, or both refuse with the same reason.
    fn assert_agree(text: &str) {
        assert_agree_from(text, Origin::Records);
    }

    fn assert_agree_from(text: &str, origin: Origin) {
        let full = parse_yaml(text).and_then(|p| check_fields(p, origin));
        let fast = super::super::parse_from(text, origin);
        match (&full, &fast) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a.record, b.record, "{text:?}");
                assert_eq!(a.signature, b.signature, "{text:?}");
                assert_eq!(a.webauthn, b.webauthn, "{text:?}");
            }
            (Err(a), Err(b)) => assert_eq!(a, b, "{text:?}"),
            _ => panic!("the readers disagree on {text:?}: {full:?} / {fast:?}"),
        }
        if let Some(flat) = super::read(text) {
            let full = parse_yaml(text).expect("what the flat reader reads, the full one reads");
            assert_eq!(flat.record, full.record, "{text:?}");
            assert_eq!(flat.signature, full.signature, "{text:?}");
        }
    }

    /// A passkey's record nests its `webauthn` envelope: the flat reader hands it to the full
    /// one, which reads the envelope (and refuses one that is not base64url or has more).
    #[test]
    fn a_passkey_envelope_is_read_by_the_full_reader() {
        let envelope = "webauthn:\n  authenticator_data: \"aRoOI2rZg0tvIarswOs8L3WyKNLGSIUZf9KOb2_FW8kFAAAABw\"\n  client_data_json: \"e30\"\n";
        let text = format!("{CANONICAL}{envelope}");
        assert!(super::read(&text).is_none());
        let parsed = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let e = parsed.webauthn.as_deref().expect("the envelope");
        assert_eq!(e.client_data_json, b"{}");
        assert_eq!(e.authenticator_data.len(), 37);
        assert_eq!(parsed.signature.len(), 64);
        assert_agree(&text);
        // Written back, the envelope follows the signature, every string double-quoted.
        assert!(parsed.to_yaml().ends_with(envelope), "{}", parsed.to_yaml());
        for (bad, needle) in [
            (
                envelope.replace("e30", "e30="),
                "webauthn.client_data_json: not base64url",
            ),
            (
                envelope.replace("e30", "e3+"),
                "webauthn.client_data_json: not base64url",
            ),
            (format!("{envelope}  counter: \"0\"\n"), "unknown field"),
            (
                envelope.replace("  client_data_json: \"e30\"\n", ""),
                "client_data_json",
            ),
        ] {
            let err = parse(&format!("{CANONICAL}{bad}")).unwrap_err();
            assert!(err.contains(needle), "{needle}: {err}");
        }
    }

    #[test]
    fn the_flat_reader_reads_what_imprimatur_writes() {
        assert!(super::read(CANONICAL).is_some());
        // What `to_yaml` writes, read back, is flat too (no escapes needed here).
        let parsed = parse(CANONICAL).unwrap();
        let written = parsed
            .record
            .to_yaml(&ed25519_dalek::Signature::from_slice(&parsed.signature).unwrap());
        assert!(super::read(&written).is_some(), "{written}");
        assert_agree(&written);
    }

    #[test]
    fn a_record_of_thousands_of_distinct_keys_is_left_to_the_full_reader_after_a_few() {
        // 6,631 distinct keys (64 KB) once cost 55 ms in the duplicate check, each key
        // compared with every earlier one; the reader now gives up past MAX_FIELDS lines,
        // and the full reader names the first unknown field, as before.
        // Keys of lowercase letters only, which the flat form allows: `x_aaaa`, `x_aaab`, …
        let key = |i: usize| -> String {
            (0..4)
                .rev()
                .map(|d| (b'a' + (i / 26usize.pow(d) % 26) as u8) as char)
                .collect()
        };
        let keys: String = (0..4_000)
            .map(|i| format!("x_{}: \"v\"\n", key(i)))
            .collect();
        let text = format!("{CANONICAL}{keys}");
        assert!(
            text.len() <= crate::yaml::RECORD.max_bytes,
            "read, not refused by size"
        );
        assert!(super::read(&text).is_none());
        assert_agree(&text);
    }

    /// CANONICAL with its comment committed (SPEC §4a), as the signing commands write it.
    fn committed() -> String {
        CANONICAL.replace(
            "publish: true\n",
            "comment_salt: \"ZGVmZ2hpamtsbW5vcHFycw==\"\ncomment_digest: \"sha256:83f0d478b44aa4dabc7cb2c9ade9fa1d5d5e1d118a4912a13e004ea8ffd150ad\"\npublish: true\n",
        )
    }

    #[test]
    fn both_readers_agree_on_comment_commitments_from_either_origin() {
        let committed = committed();
        assert!(super::read(&committed).is_some(), "{committed}");
        assert!(parse(&committed).is_ok());
        let comment = "comment: \"Geprüft ✓ — no: #1, 'yes'\"\n";
        let salt = "comment_salt: \"ZGVmZ2hpamtsbW5vcHFycw==\"\n";
        let mut variants = vec![
            committed.clone(),
            committed.replacen(comment, "", 1),
            committed.replacen(salt, "", 1),
            committed.replacen(comment, "", 1).replacen(salt, "", 1),
            committed.replacen("Geprüft", "Geprueft", 1),
            committed.replacen("ZGVmZ2hp", "ZGVmZ2hq", 1),
            committed.replacen("ZGVmZ2hpamtsbW5vcHFycw==", "ZGVmZ2hpamtsbW5vcHFy", 1),
            committed.replacen("ZGVmZ2hpamtsbW5vcHFycw==", "not base64!", 1),
            committed.replacen("sha256:83f0", "sha256:83F0", 1),
            committed.replacen("sha256:83f0", "83f0", 1),
            committed.replacen("comment_digest", "comment_digests", 1),
            committed.replacen(
                "comment_salt: \"ZGVmZ2hpamtsbW5vcHFycw==\"",
                "comment_salt: 1",
                1,
            ),
            CANONICAL.replacen("publish: true\n", salt, 1),
        ];
        variants.extend(crate::yaml::line_variants(&committed));
        // The contract's vectors: whole, redacted and tampered, as JSON and as written back.
        let vectors: serde_json::Value = serde_json::from_str(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/vectors-v2.json"
        )))
        .unwrap();
        for name in ["record", "redacted_record", "tampered_comment"] {
            let json = vectors["comment_commitment"][name].to_string();
            if let Ok(parsed) = super::super::parse_from(&json, Origin::Proof) {
                let signature = ed25519_dalek::Signature::from_slice(&parsed.signature).unwrap();
                variants.push(parsed.record.to_yaml(&signature));
            }
            variants.push(json);
        }
        for v in &variants {
            assert_agree_from(v, Origin::Records);
            assert_agree_from(v, Origin::Proof);
        }
        // Only a proof may leave the committed comment out.
        let redacted = committed.replacen(comment, "", 1).replacen(salt, "", 1);
        assert!(super::super::parse_from(&redacted, Origin::Proof).is_ok());
        let err = parse(&redacted).unwrap_err();
        assert!(err.starts_with("comment: missing"), "{err}");
    }

    #[test]
    fn both_readers_agree_on_the_vectors_and_variants() {
        // The contract's vector, as JSON (which is YAML), and as written back by imprimatur
        // (its comment has quotes, a backslash, a tab and a line break: escaped, not flat).
        let vectors: serde_json::Value = serde_json::from_str(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/vectors.json"
        )))
        .unwrap();
        let json = vectors["signing"]["record"].to_string();
        assert_agree(&json);
        let parsed = parse(&json).unwrap();
        let written = parsed
            .record
            .to_yaml(&ed25519_dalek::Signature::from_slice(&parsed.signature).unwrap());
        assert!(super::read(&written).is_none());
        assert_agree(&written);

        let mut variants = crate::yaml::line_variants(CANONICAL);
        for (from, to) in [
            ("kind: \"approve\"", "kind: approve"),
            ("kind: \"approve\"", "kind: 'approve'"),
            ("kind: \"approve\"", "kind: \"submit\""),
            ("kind: \"approve\"", "kind: \"publish\""),
            ("kind: \"approve\"", "kind: \"nonsense\""),
            ("imprimatur: 1", "imprimatur: 2"),
            ("imprimatur: 1", "imprimatur: \"1\""),
            ("imprimatur: 1", "imprimatur: 1.0"),
            ("publish: true", "publish: \"true\""),
            ("publish: true", "publish: yes"),
            ("publish: true", "publish: false"),
            ("publish: true", "discard: true"),
            ("publish: true", "override: true"),
            ("step: \"technical\"", "step: \"\""),
            ("step: \"technical\"", "step: 42"),
            ("step: \"technical\"", "step: ~"),
            ("step: \"technical\"", "step: \"tech\\u00e9\""),
            ("step: \"technical\"", "stepp: \"technical\""),
            ("reviewer: \"alice\"", "reviewer: \"alice\" # who"),
            ("reviewer: \"alice\"", "reviewer:  \"alice\""),
            ("reviewer: \"alice\"", "reviewer: \"alice\" "),
            ("reviewer: \"alice\"", " reviewer: \"alice\""),
            ("reviewer: \"alice\"", "reviewer: \"al\tice\""),
            ("reviewer: \"alice\"", "reviewer: \"\""),
            (
                "signed_at: \"2026-11-20T10:00:00Z\"",
                "signed_at: 2026-11-20T10:00:00Z",
            ),
            (
                "signed_at: \"2026-11-20T10:00:00Z\"",
                "signed_at: \"2026-11-20T10:00:00+00:00\"",
            ),
            (
                "signed_at: \"2026-11-20T10:00:00Z\"",
                "signed_at: \"2026-11-20T10:00:00.5Z\"",
            ),
            ("version: \"sha256:800b", "version: \"sha1:800b"),
            ("signature: \"pVra", "signature: \"!!!!"),
            ("signature: \"pVra", "signature: \"pV"),
            ("\n", "\r\n"),
        ] {
            variants.push(CANONICAL.replacen(from, to, 1));
        }
        variants.push(format!("---\n{CANONICAL}"));
        variants.push(format!("\u{feff}{CANONICAL}"));
        variants.push(format!("# a comment\n{CANONICAL}"));
        variants.push(CANONICAL.trim_end().to_string());
        variants.push(format!("{CANONICAL}\n"));
        variants.push(CANONICAL.replace("step: \"technical\"\n", "assign:\n  technical: [bob]\n"));
        // Fuzz-ish: one character inserted at every position of the canonical text.
        for (at, _) in CANONICAL.char_indices().step_by(3) {
            for c in [' ', '"', '\\', '#', '\t', 'x', ':', '\n', '\'', '{'] {
                let mut v = CANONICAL.to_string();
                v.insert(at, c);
                variants.push(v);
            }
        }
        for v in &variants {
            assert_agree(v);
        }
    }

    /// The one-grammar contract, case by case: what the flat reader reads, the full reader
    /// reads the same; what the full reader refuses, the flat reader never reads. Each row
    /// replaces a line of the canonical record.
    #[test]
    fn differential_both_readers_agree_on_tricky_lines() {
        let comment = "comment: \"Geprüft ✓ — no: #1, 'yes'\"";
        let long = "x".repeat(60_000);
        let mut rows: Vec<String> = crate::yaml::TRICKY_IN_QUOTES
            .iter()
            .copied()
            .chain(["\\ ", "''", "# ", "  lead", "trail  "])
            .flat_map(|c| {
                [
                    format!("comment: \"Looks right{c}\""),
                    format!("comment: \"{c}Looks right\""),
                    format!("role: \"{c}\""),
                ]
            })
            .collect();
        rows.extend(
            [
                "comment: 'single ''quoted'''",
                "comment: 'a\u{fffe}'",
                "comment: plain words",
                "comment: plain\u{fffe}",
                "comment: \"a\" # a comment",
                "comment: \"a\"# no comment",
                "comment: \"\"",
                "comment: ''",
                "comment: ~",
                "comment: null",
                "comment:",
                "comment: ",
                "comment:\t\"a\"",
                "comment: \t\"a\"",
                "comment: &anchor \"a\"",
                "comment: !!str \"a\"",
                "comment: |\n  a block",
                "comment: >\n  folded",
                "comment: \"a\"\ncomment: \"b\"",
                "comment: \"a\"\ncomment: \"a\"",
                "Comment: \"a\"",
                "comment : \"a\"",
                "\"comment\": \"a\"",
                "comment: \"a\nb\"",
                "comment: \"a\n  b\"",
                "comment: \"a\r\nb\"",
            ]
            .map(String::from),
        );
        rows.push(format!("comment: \"{long}\""));
        rows.push(format!("comment: {long}"));
        for row in &rows {
            assert_agree(&CANONICAL.replacen(comment, row, 1));
        }
        for text in [
            format!("\u{feff}{CANONICAL}"),
            CANONICAL.replace('\n', "\r\n"),
            CANONICAL.replace('\n', "\r"),
            CANONICAL.replace('\n', "\u{85}"),
            CANONICAL.replace('\n', "\u{2028}"),
            CANONICAL.replace(": ", ":\t"),
            format!("{CANONICAL}# trailing comment\n"),
            format!("{CANONICAL}---\n"),
            format!("{CANONICAL}...\n"),
        ] {
            assert_agree(&text);
        }
    }

    /// The bug the contract exists for: a record whose comment ends in U+FFFE must count or
    /// not the same way whichever reader reads it — and a `# note` first line hands the very
    /// same fields to the full reader.
    #[test]
    fn a_noncharacter_in_a_quoted_value_gets_one_verdict_from_either_reader() {
        for c in ['\u{fffe}', '\u{ffff}'] {
            let text = CANONICAL.replacen("'yes'\"", &format!("'yes'{c}\""), 1);
            let noted = format!("# note\n{text}");
            // The full reader refuses a noncharacter; so must the record without the note
            // (the errors differ only in the line they name).
            let (plain, noted) = (parse(&text), parse(&noted));
            assert!(
                plain.is_err() && noted.is_err(),
                "{c:?}: {plain:?} / {noted:?}"
            );
            assert_agree(&text);
        }
    }

    /// A seeded sweep over what the table may miss: values made of [`crate::yaml::TRICKY`]
    /// characters in every quoting, characters inserted anywhere, and repeated keys.
    #[test]
    fn differential_sweep_of_generated_records() {
        let mut rng = crate::yaml::Sweep::new(32);
        let keys = [
            "comment",
            "role",
            "step",
            "reviewer",
            "key",
            "kind",
            "signed_at",
        ];
        for case in 0..3_000 {
            let text = match rng.below(3) {
                0 => {
                    let key = *rng.pick(&keys);
                    let value = rng.text(8);
                    let value = match rng.below(4) {
                        0 => format!("\"{value}\""),
                        1 => value,
                        2 => format!("'{value}'"),
                        _ => format!("\"{value}\" #"),
                    };
                    let line = CANONICAL
                        .lines()
                        .find(|l| l.starts_with(&format!("{key}: ")))
                        .unwrap();
                    CANONICAL.replacen(line, &format!("{key}: {value}"), 1)
                }
                1 => {
                    let mut text = CANONICAL.to_string();
                    for _ in 0..=rng.below(3) {
                        let at: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
                        let at = *rng.pick(&at);
                        text.insert(at, *rng.pick(crate::yaml::TRICKY));
                    }
                    text
                }
                _ => {
                    let key = *rng.pick(&keys);
                    format!("{CANONICAL}{key}: \"{}\"\n", rng.text(4))
                }
            };
            std::panic::catch_unwind(|| assert_agree(&text))
                .unwrap_or_else(|_| panic!("sweep case {case} (seed 32): {text:?}"));
        }
    }
    /// The rule behind the flat readers' quoted values, checked against the full reader
    /// itself: every character `flat_quoted_char` lets through (all below U+0800, the general
    /// punctuation block, U+FD00 to U+FFFF, each plane's first and last few, a sample of the
    /// rest) reads as itself.
    #[test]
    fn every_character_the_flat_readers_take_the_full_reader_reads_as_itself() {
        let mut differ = Vec::new();
        for n in 0..=0x10_ffffu32 {
            let Some(c) = char::from_u32(n).filter(|c| crate::yaml::flat_quoted_char(*c)) else {
                continue;
            };
            let edge = (n & 0xffff) < 4 || (n & 0xffff) >= 0xfff0;
            let dense =
                n < 0x800 || (0x2000..0x2100).contains(&n) || (0xfd00..=0xffff).contains(&n);
            if !(dense || edge || n % 499 == 0) {
                continue;
            }
            let want = format!("a{c}b");
            let text = CANONICAL.replacen("'yes'\"", &format!("'yes'{want}\""), 1);
            let read = parse_yaml(&text).map(|p| p.record.comment.clone());
            let expected = format!("Geprüft ✓ — no: #1, 'yes'{want}");
            if read.as_ref().ok().and_then(|c| c.as_deref()) != Some(expected.as_str()) {
                differ.push((format!("U+{n:04X}"), read));
            }
        }
        assert!(differ.is_empty(), "{differ:?}");
    }
}
