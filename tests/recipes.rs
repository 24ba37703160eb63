//! The CI recipes of README ("Running it in CI") run as written. Each test takes a recipe's
//! YAML from README.md, and runs its shell — the `run:` steps of a GitHub Actions job, the
//! `script:` of a GitLab job — with bash on a fresh `imprimatur init` site (git-initialised,
//! governed, its first root pinned), in a stub of the CI's environment: its variables
//! (`GITHUB_*`/`RUNNER_*`, `CI_*`), the repository variable `IMPRIMATUR_TRUST_ROOT`, and a
//! stand-in `curl` first on `PATH` that serves a release made here: a tar.gz of this test's
//! own binary and its `SHA256SUMS`, at the recipe's URL. The checksum checks of the install
//! step run for real; a wrong pin or a tampered archive must stop the job before anything
//! runs. Steps that are `uses:` (checkout, caches, artifacts, the Pages upload and deploy)
//! are actions, not shell: they are not run (the site folder is the checkout, every cache
//! starts empty as on a first run). The recipes run at the real time, as CI does.
//! Needs git (`verify --since`, and the checkout itself).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::util::{needs, Tool};

const BIN: &str = env!("CARGO_BIN_EXE_imprimatur");

/// The first ```yaml block after `heading` in README.md, parsed.
fn recipe(heading: &str) -> Value {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let at = readme
        .find(heading)
        .unwrap_or_else(|| panic!("README has no '{heading}'"));
    let rest = &readme[at..];
    let start = rest.find("```yaml\n").expect("a yaml block") + "```yaml\n".len();
    let len = rest[start..].find("\n```").expect("the block's end");
    serde_saphyr::from_str(&rest[start..start + len + 1]).expect("the recipe is YAML")
}

fn github() -> Value {
    recipe("### GitHub Actions and GitHub Pages")
}

fn gitlab() -> Value {
    recipe("### GitLab CI and GitLab Pages")
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = run(Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=Docs",
            "-c",
            "user.email=docs@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args));
    String::from_utf8(out.stdout).unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A docs repository (a governed `imprimatur init` site, pushed to a bare `origin`), the
/// release the recipe downloads, and the stand-in `curl` that serves it.
struct Ci {
    dir: tempfile::TempDir,
    pin: String,
    /// The SHA-256 of the release's SHA256SUMS: the value a user copies into the recipe.
    sums_hash: String,
}

impl Ci {
    fn new(version: &str) -> Ci {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("site");
        let imprimatur = |args: &[&str]| {
            run(Command::new(BIN).current_dir(&site).args(args));
        };
        run(Command::new(BIN).arg("init").arg(&site));
        // The draft approved too, so the site has no finding and `--strict` passes.
        imprimatur(&[
            "submit",
            "content/docs/writing-a-page.md",
            "--key",
            "keys/me.pem",
        ]);
        imprimatur(&[
            "approve",
            "docs/writing-a-page",
            "--step",
            "review",
            "--key",
            "keys/me.pem",
        ]);
        let keyring = std::fs::read_to_string(site.join("approvals/keyring.yaml")).unwrap();
        let key = keyring
            .lines()
            .find_map(|l| l.trim().strip_prefix("public_key: "))
            .unwrap()
            .to_string();
        imprimatur(&[
            "root",
            "new",
            "--threshold",
            "1",
            "--admin",
            &format!("me={key}"),
        ]);
        imprimatur(&["root", "sign", "--key", "keys/me.pem"]);
        imprimatur(&["governance", "sign", "--key", "keys/me.pem"]);
        let root = std::fs::read(site.join("approvals/root/1.yaml")).unwrap();
        let pin = format!("sha256:{}", sha256_hex(&root));

        let bare = dir.path().join("origin.git");
        std::fs::create_dir(&bare).unwrap();
        git(&bare, &["init", "--quiet", "--bare", "-b", "main"]);
        git(&site, &["init", "--quiet", "-b", "main"]);
        git(&site, &["add", "--all"]);
        git(&site, &["commit", "--quiet", "-m", "the help center"]);
        git(&site, &["remote", "add", "origin", &bare.to_string_lossy()]);
        git(&site, &["push", "--quiet", "-u", "origin", "main"]);

        // The release: what .github/workflows/release.yml publishes for this machine.
        let target = match std::env::consts::ARCH {
            "aarch64" => "aarch64-unknown-linux-musl",
            _ => "x86_64-unknown-linux-musl",
        };
        let name = format!("imprimatur-{version}-{target}");
        let staging = dir.path().join("staging").join(&name);
        std::fs::create_dir_all(&staging).unwrap();
        std::fs::copy(BIN, staging.join("imprimatur")).unwrap();
        let served = dir.path().join("served").join(version);
        std::fs::create_dir_all(&served).unwrap();
        let archive = format!("{name}.tar.gz");
        run(Command::new("tar")
            .arg("-czf")
            .arg(served.join(&archive))
            .arg("-C")
            .arg(dir.path().join("staging"))
            .arg(&name));
        let bytes = std::fs::read(served.join(&archive)).unwrap();
        let sums = format!("{}  {archive}\n", sha256_hex(&bytes));
        std::fs::write(served.join("SHA256SUMS"), &sums).unwrap();

        let stub = dir.path().join("stub-bin");
        std::fs::create_dir(&stub).unwrap();
        std::fs::write(stub.join("curl"), CURL).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(stub.join("curl"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        for d in ["home", "runner-temp", "cache"] {
            std::fs::create_dir(dir.path().join(d)).unwrap();
        }
        Ci {
            dir,
            pin,
            sums_hash: sha256_hex(sums.as_bytes()),
        }
    }

    fn site(&self) -> PathBuf {
        self.dir.path().join("site")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Replaces the served archive with one whose binary is not the released one.
    fn tamper_with_the_archive(&self, version: &str) {
        let served = self.path("served").join(version);
        for entry in std::fs::read_dir(&served).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "gz") {
                let mut bytes = std::fs::read(&path).unwrap();
                let last = bytes.len() - 1;
                bytes[last] ^= 1;
                std::fs::write(&path, bytes).unwrap();
            }
        }
    }

    /// What every job's shell starts from: no variable of the machine running the test but
    /// a plain PATH (with the stand-in curl first, and no imprimatur), a home, and a cache
    /// folder of its own.
    fn base_env(&self, releases: &str) -> BTreeMap<String, String> {
        let stub = self.path("stub-bin");
        BTreeMap::from([
            (
                "PATH".into(),
                format!("{}:/usr/local/bin:/usr/bin:/bin", stub.display()),
            ),
            ("HOME".into(), self.path("home").display().to_string()),
            (
                "IMPRIMATUR_CACHE_DIR".into(),
                self.path("cache").display().to_string(),
            ),
            ("LC_ALL".into(), "C".into()),
            ("CI".into(), "true".into()),
            ("STUB_RELEASES".into(), releases.into()),
            (
                "STUB_SERVES".into(),
                self.path("served").display().to_string(),
            ),
            (
                "STUB_LOG".into(),
                self.path("downloads.log").display().to_string(),
            ),
        ])
    }

    fn downloads(&self) -> String {
        std::fs::read_to_string(self.path("downloads.log")).unwrap_or_default()
    }
}

/// Stands in for curl: serves `$STUB_SERVES/<rest>` for `$STUB_RELEASES/<rest>`, insists on
/// https only (`--proto =https`) and `--fail`, and notes each URL in `$STUB_LOG`.
const CURL: &str = r#"#!/usr/bin/env bash
set -eu
out= url= proto= fail=
while [ $# -gt 0 ]; do
  case "$1" in
    --output | -o) out=$2; shift ;;
    --proto) proto=$2; shift ;;
    --fail | -f) fail=1 ;;
    https://*) url=$1 ;;
    http://*) echo "curl stub: plain http: $1" >&2; exit 2 ;;
  esac
  shift
done
[ "$proto" = "=https" ] || { echo "curl stub: the recipe must allow https only (--proto '=https')" >&2; exit 2; }
[ -n "$fail" ] || { echo "curl stub: the recipe must --fail on an HTTP error" >&2; exit 2; }
[ -n "$out" ] || { echo "curl stub: no --output" >&2; exit 2; }
case "$url" in
  "$STUB_RELEASES"/*) file="$STUB_SERVES/${url#"$STUB_RELEASES"/}" ;;
  *) echo "curl stub: unexpected URL '$url'" >&2; exit 22 ;;
esac
[ -f "$file" ] || { echo "curl: (22) The requested URL returned error: 404" >&2; exit 22; }
cp "$file" "$out"
echo "$url" >> "$STUB_LOG"
"#;

/// `${{ … }}` in a GitHub recipe's `env:` or `run:`, from the stub's values; an expression the
/// test doesn't know fails it (so a new one in the recipe is looked at here).
fn expand(text: &str, known: &BTreeMap<&str, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("${{") {
        out.push_str(&rest[..at]);
        let end = rest[at..].find("}}").expect("an expression's end") + at;
        let expr = rest[at + 3..end].trim();
        let value = match known.get(expr) {
            Some(v) => v.clone(),
            None if expr.starts_with("secrets.") => String::new(),
            None => panic!("the recipe uses ${{{{ {expr} }}}}, which the stub does not know"),
        };
        out.push_str(&value);
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

fn env_of(node: &Value, known: &BTreeMap<&str, String>) -> BTreeMap<String, String> {
    node.get("env")
        .or_else(|| node.get("variables"))
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), expand(&v, known))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// What a job printed, and whether it got through every step.
struct JobRun {
    ok: bool,
    log: String,
}

/// Runs every `run:` step of `job` in the GitHub recipe as the runner would (`bash -e`, the
/// workflow's, job's and step's `env:`, `GITHUB_PATH` added to `PATH` for the steps after),
/// for `event` (`push` or `pull_request`). `overrides` stand in for the user's edits of the
/// recipe's env (the pinned SHA256SUMS) and for the repository's variables.
fn run_github_job(
    ci: &Ci,
    job: &str,
    event: &str,
    overrides: &[(&str, &str)],
    trust_root: Option<&str>,
) -> JobRun {
    let workflow = github();
    let spec = &workflow["jobs"][job];
    let condition = spec["if"].as_str().unwrap_or("");
    let runs = match condition {
        "github.event_name == 'pull_request'" => event == "pull_request",
        "github.event_name != 'pull_request'" => event != "pull_request",
        other => panic!("job {job}: a condition the stub can't judge: {other}"),
    };
    assert!(runs, "job {job} does not run on {event}");
    let known: BTreeMap<&str, String> = BTreeMap::from([
        (
            "vars.IMPRIMATUR_TRUST_ROOT",
            trust_root.unwrap_or("").to_string(),
        ),
        ("github.run_id", "1".to_string()),
        // The repository's secret, as README says to add it (an unset one expands to "",
        // which imprimatur refuses as a cache key).
        ("secrets.IMPRIMATUR_CACHE_KEY", "ab".repeat(32)),
    ]);
    let mut env = env_of(&workflow, &known);
    env.extend(env_of(spec, &known));
    for (k, v) in overrides {
        env.insert(k.to_string(), v.to_string());
    }
    let releases = env["IMPRIMATUR_RELEASES"].clone();
    let mut base = ci.base_env(&releases);
    let (github_path, github_output) = (ci.path("github-path"), ci.path("github-output"));
    for file in [&github_path, &github_output] {
        std::fs::write(file, "").unwrap();
    }
    let pr = event == "pull_request";
    base.extend([
        ("GITHUB_ACTIONS".into(), "true".into()),
        ("GITHUB_EVENT_NAME".into(), event.into()),
        ("GITHUB_REPOSITORY".into(), "docs-team/help-center".into()),
        (
            "GITHUB_REF".into(),
            if pr {
                "refs/pull/7/merge"
            } else {
                "refs/heads/main"
            }
            .into(),
        ),
        (
            "GITHUB_BASE_REF".into(),
            if pr { "main" } else { "" }.into(),
        ),
        (
            "GITHUB_HEAD_REF".into(),
            if pr { "fix-typo" } else { "" }.into(),
        ),
        ("GITHUB_WORKSPACE".into(), ci.site().display().to_string()),
        ("GITHUB_PATH".into(), github_path.display().to_string()),
        ("GITHUB_OUTPUT".into(), github_output.display().to_string()),
        ("RUNNER_OS".into(), "Linux".into()),
        (
            "RUNNER_TEMP".into(),
            ci.path("runner-temp").display().to_string(),
        ),
    ]);
    let mut log = String::new();
    for (n, step) in spec["steps"].as_array().unwrap().iter().enumerate() {
        let Some(script) = step["run"].as_str() else {
            // `uses:` — an action, not shell (see the module's comment).
            assert!(
                step["uses"].is_string(),
                "step {n} of {job}: neither run nor uses"
            );
            continue;
        };
        if let Some(cond) = step["if"].as_str() {
            assert_eq!(
                cond, "always()",
                "step {n} of {job}: a condition the stub can't judge"
            );
        }
        let mut vars = base.clone();
        vars.extend(env.clone());
        vars.extend(env_of(step, &known));
        let added = std::fs::read_to_string(&github_path).unwrap();
        let mut path: Vec<&str> = added.lines().filter(|l| !l.is_empty()).collect();
        path.reverse();
        path.push(&base["PATH"]);
        vars.insert("PATH".into(), path.join(":"));
        let file = ci.path(&format!("step-{job}-{n}.sh"));
        std::fs::write(&file, expand(script, &known)).unwrap();
        let out = Command::new("bash")
            .args(["--noprofile", "--norc", "-e"])
            .arg(&file)
            .current_dir(ci.site())
            .env_clear()
            .envs(&vars)
            .output()
            .unwrap();
        let name = step["name"].as_str().unwrap_or("run");
        log.push_str(&format!(
            "== {name}\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
        if !out.status.success() {
            return JobRun { ok: false, log };
        }
    }
    JobRun { ok: true, log }
}

/// Runs the `script:` of `job` in the GitLab recipe in one `bash -e -o pipefail` (as the
/// runner does: one shell per job, so an `export` carries to the lines after it).
fn run_gitlab_job(
    ci: &Ci,
    job: &str,
    source: &str,
    overrides: &[(&str, &str)],
    trust_root: Option<&str>,
) -> JobRun {
    let pipeline = gitlab();
    let spec = &pipeline[job];
    let none = BTreeMap::new();
    let mut env = env_of(&pipeline, &none);
    env.extend(env_of(spec, &none));
    for (k, v) in overrides {
        env.insert(k.to_string(), v.to_string());
    }
    let releases = env["IMPRIMATUR_RELEASES"].clone();
    let mut vars = ci.base_env(&releases);
    let mr = source == "merge_request_event";
    vars.extend([
        ("GITLAB_CI".into(), "true".into()),
        ("CI_PIPELINE_SOURCE".into(), source.into()),
        ("CI_DEFAULT_BRANCH".into(), "main".into()),
        ("CI_PROJECT_DIR".into(), ci.site().display().to_string()),
    ]);
    match mr {
        true => vars.insert("CI_MERGE_REQUEST_TARGET_BRANCH_NAME".into(), "main".into()),
        false => vars.insert("CI_COMMIT_BRANCH".into(), "main".into()),
    };
    if let Some(pin) = trust_root {
        vars.insert("IMPRIMATUR_TRUST_ROOT".into(), pin.into());
    }
    vars.extend(env);
    let mut lines = Vec::new();
    flatten(&spec["script"], &mut lines);
    let file = ci.path(&format!("job-{job}.sh"));
    std::fs::write(&file, lines.join("\n")).unwrap();
    let out = Command::new("bash")
        .args(["--noprofile", "--norc", "-e", "-o", "pipefail"])
        .arg(&file)
        .current_dir(ci.site())
        .env_clear()
        .envs(&vars)
        .output()
        .unwrap();
    JobRun {
        ok: out.status.success(),
        log: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// GitLab flattens a script's nested lists (a `*anchor` of lines inside `script:`).
fn flatten(node: &Value, out: &mut Vec<String>) {
    match node {
        Value::Array(items) => items.iter().for_each(|i| flatten(i, out)),
        Value::String(s) => out.push(s.clone()),
        other => panic!("a script line that is not a string: {other}"),
    }
}

fn version_in(recipe: &Value, key: &str) -> String {
    recipe[key]["IMPRIMATUR_VERSION"]
        .as_str()
        .expect("the recipe pins IMPRIMATUR_VERSION")
        .to_string()
}

#[test]
fn the_github_recipe_installs_the_checked_release_builds_the_pinned_site_and_notifies() {
    if needs(Tool::Git).is_none() {
        return;
    }
    let version = version_in(&github(), "env");
    let ci = Ci::new(&version);
    let sums = ci.sums_hash.clone();
    let job = run_github_job(
        &ci,
        "build",
        "push",
        &[("IMPRIMATUR_SHA256SUMS", &sums)],
        Some(&ci.pin),
    );
    assert!(job.ok, "{}", job.log);
    assert!(job.log.contains("SHA256SUMS: OK"), "{}", job.log);
    assert!(job.log.contains(".tar.gz: OK"), "{}", job.log);
    assert!(job.log.contains("published 2 page(s)"), "{}", job.log);
    assert!(!job.log.contains("not pinned"), "{}", job.log);
    assert!(job.log.contains("0 sent, 0 failed"), "{}", job.log);
    assert!(ci.site().join("output/index.html").is_file());
    let outputs = std::fs::read_to_string(ci.path("github-output")).unwrap();
    assert_eq!(outputs, "findings=false\n", "the findings job stays off");
    assert_eq!(ci.downloads().lines().count(), 2, "{}", ci.downloads());
}

#[test]
fn the_github_recipe_checks_pull_requests_against_their_base_with_verify_since() {
    if needs(Tool::Git).is_none() {
        return;
    }
    let version = version_in(&github(), "env");
    let ci = Ci::new(&version);
    let sums = ci.sums_hash.clone();
    let pr = |ci: &Ci| {
        run_github_job(
            ci,
            "records",
            "pull_request",
            &[("IMPRIMATUR_SHA256SUMS", &sums)],
            Some(&ci.pin),
        )
    };
    let clean = pr(&ci);
    assert!(clean.ok, "{}", clean.log);
    assert!(clean.log.contains("0 invalid record(s)"), "{}", clean.log);

    // The same job on a branch that deletes a signed record fails, naming it.
    let site = ci.site();
    git(&site, &["switch", "--quiet", "-c", "fix-typo"]);
    let records = site.join("approvals/records/docs/writing-a-page");
    let record = std::fs::read_dir(&records)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::remove_file(&record).unwrap();
    git(&site, &["commit", "--quiet", "-am", "tidy"]);
    let deleted = pr(&ci);
    assert!(!deleted.ok, "{}", deleted.log);
    assert!(deleted.log.contains("record_removed"), "{}", deleted.log);
}

#[test]
fn a_wrong_checksum_a_tampered_archive_or_no_pin_stop_the_install_before_anything_runs() {
    if needs(Tool::Git).is_none() {
        return;
    }
    let version = version_in(&github(), "env");
    let ci = Ci::new(&version);
    let sums = ci.sums_hash.clone();
    let wrong = sha256_hex(b"not the release");
    let build = |ci: &Ci, sums: &str| {
        run_github_job(
            ci,
            "build",
            "push",
            &[("IMPRIMATUR_SHA256SUMS", sums)],
            Some(&ci.pin),
        )
    };

    // As README prints it, before the user pins the release: the step says what to set.
    let as_written = run_github_job(&ci, "build", "push", &[], Some(&ci.pin));
    assert!(!as_written.ok);
    assert!(
        as_written.log.contains("set IMPRIMATUR_SHA256SUMS"),
        "{}",
        as_written.log
    );

    let mismatch = build(&ci, &wrong);
    assert!(!mismatch.ok, "{}", mismatch.log);
    assert!(
        mismatch.log.contains("SHA256SUMS: FAILED"),
        "{}",
        mismatch.log
    );
    assert!(!ci.site().join("output").exists(), "nothing was built");

    ci.tamper_with_the_archive(&version);
    let tampered = build(&ci, &sums);
    assert!(!tampered.ok, "{}", tampered.log);
    assert!(tampered.log.contains("SHA256SUMS: OK"), "{}", tampered.log);
    assert!(tampered.log.contains(".tar.gz: FAILED"), "{}", tampered.log);
    assert!(!ci.site().join("output").exists(), "nothing was built");
}

#[test]
fn without_the_trust_root_variable_the_github_build_stops_instead_of_building_unpinned() {
    if needs(Tool::Git).is_none() {
        return;
    }
    let version = version_in(&github(), "env");
    let ci = Ci::new(&version);
    let sums = ci.sums_hash.clone();
    let unset = run_github_job(
        &ci,
        "build",
        "push",
        &[("IMPRIMATUR_SHA256SUMS", &sums)],
        None,
    );
    assert!(!unset.ok, "{}", unset.log);
    assert!(unset.log.contains("--trust-root"), "{}", unset.log);
    assert!(!ci.site().join("output").exists());
    let other = format!("sha256:{}", sha256_hex(b"another root"));
    let wrong = run_github_job(
        &ci,
        "build",
        "push",
        &[("IMPRIMATUR_SHA256SUMS", &sums)],
        Some(&other),
    );
    assert!(!wrong.ok, "{}", wrong.log);
    assert!(wrong.log.contains("names no root file"), "{}", wrong.log);
}

#[test]
fn the_gitlab_recipe_installs_builds_notifies_deploys_and_checks_merge_requests() {
    if needs(Tool::Git).is_none() {
        return;
    }
    let version = version_in(&gitlab(), "variables");
    let ci = Ci::new(&version);
    let sums = ci.sums_hash.clone();
    let pinned = [("IMPRIMATUR_SHA256SUMS", sums.as_str())];

    let build = run_gitlab_job(&ci, "help-center", "schedule", &pinned, Some(&ci.pin));
    assert!(build.ok, "{}", build.log);
    assert!(build.log.contains("SHA256SUMS: OK"), "{}", build.log);
    assert!(build.log.contains("published 2 page(s)"), "{}", build.log);
    assert!(!build.log.contains("not pinned"), "{}", build.log);
    assert!(build.log.contains("0 sent, 0 failed"), "{}", build.log);
    let pages = run_gitlab_job(&ci, "pages", "schedule", &pinned, Some(&ci.pin));
    assert!(pages.ok, "{}", pages.log);
    assert!(ci.site().join("public/index.html").is_file());

    let records = run_gitlab_job(
        &ci,
        "records",
        "merge_request_event",
        &pinned,
        Some(&ci.pin),
    );
    assert!(records.ok, "{}", records.log);
    assert!(
        records.log.contains("0 invalid record(s)"),
        "{}",
        records.log
    );

    let wrong = sha256_hex(b"not the release");
    let refused = run_gitlab_job(
        &ci,
        "records",
        "merge_request_event",
        &[("IMPRIMATUR_SHA256SUMS", &wrong)],
        Some(&ci.pin),
    );
    assert!(!refused.ok, "{}", refused.log);
    assert!(
        refused.log.contains("SHA256SUMS: FAILED"),
        "{}",
        refused.log
    );
    assert!(!refused.log.contains("verified"), "{}", refused.log);
}

#[test]
fn the_release_workflow_builds_every_platform_and_publishes_checksums() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(".github/workflows/release.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    let workflow: Value = serde_saphyr::from_str(&text).expect("release.yml is YAML");
    assert_eq!(workflow["on"]["push"]["tags"], serde_json::json!(["v*"]));
    let targets: Vec<&str> = workflow["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["target"].as_str().unwrap())
        .collect();
    assert_eq!(
        targets,
        [
            "x86_64-unknown-linux-musl",
            "aarch64-unknown-linux-musl",
            "x86_64-apple-darwin",
            "aarch64-apple-darwin"
        ]
    );
    // The archive names the recipes download, their checksums, and SHA256SUMS attached.
    assert!(text.contains(r#"name="imprimatur-$TAG-$TARGET""#));
    assert!(text.contains(r#"sha256sum "$name.tar.gz" > "$name.tar.gz.sha256""#));
    assert!(text.contains(r#"shasum -a 256 "$name.tar.gz" > "$name.tar.gz.sha256""#));
    assert!(text.contains("*.tar.gz *.tar.gz.sha256 SHA256SUMS"));
    // The recipes install the archive this workflow names, for the same Linux targets.
    for recipe in [github().to_string(), gitlab().to_string()] {
        assert!(recipe.contains("imprimatur-$IMPRIMATUR_VERSION-$target.tar.gz"));
        assert!(recipe.contains("x86_64-unknown-linux-musl"));
        assert!(recipe.contains("aarch64-unknown-linux-musl"));
    }
}
