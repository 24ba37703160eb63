//! The outside programs some tests drive (Chromium, OpenSSH, OpenSSL, Python's aiosmtpd and
//! feedparser, git),
//! found or missed in one place. A test that needs one asks `needs(Tool::…)` first: on a
//! developer's machine a missing tool skips the test with one line on stderr saying how to
//! install it; where `IMPRIMATUR_REQUIRE_TOOLS=1` is set (`bash .ci/run` sets it, after
//! installing them all) a missing tool fails the test instead, so CI never passes by skipping.
//! No test installs anything.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// Headless Chromium: `CHROMIUM`, else `/usr/bin/chromium` (tests/browser.rs).
    Chromium,
    /// `ssh-keygen`, `ssh-agent` and `ssh-add` (tests/ssh.rs).
    OpenSsh,
    /// `openssl`: PKCS#8 keys (tests/ssh.rs), a certificate for STARTTLS (tests/notify.rs).
    OpenSsl,
    /// `python3` with the `aiosmtpd` module: the SMTP server of tests/notify.rs.
    Aiosmtpd,
    /// `python3` with the `feedparser` module: reads the Atom feeds of tests/feeds.rs.
    Feedparser,
    /// `git`: `verify --since` against a local bare repository (tests/sealed.rs).
    Git,
    /// `script` (util-linux): runs the binary on a pseudo-terminal (tests/progress.rs).
    Script,
}

impl Tool {
    fn install(self) -> &'static str {
        match self {
            Tool::Chromium => "apt-get install chromium, or set CHROMIUM to one",
            Tool::OpenSsh => "apt-get install openssh-client",
            Tool::OpenSsl => "apt-get install openssl",
            Tool::Aiosmtpd => "python3 -m pip install aiosmtpd",
            Tool::Feedparser => "python3 -m pip install feedparser",
            Tool::Git => "apt-get install git",
            Tool::Script => "apt-get install bsdutils (util-linux's script)",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Tool::Chromium => "chromium",
            Tool::OpenSsh => "ssh-keygen, ssh-agent and ssh-add",
            Tool::OpenSsl => "openssl",
            Tool::Aiosmtpd => "python3 with aiosmtpd",
            Tool::Feedparser => "python3 with feedparser",
            Tool::Git => "git",
            Tool::Script => "script",
        }
    }

    /// The program to run, when every part of the tool is here.
    fn find(self) -> Option<PathBuf> {
        match self {
            Tool::Chromium => {
                let path = std::env::var_os("CHROMIUM")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
                path.is_file().then_some(path)
            }
            Tool::OpenSsh => {
                let found = ["ssh-agent", "ssh-add", "ssh-keygen"].map(on_path);
                found
                    .iter()
                    .all(Option::is_some)
                    .then(|| found[2].clone())?
            }
            Tool::OpenSsl => on_path("openssl"),
            Tool::Git => on_path("git"),
            Tool::Script => on_path("script"),
            Tool::Aiosmtpd => python_with("aiosmtpd"),
            Tool::Feedparser => python_with("feedparser"),
        }
    }
}

/// `python3`, when it can import `module`.
fn python_with(module: &str) -> Option<PathBuf> {
    let python = on_path("python3")?;
    Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
        .then_some(python)
}

/// The program `tool` runs through, or None when it is missing and the test should return
/// (skipped, with one line on stderr). Under `IMPRIMATUR_REQUIRE_TOOLS=1` a missing tool
/// panics: the test fails.
pub fn needs(tool: Tool) -> Option<PathBuf> {
    if let Some(path) = tool.find() {
        return Some(path);
    }
    let line = format!("needs {} ({})", tool.name(), tool.install());
    if std::env::var_os("IMPRIMATUR_REQUIRE_TOOLS").is_some_and(|v| v == "1") {
        panic!("IMPRIMATUR_REQUIRE_TOOLS=1 and this test {line}");
    }
    eprintln!("skipped: {line}");
    None
}

/// `program` in a folder of `PATH`, as the shell would find it.
fn on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
