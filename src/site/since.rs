//! `imprimatur verify --since REV`: what git says was deleted or changed under
//! `approvals/records/` and `approvals/store/` since REV. A build finds a record deleted after
//! an earlier build counted it (`counted`), but a pull request's job has no earlier build, and
//! whoever can write a CI's caches can delete what builds keep; git's history is what they
//! can't rewrite from a pull request. Records and blobs are only ever added: one deleted or
//! edited un-says a decision, or the bytes it was about.
//!
//! Compared from the merge base of REV and `HEAD` to the working tree, as a pull request's
//! diff is: what REV's branch gained since the pull request forked is not "deleted" by it.
//! Git runs as the `git` binary, with no external diff driver or text conversion.

use std::path::Path;
use std::process::Command;

use super::config::SiteConfig;
use super::Finding;
use crate::error::{Error, Result};
use crate::trust::review::FindingKind;

/// The findings for every file under the records or store folder deleted or changed since
/// `rev` (a commit, branch or tag git knows).
pub(crate) fn removed_since(config: &SiteConfig, rev: &str) -> Result<Vec<Finding>> {
    if rev.starts_with('-') || rev.is_empty() {
        return Err(Error::Usage(format!(
            "--since: '{rev}' is not a revision (a commit, branch or tag, e.g. origin/main)"
        )));
    }
    let root = &config.root;
    let base = git(root, &["merge-base", rev, "HEAD"]).map_err(|why| {
        Error::Refused(format!(
            "--since {rev}: git can't find where this checkout forked from '{rev}' ({why}). Fetch it first (for example `git fetch origin main`, or `fetch-depth: 0` in a CI checkout)"
        ))
    })?;
    let base = base.trim().to_string();
    let folders: Vec<String> = [config.records_dir(), config.store_dir()]
        .iter()
        .map(|dir| {
            dir.strip_prefix(root)
                .unwrap_or(dir)
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let mut args = vec![
        "diff",
        "--relative",
        "--name-status",
        "-z",
        "--no-ext-diff",
        "--no-textconv",
        "--find-renames=100%",
        &base,
        "--",
    ];
    args.extend(folders.iter().map(String::as_str));
    let listing = git(root, &args)
        .map_err(|why| Error::Refused(format!("--since {rev}: git diff: {why}")))?;
    Ok(findings(&listing, rev, &base, &folders[0]))
}

/// Runs git in `dir`; its stdout, or what it said on stderr.
fn git(dir: &Path, args: &[&str]) -> std::result::Result<String, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .map_err(|e| format!("the git command can't be run: {e}"))?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stderr);
        return Err(said
            .lines()
            .next()
            .unwrap_or("it failed")
            .trim()
            .to_string());
    }
    String::from_utf8(out.stdout).map_err(|_| "git printed a path that is not UTF-8".into())
}

/// Findings from `git diff --name-status -z` output: deletions and edits; a record moved
/// whole to another path under the records folder is still there.
fn findings(listing: &str, rev: &str, base: &str, records: &str) -> Vec<Finding> {
    let short = &base[..base.len().min(12)];
    let mut fields = listing.split('\0').filter(|f| !f.is_empty());
    let mut found = Vec::new();
    while let Some(status) = fields.next() {
        let letter = status.chars().next().unwrap_or('?');
        let (path, what) = match letter {
            'A' => {
                fields.next();
                continue;
            }
            'R' | 'C' => {
                let (from, to) = (fields.next().unwrap_or(""), fields.next().unwrap_or(""));
                let whole = status == "R100" || status == "C100";
                let kept_as_record = whole && to.starts_with(records) == from.starts_with(records);
                if letter == 'C' || (kept_as_record && from.starts_with(records)) {
                    continue;
                }
                (from.to_string(), format!("moved to {to}"))
            }
            'D' => (fields.next().unwrap_or("").to_string(), "deleted".into()),
            _ => (
                fields.next().unwrap_or("").to_string(),
                "changed".to_string(),
            ),
        };
        let is_record = path.starts_with(records);
        let (kind, why) = match is_record {
            true => (
                FindingKind::RecordRemoved,
                "a signed record is never deleted or edited: a decision is withdrawn by a new record (retract, reject, unpublish). Put it back as it was",
            ),
            false => (
                FindingKind::StoreChanged,
                "the store only ever grows: a submitted version's bytes are what its records are about. Put the blob back as it was",
            ),
        };
        found.push(Finding {
            kind,
            page: None,
            detail: format!("{what} since {rev} (merge base {short}): {why}"),
            file: Some(path),
        });
    }
    found.sort_by(|a, b| (a.kind, &a.file).cmp(&(b.kind, &b.file)));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deletions_edits_and_moves_out_are_findings_additions_and_whole_moves_are_not() {
        let rec = "approvals/records";
        let listing = [
            "A",
            "approvals/records/new.yaml",
            "D",
            "approvals/records/kb/reject.yaml",
            "M",
            "approvals/records/kb/approve.yaml",
            "T",
            "approvals/store/ab/cdef",
            "R100",
            "approvals/records/a.yaml",
            "approvals/records/b/a.yaml",
            "R087",
            "approvals/records/c.yaml",
            "approvals/records/d.yaml",
            "R100",
            "approvals/store/12/3456",
            "approvals/store/12/3457",
            "D",
            "approvals/store/00/1111",
        ]
        .join("\0");
        let found = findings(&listing, "origin/main", "0123456789abcdef", rec);
        let got: Vec<(&str, &str, bool)> = found
            .iter()
            .map(|f| {
                (
                    f.kind.as_str(),
                    f.file.as_deref().unwrap(),
                    f.detail.starts_with("deleted") || f.detail.starts_with("moved"),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("record_removed", "approvals/records/c.yaml", true),
                ("record_removed", "approvals/records/kb/approve.yaml", false),
                ("record_removed", "approvals/records/kb/reject.yaml", true),
                ("store_changed", "approvals/store/00/1111", true),
                ("store_changed", "approvals/store/12/3456", true),
                ("store_changed", "approvals/store/ab/cdef", false),
            ]
        );
        assert!(found[0]
            .detail
            .contains("since origin/main (merge base 0123456789ab)"));
    }
}
