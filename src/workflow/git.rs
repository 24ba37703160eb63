//! Landing records in git, for the team review server (issue 35): every decision it writes is
//! committed — and pushed, when a remote is set — with the `git` binary, one commit at a time,
//! and a push that lost a race with another server or a human is rebased and pushed again. The
//! server pulls before it judges, so what it shows is what the branch holds. Git runs with a
//! clean environment (no prompt, no pager, no editor, C locale, none of the caller's
//! `GIT_DIR`/`GIT_WORK_TREE`/identity variables), so what happens does not depend on the shell
//! the server was started from.
//!
//! Every call blocks on a child process: an async caller runs it on a blocking thread.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many times `land` pushes before it gives up (each retry after a rebase onto the remote).
pub(crate) const PUSH_ATTEMPTS: u32 = 5;

/// Where and as whom the review server commits (the `review:` section of `imprimatur.yaml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GitSettings {
    /// A remote's name (`origin`) or URL; `None` commits locally and never pushes.
    pub remote: Option<String>,
    /// The branch the server's checkout is on and pushes to.
    pub branch: String,
    /// The committer and author of every record's commit (the signature inside the record
    /// says who decided; this says which server wrote it down).
    pub author_name: String,
    pub author_email: String,
}

/// What went wrong talking to git. Each message names the checkout or remote and says what to
/// do; `stderr` is what git itself said.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum GitError {
    #[error("git is not installed or not on PATH ({why}): install it (apt-get install git, brew install git, or https://git-scm.com/downloads) and start the server again")]
    NotInstalled { why: String },
    #[error("{}: not inside a git work tree ({stderr}): the review server commits each decision, so the site must be a clone of the docs repository (git clone URL, or git init there)", root.display())]
    NotARepository { root: PathBuf, stderr: String },
    #[error("{}: the checkout is on {found}, but review.branch is '{branch}': run `git -C {} switch {branch}`, or set review.branch to the branch this checkout is on", root.display(), root.display())]
    WrongBranch {
        root: PathBuf,
        branch: String,
        found: String,
    },
    #[error("review.{field}: {why}")]
    Setting { field: &'static str, why: String },
    #[error("git remote '{remote}' can't be reached ({stderr}): check review.remote (a remote's name in `git remote -v`, or a URL) and that this server may read it")]
    RemoteUnreachable { remote: String, stderr: String },
    #[error("{}: git pull from '{remote}' failed ({stderr}); nothing local was discarded: resolve it by hand in that checkout (git status), then restart the server", root.display())]
    Pull {
        root: PathBuf,
        remote: String,
        stderr: String,
    },
    #[error("{path}: not a file inside the site's git work tree {}: a record is written beneath the site before it is landed", root.display())]
    OutsideWorkTree { root: PathBuf, path: String },
    #[error("{}: nothing to land: {paths} did not change (already committed?)", root.display())]
    NothingToCommit { root: PathBuf, paths: String },
    #[error("{}: git {step} failed ({stderr}): the record is written on disk but not committed; commit it by hand (git add, git commit) or decide again", root.display())]
    Commit {
        root: PathBuf,
        step: &'static str,
        stderr: String,
    },
    #[error("{}: the record is committed locally as {commit} but was not pushed to '{remote}' ({why}). It goes out with the next decision's push once the branch takes it, or push by hand: git -C {} pull --rebase {remote} {branch} && git -C {} push {remote} HEAD:{branch}", root.display(), root.display(), root.display())]
    NotPushed {
        root: PathBuf,
        commit: String,
        remote: String,
        branch: String,
        why: String,
    },
}

impl From<GitError> for crate::error::Error {
    fn from(e: GitError) -> crate::error::Error {
        crate::error::Error::Refused(e.to_string())
    }
}

pub(crate) type Result<T> = std::result::Result<T, GitError>;

/// What `pull` did: `before == after` when the branch held nothing new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pulled {
    pub before: String,
    pub after: String,
}

impl Pulled {
    pub(crate) fn changed(&self) -> bool {
        self.before != self.after
    }
}

/// One landed record: its commit, whether the remote has it, how many pushes it took, and the
/// time it spent waiting behind other decisions and then committing and pushing (what the
/// click-to-pushed-commit bench splits the server's share into).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Landed {
    pub commit: String,
    pub pushed: bool,
    pub attempts: u32,
    pub waited: Duration,
    pub took: Duration,
}

/// A site's git checkout, opened once by the server; `pull` and `land` take turns through the
/// lock inside, so concurrent decisions commit one after another.
#[derive(Debug)]
pub(crate) struct Landing {
    /// The work tree's top (`git rev-parse --show-toplevel`): git runs here.
    top: PathBuf,
    settings: GitSettings,
    turn: Mutex<()>,
}

impl Landing {
    /// Checks that git is installed, that `site_root` is inside a work tree whose checked-out
    /// branch is `settings.branch`, and that the remote (when set) answers.
    pub(crate) fn open(site_root: &Path, settings: GitSettings) -> Result<Landing> {
        check_settings(&settings)?;
        let version = git_command(site_root)
            .arg("--version")
            .output()
            .map_err(|e| GitError::NotInstalled { why: e.to_string() })?;
        if !version.status.success() {
            return Err(GitError::NotInstalled {
                why: said(&version),
            });
        }
        let top = work_tree_top(site_root)?;
        let found = branch_at(&top);
        if found.as_deref() != Some(settings.branch.as_str()) {
            let found = match found {
                None => "a detached HEAD".to_string(),
                Some(found) => format!("branch '{found}'"),
            };
            return Err(GitError::WrongBranch {
                root: top,
                branch: settings.branch.clone(),
                found,
            });
        }
        if let Some(remote) = &settings.remote {
            run(&top, &["ls-remote", "--heads", "--", remote]).map_err(|stderr| {
                GitError::RemoteUnreachable {
                    remote: remote.clone(),
                    stderr,
                }
            })?;
        }
        Ok(Landing {
            top,
            settings,
            turn: Mutex::new(()),
        })
    }

    /// Brings the branch up to the remote's: fetch, then rebase what is only local (records
    /// committed but not yet pushed) on top, stashing and restoring uncommitted changes. Without
    /// a remote, or while the remote has no such branch yet, nothing changes.
    pub(crate) fn pull(&self) -> Result<Pulled> {
        let _turn = self.turn.lock().unwrap_or_else(|e| e.into_inner());
        self.pull_in_turn()
    }

    /// Commits exactly `paths` (files beneath the work tree, usually one new record and the
    /// blob it is about) with `message`, as the configured identity, and pushes the branch.
    pub(crate) fn land(&self, paths: &[PathBuf], message: &str) -> Result<Landed> {
        let asked = Instant::now();
        let _turn = self.turn.lock().unwrap_or_else(|e| e.into_inner());
        let waited = asked.elapsed();
        let started = Instant::now();
        let relative = self.relative(paths)?;
        let commit = self.commit(&relative, message)?;
        let Some(remote) = &self.settings.remote else {
            return Ok(Landed {
                commit,
                pushed: false,
                attempts: 0,
                waited,
                took: started.elapsed(),
            });
        };
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self.push(remote) {
                Ok(()) => break,
                Err(Push::Raced(why)) if attempts >= PUSH_ATTEMPTS => {
                    return Err(self.not_pushed(
                        &commit,
                        format!("rejected {attempts} times, the branch kept moving: {why}"),
                    ));
                }
                Err(Push::Raced(_)) => {
                    if let Err(e) = self.pull_in_turn() {
                        return Err(self.not_pushed(&commit, e.to_string()));
                    }
                }
                Err(Push::Failed(why)) => return Err(self.not_pushed(&commit, why)),
            }
        }
        // A rebase gave the record's commit a new id: report the one the remote has.
        let commit = self.head().unwrap_or(commit);
        Ok(Landed {
            commit,
            pushed: true,
            attempts,
            waited,
            took: started.elapsed(),
        })
    }

    fn pull_in_turn(&self) -> Result<Pulled> {
        let before = self.head().unwrap_or_default();
        let Some(remote) = &self.settings.remote else {
            return Ok(Pulled {
                after: before.clone(),
                before,
            });
        };
        let branch = &self.settings.branch;
        let pull_error = |stderr: String| GitError::Pull {
            root: self.top.clone(),
            remote: remote.clone(),
            stderr,
        };
        let refspec = format!("refs/heads/{branch}");
        if let Err(stderr) = run(&self.top, &["fetch", "--no-tags", "--", remote, &refspec]) {
            // A new, empty remote: the first push creates the branch.
            if stderr.contains("couldn't find remote ref") {
                return Ok(Pulled {
                    after: before.clone(),
                    before,
                });
            }
            return Err(pull_error(stderr));
        }
        let rebased = run(
            &self.top,
            &["rebase", "--autostash", "--no-verify", "FETCH_HEAD"],
        );
        if let Err(stderr) = rebased {
            // Leave the checkout as it was: the records stay committed locally.
            let _ = run(&self.top, &["rebase", "--abort"]);
            return Err(pull_error(stderr));
        }
        Ok(Pulled {
            before,
            after: self.head().unwrap_or_default(),
        })
    }

    /// `paths` relative to the work tree's top, refusing one outside it.
    fn relative(&self, paths: &[PathBuf]) -> Result<Vec<String>> {
        let top = std::fs::canonicalize(&self.top).unwrap_or_else(|_| self.top.clone());
        let outside = |p: &Path| GitError::OutsideWorkTree {
            root: self.top.clone(),
            path: p.display().to_string(),
        };
        if paths.is_empty() {
            return Err(GitError::NothingToCommit {
                root: self.top.clone(),
                paths: "no paths".into(),
            });
        }
        paths
            .iter()
            .map(|p| {
                let absolute = match p.is_absolute() {
                    true => p.clone(),
                    false => self.top.join(p),
                };
                let real = std::fs::canonicalize(&absolute).map_err(|_| outside(p))?;
                let rel = real.strip_prefix(&top).map_err(|_| outside(p))?;
                let rel = rel.to_str().ok_or_else(|| outside(p))?;
                if rel.is_empty() || rel == ".git" || rel.starts_with(".git/") || !real.is_file() {
                    return Err(outside(p));
                }
                Ok(rel.to_string())
            })
            .collect()
    }

    /// `git add` and `git commit` of exactly `paths` (a human's staged changes stay staged and
    /// out of the commit: `commit -- paths` commits only those). Hooks are skipped
    /// (`--no-verify`): the record was verified by the build's own verifier before it was
    /// written, and a hook the operator's checkout happens to carry (a linter, a prompt)
    /// failing would leave a signed decision uncommitted with nobody at a terminal to see why.
    fn commit(&self, paths: &[String], message: &str) -> Result<String> {
        let fail = |step, stderr| GitError::Commit {
            root: self.top.clone(),
            step,
            stderr,
        };
        let mut add = vec!["add", "--"];
        add.extend(paths.iter().map(String::as_str));
        run(&self.top, &add).map_err(|e| fail("add", e))?;
        let mut staged = vec!["diff", "--cached", "--quiet", "--"];
        staged.extend(paths.iter().map(String::as_str));
        if run(&self.top, &staged).is_ok() {
            return Err(GitError::NothingToCommit {
                root: self.top.clone(),
                paths: paths.join(", "),
            });
        }
        let name = format!("user.name={}", self.settings.author_name);
        let email = format!("user.email={}", self.settings.author_email);
        let mut commit = vec![
            "-c",
            &name,
            "-c",
            &email,
            "-c",
            "commit.gpgsign=false",
            "commit",
            "--no-verify",
            "--quiet",
            "--cleanup=verbatim",
            "-m",
            message,
            "--",
        ];
        commit.extend(paths.iter().map(String::as_str));
        run(&self.top, &commit).map_err(|e| fail("commit", e))?;
        self.head().map_err(|e| fail("rev-parse HEAD", e))
    }

    fn push(&self, remote: &str) -> std::result::Result<(), Push> {
        let refspec = format!("HEAD:refs/heads/{}", self.settings.branch);
        let out = git_command(&self.top)
            .args(["push", "--porcelain", "--no-verify", "--", remote, &refspec])
            .output()
            .map_err(|e| Push::Failed(format!("the git command can't be run: {e}")))?;
        if out.status.success() {
            return Ok(());
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let rejected = stdout.lines().find(|l| l.starts_with('!'));
        let why = rejected
            .map(|l| l.split('\t').skip(2).collect::<Vec<_>>().join(" "))
            .filter(|w| !w.is_empty())
            .unwrap_or_else(|| said(&out));
        match rejected.is_some_and(|l| is_race(l) || is_race(&said(&out))) {
            true => Err(Push::Raced(why)),
            false => Err(Push::Failed(why)),
        }
    }

    fn head(&self) -> std::result::Result<String, String> {
        run(&self.top, &["rev-parse", "HEAD"]).map(|s| s.trim().to_string())
    }

    fn not_pushed(&self, commit: &str, why: String) -> GitError {
        GitError::NotPushed {
            root: self.top.clone(),
            commit: commit.to_string(),
            remote: self.settings.remote.clone().unwrap_or_default(),
            branch: self.settings.branch.clone(),
            why,
        }
    }
}

/// A push that failed because the remote branch moved under it (retried after a rebase), or
/// for any other reason (reported at once).
enum Push {
    Raced(String),
    Failed(String),
}

/// Git's words (in the C locale) for "the remote's branch is not what you based this on":
/// rejected as not a fast-forward, or a ref the remote could not update because another push
/// got there first.
fn is_race(said: &str) -> bool {
    [
        "fetch first",
        "non-fast-forward",
        "failed to update ref",
        "cannot lock ref",
        "failed to lock",
        "incorrect old value",
    ]
    .iter()
    .any(|w| said.contains(w))
}

/// The branch checked out at `site_root`: where a team server commits when `review.git.branch`
/// is left out.
pub(crate) fn checked_out_branch(site_root: &Path) -> Result<String> {
    let top = work_tree_top(site_root)?;
    branch_at(&top).ok_or_else(|| GitError::Setting {
        field: "git.branch",
        why: format!(
            "{} is on a detached HEAD: check out the branch decisions go to (git switch main), or name it here",
            top.display()
        ),
    })
}

/// The top folder of the work tree `site_root` is in.
fn work_tree_top(site_root: &Path) -> Result<PathBuf> {
    let top = run(site_root, &["rev-parse", "--show-toplevel"]).map_err(|stderr| {
        GitError::NotARepository {
            root: site_root.to_path_buf(),
            stderr,
        }
    })?;
    Ok(PathBuf::from(top.trim_end_matches(['\n', '\r'])))
}

/// The branch checked out at the work tree `top`; none on a detached HEAD.
fn branch_at(top: &Path) -> Option<String> {
    run(top, &["symbolic-ref", "--quiet", "--short", "HEAD"])
        .ok()
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
}

fn check_settings(s: &GitSettings) -> Result<()> {
    let bad = |field, why: &str| {
        Err(GitError::Setting {
            field,
            why: why.to_string(),
        })
    };
    let plain = |v: &str| !v.is_empty() && !v.starts_with('-') && !v.chars().any(char::is_control);
    if !plain(&s.branch) || s.branch.contains(char::is_whitespace) || s.branch.contains("..") {
        return bad("branch", "a branch name, such as main");
    }
    if s.remote.as_deref().is_some_and(|r| !plain(r)) {
        return bad("remote", "a remote's name (origin) or a URL");
    }
    if !plain(&s.author_name) || s.author_name.contains(['<', '>']) {
        return bad(
            "author_name",
            "the name commits are made under, such as Review server",
        );
    }
    if !plain(&s.author_email) || s.author_email.contains(['<', '>', ' ']) {
        return bad(
            "author_email",
            "an e-mail address, such as review@example.com",
        );
    }
    Ok(())
}

/// The git command, run in `dir` with an environment of its own: nothing prompts (no
/// terminal, no editor, no pager), messages are in English (parsed above), and none of the
/// caller's variables that pick another repository, index or identity apply.
fn git_command(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("--no-pager").arg("-C").arg(dir);
    for var in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_COMMON_DIR",
        "GIT_NAMESPACE",
        "GIT_PREFIX",
        "GIT_CONFIG_PARAMETERS",
        "GIT_CONFIG_COUNT",
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_AUTHOR_DATE",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "GIT_COMMITTER_DATE",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_PAGER", "cat")
        .env("GIT_EDITOR", "true")
        .env("GIT_SEQUENCE_EDITOR", "true")
        .env("LC_ALL", "C")
        .env("LANGUAGE", "C")
        .stdin(std::process::Stdio::null());
    cmd
}

/// Runs git in `dir`: its stdout, or what it said.
fn run(dir: &Path, args: &[&str]) -> std::result::Result<String, String> {
    let out = git_command(dir)
        .args(args)
        .output()
        .map_err(|e| format!("the git command can't be run: {e}"))?;
    match out.status.success() {
        true => {
            String::from_utf8(out.stdout).map_err(|_| "git printed bytes that are not UTF-8".into())
        }
        false => Err(said(&out)),
    }
}

/// Git's stderr, its lines joined, without the `hint:` lines.
fn said(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stderr);
    // `\r` ends git's progress lines ("Rebasing (1/2)"), which say nothing once it's over.
    let lines: Vec<&str> = text
        .split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("hint:") && !l.starts_with("Rebasing ("))
        .collect();
    match lines.is_empty() {
        true => format!("git exited with {}", out.status),
        false => lines.join("; "),
    }
}

#[cfg(test)]
mod tests;
