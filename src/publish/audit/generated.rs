//! The files a build generates besides pages — home page, space indexes, sitemap, search
//! index, the theme's static files — derived again from a published folder alone: a site is
//! laid out from every page's proof, the signed policies and keyring, and the `imprimatur.yaml`
//! and theme the admins signed (published under `/_proof/`), judged at the build's instant,
//! and handed to the build's own renderer ([`Renderer::generated_files`]). Nothing about
//! unpublished pages is needed: these files are made from published pages only.

use std::collections::BTreeMap;
use std::path::Path;

use crate::publish::proof::Proof;
use crate::publish::render::Renderer;
use crate::publish::theme::Theme;
use crate::site::Site;
use crate::trust::keyring::Keyring;
use crate::trust::version::is_safe_relative_path;

/// What the generated files are made from, as read (and checked) from the published folder.
pub struct Inputs<'a> {
    /// The published folder (a bundle's assets are read from it).
    pub dir: &'a Path,
    /// The signed `imprimatur.yaml`.
    pub config: &'a [u8],
    /// The signed theme files (`themes/<name>/templates/...`, `.../static/...`) by path.
    pub theme: &'a BTreeMap<String, Vec<u8>>,
    pub keyring: &'a Keyring,
    /// The signed policies, by space.
    pub policies: &'a BTreeMap<String, Vec<u8>>,
    /// Every page's proof.
    pub proofs: &'a [Proof],
}

/// Every generated file, by path, as the build that wrote these proofs made it. `Err` says
/// why they can't be derived (then none can be vouched for).
pub fn derive(inputs: &Inputs) -> Result<Vec<(String, Vec<u8>)>, String> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let root = tmp.path();
    let site_at = lay_out(root, inputs)?;
    let site = Site::load_proof_replay(root).map_err(|e| format!("replaying the proofs: {e}"))?;
    let audiences = match &site_at {
        Some((_, audiences)) => audiences.clone(),
        None => site.config.audiences.clone(),
    };
    // With no page published nothing generated depends on the instant: no clock is read.
    let now = site_at.map_or_else(Default::default, |(now, _)| now);
    let eval = site.evaluate(now, &audiences);
    let theme = Theme::load(root, &site.config.theme)
        .map_err(|e| format!("the signed theme under /_proof/: {e}"))?;
    Renderer::published(&site, &eval, &theme)
        .generated_files()
        .map_err(|e| format!("rendering from the proofs: {e}"))
}

/// Writes the site the proofs describe into `root`; returns the build's instant and audiences
/// (`None` without proofs). Proofs of different builds can't describe one site.
fn lay_out(
    root: &Path,
    inputs: &Inputs,
) -> Result<Option<(crate::time::Instant, Vec<String>)>, String> {
    let write = |rel: &str, bytes: &[u8]| write_beneath(root, rel, bytes);
    write(crate::site::config::CONFIG_FILE, inputs.config)?;
    write(
        "approvals/keyring.yaml",
        crate::trust::governance::public_keyring_text(inputs.keyring).as_bytes(),
    )?;
    for (space, bytes) in inputs.policies {
        write(&format!("approvals/policies/{space}.yaml"), bytes)?;
    }
    for (rel, bytes) in inputs.theme {
        write(rel, bytes)?;
    }
    std::fs::create_dir_all(root.join("content")).map_err(|e| e.to_string())?;
    let build = one_build(inputs.proofs)?;
    for (n, proof) in inputs.proofs.iter().enumerate() {
        lay_out_page(inputs.dir, root, n, proof)
            .map_err(|e| format!("{}proof.json: {e}", proof.url))?;
    }
    build
        .map(|(at, audiences)| {
            crate::time::parse_rfc3339(at)
                .map(|now| (now, audiences.to_vec()))
                .ok_or_else(|| format!("built_at {at} is not RFC 3339"))
        })
        .transpose()
}

/// The build the proofs are of: its instant and audiences, which every proof must share
/// (`None` without proofs). The build most of them name, the latest of equals, is the one;
/// each proof of another (a page folder put back from an earlier build) is named.
fn one_build(proofs: &[Proof]) -> Result<Option<(&str, &[String])>, String> {
    let mut builds: BTreeMap<(&str, &[String]), usize> = BTreeMap::new();
    for p in proofs {
        *builds.entry((&p.built_at, &p.audiences)).or_default() += 1;
    }
    let Some((&build, _)) = builds.iter().max_by_key(|(b, n)| (**n, b.0)) else {
        return Ok(None);
    };
    let others: Vec<String> = proofs
        .iter()
        .filter(|p| (p.built_at.as_str(), p.audiences.as_slice()) != build)
        .map(|p| {
            format!(
                "{}proof.json is of a build at {} for {:?}",
                p.url, p.built_at, p.audiences
            )
        })
        .collect();
    match others.is_empty() {
        true => Ok(Some(build)),
        false => Err(format!(
            "{}; the other proofs are of one at {} for {:?}: the proofs are not of one build",
            others.join("; "),
            build.0,
            build.1
        )),
    }
}

/// One page of the proofs: its approved source and assets in its space's folder, its records.
fn lay_out_page(dir: &Path, root: &Path, n: usize, proof: &Proof) -> Result<(), String> {
    use base64::Engine as _;
    let write = |rel: &str, bytes: &[u8]| write_beneath(root, rel, bytes);
    let markdown = base64::engine::general_purpose::STANDARD
        .decode(&proof.markdown)
        .map_err(|e| format!("markdown: {e}"))?;
    let space = proof.page.split('/').next().unwrap_or_default();
    if !is_safe_relative_path(&proof.source_path) || space.is_empty() {
        return Err("source_path is not a safe relative path".into());
    }
    let source = format!("content/{space}/{}", proof.source_path);
    write(&source, &markdown)?;
    let folder = source.strip_suffix("index.md").unwrap_or(&source);
    for path in proof.assets.keys() {
        if !is_safe_relative_path(path) {
            return Err(format!("asset '{path}' is not a safe relative path"));
        }
        // The published file the proof names (its hash is checked with the page).
        let bytes =
            crate::fs::read_beneath(dir, Path::new(&format!("{}{path}", proof.url)), 64 << 20)
                .map_err(|e| e.describe(dir))?;
        write(&format!("{folder}{path}"), &bytes)?;
    }
    for (i, text) in proof.records.values().enumerate() {
        write(
            &format!("approvals/records/{n:05}/{i:04}.yaml"),
            text.as_bytes(),
        )?;
    }
    Ok(())
}

/// Writes `bytes` at `rel` (a safe relative path) below `root`, making its folders.
fn write_beneath(root: &Path, rel: &str, bytes: &[u8]) -> Result<(), String> {
    if !is_safe_relative_path(rel) {
        return Err(format!("'{rel}' is not a safe relative path"));
    }
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("a parent")).map_err(|e| e.to_string())?;
    std::fs::write(&path, bytes).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proof(url: &str, built_at: &str) -> Proof {
        serde_json::from_value(serde_json::json!({
            "imprimatur_proof": 1, "page": format!("kb/{}", url.trim_end_matches('/')),
            "source_path": "x.md", "url": format!("kb/{url}"), "version": "sha256:0",
            "built_at": built_at, "audiences": ["public"], "html_sha256": "h",
            "markdown": "", "assets": {}, "records": {}, "keys": {},
            "policy": "_proof/policies/kb.yaml", "trust": {}
        }))
        .unwrap()
    }

    #[test]
    fn proofs_of_two_builds_describe_no_one_site() {
        let keyring = Keyring::parse("reviewers: []\n").unwrap();
        let (theme, policies) = (BTreeMap::new(), BTreeMap::new());
        let dir = tempfile::tempdir().unwrap();
        let inputs = |proofs| Inputs {
            dir: dir.path(),
            config: b"title: T\nbase_url: https://h.example/\n",
            theme: &theme,
            keyring: &keyring,
            policies: &policies,
            proofs,
        };
        let one = [
            proof("a/", "2026-11-20T12:00:00Z"),
            proof("b/", "2026-11-20T12:00:00Z"),
        ];
        let root = tempfile::tempdir().unwrap();
        let (now, audiences) = lay_out(root.path(), &inputs(&one)).unwrap().unwrap();
        assert_eq!(crate::time::format_utc(&now), "2026-11-20T12:00:00Z");
        assert_eq!(audiences, ["public"]);
        // A page kept from an older build beside this one's: refused, naming it.
        let two = [
            proof("a/", "2026-11-20T12:00:00Z"),
            proof("b/", "2026-11-01T12:00:00Z"),
        ];
        let root = tempfile::tempdir().unwrap();
        let err = lay_out(root.path(), &inputs(&two)).unwrap_err();
        assert!(
            err.starts_with("kb/b/proof.json is of a build at 2026-11-01T12:00:00Z")
                && err.ends_with("the proofs are not of one build"),
            "{err}"
        );
        // The build most proofs are of is the one, whatever its instant.
        let three = [
            proof("a/", "2026-11-01T12:00:00Z"),
            proof("b/", "2026-11-20T12:00:00Z"),
            proof("c/", "2026-11-01T12:00:00Z"),
        ];
        let err = one_build(&three).unwrap_err();
        assert!(
            err.starts_with("kb/b/proof.json is of a build at 2026-11-20T12:00:00Z")
                && err.contains("the other proofs are of one at 2026-11-01T12:00:00Z"),
            "{err}"
        );
    }
}
