//! The README's tutorial, run as written (issue 36): every command of "## Tutorial: from a key
//! to a published page" runs in order, with bash, in a fresh folder, with this build of the
//! binary on `PATH` as `imprimatur`; each must exit as shown and print what is shown, so the
//! README cannot rot again.
//!
//! The conventions, which the tutorial states too:
//! - in a ```console block, a line starting `$ ` is a command (a line ending in `\` goes on
//!   to the next); the lines under it, up to the next command, are everything it prints
//!   (stdout and stderr), and a command shown with nothing under it must print nothing;
//! - a command ending in the comment `# exit N` must exit with N, every other with 0;
//! - in expected output `…` stands for any text (keys, hashes: what differs on each machine)
//!   and `~` for the home folder;
//! - a fenced block right after a line ending "Save as `PATH`:" is a file the reader writes;
//! - other blocks (```yaml examples, ```text) are shown, not run.
//!
//! The lines a command prints per phase when stderr is not a terminal (`read: 1 pages, 0 records
//! in 0.01 s`: what a CI log shows) are left out before comparing: at a terminal, where the
//! reader follows the tutorial, a phase shorter than a second prints nothing.
//!
//! The clock is pinned: SOURCE_DATE_EPOCH starts at 2026-11-21T09:00:00Z and moves on a
//! minute per command, so the times the tutorial shows are the times the run signs at.

use std::path::Path;

use crate::util::{needs, Tool};

const HEADING: &str = "## Tutorial: from a key to a published page";
/// 2026-11-21T09:00:00Z.
const START: i64 = 1_795_251_600;

/// `out` without the progress lines (`read: … in 0.01 s`, `verify: …`, `render: …`).
fn without_progress(out: &str) -> String {
    out.lines()
        .filter(|line| {
            let phase = ["read: ", "verify: ", "render: "]
                .iter()
                .any(|p| line.starts_with(p));
            !(phase && line.ends_with(" s") && line.contains(" in "))
        })
        .map(|line| format!("{line}\n"))
        .collect()
}

/// One thing the tutorial does.
#[derive(Debug)]
enum Step {
    /// Write a file (relative to the folder the commands are in at that point).
    File { path: String, text: String },
    /// Run a command; it must exit with `code` and print exactly `output` (`…` wildcards).
    Command {
        line: usize,
        command: String,
        code: i32,
        output: Vec<String>,
    },
}

/// The tutorial's steps, in order, from the README's text.
fn steps(readme: &str) -> Vec<Step> {
    let start = readme.find(HEADING).expect("the README has the tutorial");
    let rest = &readme[start + HEADING.len()..];
    let end = rest.find("\n## ").unwrap_or(rest.len());
    let first_line = readme[..start].lines().count() + 1;
    let lines: Vec<&str> = rest[..end].lines().collect();
    let mut steps = Vec::new();
    let mut prose = "";
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let Some(lang) = line.strip_prefix("```") else {
            if !line.trim().is_empty() {
                prose = line;
            }
            i += 1;
            continue;
        };
        let body_start = i + 1;
        let mut j = body_start;
        while !lines[j].starts_with("```") {
            j += 1;
        }
        let body = &lines[body_start..j];
        let save_as = prose
            .trim_end()
            .strip_suffix("`:")
            .and_then(|p| p.rsplit_once("Save as `"))
            .map(|(_, path)| path.to_string());
        match (lang.trim(), save_as) {
            (_, Some(path)) => steps.push(Step::File {
                path,
                text: body.iter().map(|l| format!("{l}\n")).collect(),
            }),
            ("console", None) => console(body, first_line + body_start, &mut steps),
            ("sh" | "bash", None) => {
                // Commands only: each must print nothing.
                let mut k = 0;
                while k < body.len() {
                    let (command, next) = joined(body, k);
                    if !command.trim().is_empty() && !command.trim_start().starts_with('#') {
                        steps.push(command_step(first_line + body_start + k, command, vec![]));
                    }
                    k = next;
                }
            }
            _ => {}
        }
        prose = "";
        i = j + 1;
    }
    steps
}

/// The command starting at `body[k]`, joined over lines ending in `\`, and the index after it.
fn joined(body: &[&str], k: usize) -> (String, usize) {
    let mut command = body[k].to_string();
    let mut next = k + 1;
    while command.ends_with('\\') && next < body.len() {
        command.push('\n');
        command.push_str(body[next]);
        next += 1;
    }
    (command, next)
}

fn command_step(line: usize, command: String, output: Vec<String>) -> Step {
    let code = command
        .rsplit_once("# exit ")
        .and_then(|(_, n)| n.trim().parse().ok())
        .unwrap_or(0);
    Step::Command {
        line,
        command,
        code,
        output,
    }
}

fn console(body: &[&str], first: usize, steps: &mut Vec<Step>) {
    let mut k = 0;
    while k < body.len() {
        let Some(start) = body[k].strip_prefix("$ ") else {
            panic!(
                "README.md line {}: console output before any `$ ` command",
                first + k
            );
        };
        let mut lines = body.to_vec();
        lines[k] = start;
        let (command, mut next) = joined(&lines, k);
        let mut output = Vec::new();
        while next < body.len() && !body[next].starts_with("$ ") {
            output.push(body[next].to_string());
            next += 1;
        }
        while output.last().is_some_and(|l| l.trim().is_empty()) {
            output.pop();
        }
        steps.push(command_step(first + k, command, output));
        k = next;
    }
}

/// Does `actual` match `expected`, where `…` in `expected` stands for any text?
fn matches(expected: &str, actual: &str) -> bool {
    let parts: Vec<&str> = expected.split('…').collect();
    if parts.len() == 1 {
        return expected == actual;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !actual.starts_with(first) || !actual[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &actual[first.len()..actual.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// Runs the steps with bash in `dir` (the reader's empty folder); returns, per command, its
/// exit code and what it printed, until the first command that exits otherwise than shown.
fn run(steps: &[Step], dir: &Path) -> Vec<(i32, String)> {
    let home = dir.join("home");
    let work = dir.join("work");
    let bin = dir.join("bin");
    let logs = dir.join("logs");
    for d in [&home, &work, &bin, &logs] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_imprimatur"), bin.join("imprimatur")).unwrap();
    let mut script = String::from("set -u\n");
    let mut n = 0;
    for step in steps {
        match step {
            Step::File { path, text } => script.push_str(&format!(
                "mkdir -p \"$(dirname '{path}')\" && cat > '{path}' <<'TUTORIAL_EOF'\n{text}TUTORIAL_EOF\n"
            )),
            Step::Command { command, code, .. } => {
                script.push_str(&format!(
                    "export SOURCE_DATE_EPOCH={}\n{{\n{command}\n}} > '{logs}/{n}.out' 2>&1\necho $? > '{logs}/{n}.code'\n[ \"$(cat '{logs}/{n}.code')\" = {code} ] || exit 100\n",
                    START + 60 * n as i64,
                    logs = logs.display()
                ));
                n += 1;
            }
        }
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let status = std::process::Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(&work)
        .env_clear()
        .env("PATH", path)
        .env("HOME", &home)
        .env("LANG", "C.UTF-8")
        .env("GIT_AUTHOR_NAME", "Reader")
        .env("GIT_AUTHOR_EMAIL", "reader@example.com")
        .env("GIT_COMMITTER_NAME", "Reader")
        .env("GIT_COMMITTER_EMAIL", "reader@example.com")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .status()
        .expect("bash runs");
    let mut results = Vec::new();
    for i in 0..n {
        let Ok(code) = std::fs::read_to_string(logs.join(format!("{i}.code"))) else {
            break;
        };
        let out = std::fs::read_to_string(logs.join(format!("{i}.out"))).unwrap_or_default();
        let out = without_progress(&out.replace(home.to_str().unwrap(), "~"));
        results.push((code.trim().parse().unwrap(), out));
    }
    assert!(
        status.code() == Some(0) || status.code() == Some(100),
        "bash itself failed: {status:?}"
    );
    results
}

/// Every difference between what the tutorial shows and what the run printed, as one report.
fn differences(steps: &[Step], results: &[(i32, String)]) -> Vec<String> {
    let mut problems = Vec::new();
    let commands = steps.iter().filter_map(|s| match s {
        Step::Command {
            line,
            command,
            code,
            output,
        } => Some((line, command, code, output)),
        Step::File { .. } => None,
    });
    for (i, (line, command, code, output)) in commands.enumerate() {
        let Some((got_code, got)) = results.get(i) else {
            problems.push(format!(
                "README.md line {line}: `{command}` did not run: an earlier command failed"
            ));
            break;
        };
        let got_lines: Vec<&str> = got.lines().map(str::trim_end).collect();
        let same = got_lines.len() == output.len()
            && output
                .iter()
                .zip(&got_lines)
                .all(|(e, a)| matches(e.trim_end(), a));
        if got_code != code || !same {
            problems.push(format!(
                "README.md line {line}: `{command}` exited {got_code} (shown: {code}) and printed:\n{got}--- the README shows:\n{}\n",
                output.join("\n")
            ));
        }
    }
    problems
}

#[test]
fn the_readme_tutorial_works_as_written_from_an_empty_folder() {
    if needs(Tool::Git).is_none() {
        return;
    }
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let steps = steps(&readme);
    let commands = steps
        .iter()
        .filter(|s| matches!(s, Step::Command { .. }))
        .count();
    assert!(commands > 20, "only {commands} commands found: {steps:#?}");
    let dir = tempfile::tempdir().unwrap();
    let results = run(&steps, dir.path());
    let problems = differences(&steps, &results);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_tutorials_gitignore_is_the_one_init_writes() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let shown = steps(&readme)
        .into_iter()
        .find_map(|s| match s {
            Step::File { path, text } if path == ".gitignore" => Some(text),
            _ => None,
        })
        .expect("the tutorial writes a .gitignore");
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    assert_cmd::Command::new(env!("CARGO_BIN_EXE_imprimatur"))
        .args([
            "init",
            site.to_str().unwrap(),
            "--now",
            "2026-11-21T09:00:00Z",
        ])
        .assert()
        .success();
    assert_eq!(
        shown,
        std::fs::read_to_string(site.join(".gitignore")).unwrap()
    );
}

#[test]
fn a_wildcard_stands_for_any_text_and_nothing_else() {
    for (expected, actual, want) in [
        ("wrote x", "wrote x", true),
        ("wrote x", "wrote y", false),
        ("key …", "key AAAA=", true),
        ("key …=", "key AAAA", false),
        ("… of …", "1 of 2", true),
        ("… of …", "1 or 2", false),
        ("a…b…c", "abc", true),
        ("a…b…c", "ac", false),
    ] {
        assert_eq!(
            matches(expected, actual),
            want,
            "{expected:?} vs {actual:?}"
        );
    }
}
