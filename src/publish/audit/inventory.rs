//! Every file of an audited folder accounted for (docs/trust-root.md §6): a page's HTML, its
//! `proof.json` or an asset its proof names; a `/_proof/` file the trust chain vouches for;
//! or a file the build generates, derived again (`generated`) and compared byte for byte,
//! the build's manifest (`.imprimatur-build.json`) last. Anything else is a stray; anything
//! expected and absent is missing; both are reported, each with its path.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::generated;
use crate::publish::output::{BuildManifest, MARKER};
use crate::publish::proof::{is_generator_input, Proof, DIR};
use crate::publish::search;
use crate::trust::governance::SignedState;
use crate::trust::keyring::Keyring;
use crate::trust::version::sha256_hex;

/// Why a file may be in the folder.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expected {
    /// Checked by the rest of the audit (pages and the trust chain); with the SHA-256 the
    /// proof names, when one does.
    Checked(Option<String>),
    /// A governed file the admins signed, with its signed SHA-256.
    Signed(String),
    /// A file the build generates, with the SHA-256 of the bytes derived again.
    Generated(String),
}

/// What the rest of the audit already knows: the signed state and keyring, the signed
/// policies by space, and the `index.html` files it checked as pages (and reported on).
pub struct Known<'a> {
    pub state: &'a SignedState,
    pub keyring: &'a Keyring,
    pub policies: &'a BTreeMap<String, Vec<u8>>,
    pub pages_checked: &'a BTreeSet<String>,
}

/// The problems with the files of `dir` beyond its pages: strays, missing files, files not
/// as signed or generated. Each names the file.
pub fn account(dir: &Path, known: &Known) -> Vec<String> {
    let mut problems = Vec::new();
    let found = list(dir, &mut problems);
    let mut expected: BTreeMap<String, Expected> = BTreeMap::new();
    trust_files(&found, &mut expected);
    let proofs = page_files(
        dir,
        &found,
        known.pages_checked,
        &mut expected,
        &mut problems,
    );
    let config = signed_config(dir, known.state, &mut expected, &mut problems);
    let theme = config
        .as_ref()
        .map(|(_, theme)| signed_theme(dir, known.state, theme, &mut expected, &mut problems))
        .unwrap_or_default();
    let t = crate::timings::phase("audit: derive the generated files");
    let derived = config
        .ok_or_else(|| "no signed imprimatur.yaml".to_string())
        .and_then(|(config, _)| {
            generated::derive(&generated::Inputs {
                dir,
                config: &config,
                theme: &theme,
                keyring: known.keyring,
                policies: known.policies,
                proofs: &proofs,
            })
        });
    drop(t);
    let mut unaccounted_unreported = false;
    match derived {
        Ok(files) => {
            for (rel, bytes) in files {
                expected.insert(rel, Expected::Generated(sha256_hex(&bytes)));
            }
            let marker = derive_marker(&found, &expected, &proofs);
            expected.insert(MARKER.to_string(), Expected::Generated(sha256_hex(&marker)));
        }
        Err(why) => {
            problems.push(format!(
                "the files the build generates (home page, space indexes, search index, feeds, redirects, \
                 sitemap, static files) can't be derived again: {why}"
            ));
            unaccounted_unreported = true;
        }
    }
    problems.extend(pages_gone(dir, &found));
    let mut unaccounted = 0;
    let mut pieces = Vec::new();
    for problem in compare(&found, &expected, known.pages_checked, &proofs) {
        match problem {
            Problem::Stray(..) if unaccounted_unreported => unaccounted += 1,
            p if p.path().starts_with(&format!("{}/", search::DIR)) => pieces.push(p),
            p => problems.push(p.to_string()),
        }
    }
    problems.extend(summarized(pieces));
    if unaccounted > 0 {
        problems.push(format!(
            "{unaccounted} other file(s) can't be accounted for without the generated files"
        ));
    }
    problems
}

/// Every entry below `dir` but folders, by `/`-separated path: the SHA-256 of each regular
/// file, `None` for anything else (a link, a device...), which is reported.
fn list(dir: &Path, problems: &mut Vec<String>) -> BTreeMap<String, Option<String>> {
    use rayon::prelude::*;
    let mut entries = Vec::new();
    for entry in crate::fs::walk_by_name(dir).min_depth(1) {
        match entry {
            Ok(e) if e.file_type().is_dir() => {}
            Ok(e) => {
                let rel = e
                    .path()
                    .strip_prefix(dir)
                    .unwrap_or(e.path())
                    .to_string_lossy()
                    .replace('\\', "/");
                entries.push((rel, e.file_type().is_file()));
            }
            Err(e) => problems.push(format!("cannot list the folder: {e}")),
        }
    }
    // Hashed side by side: every byte of the folder is read once.
    let hashed: Vec<(String, Result<String, String>)> = entries
        .into_par_iter()
        .map(|(rel, is_file)| {
            let hash = match is_file {
                true => crate::fs::read_beneath(dir, Path::new(&rel), 1 << 30)
                    .map(|bytes| sha256_hex(&bytes))
                    .map_err(|e| format!("{rel}: {}", e.kind)),
                false => Err(format!(
                    "{rel}: not a regular file (a build publishes only files)"
                )),
            };
            (rel, hash)
        })
        .collect();
    let mut found = BTreeMap::new();
    for (rel, hash) in hashed {
        let hash = hash.map_err(|why| problems.push(why)).ok();
        found.insert(rel, hash);
    }
    found
}

/// The root chain (versions 1, 2, ... with no gap), governance, the public keyring and the
/// policies: `trusted` and the policy check of the audit vouch for each.
fn trust_files(
    found: &BTreeMap<String, Option<String>>,
    expected: &mut BTreeMap<String, Expected>,
) {
    for n in 1.. {
        let rel = format!("{DIR}/root/{n}.yaml");
        if !found.contains_key(&rel) {
            break;
        }
        expected.insert(rel, Expected::Checked(None));
    }
    for rel in [
        format!("{DIR}/governance.yaml"),
        format!("{DIR}/keyring.yaml"),
    ] {
        expected.insert(rel, Expected::Checked(None));
    }
    let policies = format!("{DIR}/policies/");
    for rel in found.keys() {
        if let Some(name) = rel.strip_prefix(&policies) {
            if name.ends_with(".yaml") && !name.contains('/') {
                expected.insert(rel.clone(), Expected::Checked(None));
            }
        }
    }
}

/// Each page's files, from the `proof.json` files found: its HTML (the hash the proof names),
/// the proof, the assets it names. A proof is a page's when the page check looked at the
/// `index.html` beside it, or when that HTML is missing (reported as such); one beside the
/// home page, a space index or a static file is no page's (a stray). Returns the proofs that
/// parse (the page check reports the others, or here when the page has no HTML to check).
fn page_files(
    dir: &Path,
    found: &BTreeMap<String, Option<String>>,
    pages_checked: &BTreeSet<String>,
    expected: &mut BTreeMap<String, Expected>,
    problems: &mut Vec<String>,
) -> Vec<Proof> {
    let mut proofs = Vec::new();
    let trust = format!("{DIR}/");
    for rel in found.keys() {
        let Some(folder) = rel.strip_suffix("proof.json") else {
            continue;
        };
        if !(folder.is_empty() || folder.ends_with('/')) || rel.starts_with(&trust) {
            continue;
        }
        let html = format!("{folder}index.html");
        let checked = pages_checked.contains(&html);
        if !checked && found.contains_key(&html) {
            continue;
        }
        expected.insert(rel.clone(), Expected::Checked(None));
        let parsed = crate::fs::read_beneath(dir, Path::new(rel), 64 << 20)
            .map_err(|e| e.kind.to_string())
            .and_then(|b| serde_json::from_slice::<Proof>(&b).map_err(|e| e.to_string()));
        match parsed {
            Ok(proof) => {
                expected.insert(html, Expected::Checked(Some(proof.html_sha256.clone())));
                for (asset, hash) in &proof.assets {
                    expected.insert(
                        format!("{folder}{asset}"),
                        Expected::Checked(Some(hash.clone())),
                    );
                }
                proofs.push(proof);
            }
            Err(_) if checked => {
                expected.insert(html, Expected::Checked(None));
            }
            Err(why) => problems.push(format!("{rel}: {why}")),
        }
    }
    proofs
}

/// `/_proof/imprimatur.yaml`, when it is the public form of the settings the admins signed
/// (`governance::PUBLIC_SETTINGS`): its bytes and theme name.
fn signed_config(
    dir: &Path,
    state: &SignedState,
    expected: &mut BTreeMap<String, Expected>,
    problems: &mut Vec<String>,
) -> Option<(Vec<u8>, String)> {
    let name = crate::site::config::CONFIG_FILE;
    let rel = format!("{DIR}/{name}");
    let Some(hash) = state.files.get(crate::trust::governance::PUBLIC_SETTINGS) else {
        problems.push(format!(
            "{DIR}: the signed state has no hash of the public settings of {name}"
        ));
        return None;
    };
    expected.insert(rel.clone(), Expected::Signed(hash.clone()));
    let bytes = crate::fs::read_beneath(dir, Path::new(&rel), 1 << 20).ok()?;
    if sha256_hex(&bytes) != *hash {
        return None; // reported as not the file the admins signed
    }
    let tmp = tempfile::tempdir().ok()?;
    std::fs::write(tmp.path().join(name), &bytes).ok()?;
    match crate::site::config::SiteConfig::load(tmp.path()) {
        Ok(config) => Some((bytes, config.theme)),
        Err(e) => {
            problems.push(format!("{rel}: {e}"));
            None
        }
    }
}

/// The signed theme files under `/_proof/`, by their path in the repository; each is
/// expected with its signed hash (a missing or changed one is reported by [`compare`]).
fn signed_theme(
    dir: &Path,
    state: &SignedState,
    theme: &str,
    expected: &mut BTreeMap<String, Expected>,
    problems: &mut Vec<String>,
) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for (rel, hash) in &state.files {
        if rel == crate::site::config::CONFIG_FILE || !is_generator_input(rel, theme) {
            continue;
        }
        let at = format!("{DIR}/{rel}");
        expected.insert(at.clone(), Expected::Signed(hash.clone()));
        match crate::fs::read_beneath(dir, Path::new(&at), 64 << 20) {
            Ok(bytes) if sha256_hex(&bytes) == *hash => {
                files.insert(rel.clone(), bytes);
            }
            Ok(_) => {}
            Err(e) if matches!(e.kind, crate::fs::ReadErrorKind::Missing) => {}
            Err(e) => problems.push(format!("{at}: {}", e.kind)),
        }
    }
    files
}

/// The build's manifest as the build wrote it: every other file the build published, with
/// the hash it wrote (as the proofs, the signed state and the derived files say; the file
/// found for what the rest of the audit checks), and each page's URL.
fn derive_marker(
    found: &BTreeMap<String, Option<String>>,
    expected: &BTreeMap<String, Expected>,
    proofs: &[Proof],
) -> Vec<u8> {
    let files = expected
        .iter()
        .filter_map(|(rel, e)| {
            let hash = match e {
                Expected::Checked(None) => found.get(rel)?.clone()?,
                Expected::Checked(Some(h)) | Expected::Signed(h) | Expected::Generated(h) => {
                    h.clone()
                }
            };
            Some((rel.clone(), hash))
        })
        .collect();
    let pages = proofs
        .iter()
        .map(|p| (p.page.clone(), p.url.clone()))
        .collect();
    let mut bytes = Vec::new();
    BuildManifest { files, pages }
        .write_to(&mut bytes)
        .expect("writing to memory");
    bytes
}

/// The pages the folder's build manifest lists whose proof is gone: the cause of the
/// generated files that name them. (The manifest is no evidence of anything; it only says
/// where to look.)
fn pages_gone(dir: &Path, found: &BTreeMap<String, Option<String>>) -> Vec<String> {
    let Some(manifest) = crate::publish::output::previous_build(dir) else {
        return Vec::new();
    };
    manifest
        .pages
        .values()
        .filter(|url| !found.contains_key(&format!("{url}proof.json")))
        .map(|url| format!("{url}: a page the build's manifest lists, with no proof.json here"))
        .collect()
}

/// At most this many problems with the search index's pieces are told one by one: a page
/// removed or changed changes most of them, and one line says it.
const PIECES_TOLD: usize = 5;

fn summarized(pieces: Vec<Problem>) -> Vec<String> {
    if pieces.len() <= PIECES_TOLD {
        return pieces.iter().map(Problem::to_string).collect();
    }
    let first: Vec<&str> = pieces.iter().take(3).map(Problem::path).collect();
    vec![format!(
        "{}/: {} of its files stray, missing or not the files the build generates from the proofs (first {}, ...)",
        search::DIR,
        pieces.len(),
        first.join(", ")
    )]
}

/// A file out of place.
#[derive(Debug, PartialEq, Eq)]
enum Problem {
    /// Nothing accounts for it; in the folder of the page at the URL given, if any.
    Stray(String, Option<String>),
    Missing(String),
    NotSigned(String),
    NotGenerated(String),
}

impl Problem {
    fn path(&self) -> &str {
        match self {
            Problem::Stray(rel, _)
            | Problem::Missing(rel)
            | Problem::NotSigned(rel)
            | Problem::NotGenerated(rel) => rel,
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Stray(rel, Some(url)) => write!(
                f,
                "{rel}: a stray beside the page {url}: its proof.json names no such file"
            ),
            Problem::Stray(rel, None) if rel.starts_with(&format!("{DIR}/")) => write!(
                f,
                "{rel}: a stray: nothing in the trust chain vouches for it"
            ),
            Problem::Stray(rel, None) => write!(
                f,
                "{rel}: a stray: no proof names it and the build generates no such file"
            ),
            Problem::Missing(rel) => write!(f, "{rel}: missing: the build publishes it"),
            Problem::NotSigned(rel) => write!(f, "{rel}: not the file the admins signed"),
            Problem::NotGenerated(rel) => write!(
                f,
                "{rel}: not the file the build generates from the proofs and the signed settings and theme"
            ),
        }
    }
}

/// `found` (path → SHA-256, `None` when not a regular file, already reported) against
/// `expected`. An `index.html` the page check looked at (`pages_checked`) was reported there.
fn compare(
    found: &BTreeMap<String, Option<String>>,
    expected: &BTreeMap<String, Expected>,
    pages_checked: &BTreeSet<String>,
    proofs: &[Proof],
) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (rel, hash) in found {
        let Some(hash) = hash else { continue };
        match expected.get(rel) {
            Some(Expected::Checked(_)) => {}
            Some(Expected::Signed(h)) if h != hash => {
                problems.push(Problem::NotSigned(rel.clone()))
            }
            Some(Expected::Generated(h)) if h != hash => {
                problems.push(Problem::NotGenerated(rel.clone()))
            }
            Some(_) => {}
            None if pages_checked.contains(rel) => {}
            None => {
                // The deepest page folder holding it, if any.
                let page = proofs
                    .iter()
                    .filter(|p| !p.url.is_empty() && rel.starts_with(&p.url))
                    .max_by_key(|p| p.url.len())
                    .map(|p| p.url.clone());
                problems.push(Problem::Stray(rel.clone(), page))
            }
        }
    }
    for rel in expected.keys() {
        if !found.contains_key(rel) {
            problems.push(Problem::Missing(rel.clone()));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proof_at(url: &str) -> Proof {
        serde_json::from_value(serde_json::json!({
            "imprimatur_proof": 1, "page": "kb/x", "source_path": "x/index.md", "url": url,
            "version": "sha256:0", "built_at": "2026-11-20T12:00:00Z", "audiences": [],
            "html_sha256": "h", "markdown": "", "assets": {"a.png": "a"}, "records": {},
            "keys": {}, "policy": "_proof/policies/kb.yaml", "trust": {}
        }))
        .unwrap()
    }

    fn found(files: &[(&str, &str)]) -> BTreeMap<String, Option<String>> {
        files
            .iter()
            .map(|(p, h)| (p.to_string(), Some(h.to_string())))
            .collect()
    }

    #[test]
    fn a_file_beside_a_page_that_its_proof_does_not_name_is_a_stray_of_that_page() {
        let expected = BTreeMap::from([
            (
                "kb/x/index.html".to_string(),
                Expected::Checked(Some("h".into())),
            ),
            (
                "kb/x/a.png".to_string(),
                Expected::Checked(Some("a".into())),
            ),
        ]);
        let found = found(&[
            ("kb/x/index.html", "h"),
            ("kb/x/a.png", "a"),
            ("kb/x/img/evil.svg", "e"),
            ("evil.html", "e"),
            ("_proof/extra.yaml", "e"),
        ]);
        let problems = compare(&found, &expected, &BTreeSet::new(), &[proof_at("kb/x/")]);
        assert_eq!(
            problems,
            vec![
                Problem::Stray("_proof/extra.yaml".into(), None),
                Problem::Stray("evil.html".into(), None),
                Problem::Stray("kb/x/img/evil.svg".into(), Some("kb/x/".into())),
            ]
        );
        assert!(problems[0]
            .to_string()
            .contains("nothing in the trust chain"));
        assert!(problems[2].to_string().contains("beside the page kb/x/"));
    }

    #[test]
    fn generated_and_signed_files_must_be_exactly_as_made_and_every_expected_file_there() {
        let expected = BTreeMap::from([
            ("index.html".to_string(), Expected::Generated("g".into())),
            ("sitemap.xml".to_string(), Expected::Generated("s".into())),
            ("static/a.css".to_string(), Expected::Generated("c".into())),
            (
                "_proof/imprimatur.yaml".to_string(),
                Expected::Signed("y".into()),
            ),
        ]);
        let found = found(&[
            ("index.html", "g"),
            ("sitemap.xml", "edited"),
            ("_proof/imprimatur.yaml", "other"),
            // An index.html the page check looked at (and reported): not a stray here too.
            ("evil/index.html", "e"),
        ]);
        let checked = BTreeSet::from(["evil/index.html".to_string()]);
        assert_eq!(
            compare(&found, &expected, &checked, &[]),
            vec![
                Problem::NotSigned("_proof/imprimatur.yaml".into()),
                Problem::NotGenerated("sitemap.xml".into()),
                Problem::Missing("static/a.css".into()),
            ]
        );
    }

    #[test]
    fn a_few_changed_pieces_of_the_search_index_are_named_and_many_summed_up_in_one_line() {
        let pieces = |n: usize| -> Vec<Problem> {
            (0..n)
                .map(|i| Problem::NotGenerated(format!("search-index/t-{i}.js")))
                .collect()
        };
        let told = summarized(pieces(PIECES_TOLD));
        assert_eq!(told.len(), PIECES_TOLD);
        assert!(told[0].starts_with("search-index/t-0.js: not the file"));
        let told = summarized(pieces(200));
        assert_eq!(told.len(), 1);
        assert!(
            told[0].starts_with("search-index/: 200 of its files")
                && told[0].contains("first search-index/t-0.js, search-index/t-1.js"),
            "{}",
            told[0]
        );
    }

    #[test]
    fn a_proof_beside_a_space_index_is_no_pages_and_one_without_its_html_misses_it() {
        let dir = tempfile::tempdir().unwrap();
        let proof = serde_json::to_vec(&serde_json::json!({
            "imprimatur_proof": 1, "page": "kb/x", "source_path": "x.md", "url": "kb/x/",
            "version": "sha256:0", "built_at": "2026-11-20T12:00:00Z", "audiences": [],
            "html_sha256": "h", "markdown": "", "assets": {}, "records": {}, "keys": {},
            "policy": "_proof/policies/kb.yaml", "trust": {}
        }))
        .unwrap();
        for (rel, bytes) in [
            ("kb/index.html", &b"a space index"[..]),
            ("kb/proof.json", &proof),
            ("kb/x/proof.json", &proof),
        ] {
            std::fs::create_dir_all(dir.path().join(rel).parent().unwrap()).unwrap();
            std::fs::write(dir.path().join(rel), bytes).unwrap();
        }
        let mut problems = Vec::new();
        let found = list(dir.path(), &mut problems);
        let mut expected = BTreeMap::new();
        let proofs = page_files(
            dir.path(),
            &found,
            &BTreeSet::new(),
            &mut expected,
            &mut problems,
        );
        assert_eq!(proofs.len(), 1);
        assert!(problems.is_empty(), "{problems:?}");
        let told = compare(&found, &expected, &BTreeSet::new(), &proofs);
        assert_eq!(
            told,
            vec![
                Problem::Stray("kb/index.html".into(), None),
                Problem::Stray("kb/proof.json".into(), None),
                Problem::Missing("kb/x/index.html".into()),
            ]
        );
    }

    #[test]
    fn the_marker_lists_what_the_build_wrote_not_what_the_folder_holds_now() {
        let expected = BTreeMap::from([
            (
                "kb/x/index.html".to_string(),
                Expected::Checked(Some("h".into())),
            ),
            ("kb/x/proof.json".to_string(), Expected::Checked(None)),
            ("index.html".to_string(), Expected::Generated("g".into())),
        ]);
        // The page's HTML was edited and a stray added: the marker is not reported for them.
        let found = found(&[
            ("kb/x/index.html", "edited"),
            ("kb/x/proof.json", "p"),
            ("index.html", "g"),
            ("evil.html", "e"),
        ]);
        let mut proof = proof_at("kb/x/");
        proof.page = "kb/x".into();
        let marker = derive_marker(&found, &expected, &[proof]);
        let manifest: BuildManifest = serde_json::from_slice(&marker).unwrap();
        assert_eq!(
            manifest.files,
            BTreeMap::from([
                ("index.html".to_string(), "g".to_string()),
                ("kb/x/index.html".to_string(), "h".to_string()),
                ("kb/x/proof.json".to_string(), "p".to_string()),
            ])
        );
        assert_eq!(
            manifest.pages,
            BTreeMap::from([("kb/x".to_string(), "kb/x/".to_string())])
        );
    }
}
