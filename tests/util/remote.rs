//! A local bare git repository as the remote of a review server, which notes the moment each
//! push arrives: what the click-to-pushed-commit bench of issue 35 measures against (the click
//! is timed in the browser, the arrival by the remote's `post-receive` hook, both on this
//! machine's clock), and what `serve --team` stories check the landed records in.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The hook: one line per updated ref, `<nanoseconds since the epoch> <new commit> <ref>`.
const POST_RECEIVE: &str = "#!/bin/sh\nnow=$(date +%s%N)\nwhile read old new ref; do\n  echo \"$now $new $ref\" >> \"$GIT_DIR/arrivals.log\"\ndone\n";

pub struct BareRemote {
    dir: tempfile::TempDir,
}

/// One push as the remote saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrival {
    pub at: SystemTime,
    pub commit: String,
    pub reference: String,
}

impl BareRemote {
    /// An empty bare repository whose default branch is `main`, noting every push.
    pub fn new() -> BareRemote {
        let dir = tempfile::tempdir().unwrap();
        git(
            dir.path(),
            &["init", "--quiet", "--bare", "-b", "main", "."],
        );
        let hook = dir.path().join("hooks/post-receive");
        std::fs::write(&hook, POST_RECEIVE).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
        BareRemote { dir }
    }

    /// The remote's path, which git takes as its URL.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Makes `site` a checkout of this remote: `git init` on `main`, everything committed,
    /// `origin` set to the remote and pushed (one arrival).
    pub fn seed_from(&self, site: &Path) {
        git(site, &["init", "--quiet", "-b", "main"]);
        git(site, &["add", "--all"]);
        git(site, &["commit", "--quiet", "-m", "the site"]);
        git(
            site,
            &["remote", "add", "origin", &self.path().to_string_lossy()],
        );
        git(site, &["push", "--quiet", "origin", "main"]);
    }

    /// A writer's push from a clone of their own: `rel` written with `text` and committed as
    /// "a writer's edit".
    pub fn push_from_another_clone(&self, rel: &str, text: &str) {
        let clone = tempfile::tempdir().unwrap();
        git(
            clone.path(),
            &["clone", "--quiet", &self.path().to_string_lossy(), "."],
        );
        let path = clone.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        git(clone.path(), &["add", "--", rel]);
        git(
            clone.path(),
            &["commit", "--quiet", "-m", "a writer's edit"],
        );
        git(clone.path(), &["push", "--quiet", "origin", "main"]);
    }

    /// Commits everything in the checkout `site` and pushes it here (one arrival).
    pub fn push_all(&self, site: &Path, message: &str) {
        git(site, &["add", "--all"]);
        git(site, &["commit", "--quiet", "-m", message]);
        git(site, &["push", "--quiet", "origin", "main"]);
    }

    /// Every push so far, oldest first.
    pub fn arrivals(&self) -> Vec<Arrival> {
        let log = std::fs::read_to_string(self.path().join("arrivals.log")).unwrap_or_default();
        log.lines()
            .map(|line| {
                let mut f = line.split(' ');
                let ns: u64 = f.next().unwrap().parse().unwrap();
                Arrival {
                    at: UNIX_EPOCH + Duration::from_nanos(ns),
                    commit: f.next().unwrap().to_string(),
                    reference: f.next().unwrap().to_string(),
                }
            })
            .collect()
    }

    /// Waits until the remote has seen `count` pushes in all; panics after `timeout`.
    pub fn wait_for_arrivals(&self, count: usize, timeout: Duration) -> Vec<Arrival> {
        let until = Instant::now() + timeout;
        loop {
            let seen = self.arrivals();
            if seen.len() >= count {
                return seen;
            }
            assert!(
                Instant::now() < until,
                "{} push(es) reached the remote in {timeout:?}, not {count}",
                seen.len()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The paths of the files on the remote's `main`, sorted.
    pub fn files(&self) -> Vec<String> {
        let text = git(self.path(), &["ls-tree", "-r", "--name-only", "main"]);
        let mut files: Vec<String> = text.lines().map(str::to_string).collect();
        files.sort();
        files
    }
}

/// Makes `site` a git checkout with everything committed on `main` and no remote: what a
/// team server commits each decision into when `review.git` names no remote.
pub fn init_checkout(site: &Path) {
    git(site, &["init", "--quiet", "-b", "main"]);
    git(site, &["add", "--all"]);
    git(site, &["commit", "--quiet", "-m", "the site"]);
}

/// The subject lines of `main`'s commits in `repository` (a checkout or a bare remote),
/// newest first.
pub fn subjects(repository: &Path) -> Vec<String> {
    git(repository, &["log", "--format=%s", "main"])
        .lines()
        .map(str::to_string)
        .collect()
}

/// The median of measured times (the mean of the middle two for an even count).
pub fn median(mut times: Vec<Duration>) -> Duration {
    assert!(!times.is_empty(), "no times to take the median of");
    times.sort();
    let mid = times.len() / 2;
    match times.len() % 2 {
        1 => times[mid],
        _ => (times[mid - 1] + times[mid]) / 2,
    }
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_remote_notes_each_push_with_its_time_and_commit() {
        if super::super::needs(super::super::Tool::Git).is_none() {
            return;
        }
        let remote = BareRemote::new();
        assert!(remote.arrivals().is_empty());
        let site = tempfile::tempdir().unwrap();
        std::fs::write(site.path().join("imprimatur.yaml"), "title: T\n").unwrap();
        let before = SystemTime::now();
        remote.seed_from(site.path());
        let seen = remote.wait_for_arrivals(1, Duration::from_secs(10));
        assert_eq!(seen.len(), 1);
        assert!(seen[0].at >= before && seen[0].at <= SystemTime::now());
        assert_eq!(seen[0].reference, "refs/heads/main");
        assert_eq!(
            seen[0].commit,
            git(site.path(), &["rev-parse", "HEAD"]).trim()
        );
        assert_eq!(remote.files(), ["imprimatur.yaml"]);
        let ms = Duration::from_millis;
        assert_eq!(median(vec![ms(5), ms(1), ms(3)]), ms(3));
        assert_eq!(median(vec![ms(4), ms(1), ms(2), ms(9)]), ms(3));
    }
}
