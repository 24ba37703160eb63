//! Landing against real git: a local bare repository is the remote, clones of it are the
//! review servers (and the human who pushes by hand). Without git these tests return after one
//! line on stderr, unless `IMPRIMATUR_REQUIRE_TOOLS=1` (CI), where they fail.

use super::*;
use std::sync::{Arc, Barrier};

/// Whether git is here; a test without it is skipped (or fails under CI's variable).
fn have_git() -> bool {
    let found = Command::new("git")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        if std::env::var_os("IMPRIMATUR_REQUIRE_TOOLS").is_some_and(|v| v == "1") {
            panic!("IMPRIMATUR_REQUIRE_TOOLS=1 and this test needs git (apt-get install git)");
        }
        eprintln!("skipped: needs git (apt-get install git)");
    }
    found
}

/// Git as a person at a terminal would run it in setup, with an identity of its own.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = git_command(dir)
        .args([
            "-c",
            "user.name=Hand",
            "-c",
            "user.email=hand@example.com",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", said(&out));
    String::from_utf8(out.stdout).unwrap()
}

/// A bare remote holding one commit on `main`, and a way to clone it.
struct Remote {
    dir: tempfile::TempDir,
}

impl Remote {
    fn new() -> Remote {
        let dir = tempfile::tempdir().unwrap();
        let bare = dir.path().join("remote.git");
        std::fs::create_dir(&bare).unwrap();
        git(&bare, &["init", "--quiet", "--bare", "-b", "main"]);
        let remote = Remote { dir };
        let seed = remote.clone_as("seed");
        std::fs::write(seed.join("imprimatur.yaml"), "title: T\n").unwrap();
        git(&seed, &["add", "imprimatur.yaml"]);
        git(&seed, &["commit", "--quiet", "-m", "site"]);
        git(&seed, &["push", "--quiet", "origin", "main"]);
        remote
    }

    fn bare(&self) -> PathBuf {
        self.dir.path().join("remote.git")
    }

    fn clone_as(&self, name: &str) -> PathBuf {
        let to = self.dir.path().join(name);
        git(
            self.dir.path(),
            &["clone", "--quiet", &self.bare().to_string_lossy(), name],
        );
        to
    }

    /// The files each commit on the remote's `main` touched, newest first, and its committer.
    fn log(&self) -> Vec<(String, Vec<String>)> {
        let text = git(
            &self.bare(),
            &[
                "log",
                "--format=@%an <%ae> / %cn <%ce>",
                "--name-only",
                "main",
            ],
        );
        let mut commits: Vec<(String, Vec<String>)> = Vec::new();
        for line in text.lines().filter(|l| !l.is_empty()) {
            match line.strip_prefix('@') {
                Some(who) => commits.push((who.to_string(), Vec::new())),
                None => commits.last_mut().unwrap().1.push(line.to_string()),
            }
        }
        commits
    }

    fn files(&self) -> Vec<String> {
        let mut all: Vec<String> = self.log().into_iter().flat_map(|(_, f)| f).collect();
        all.sort();
        all
    }
}

fn settings(remote: Option<&str>) -> GitSettings {
    GitSettings {
        remote: remote.map(str::to_string),
        branch: "main".into(),
        author_name: "Review server".into(),
        author_email: "review@example.com".into(),
    }
}

/// Writes a record file under the clone, as the server does before it lands it.
fn record(clone: &Path, name: &str) -> PathBuf {
    let dir = clone.join("approvals/records");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, format!("record: {name}\n")).unwrap();
    path
}

#[test]
fn one_record_lands_in_the_remote_alone_under_the_servers_identity() {
    if !have_git() {
        return;
    }
    let remote = Remote::new();
    let server = remote.clone_as("server");
    // A human's work in the same checkout: an untracked file and a staged edit stay out.
    std::fs::write(server.join("notes.txt"), "mine\n").unwrap();
    std::fs::write(server.join("imprimatur.yaml"), "title: Edited\n").unwrap();
    git(&server, &["add", "imprimatur.yaml"]);
    let landing = Landing::open(&server, settings(Some("origin"))).unwrap();
    let path = record(&server, "a.yaml");

    let landed = landing.land(&[path], "approve kb/install").unwrap();

    assert!(landed.pushed);
    assert_eq!(landed.attempts, 1);
    let log = remote.log();
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(
        log[0],
        (
            "Review server <review@example.com> / Review server <review@example.com>".into(),
            vec!["approvals/records/a.yaml".to_string()]
        )
    );
    assert_eq!(
        git(&remote.bare(), &["rev-parse", "main"]).trim(),
        landed.commit
    );
    let status = git(&server, &["status", "--porcelain"]);
    assert!(status.contains("M  imprimatur.yaml"), "{status}");
    assert!(status.contains("?? notes.txt"), "{status}");
    // Landing the same file again has nothing to commit, and says so.
    let again = landing.land(&[server.join("approvals/records/a.yaml")], "again");
    assert!(
        matches!(again, Err(GitError::NothingToCommit { .. })),
        "{again:?}"
    );
}

#[test]
fn without_a_remote_a_record_is_committed_and_not_pushed() {
    if !have_git() {
        return;
    }
    let remote = Remote::new();
    let server = remote.clone_as("server");
    let landing = Landing::open(&server, settings(None)).unwrap();
    let landed = landing
        .land(&[record(&server, "a.yaml")], "approve")
        .unwrap();
    assert!(!landed.pushed);
    assert_eq!(landed.attempts, 0);
    assert_eq!(git(&server, &["rev-parse", "HEAD"]).trim(), landed.commit);
    assert_eq!(remote.log().len(), 1, "the remote is untouched");
}

#[test]
fn two_decisions_at_once_on_one_server_both_land() {
    if !have_git() {
        return;
    }
    let remote = Remote::new();
    let server = remote.clone_as("server");
    let landing = Arc::new(Landing::open(&server, settings(Some("origin"))).unwrap());
    let start = Arc::new(Barrier::new(2));
    let threads: Vec<_> = ["a.yaml", "b.yaml"]
        .into_iter()
        .map(|name| {
            let (landing, start, server) = (landing.clone(), start.clone(), server.clone());
            std::thread::spawn(move || {
                let path = record(&server, name);
                start.wait();
                landing.land(&[path], name).unwrap()
            })
        })
        .collect();
    for t in threads {
        assert!(t.join().unwrap().pushed);
    }
    assert_eq!(
        remote.files(),
        [
            "approvals/records/a.yaml",
            "approvals/records/b.yaml",
            "imprimatur.yaml"
        ]
    );
    assert_eq!(remote.log().len(), 3, "one commit per record");
}

#[test]
fn a_push_that_lost_the_race_is_rebased_and_pushed_again() {
    if !have_git() {
        return;
    }
    let remote = Remote::new();
    let one = remote.clone_as("one");
    let two = remote.clone_as("two");
    let first = Landing::open(&one, settings(Some("origin"))).unwrap();
    let second = Landing::open(&two, settings(Some("origin"))).unwrap();
    assert!(first.land(&[record(&one, "a.yaml")], "a").unwrap().pushed);
    // The second server never pulled: its first push is rejected, its second lands.
    let landed = second.land(&[record(&two, "b.yaml")], "b").unwrap();
    assert_eq!(landed.attempts, 2, "{landed:?}");
    assert_eq!(
        git(&remote.bare(), &["rev-parse", "main"]).trim(),
        landed.commit
    );
    assert_eq!(
        remote.files(),
        [
            "approvals/records/a.yaml",
            "approvals/records/b.yaml",
            "imprimatur.yaml"
        ]
    );
}

#[test]
fn two_servers_landing_at_once_both_land_every_record() {
    if !have_git() {
        return;
    }
    let remote = Remote::new();
    let start = Arc::new(Barrier::new(2));
    let threads: Vec<_> = ["one", "two"]
        .into_iter()
        .map(|name| {
            let clone = remote.clone_as(name);
            let start = start.clone();
            std::thread::spawn(move || {
                let landing = Landing::open(&clone, settings(Some("origin"))).unwrap();
                start.wait();
                (0..3)
                    .map(|i| {
                        let file = format!("{name}-{i}.yaml");
                        landing.land(&[record(&clone, &file)], &file).unwrap()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for t in threads {
        assert!(t.join().unwrap().iter().all(|l| l.pushed));
    }
    let files = remote.files();
    for name in ["one", "two"] {
        for i in 0..3 {
            let want = format!("approvals/records/{name}-{i}.yaml");
            assert!(files.contains(&want), "{want} missing from {files:?}");
        }
    }
    assert_eq!(remote.log().len(), 7);
}

#[test]
fn pull_brings_in_a_push_by_someone_else_and_keeps_uncommitted_work() {
    if !have_git() {
        return;
    }
    let remote = Remote::new();
    let server = remote.clone_as("server");
    let landing = Landing::open(&server, settings(Some("origin"))).unwrap();
    assert!(!landing.pull().unwrap().changed(), "nothing new yet");

    let human = remote.clone_as("human");
    std::fs::write(human.join("page.md"), "# Page\n").unwrap();
    git(&human, &["add", "page.md"]);
    git(&human, &["commit", "--quiet", "-m", "a page"]);
    git(&human, &["push", "--quiet", "origin", "main"]);
    // On the server: a record written but not landed, and an edit to a tracked file.
    let pending = record(&server, "pending.yaml");
    std::fs::write(server.join("imprimatur.yaml"), "title: Local\n").unwrap();

    let pulled = landing.pull().unwrap();

    assert!(pulled.changed());
    assert_eq!(pulled.after, git(&human, &["rev-parse", "HEAD"]).trim());
    assert_eq!(
        std::fs::read_to_string(server.join("page.md")).unwrap(),
        "# Page\n"
    );
    assert!(pending.is_file(), "the unlanded record is still there");
    assert_eq!(
        std::fs::read_to_string(server.join("imprimatur.yaml")).unwrap(),
        "title: Local\n"
    );
}

#[test]
fn a_remote_that_refuses_the_push_leaves_the_record_committed_and_says_what_to_do() {
    if !have_git() {
        return;
    }
    let remote = Remote::new();
    let hook = remote.bare().join("hooks/pre-receive");
    std::fs::write(&hook, "#!/bin/sh\necho 'protected branch' >&2\nexit 1\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    let server = remote.clone_as("server");
    let landing = Landing::open(&server, settings(Some("origin"))).unwrap();

    let e = landing
        .land(&[record(&server, "a.yaml")], "approve")
        .unwrap_err();

    let GitError::NotPushed { commit, .. } = &e else {
        panic!("{e:?}");
    };
    assert_eq!(git(&server, &["rev-parse", "HEAD"]).trim(), commit);
    let text = e.to_string();
    assert!(text.contains("committed locally"), "{text}");
    assert!(text.contains("pre-receive hook declined"), "{text}");
    assert!(text.contains("git -C"), "{text}");
    assert_eq!(remote.log().len(), 1);
}

#[test]
fn a_missing_remote_a_folder_outside_git_and_another_branch_are_clear_errors() {
    if !have_git() {
        return;
    }
    let remote = Remote::new();
    let server = remote.clone_as("server");
    // The same checkout opens with the right settings: the refusals below are about them.
    assert!(Landing::open(&server, settings(Some("origin"))).is_ok());

    let e = Landing::open(&server, settings(Some("upstream"))).unwrap_err();
    assert!(matches!(e, GitError::RemoteUnreachable { .. }), "{e:?}");
    assert!(e.to_string().contains("'upstream'"), "{e}");

    let plain = tempfile::tempdir().unwrap();
    let e = Landing::open(plain.path(), settings(None)).unwrap_err();
    assert!(matches!(e, GitError::NotARepository { .. }), "{e:?}");
    assert!(e.to_string().contains("not inside a git work tree"), "{e}");

    let mut other = settings(None);
    other.branch = "review".into();
    let e = Landing::open(&server, other).unwrap_err();
    assert!(e.to_string().contains("on branch 'main'"), "{e}");
    assert!(e.to_string().contains("switch review"), "{e}");

    let mut bad = settings(None);
    bad.branch = "--force".into();
    let e = Landing::open(&server, bad).unwrap_err();
    assert_eq!(e.to_string(), "review.branch: a branch name, such as main");

    let landing = Landing::open(&server, settings(None)).unwrap();
    let e = landing
        .land(&[plain.path().join("x.yaml")], "x")
        .unwrap_err();
    assert!(matches!(e, GitError::OutsideWorkTree { .. }), "{e:?}");
}

#[test]
fn a_rebase_that_conflicts_is_aborted_and_the_record_stays_committed() {
    if !have_git() {
        return;
    }
    let remote = Remote::new();
    let server = remote.clone_as("server");
    let human = remote.clone_as("human");
    // Someone edits the config on the remote; the server's checkout holds another edit of
    // the same line, committed by hand and never pushed.
    std::fs::write(human.join("imprimatur.yaml"), "title: Theirs\n").unwrap();
    git(&human, &["commit", "--quiet", "-am", "theirs"]);
    git(&human, &["push", "--quiet", "origin", "main"]);
    std::fs::write(server.join("imprimatur.yaml"), "title: Ours\n").unwrap();
    git(&server, &["commit", "--quiet", "-am", "ours"]);
    let landing = Landing::open(&server, settings(Some("origin"))).unwrap();

    let e = landing
        .land(&[record(&server, "a.yaml")], "approve")
        .unwrap_err();

    let GitError::NotPushed { commit, why, .. } = &e else {
        panic!("{e:?}");
    };
    assert!(
        why.contains("CONFLICT") || why.contains("could not apply"),
        "{why}"
    );
    assert_eq!(git(&server, &["rev-parse", "HEAD"]).trim(), commit);
    assert!(
        !server.join(".git/rebase-merge").exists() && !server.join(".git/rebase-apply").exists(),
        "the rebase was aborted"
    );
    assert_eq!(
        std::fs::read_to_string(server.join("imprimatur.yaml")).unwrap(),
        "title: Ours\n"
    );
    let pulled = landing.pull().unwrap_err();
    assert!(matches!(pulled, GitError::Pull { .. }), "{pulled:?}");
    assert!(pulled.to_string().contains("'origin'"), "{pulled}");
}

#[test]
fn git_runs_without_the_callers_repository_identity_prompt_or_pager() {
    let cmd = git_command(Path::new("/srv/site"));
    let envs: Vec<(String, Option<String>)> = cmd
        .get_envs()
        .map(|(k, v)| {
            let v = v.map(|v| v.to_string_lossy().into_owned());
            (k.to_string_lossy().into_owned(), v)
        })
        .collect();
    let get = |name: &str| envs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    for removed in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_AUTHOR_NAME",
    ] {
        assert_eq!(get(removed), Some(None), "{removed} is not inherited");
    }
    assert_eq!(get("GIT_TERMINAL_PROMPT"), Some(Some("0".into())));
    assert_eq!(get("GIT_PAGER"), Some(Some("cat".into())));
    assert_eq!(get("LC_ALL"), Some(Some("C".into())));
    let args: Vec<_> = cmd
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    assert_eq!(args, ["--no-pager", "-C", "/srv/site"]);
}

/// The server's share of click-to-pushed-commit: 20 records landed one after another into a
/// local bare remote, each commit and push timed (`Landed::took`). Run by hand:
/// `cargo test --release --lib workflow::git::tests::land_timing -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, run by hand"]
fn land_timing() {
    if !have_git() {
        return;
    }
    let remote = Remote::new();
    let server = remote.clone_as("server");
    let landing = Landing::open(&server, settings(Some("origin"))).unwrap();
    let mut took: Vec<Duration> = (0..20)
        .map(|i| {
            let name = format!("{i:02}.yaml");
            let landed = landing.land(&[record(&server, &name)], &name).unwrap();
            assert!(landed.pushed);
            landed.took
        })
        .collect();
    let each: Vec<String> = took.iter().map(|t| format!("{}", t.as_millis())).collect();
    took.sort();
    eprintln!(
        "land (commit + push to a local bare remote), ms: {}; median {:.1} ms",
        each.join(" "),
        (took[9] + took[10]).as_secs_f64() * 500.0
    );
}
