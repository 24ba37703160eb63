//! `imprimatur audit DIR` (docs/trust-root.md §6): checks a published site offline, from its
//! own files and a pin. The root chain and governance signatures vouch for the public keyring
//! and policies under `/_proof/`; each page's proof must then replay — through the same
//! review engine the build runs — to exactly the version whose source it carries, and the
//! page's HTML must be the file the proof names. Then every other file of the folder must be
//! accounted for (`inventory`): a file of the trust chain, or one the build generates, made
//! again from the proofs (`generated`) and compared byte for byte.

mod generated;
mod inventory;

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;

use crate::error::{Error, Result};
use crate::publish::proof::{Proof, DIR};
use crate::site::Site;
use crate::trust::governance::{SignedState, PUBLIC_KEYRING};
use crate::trust::keyring::Keyring;
use crate::trust::root::{self, Pin, Root};
use crate::trust::version::{sha256_hex, ManifestEntry};

/// What the audit found: problems name the page (or `/_proof/` file) at fault.
pub struct Audit {
    pub pages: usize,
    pub root_version: u64,
    pub pinned: bool,
    pub problems: Vec<String>,
    /// Pages whose proofs withhold records (they sign comments the site keeps hidden, SPEC
    /// §4a): nothing is known to be wrong with them, and nothing proves them either.
    pub unprovable: Vec<String>,
}

/// What replaying a page's proof showed, when nothing in it was found tampered.
enum Replay {
    Proven,
    /// The proof leaves records out, so it can't be replayed: why.
    Unprovable(String),
}

fn read(dir: &Path, rel: &str) -> std::result::Result<Vec<u8>, String> {
    crate::fs::read_beneath(dir, Path::new(rel), 64 << 20)
        .map_err(|e| format!("{rel}: {}", e.describe(dir)))
}

/// The trust part: root chain from the pin, governance signed by the newest root, the
/// public keyring and policies as signed. Failing any of it, nothing else can be checked.
fn trusted(dir: &Path, pin: Option<&Pin>) -> Result<(root::TrustedRoot, SignedState, Keyring)> {
    let refuse = |m: String| Error::Governance(m);
    let mut roots = Vec::new();
    for n in 1.. {
        let rel = format!("{DIR}/root/{n}.yaml");
        if !dir.join(&rel).exists() {
            break;
        }
        roots.push(Root::parse(&rel, &read(dir, &rel).map_err(refuse)?)?);
    }
    if roots.is_empty() {
        return Err(refuse(format!(
            "{DIR}/root/1.yaml is missing: this site publishes no proofs"
        )));
    }
    let trusted = root::verify_chain(roots, pin)?;
    let rel = format!("{DIR}/governance.yaml");
    let state = SignedState::parse(&read(dir, &rel).map_err(refuse)?)?;
    let signers = trusted
        .root
        .signers(&state.signed_bytes(), &state.signatures);
    if (signers.len() as u64) < trusted.root.threshold {
        return Err(refuse(format!(
            "{rel}: signed by {} of the {} admins of root version {} it needs",
            signers.len(),
            trusted.root.threshold,
            trusted.root.version
        )));
    }
    let rel = format!("{DIR}/keyring.yaml");
    let keyring_bytes = read(dir, &rel).map_err(refuse)?;
    if state.files.get(PUBLIC_KEYRING) != Some(&sha256_hex(&keyring_bytes)) {
        return Err(refuse(format!(
            "{rel}: not the public keyring the admins signed"
        )));
    }
    let keyring = Keyring::parse(&String::from_utf8_lossy(&keyring_bytes))?;
    Ok((trusted, state, keyring))
}

pub fn audit(dir: &Path, pin: Option<&Pin>) -> Result<Audit> {
    let (trusted, state, keyring) = trusted(dir, pin)?;
    let mut problems = Vec::new();
    let mut unprovable = Vec::new();
    // Policies: as signed, and where their spaces publish (those index pages carry no proof).
    let mut policies: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut space_indexes = vec!["index.html".to_string()];
    let pdir = dir.join(DIR).join("policies");
    if let Ok(entries) = std::fs::read_dir(&pdir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            let Some(space) = name.strip_suffix(".yaml") else {
                continue;
            };
            let rel = format!("{DIR}/policies/{name}");
            let bytes = match read(dir, &rel) {
                Ok(b) => b,
                Err(m) => {
                    problems.push(m);
                    continue;
                }
            };
            let signed = ["yaml", "yml"].iter().any(|x| {
                state.files.get(&format!("approvals/policies/{space}.{x}"))
                    == Some(&sha256_hex(&bytes))
            });
            if !signed {
                problems.push(format!("{rel}: not a policy the admins signed"));
                continue;
            }
            let tmp = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
            let path = tmp.path().join(&name);
            std::fs::write(&path, &bytes).map_err(|e| Error::io(&path, e))?;
            match crate::trust::policy::Policy::load(&path, space, &keyring) {
                Ok(p) => space_indexes.push(format!("{}/index.html", p.publish_to)),
                Err(e) => problems.push(format!("{rel}: {e}")),
            }
            policies.insert(space.to_string(), bytes);
        }
    }
    // Every page (an index.html that is not the home or a space index) must carry a proof.
    // A redirect page at an old URL `_redirects` lists, without a proof beside it, is no page:
    // the inventory below holds it to the bytes the build makes again from the proofs (as it
    // does `_redirects` itself), so listing a URL there can't get a page past the audit.
    let redirected = redirected_urls(dir);
    let t = crate::timings::phase("audit: pages");
    let mut pages = 0;
    let mut pages_checked = std::collections::BTreeSet::new();
    for entry in crate::fs::walk_by_name(dir) {
        let Ok(entry) = entry else { continue };
        if entry.file_name() != "index.html" || !entry.file_type().is_file() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(dir)
            .unwrap_or(entry.path())
            .to_string_lossy()
            .replace('\\', "/");
        let folder = rel.strip_suffix("index.html").unwrap_or(&rel);
        let redirect = redirected
            .iter()
            .any(|from| from.ends_with(&format!("/{folder}")))
            && !dir.join(folder).join("proof.json").exists();
        if space_indexes.contains(&rel)
            || redirect
            || rel.starts_with("static/")
            || rel.starts_with(&format!("{DIR}/"))
        {
            continue;
        }
        pages += 1;
        pages_checked.insert(rel.clone());
        let url = rel.strip_suffix("index.html").unwrap_or(&rel);
        match check_page(dir, url, &keyring, &policies) {
            Ok(Replay::Proven) => {}
            Ok(Replay::Unprovable(why)) => unprovable.push(format!("{url}: {why}")),
            Err(why) => problems.push(format!("{url}: {why}")),
        }
    }
    drop(t);
    // Every other byte: the trust chain's files, and the files the build generates.
    let _t = crate::timings::phase("audit: every other file");
    problems.extend(inventory::account(
        dir,
        &inventory::Known {
            state: &state,
            keyring: &keyring,
            policies: &policies,
            pages_checked: &pages_checked,
        },
    ));
    Ok(Audit {
        pages,
        root_version: trusted.root.version,
        pinned: trusted.pinned,
        problems,
        unprovable,
    })
}

/// The old URLs (`/old/path/`) of the published folder's `_redirects`, if it has one.
fn redirected_urls(dir: &Path) -> Vec<String> {
    read(dir, "_redirects")
        .map(|bytes| {
            String::from_utf8_lossy(&bytes)
                .lines()
                .filter_map(|line| line.split_whitespace().next())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// One page against its proof. Errors say what does not hold.
fn check_page(
    dir: &Path,
    url: &str,
    keyring: &Keyring,
    policies: &BTreeMap<String, Vec<u8>>,
) -> std::result::Result<Replay, String> {
    let proof_bytes =
        read(dir, &format!("{url}proof.json")).map_err(|_| "has no proof.json".to_string())?;
    let proof: Proof =
        serde_json::from_slice(&proof_bytes).map_err(|e| format!("proof.json: {e}"))?;
    if proof.url != url {
        return Err(format!(
            "proof.json is the proof of {}, not of this page",
            proof.url
        ));
    }
    if !proof.withheld.is_empty() {
        return Ok(Replay::Unprovable(format!(
            "proof.json withholds {} (records that sign comments the site keeps hidden): the page can't be proven until they are signed again",
            proof.withheld.join(", ")
        )));
    }
    let html = read(dir, &format!("{url}index.html"))?;
    if sha256_hex(&html) != proof.html_sha256 {
        return Err(format!(
            "index.html is not the HTML the build published (sha256 {} , the proof says {})",
            sha256_hex(&html),
            proof.html_sha256
        ));
    }
    let markdown = base64::engine::general_purpose::STANDARD
        .decode(&proof.markdown)
        .map_err(|e| format!("proof.json: markdown: {e}"))?;
    let mut assets = Vec::new();
    for (path, hash) in &proof.assets {
        let bytes = read(dir, &format!("{url}{path}"))?;
        if &sha256_hex(&bytes) != hash {
            return Err(format!("{path}: not the asset the proof names"));
        }
        assets.push((path.clone(), bytes));
    }
    let version = if proof.source_path.ends_with("/index.md") || proof.source_path == "index.md" {
        let mut entries: Vec<ManifestEntry> = assets
            .iter()
            .map(|(p, b)| ManifestEntry {
                path: p.clone(),
                hex: sha256_hex(b),
            })
            .chain(std::iter::once(ManifestEntry {
                path: "index.md".into(),
                hex: sha256_hex(&markdown),
            }))
            .collect();
        entries.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
        format!(
            "sha256:{}",
            sha256_hex(crate::trust::version::manifest_text(&entries).as_bytes())
        )
    } else {
        format!("sha256:{}", sha256_hex(&markdown))
    };
    if version != proof.version {
        return Err(format!(
            "the source in proof.json is {version}, not the version {} it claims",
            proof.version
        ));
    }
    for (id, public) in &proof.keys {
        let k = keyring
            .keys
            .get(id)
            .ok_or_else(|| format!("key '{id}' is not in the signed keyring"))?;
        if k.public_key.encoded() != *public {
            return Err(format!(
                "key '{id}' is not the key the signed keyring holds"
            ));
        }
    }
    let space = proof.page.split('/').next().unwrap_or_default().to_string();
    let policy = policies
        .get(&space)
        .ok_or_else(|| format!("no signed policy for space '{space}' under /{DIR}/"))?;
    // Replay: a site made of nothing but the proof, judged at the build's instant.
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let root = tmp.path();
    let write = |rel: &str, bytes: &[u8]| -> std::result::Result<(), String> {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().expect("a parent")).map_err(|e| e.to_string())?;
        std::fs::write(&path, bytes).map_err(|e| e.to_string())
    };
    let audiences: Vec<String> = proof
        .audiences
        .iter()
        .map(|a| serde_json::to_string(a).expect("a string"))
        .collect();
    write(
        "imprimatur.yaml",
        format!(
            "title: audit\nbase_url: https://audit.invalid/\naudiences: [{}]\n",
            audiences.join(", ")
        )
        .as_bytes(),
    )?;
    write(
        "approvals/keyring.yaml",
        crate::trust::governance::public_keyring_text(keyring).as_bytes(),
    )?;
    write(&format!("approvals/policies/{space}.yaml"), policy)?;
    if !crate::trust::version::is_safe_relative_path(&proof.source_path) {
        return Err("proof.json: source_path is not a safe relative path".into());
    }
    let source = format!("content/{space}/{}", proof.source_path);
    write(&source, &markdown)?;
    let folder = source
        .strip_suffix("index.md")
        .unwrap_or(&source)
        .to_string();
    for (path, bytes) in &assets {
        if !crate::trust::version::is_safe_relative_path(path) {
            return Err(format!(
                "proof.json: asset '{path}' is not a safe relative path"
            ));
        }
        write(&format!("{folder}{path}"), bytes)?;
    }
    for (i, text) in proof.records.values().enumerate() {
        write(&format!("approvals/records/{i:04}.yaml"), text.as_bytes())?;
    }
    let now = crate::time::parse_rfc3339(&proof.built_at)
        .ok_or("proof.json: built_at is not RFC 3339")?;
    // Read as a proof shows records: a committed comment may have been left out.
    let site = Site::load_proof_replay(root).map_err(|e| format!("replaying the proof: {e}"))?;
    let eval = site.evaluate(now, &proof.audiences);
    if let Some((file, why)) = eval.invalid_records.first() {
        return Err(format!(
            "a record in proof.json does not count ({file}: {why})"
        ));
    }
    let page = eval
        .page(&proof.page)
        .ok_or("the proof's page is not a page")?;
    match page.live() {
        Some(live) if live.version.version.as_str() == proof.version => {
            if live.url != proof.url {
                return Err(format!("the records publish it at {}, not here", live.url));
            }
            Ok(Replay::Proven)
        }
        Some(live) => Err(format!(
            "the proof's records publish {}, not {}",
            live.version.version, proof.version
        )),
        None => Err(format!(
            "the proof's records do not publish {} at {}",
            proof.version, proof.built_at
        )),
    }
}
