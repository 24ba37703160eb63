//! `keyring add`: a reviewer, or another key of a reviewer, written into
//! `approvals/keyring.yaml` from a key file, so nobody pastes base64 by hand. The file is
//! edited as text (comments and layout kept) and parsed again before it is written: an edit
//! that would not read back as exactly the entry asked for is refused, never written.

use std::path::Path;

use ed25519_dalek::VerifyingKey;

use crate::error::{Error, Result};
use crate::trust::keyring::{Keyring, PublicKey};

const FILE: &str = "approvals/keyring.yaml";

/// What `keyring add` asks for. `name`, `email` and `groups` describe a new reviewer; for a
/// reviewer already in the keyring they may be left out, or must say what the keyring says.
#[derive(Debug, Clone)]
pub struct NewKey<'a> {
    pub reviewer: &'a str,
    pub name: Option<&'a str>,
    pub email: Option<&'a str>,
    pub groups: &'a [String],
    pub key_id: &'a str,
    pub public_key: VerifyingKey,
}

/// What `add_key` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Added {
    /// The reviewer was not in the keyring before.
    pub new_reviewer: bool,
    /// The keyring file, relative to the site root.
    pub file: String,
}

/// Adds `new.key_id` to `new.reviewer` in the site's keyring, adding the reviewer first when
/// the keyring does not have them; refuses a key id or public key the keyring already holds.
pub fn add_key(site_root: &Path, new: &NewKey) -> Result<Added> {
    let config = crate::site::config::SiteConfig::load(site_root)?;
    let path = config.keyring_file();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "reviewers: []\n".to_string(),
        Err(e) => return Err(Error::io(&path, e)),
    };
    let keyring = Keyring::parse(&text)?;
    let refuse = |m: String| Error::Refused(format!("{FILE}: {m}"));
    if let Some(k) = keyring.keys.get(new.key_id) {
        return Err(refuse(format!(
            "a key '{}' is already there (of reviewer '{}'); pass --key-id ID to name this one otherwise",
            k.id, k.reviewer
        )));
    }
    if let Some(k) = keyring.key_for_public(&new.public_key) {
        return Err(refuse(format!(
            "this public key is already there, as key '{}' of reviewer '{}'; a key belongs to one reviewer, once",
            k.id, k.reviewer
        )));
    }
    let edited = match keyring.reviewers.get(new.reviewer) {
        Some(r) => {
            let differs = |what: &str, given: String, has: String| {
                refuse(format!(
                    "reviewer '{}' is already there with {what} {has}, not {given}; leave --{what} out to add a key to them, or edit their entry by hand",
                    r.id
                ))
            };
            if let Some(name) = new.name.filter(|n| *n != r.name) {
                return Err(differs("name", quote(name), quote(&r.name)));
            }
            if let Some(email) = new.email.filter(|e| Some(*e) != r.email.as_deref()) {
                let has = r.email.as_deref().map(quote).unwrap_or("none".into());
                return Err(differs("email", quote(email), has));
            }
            let groups: std::collections::BTreeSet<String> = new.groups.iter().cloned().collect();
            if !new.groups.is_empty() && groups != r.groups {
                let list = |g: &std::collections::BTreeSet<String>| {
                    g.iter().cloned().collect::<Vec<_>>().join(",")
                };
                return Err(differs("groups", list(&groups), list(&r.groups)));
            }
            add_to_reviewer(&text, new.reviewer, &key_lines(new))
        }
        None => {
            let Some(name) = new.name else {
                return Err(Error::Usage(format!(
                    "reviewer '{}' is not in {FILE} yet: --name is required to add them",
                    new.reviewer
                )));
            };
            add_reviewer(&text, &reviewer_lines(new, name))
        }
    }
    .map_err(|m| Error::config(FILE, new.reviewer, m))?;
    // Read back what was written: exactly the entry asked for, or nothing is written.
    let back = Keyring::parse(&edited)?;
    let ok = back.keys.get(new.key_id).is_some_and(|k| {
        k.reviewer == new.reviewer
            && matches!(&k.public_key, PublicKey::Ed25519(p) if *p == new.public_key)
            && k.revoked_at.is_none()
    }) && back.keys.len() == keyring.keys.len() + 1;
    if !ok {
        return Err(Error::config(
            FILE,
            new.reviewer,
            "could not add the key safely to this layout: add it by hand",
        ));
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    crate::fs::write_file(&path, edited.as_bytes())?;
    Ok(Added {
        new_reviewer: !keyring.reviewers.contains_key(new.reviewer),
        file: FILE.into(),
    })
}

/// A YAML double-quoted string (JSON's spelling is one).
fn quote(text: &str) -> String {
    serde_json::to_string(text).expect("a string serializes")
}

/// The key's entry, indented from column 0: `- id:` then its `public_key`.
fn key_lines(new: &NewKey) -> Vec<String> {
    use base64::Engine as _;
    vec![
        format!("- id: {}", quote(new.key_id)),
        format!(
            "  public_key: {}",
            quote(&base64::engine::general_purpose::STANDARD.encode(new.public_key.as_bytes()))
        ),
    ]
}

/// The reviewer's entry with its one key, indented from column 0.
fn reviewer_lines(new: &NewKey, name: &str) -> Vec<String> {
    let mut lines = vec![
        format!("- id: {}", quote(new.reviewer)),
        format!("  name: {}", quote(name)),
    ];
    if let Some(email) = new.email {
        lines.push(format!("  email: {}", quote(email)));
    }
    if !new.groups.is_empty() {
        let groups: Vec<String> = new.groups.iter().map(|g| quote(g)).collect();
        lines.push(format!("  groups: [{}]", groups.join(", ")));
    }
    lines.push("  keys:".into());
    lines.extend(key_lines(new).into_iter().map(|l| format!("    {l}")));
    lines
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn is_content(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty() && !t.starts_with('#')
}

/// The text with `block` (indented from column 0) inserted before line `at`, each line
/// indented by `pad` columns.
fn insert(lines: &[&str], at: usize, pad: usize, block: &[String]) -> String {
    let pad = " ".repeat(pad);
    let mut out: Vec<String> = lines[..at].iter().map(|l| l.to_string()).collect();
    out.extend(block.iter().map(|l| format!("{pad}{l}")));
    out.extend(lines[at..].iter().map(|l| l.to_string()));
    let mut s = out.join("\n");
    s.push('\n');
    s
}

/// The index just past the last content line of the block that starts after `start` and holds
/// the lines `inside` accepts (blank lines and comments between them belong to it).
fn block_end(lines: &[&str], start: usize, inside: &dyn Fn(&str) -> bool) -> usize {
    let mut end = start + 1;
    for (i, l) in lines.iter().enumerate().skip(start + 1) {
        if !is_content(l) {
            continue;
        }
        if !inside(l) {
            break;
        }
        end = i + 1;
    }
    end
}

/// Appends a reviewer's entry at the end of the block-style `reviewers:` list.
fn add_reviewer(text: &str, entry: &[String]) -> std::result::Result<String, String> {
    let mut lines: Vec<&str> = text.lines().collect();
    let Some(at) = lines
        .iter()
        .position(|l| indent(l) == 0 && l.trim_end().starts_with("reviewers:"))
    else {
        // No `reviewers:` yet: the list goes at the end.
        let mut s = text.trim_end().to_string();
        if !s.is_empty() {
            s.push('\n');
        }
        s.push_str("reviewers:\n");
        return add_reviewer(&s, entry);
    };
    let rest = lines[at].trim_end()["reviewers:".len()..].trim();
    if rest == "[]" {
        lines[at] = "reviewers:";
    } else if !(rest.is_empty() || rest.starts_with('#')) {
        return Err(
            "`reviewers:` is written in flow style ([...]): add the reviewer by hand".into(),
        );
    }
    let end = block_end(&lines, at, &|l| {
        indent(l) > 0 || l.trim_start().starts_with("- ")
    });
    let pad = lines[at + 1..end]
        .iter()
        .find(|l| l.trim_start().starts_with("- "))
        .map_or(2, |l| indent(l));
    Ok(insert(&lines, end, pad, entry))
}

/// Appends a key entry to the `keys:` list of the reviewer `reviewer` (adding `keys:` when
/// the entry has none).
fn add_to_reviewer(
    text: &str,
    reviewer: &str,
    entry: &[String],
) -> std::result::Result<String, String> {
    let mut lines: Vec<&str> = text.lines().collect();
    let is_entry = |l: &str| {
        let t = l.trim_start();
        t.strip_prefix("- ")
            .and_then(|t| t.trim_start().strip_prefix("id:"))
            .is_some_and(|v| {
                let v = v.split(" #").next().unwrap_or_default().trim();
                v.trim_matches(|c| c == '"' || c == '\'') == reviewer
            })
    };
    let Some(at) = lines.iter().position(|l| is_entry(l)) else {
        return Err(format!(
            "found no block-style entry '- id: {reviewer}': add the key by hand"
        ));
    };
    let col = lines[at].find("id:").expect("matched id:");
    let end = block_end(&lines, at, &|l| indent(l) >= col);
    let keys = (at + 1..end)
        .find(|&i| indent(lines[i]) == col && lines[i].trim_start().starts_with("keys:"));
    let Some(keys) = keys else {
        let mut block = vec!["keys:".to_string()];
        block.extend(entry.iter().map(|l| format!("  {l}")));
        return Ok(insert(&lines, end, col, &block));
    };
    let rest = lines[keys].trim()["keys:".len()..].trim();
    if rest == "[]" {
        let mut block = vec!["keys:".to_string()];
        block.extend(entry.iter().map(|l| format!("  {l}")));
        lines.remove(keys);
        return Ok(insert(&lines, keys, col, &block));
    }
    if !(rest.is_empty() || rest.starts_with('#')) {
        return Err(format!(
            "the keys of '{reviewer}' are written in flow style ([...]): add the key by hand"
        ));
    }
    let keys_end = block_end(&lines, keys, &|l| {
        indent(l) > col || (indent(l) == col && l.trim_start().starts_with("- "))
    });
    let pad = lines[keys + 1..keys_end]
        .iter()
        .find(|l| l.trim_start().starts_with("- "))
        .map_or(col + 2, |l| indent(l));
    Ok(insert(&lines, keys_end, pad, entry))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Vec<String> {
        vec!["- id: \"raj-2027\"".into(), "  public_key: \"BBB\"".into()]
    }

    #[test]
    fn a_new_reviewer_goes_at_the_end_of_the_list_in_its_indentation() {
        let text = "# who reviews\nreviewers:\n    - id: wendy\n      name: Wendy\n\n# the end\n";
        let out = add_reviewer(text, &["- id: \"raj\"".into(), "  name: \"Raj\"".into()]).unwrap();
        assert_eq!(
            out,
            "# who reviews\nreviewers:\n    - id: wendy\n      name: Wendy\n    - id: \"raj\"\n      name: \"Raj\"\n\n# the end\n"
        );
        assert_eq!(
            add_reviewer("reviewers: []\n", &["- id: \"raj\"".into()]).unwrap(),
            "reviewers:\n  - id: \"raj\"\n"
        );
        assert_eq!(
            add_reviewer("", &["- id: \"raj\"".into()]).unwrap(),
            "reviewers:\n  - id: \"raj\"\n"
        );
        assert!(add_reviewer("reviewers: [{id: a}]\n", &entry()).is_err());
    }

    #[test]
    fn a_key_goes_at_the_end_of_its_reviewers_keys() {
        let text = "reviewers:\n  - id: raj\n    name: Raj\n    keys:\n      - id: raj-2026\n        public_key: AAA\n    groups: [eng]\n  - id: wendy\n    name: Wendy\n";
        assert_eq!(
            add_to_reviewer(text, "raj", &entry()).unwrap(),
            "reviewers:\n  - id: raj\n    name: Raj\n    keys:\n      - id: raj-2026\n        public_key: AAA\n      - id: \"raj-2027\"\n        public_key: \"BBB\"\n    groups: [eng]\n  - id: wendy\n    name: Wendy\n"
        );
        // No keys yet, and keys written as an empty flow list.
        assert_eq!(
            add_to_reviewer(text, "wendy", &entry()).unwrap(),
            format!("{text}    keys:\n      - id: \"raj-2027\"\n        public_key: \"BBB\"\n")
        );
        assert_eq!(
            add_to_reviewer("reviewers:\n  - id: raj\n    keys: []\n", "raj", &entry()).unwrap(),
            "reviewers:\n  - id: raj\n    keys:\n      - id: \"raj-2027\"\n        public_key: \"BBB\"\n"
        );
        assert!(add_to_reviewer(text, "nobody", &entry()).is_err());
    }
}
