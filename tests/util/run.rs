//! A fluent run of the real binary, in the style of just's `Test::new().arg(..).run()`: say
//! who runs what, when, and what must come out, then `run()`. Every expectation is checked,
//! and a failure prints the whole command with both streams.
//!
//! ```ignore
//! site.imprimatur(&["approve", PAGE, "--step", "technical"])
//!     .by("alice")
//!     .at(DAY2)
//!     .exits(1)
//!     .stderr_has("already approved")
//!     .signs_nothing()
//!     .run();
//! ```

use std::process::Output;

use super::TestSite;

#[must_use = "nothing runs until .run()"]
pub struct Run<'a> {
    site: &'a TestSite,
    args: Vec<String>,
    code: i32,
    stdout_has: Vec<String>,
    stderr_has: Vec<String>,
    stdout_lacks: Vec<String>,
    signs_nothing: bool,
    story: String,
    env: Vec<(String, String)>,
}

impl TestSite {
    /// `imprimatur ARGS --site <this site>`; expects exit 0 unless told otherwise.
    pub fn imprimatur(&self, args: &[&str]) -> Run<'_> {
        Run {
            site: self,
            args: args.iter().map(|a| a.to_string()).collect(),
            code: 0,
            stdout_has: Vec::new(),
            stderr_has: Vec::new(),
            stdout_lacks: Vec::new(),
            signs_nothing: false,
            story: String::new(),
            env: Vec::new(),
        }
    }
}

impl Run<'_> {
    /// The story this run tells, printed first when an expectation fails.
    pub fn story(mut self, story: &str) -> Self {
        self.story = format!("{story}\n");
        self
    }

    /// With these environment variables set (a channel's secrets).
    pub fn env(mut self, vars: &[(String, String)]) -> Self {
        self.env.extend(vars.iter().cloned());
        self
    }

    /// With `--key keys/<reviewer>.pem`.
    pub fn by(mut self, reviewer: &str) -> Self {
        self.args
            .extend(["--key".into(), self.site.key_file(reviewer)]);
        self
    }

    /// With `--now <instant>`.
    pub fn at(mut self, now: &str) -> Self {
        self.args.extend(["--now".into(), now.into()]);
        self
    }

    pub fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.into());
        self
    }

    /// The exit code it must end with (0 by default).
    pub fn exits(mut self, code: i32) -> Self {
        self.code = code;
        self
    }

    pub fn stdout_has(mut self, needle: &str) -> Self {
        self.stdout_has.push(needle.into());
        self
    }

    pub fn stdout_lacks(mut self, needle: &str) -> Self {
        self.stdout_lacks.push(needle.into());
        self
    }

    pub fn stderr_has(mut self, needle: &str) -> Self {
        self.stderr_has.push(needle.into());
        self
    }

    /// No record file and no stored version is added by the run.
    pub fn signs_nothing(mut self) -> Self {
        self.signs_nothing = true;
        self
    }

    /// Runs it and checks every expectation; returns what it printed.
    pub fn run(self) -> Output {
        let before = self.signs_nothing.then(|| {
            (
                self.site.files_under("approvals/records").len(),
                self.site.files_under("approvals/store").len(),
            )
        });
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let output = self.site.cmd_env(&args, &self.env).get_output().clone();
        let (out, err) = (
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );
        let shown = format!(
            "{}imprimatur {}\n--- exit {:?}\n--- stdout\n{out}--- stderr\n{err}",
            self.story,
            args.join(" "),
            output.status.code()
        );
        assert_eq!(output.status.code(), Some(self.code), "{shown}");
        for needle in &self.stdout_has {
            assert!(
                out.contains(needle.as_str()),
                "{needle:?} not on stdout of {shown}"
            );
        }
        for needle in &self.stdout_lacks {
            assert!(
                !out.contains(needle.as_str()),
                "{needle:?} on stdout of {shown}"
            );
        }
        for needle in &self.stderr_has {
            assert!(
                err.contains(needle.as_str()),
                "{needle:?} not on stderr of {shown}"
            );
        }
        if let Some(before) = before {
            let after = (
                self.site.files_under("approvals/records").len(),
                self.site.files_under("approvals/store").len(),
            );
            assert_eq!(after, before, "records and store grew: {shown}");
        }
        output
    }
}
