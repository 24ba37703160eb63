//! Every YAML document imprimatur reads goes through this module. Records and front matter
//! come from anyone who can open a pull request, so a document is measured before it is
//! parsed (a byte limit) and while it is parsed (a budget of depth, nodes and alias replay):
//! a deeply nested file or an alias bomb is refused at once instead of hanging the build.
//! Errors name the field they are about (`steps[0].min_approvals`), because people fix these
//! files by hand.

use std::io::Read as _;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::granit_parser::ErrorKind;
use serde_saphyr::localizer::ExternalMessageSource;

/// How much YAML one kind of file may hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// What the file is, for messages ("a record").
    pub what: &'static str,
    /// Longer documents are refused before parsing.
    pub max_bytes: usize,
    /// Sequences and mappings nested inside each other.
    pub max_depth: usize,
    /// Scalars, sequences and mappings.
    pub max_nodes: usize,
    /// `*alias` uses.
    pub max_aliases: usize,
    /// Values that all aliases together may replay: this, not the alias count, is what stops
    /// a "billion laughs" document, whose few aliases expand exponentially.
    pub max_alias_replay: usize,
    /// Refuse tags (`!custom value`) other than YAML's own. Front matter may carry tags for
    /// templates; records and admin files have no use for them.
    pub reject_tags: bool,
}

/// Records: a flat mapping of about fifteen short fields (SPEC §4). A comment of a few pages
/// fits many times over.
pub const RECORD: Limits = Limits {
    what: "a record",
    max_bytes: 64 * 1024,
    max_depth: 8,
    max_nodes: 1_000,
    max_aliases: 16,
    max_alias_replay: 256,
    reject_tags: true,
};

/// Front matter: a page's title and settings, plus the keys it hands to templates.
pub const FRONT_MATTER: Limits = Limits {
    what: "front matter",
    max_bytes: 64 * 1024,
    max_depth: 32,
    max_nodes: 20_000,
    max_aliases: 256,
    max_alias_replay: 5_000,
    reject_tags: false,
};

/// `imprimatur.yaml`, the keyring and the policies: written by admins and trusted, but still
/// never allowed to hang the tool. A keyring of thousands of reviewers fits.
pub const ADMIN: Limits = Limits {
    what: "a configuration file",
    max_bytes: 1024 * 1024,
    max_depth: 32,
    max_nodes: 250_000,
    max_aliases: 1_000,
    max_alias_replay: 10_000,
    reject_tags: true,
};

/// Why a YAML document was refused: the field at fault and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct YamlError {
    /// The field's path (`steps[0].min_approvals`); else `line N`; else `document`.
    pub field: String,
    pub message: String,
    pub problem: Problem,
}

/// The kind of problem, for callers that word some of them their own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// Longer than `Limits::max_bytes`: not parsed at all.
    TooLarge,
    /// Nesting, size or alias replay beyond the budget.
    OverBudget,
    /// Not YAML.
    Syntax,
    /// A field the format does not have; `field` is its path.
    UnknownField,
    /// A required field is absent; `field` is its path.
    MissingField,
    /// A value of the wrong type or form, or any other refusal.
    Invalid,
}

/// Parses `text`, one YAML document, into `T` within `limits`.
pub fn from_str<T: DeserializeOwned>(text: &str, limits: &Limits) -> Result<T, YamlError> {
    if text.len() > limits.max_bytes {
        return Err(YamlError {
            field: "document".into(),
            // Not the size: `read_file` stops reading just past the limit.
            message: format!(
                "larger than {} bytes, the limit for {}",
                limits.max_bytes, limits.what
            ),
            problem: Problem::TooLarge,
        });
    }
    let mut path = None;
    serde_saphyr::with_deserializer_from_str_with_options(text, options(limits), |de| {
        serde_path_to_error::deserialize(de).map_err(|e| {
            path = Some(e.path().to_string());
            e.into_inner()
        })
    })
    .map_err(|e| {
        // serde_path_to_error says "." at the root and "?" where a key is not a string.
        let path = path.filter(|p| p != "." && !p.contains('?'));
        describe(&e, path, limits)
    })
}

/// Reads a YAML file, but never more than `limits.max_bytes + 1` bytes of it: `from_str` then
/// refuses a larger file, which is never held in memory whole.
pub fn read_file(path: &Path, limits: &Limits) -> std::io::Result<String> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(limits.max_bytes as u64 + 1)
        .read_to_end(&mut bytes)?;
    String::from_utf8(bytes)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"))
}

/// Writes `value` as YAML: block style, fields in declaration order. Strings are written as
/// the value asks (`serde_saphyr::DoubleQuoted` for records, SPEC §4).
pub fn to_string<T: Serialize>(value: &T) -> Result<String, serde_saphyr::SerializeError> {
    serde_saphyr::to_string(value)
}

fn options(limits: &Limits) -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: limits.max_depth,
            // The scanner reads ahead of the budget, so it meets deep flow nesting (`[[[`)
            // first: `describe` reports its limit as the depth it is.
            flow_nesting_limit: limits.max_depth,
            max_nodes: limits.max_nodes,
            max_events: limits.max_nodes.saturating_mul(4),
            max_aliases: limits.max_aliases,
            max_anchors: limits.max_aliases,
            max_total_scalar_bytes: limits.max_bytes,
            max_recorded_anchor_events: limits.max_alias_replay,
            max_recorded_anchor_bytes: limits.max_bytes,
            max_documents: 1,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: limits.max_alias_replay,
            max_replay_stack_depth: limits.max_depth,
        },
        // YAML 1.2: only `true` and `false` are booleans. `no` is a string, never a silent false.
        strict_booleans: true,
        // `<<` is a key like any other, as YAML 1.2 has it (and as the tool always read it):
        // a record's fields are the ones written in it, never merged in from elsewhere.
        merge_keys: serde_saphyr::MergeKeyPolicy::AsOrdinary,
        reject_unsupported_tags: limits.reject_tags,
        // Messages are one line: they end up in reports, beside the file's name.
        with_snippet: false,
    }
}

fn describe(e: &serde_saphyr::Error, path: Option<String>, limits: &Limits) -> YamlError {
    use serde_saphyr::Error as E;
    let mut original = e;
    while let E::AliasError { error, .. } | E::WithSnippet { error, .. } = original {
        original = error;
    }
    let line = || match e.location().or_else(|| original.location()) {
        Some(at) if at.line() > 0 => format!("line {}", at.line()),
        _ => "document".into(),
    };
    let (field, message, problem) = match original {
        // The path already ends with the unknown key.
        E::SerdeUnknownField {
            field, expected, ..
        } => (
            path.unwrap_or_else(|| field.clone()),
            format!("unknown field (known fields: {})", expected.join(", ")),
            Problem::UnknownField,
        ),
        E::SerdeMissingField { field, .. } => (
            path.map_or_else(|| field.to_string(), |p| format!("{p}.{field}")),
            "missing".into(),
            Problem::MissingField,
        ),
        E::Budget { breach, .. } => (
            path.unwrap_or_else(line),
            over_budget(breach, limits),
            Problem::OverBudget,
        ),
        E::AliasReplayLimitExceeded { .. }
        | E::AliasExpansionLimitExceeded { .. }
        | E::AliasReplayStackDepthExceeded { .. }
        | E::AliasReplayCounterOverflow { .. } => (
            path.unwrap_or_else(line),
            alias_bomb(limits),
            Problem::OverBudget,
        ),
        E::ExternalMessage { source, .. } => match source.as_ref() {
            ExternalMessageSource::Parser(scan)
                if matches!(scan.kind(), ErrorKind::RecursionLimitExceeded) =>
            {
                let depth = BudgetBreach::Depth {
                    depth: limits.max_depth + 1,
                };
                (line(), over_budget(&depth, limits), Problem::OverBudget)
            }
            _ => (line(), original.to_string(), Problem::Syntax),
        },
        _ => (
            path.unwrap_or_else(line),
            original.to_string(),
            Problem::Invalid,
        ),
    };
    YamlError {
        field,
        message,
        problem,
    }
}

fn over_budget(breach: &BudgetBreach, l: &Limits) -> String {
    let what = l.what;
    match breach {
        BudgetBreach::Depth { .. } => {
            format!(
                "nested more than {} levels deep, the limit for {what}",
                l.max_depth
            )
        }
        BudgetBreach::Nodes { .. } | BudgetBreach::Events { .. } => {
            format!("more than {} values, the limit for {what}", l.max_nodes)
        }
        BudgetBreach::Aliases { .. } | BudgetBreach::Anchors { .. } => format!(
            "more than {} anchors or aliases, the limit for {what}",
            l.max_aliases
        ),
        BudgetBreach::AliasAnchorRatio { .. }
        | BudgetBreach::RecordedAnchorEvents { .. }
        | BudgetBreach::RecordedAnchorBytes { .. } => alias_bomb(l),
        BudgetBreach::ScalarBytes { .. } | BudgetBreach::InputBytes { .. } => {
            format!(
                "more than {} bytes of text, the limit for {what}",
                l.max_bytes
            )
        }
        BudgetBreach::Documents { .. } => {
            "more than one YAML document (a second '---' line)".into()
        }
        other => format!("beyond what {what} may hold ({other:?})"),
    }
}

fn alias_bomb(l: &Limits) -> String {
    format!(
        "its aliases (*name) expand to more than {} values, the limit for {}",
        l.max_alias_replay, l.what
    )
}

/// Can the flat readers (records, front matter) take `c` inside a double-quoted value as it
/// is? Only when the full reader surely reads it as itself: not a quote, backslash or control
/// character (escapes, folding), not a line or paragraph separator or a byte-order mark
/// (YAML 1.1 line breaks, stream markers), and not a noncharacter (U+FDD0–U+FDEF, U+xFFFE,
/// U+xFFFF), which the full reader refuses. Anything else goes to the full reader, so the two
/// can never disagree about a character: whether a signature counts never depends on which
/// reader read it.
pub(crate) fn flat_quoted_char(c: char) -> bool {
    let n = u32::from(c);
    !(c == '"'
        || c == '\\'
        || c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')
        || (0xfdd0..=0xfdef).contains(&n)
        || n & 0xfffe == 0xfffe)
}

/// For tests of the flat readers: `text`, then `text` with each line left out, each line
/// doubled, and each pair of neighbouring lines swapped.
#[cfg(test)]
pub(crate) fn line_variants(text: &str) -> Vec<String> {
    let mut variants = vec![text.to_string()];
    let lines: Vec<&str> = text.lines().collect();
    for i in 0..lines.len() {
        let mut without = lines.clone();
        without.remove(i);
        variants.push(without.join("\n") + "\n");
        let mut twice = lines.clone();
        twice.insert(i, lines[i]);
        variants.push(twice.join("\n") + "\n");
        if i + 1 < lines.len() {
            let mut swapped = lines.clone();
            swapped.swap(i, i + 1);
            variants.push(swapped.join("\n") + "\n");
        }
    }
    variants
}

/// For the differential tests of the flat readers: characters where YAML grammars differ
/// (noncharacters, BOM, tabs, CR, NEL/LS/PS, C0/C1 controls, quotes, escapes, comment and
/// indicator characters, unusual spaces), with plain letters so that values also look normal.
#[cfg(test)]
pub(crate) const TRICKY: &[char] = &[
    'a',
    'b',
    'Z',
    '0',
    '1',
    ' ',
    ' ',
    '"',
    '\\',
    '\'',
    '#',
    ':',
    '-',
    '?',
    ',',
    '[',
    ']',
    '{',
    '}',
    '&',
    '*',
    '!',
    '|',
    '>',
    '%',
    '@',
    '`',
    '~',
    '.',
    '/',
    '\t',
    '\r',
    '\n',
    '\0',
    '\u{1b}',
    '\u{7f}',
    '\u{80}',
    '\u{85}',
    '\u{9f}',
    '\u{a0}',
    '\u{ad}',
    '\u{2028}',
    '\u{2029}',
    '\u{200b}',
    '\u{3000}',
    '\u{d7ff}',
    '\u{e000}',
    '\u{fdd0}',
    '\u{fdef}',
    '\u{feff}',
    '\u{fff9}',
    '\u{fffd}',
    '\u{fffe}',
    '\u{ffff}',
    '\u{1fffe}',
    '\u{1ffff}',
    '\u{10fffe}',
    '\u{10ffff}',
    '\u{1f600}',
    'é',
    'ß',
    '✓',
    '日',
];

/// A deterministic pseudo-random sequence (SplitMix64) for the flat readers' sweeps: the same
/// cases on every run and every machine, so a failure reproduces from its seed.
#[cfg(test)]
pub(crate) struct Sweep(u64);

#[cfg(test)]
impl Sweep {
    pub(crate) fn new(seed: u64) -> Sweep {
        Sweep(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n` (> 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub(crate) fn pick<'a, T>(&mut self, from: &'a [T]) -> &'a T {
        &from[self.below(from.len())]
    }

    /// Up to `max` characters: mostly plain letters, often one of [`TRICKY`].
    pub(crate) fn text(&mut self, max: usize) -> String {
        let len = self.below(max + 1);
        (0..len)
            .map(|_| match self.below(3) {
                0 => *self.pick(&['a', 'b', 'c', 'x', ' ']),
                _ => *self.pick(TRICKY),
            })
            .collect()
    }
}

/// Characters and escapes a double-quoted value may hold that readers have disagreed on, or
/// could: the rows of the flat readers' differential tests (records and front matter).
#[cfg(test)]
pub(crate) const TRICKY_IN_QUOTES: &[&str] = &[
    "\u{fffe}",
    "\u{ffff}",
    "\u{fdd0}",
    "\u{1fffe}",
    "\u{10ffff}",
    "\u{feff}",
    "\u{85}",
    "\u{2028}",
    "\u{2029}",
    "\u{a0}",
    "\u{3000}",
    "\u{200b}",
    "\u{7f}",
    "\u{9f}",
    "\t",
    "\r",
    "\u{1b}",
    "\u{0}",
    "\\\"",
    "\\\\",
    "\\u00e9",
    "\\x41",
    "\\N",
    "\\_",
    "\\L",
    "\\P",
    "'",
    "#",
    " #",
    ": ",
    "&a",
    "*a",
    "~",
    " ",
    "",
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[derive(Debug, PartialEq, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Policyish {
        title: String,
        auto_publish: Option<bool>,
        #[serde(default)]
        steps: Vec<Stepish>,
    }

    #[derive(Debug, PartialEq, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Stepish {
        name: String,
        min_approvals: u32,
    }

    type Any = BTreeMap<String, serde_json::Value>;

    fn error<T: DeserializeOwned + std::fmt::Debug>(text: &str, limits: &Limits) -> YamlError {
        from_str::<T>(text, limits).unwrap_err()
    }

    #[test]
    fn errors_name_the_field_by_its_path() {
        let cases = [
            (
                "title: T\nsteps:\n  - {name: a, min_approvals: 1}\n  - {name: b, min_approvals: x}\n",
                "steps[1].min_approvals",
                Problem::Invalid,
            ),
            (
                "title: T\nsteps:\n  - {name: a, min_approval: 1}\n",
                "steps[0].min_approval",
                Problem::UnknownField,
            ),
            ("title: T\ntheem: x\n", "theem", Problem::UnknownField),
            (
                "title: T\nsteps:\n  - {name: a}\n",
                "steps[0].min_approvals",
                Problem::MissingField,
            ),
            ("auto_publish: true\n", "title", Problem::MissingField),
            // YAML 1.2 booleans only: `yes` is not true.
            ("title: T\nauto_publish: yes\n", "auto_publish", Problem::Invalid),
            ("title: T\ntitle: U\n", "line 2", Problem::Invalid),
        ];
        for (text, field, problem) in cases {
            let e = error::<Policyish>(text, &ADMIN);
            assert_eq!(
                (e.field.as_str(), e.problem),
                (field, problem),
                "{text:?}: {e}"
            );
        }
    }

    #[test]
    fn a_syntax_error_names_its_line() {
        let e = error::<Any>("title: ok\nlist: [a\n", &ADMIN);
        assert_eq!(e.problem, Problem::Syntax, "{e}");
        assert!(e.field.starts_with("line "), "{e}");
    }

    #[test]
    fn a_document_over_the_byte_limit_is_refused_unparsed() {
        let text = format!("title: {}\n", "x".repeat(RECORD.max_bytes));
        let e = error::<Any>(&text, &RECORD);
        assert_eq!(e.problem, Problem::TooLarge);
        assert!(e.to_string().starts_with("document: "), "{e}");
        assert!(e.message.contains("a record"), "{e}");
    }

    #[test]
    fn deep_nesting_is_refused_by_the_depth_budget() {
        let flow = format!("a: {}", "[".repeat(RECORD.max_bytes - 10));
        let mut block = String::new();
        for level in 0..200 {
            block.push_str(&"  ".repeat(level));
            block.push_str("a:\n");
        }
        for (text, limits) in [(&flow, &RECORD), (&block, &ADMIN), (&block, &FRONT_MATTER)] {
            let e = error::<Any>(text, limits);
            assert_eq!(e.problem, Problem::OverBudget, "{e}");
            assert!(e.message.contains("nested more than"), "{e}");
        }
    }

    #[test]
    fn an_alias_bomb_is_refused() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
        for pair in names.windows(2) {
            let aliases = vec![format!("*{}", pair[0]); 10].join(", ");
            text.push_str(&format!("{}: &{} [{aliases}]\n", pair[1], pair[1]));
        }
        for limits in [&RECORD, &FRONT_MATTER, &ADMIN] {
            let e = error::<Any>(&text, limits);
            assert_eq!(e.problem, Problem::OverBudget, "{e}");
        }
    }

    #[test]
    fn ordinary_anchors_and_aliases_still_work() {
        let text = "shared: &s {name: a, min_approvals: 1}\ncopy: *s\n";
        let any: Any = from_str(text, &ADMIN).unwrap();
        assert_eq!(any["copy"], any["shared"]);
    }

    #[test]
    fn a_second_document_is_refused() {
        let e = error::<Any>("a: 1\n---\na: 2\n", &ADMIN);
        assert!(e.message.contains("more than one YAML document"), "{e}");
    }
}
