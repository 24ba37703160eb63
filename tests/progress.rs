//! What `build`, `status` and `verify` show on standard error while they work: in a CI log
//! (stderr not a terminal), one line per phase with its counts and time; on a terminal, bars
//! only for phases still running after a second, cleared when done; with `--quiet`, nothing.
//! The times vary, so only the counts are compared.

use imprimatur::trust::record::Kind;

use crate::util::{needs, stderr, stdout, TestSite, Tool};

const SUBMITTED: &str = "2026-11-20T09:00:00Z";
const APPROVED: &str = "2026-11-20T10:00:00Z";
const NOW: &str = "2026-11-20T12:00:00Z";

const KB_POLICY: &str = "\
title: Knowledge Base
contributors: [group:writers]
steps:
  - name: technical
    approvers: [group:engineering]
    min_approvals: 1
";

/// Three pages, two of them approved: four records (a submit and an approval each).
fn site() -> TestSite {
    let mut site = TestSite::new();
    site.reviewer("wanda", &["writers"])
        .reviewer("alice", &["engineering"])
        .policy("kb", KB_POLICY)
        .page("kb/one.md", "One", "Words.\n")
        .page("kb/two.md", "Two", "Words.\n")
        .page("kb/draft.md", "Draft", "Words.\n");
    for page in ["kb/one", "kb/two"] {
        site.sign("wanda", Kind::Submit, page, &[], SUBMITTED);
        site.sign(
            "alice",
            Kind::Approve,
            page,
            &["--step", "technical"],
            APPROVED,
        );
    }
    site
}

/// The phase lines of `err`, each with its time taken out: `read: 3 pages, 4 records`.
fn phase_lines(err: &str) -> Vec<String> {
    err.lines()
        .filter(|l| {
            ["read:", "verify:", "render:"]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .map(|l| {
            let (counts, time) = l
                .rsplit_once(" in ")
                .expect("a phase line ends with its time");
            let seconds = time.strip_suffix(" s").expect("in seconds");
            assert!(seconds.parse::<f64>().is_ok(), "a time in seconds: {l}");
            counts.to_string()
        })
        .collect()
}

#[test]
fn a_build_in_a_ci_log_prints_one_line_per_phase_with_its_counts() {
    let site = site();
    let built = site.cmd(&["build", "--now", NOW]).success();
    assert_eq!(
        phase_lines(&stderr(&built)),
        [
            "read: 3 pages, 4 records",
            "verify: 4 records",
            "render: 2 pages"
        ],
        "{}",
        stderr(&built)
    );
    // The same with the report as JSON on stdout: it stays JSON.
    let json = site
        .cmd(&["build", "--now", NOW, "--format", "json"])
        .success();
    assert!(serde_json::from_str::<serde_json::Value>(&stdout(&json)).is_ok());
    assert_eq!(phase_lines(&stderr(&json)).len(), 3, "{}", stderr(&json));
    // A third page approved: the counts follow the site.
    site.sign("wanda", Kind::Submit, "kb/draft", &[], SUBMITTED);
    site.sign(
        "alice",
        Kind::Approve,
        "kb/draft",
        &["--step", "technical"],
        APPROVED,
    );
    let again = site.cmd(&["build", "--now", NOW]).success();
    assert_eq!(
        phase_lines(&stderr(&again)),
        [
            "read: 3 pages, 6 records",
            "verify: 6 records",
            "render: 3 pages"
        ]
    );
}

#[test]
fn verify_and_status_print_their_read_and_verify_phases() {
    let site = site();
    for command in ["verify", "status"] {
        let ran = site.cmd(&[command, "--now", NOW]).success();
        assert_eq!(
            phase_lines(&stderr(&ran)),
            ["read: 3 pages, 4 records", "verify: 4 records"],
            "{command}"
        );
    }
}

#[test]
fn quiet_prints_no_progress() {
    let site = site();
    for args in [
        &["build", "--now", NOW, "--quiet"][..],
        &["-q", "verify", "--now", NOW],
        &["status", "--now", NOW, "-q"],
    ] {
        let ran = site.cmd(args).success();
        assert_eq!(stderr(&ran), "", "{args:?}");
    }
}

#[test]
fn on_a_terminal_quick_phases_leave_no_lines_and_no_bars() {
    let Some(script) = needs(Tool::Script) else {
        return;
    };
    let site = site();
    let command = format!(
        "'{}' build --now {NOW} --site '{}'",
        env!("CARGO_BIN_EXE_imprimatur"),
        site.path().display()
    );
    let out = std::process::Command::new(script)
        .args(["-qefc", &command, "/dev/null"])
        .env("NO_COLOR", "1")
        .env("IMPRIMATUR_CACHE_DIR", crate::util::test_cache_dir())
        .env("IMPRIMATUR_CACHE_KEY", crate::util::TEST_CACHE_KEY)
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .expect("script runs");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{shown}");
    // The build ran on the terminal (its summary is there), and said nothing per phase.
    assert!(shown.contains("published 2 page(s)"), "{shown}");
    assert!(phase_lines(&shown).is_empty(), "{shown}");
    assert!(!shown.contains("render ["), "{shown}");
}
