//! Hostile input, told through the real binary. Anyone who can open a pull request writes
//! records and front matter; admins make mistakes in the keyring and policies. Whatever they
//! write, the build answers at once: a finding for the one bad record or page while the rest
//! of the site is still built, or exit 1 naming the admin file and field — never a panic,
//! never a hang. Records the tool writes double-quote every string, so no YAML reader can
//! take a comment of `no` for a boolean.

use std::collections::BTreeSet;

use base64::Engine as _;
use imprimatur::trust::record::{Kind, Record};
use serde_json::Value;

use crate::util::{stderr, TestSite};

const SUBMITTED: &str = "2026-11-20T09:00:00Z";
const SIGNED: &str = "2026-11-20T10:00:00Z";
const SIGNED_LATER: &str = "2026-11-20T11:00:00Z";
const NOW: &str = "2026-11-20T12:00:00Z";
/// Generous: every attack here is answered in milliseconds; before the fix some took hours.
const SECONDS: u64 = 20;

const ONE_STEP: &str = "\
contributors: [group:writers]
steps:
  - name: technical
    approvers: [group:engineering]
    min_approvals: 1
";

const TWO_STEPS: &str = "\
contributors: [group:writers]
managers: [carol]
steps:
  - name: technical
    approvers: [group:engineering]
    min_approvals: 1
  - name: legal
    approvers: [group:legal]
    min_approvals: 1
";

fn cast(site: &mut TestSite) -> &mut TestSite {
    site.reviewer("wanda", &["writers"])
        .reviewer("alice", &["engineering"])
        .reviewer("dave", &["legal"])
        .reviewer("carol", &["leads"])
}

/// `kb/install` approved and live: the page every attack must leave published.
fn published_site() -> TestSite {
    let mut site = TestSite::new();
    cast(&mut site)
        .policy("kb", ONE_STEP)
        .page("kb/install.md", "Install the agent", "Run it.\n");
    site.sign("wanda", Kind::Submit, "kb/install", &[], SUBMITTED);
    site.sign(
        "alice",
        Kind::Approve,
        "kb/install",
        &["--step", "technical"],
        SIGNED,
    );
    site
}

/// `build --format json` within the time limit: must succeed; the status object it prints.
fn build(site: &TestSite) -> Value {
    let out = site
        .cmd_within(SECONDS, &["build", "--format", "json", "--now", NOW])
        .success();
    serde_json::from_slice(&out.get_output().stdout).expect("build prints JSON")
}

fn assert_still_published(site: &TestSite, status: &Value) {
    let install = status["pages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "kb/install")
        .unwrap_or_else(|| panic!("kb/install in {status:#}"));
    assert_eq!(install["status"], "published", "{status:#}");
    assert!(site.exists("output/kb/install/index.html"));
}

/// The reason given for one invalid record file.
fn invalid_record_reason(status: &Value, file: &str) -> String {
    status["invalid_records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["file"] == file)
        .unwrap_or_else(|| panic!("{file} is not reported invalid: {status:#}"))["reason"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The detail of the one finding of `kind` about `page`.
fn finding_detail(status: &Value, kind: &str, page: &str) -> String {
    status["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == kind && f["page"] == page)
        .unwrap_or_else(|| panic!("no {kind} finding about {page}: {status:#}"))["detail"]
        .as_str()
        .unwrap()
        .to_string()
}

/// `key:` nested `levels` deep by indentation, with `leaf` at the bottom.
fn indented_mappings(key: &str, levels: usize, leaf: &str) -> String {
    let mut yaml = String::new();
    for level in 0..levels {
        yaml.push_str(&"  ".repeat(level));
        yaml.push_str(key);
        yaml.push_str(":\n");
    }
    yaml.push_str(&"  ".repeat(levels));
    yaml.push_str(leaf);
    yaml.push('\n');
    yaml
}

/// `key:` a list of nine anchored lists, each of ten aliases of the one before: 10^9 values
/// once expanded, in a few hundred bytes.
fn billion_laughs(key: &str) -> String {
    let mut lists = vec!["&a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]".to_string()];
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    for pair in names.windows(2) {
        let aliases = vec![format!("*{}", pair[0]); 10].join(", ");
        lists.push(format!("&{} [{aliases}]", pair[1]));
    }
    format!("{key}: [{}]\n", lists.join(", "))
}

// --- records -------------------------------------------------------------------------------

#[test]
fn a_megabyte_of_nested_yaml_in_a_record_is_refused_at_once_and_the_build_goes_on() {
    let mut site = published_site();
    let flow = format!("imprimatur: 1\ncomment: {}", "[".repeat(1_000_000));
    let block = indented_mappings("comment", 1_000, "x");
    assert!(block.len() > 1_000_000);
    site.file("approvals/records/flow.yaml", &flow)
        .file("approvals/records/block.yaml", &block);
    let status = build(&site);
    for file in [
        "approvals/records/flow.yaml",
        "approvals/records/block.yaml",
    ] {
        let reason = invalid_record_reason(&status, file);
        assert!(reason.contains("bytes"), "{file}: {reason}");
    }
    assert_still_published(&site, &status);
}

#[test]
fn nesting_that_fits_the_size_limit_of_a_record_is_refused_by_depth() {
    let mut site = published_site();
    let flow = format!("imprimatur: 1\ncomment: {}", "[".repeat(60_000));
    let block = indented_mappings("comment", 240, "x");
    assert!(block.len() < 64 * 1024);
    site.file("approvals/records/flow.yaml", &flow)
        .file("approvals/records/block.yaml", &block);
    let status = build(&site);
    for file in [
        "approvals/records/flow.yaml",
        "approvals/records/block.yaml",
    ] {
        let reason = invalid_record_reason(&status, file);
        assert!(reason.contains("nested"), "{file}: {reason}");
    }
    assert_still_published(&site, &status);
}

#[test]
fn a_billion_laughs_record_is_refused_and_the_build_goes_on() {
    let mut site = published_site();
    site.file("approvals/records/laughs.yaml", billion_laughs("comment"));
    let status = build(&site);
    let reason = invalid_record_reason(&status, "approvals/records/laughs.yaml");
    assert!(reason.contains("alias"), "{reason}");
    assert_still_published(&site, &status);
}

// --- front matter --------------------------------------------------------------------------

#[test]
fn a_megabyte_of_nested_front_matter_is_an_invalid_page_and_the_rest_is_published() {
    let mut site = published_site();
    let pages = [
        (
            "kb/flow",
            format!("title: x\nextra: {}\n", "[".repeat(1_000_000)),
            "bytes",
        ),
        ("kb/block", indented_mappings("extra", 1_000, "x"), "bytes"),
        (
            "kb/shallower",
            format!("title: x\nextra: {}\n", "[".repeat(60_000)),
            "nested",
        ),
        ("kb/deep", indented_mappings("extra", 200, "x"), "nested"),
        (
            "kb/laughs",
            format!("title: x\n{}", billion_laughs("extra")),
            "alias",
        ),
    ];
    for (id, front_matter, _) in &pages {
        site.file(
            &format!("content/{id}.md"),
            format!("---\n{front_matter}---\n\nBody\n"),
        );
    }
    let status = build(&site);
    for (id, _, because) in &pages {
        let detail = finding_detail(&status, "invalid_page", id);
        assert!(detail.contains("front matter"), "{id}: {detail}");
        assert!(detail.contains(because), "{id}: {detail}");
    }
    assert_still_published(&site, &status);
}

// --- admin files ---------------------------------------------------------------------------

#[test]
fn an_oversized_or_deeply_nested_admin_file_is_an_error_naming_the_file() {
    let padding = format!("# {}\n", "padding ".repeat(200_000));
    let cases = [
        ("approvals/keyring.yaml", padding.clone(), "bytes"),
        ("imprimatur.yaml", padding, "bytes"),
        // A typed field refuses a mapping where it expects a list, at the first level; deep
        // flow nesting is refused by the parser as it reads ahead.
        (
            "approvals/policies/kb.yaml",
            indented_mappings("audience", 300, "x"),
            "audience",
        ),
        (
            "approvals/policies/kb.yaml",
            format!("audience: {}\n", "[".repeat(500_000)),
            "nested",
        ),
    ];
    for (file, appended, because) in cases {
        let mut site = published_site();
        let text = site.read(file) + &appended;
        site.file(file, &text);
        let failed = site.cmd_within(SECONDS, &["build", "--now", NOW]).code(1);
        let message = stderr(&failed);
        assert!(message.contains(file), "{file}: {message}");
        assert!(message.contains(because), "{file}: {message}");
    }
}

// --- records the tool writes ---------------------------------------------------------------

#[test]
fn records_written_by_the_tool_double_quote_every_string_value() {
    let mut site = TestSite::new();
    cast(&mut site)
        .policy("kb", ONE_STEP)
        .page("kb/install.md", "Install the agent", "Run it.\n");
    site.sign("wanda", Kind::Submit, "kb/install", &[], SUBMITTED);
    let file = site.sign(
        "alice",
        Kind::Approve,
        "kb/install",
        &[
            "--step",
            "technical",
            "--role",
            "Technical reviewer",
            "--comment",
            "no",
        ],
        SIGNED,
    );
    let text = site.read(&file);
    assert!(
        text.contains("signed_at: \"2026-11-20T10:00:00Z\"\n"),
        "{text}"
    );
    assert!(text.contains("comment: \"no\"\n"), "{text}");
    for line in text.lines() {
        let (field, value) = line.split_once(": ").unwrap_or_else(|| panic!("{line}"));
        match field {
            "imprimatur" => assert_eq!(value, "1"),
            "discard" | "publish" | "override" => assert!(value == "true" || value == "false"),
            _ => assert!(
                value.starts_with('"') && value.ends_with('"'),
                "{field} is not double-quoted: {text}"
            ),
        }
    }
    assert_eq!(site.page_status(NOW, "kb/install")["status"], "published");
}

#[test]
fn awkward_comments_come_back_exactly_as_signed_and_the_records_count() {
    let comments = [
        "no",
        "yes",
        "null",
        "~",
        "123",
        "0x1F",
        "1e3",
        "2026-11-20",
        "\"quoted\"",
        "'single'",
        "two\nlines\n\nand a blank one",
        "key: value",
        "# not a comment",
        "a #hash and a : colon",
        " leading and trailing ",
        "back\\slash and \\n not a newline",
        "tab\there",
        "bell\u{7} escape\u{1b} delete\u{7f}",
        "Geprüft ✓ — 日本語 🚀",
        "next line\u{85}line separator\u{2028}paragraph separator\u{2029}end",
        "bom\u{feff}inside",
        "- a list?",
        "{not: a mapping}",
        "&anchor *alias !tag",
        "",
    ];
    let mut site = TestSite::new();
    // Two approvals needed: each of alice's decisions replaces her last and still counts, so
    // `approve --force` (a repeated approval, for its new comment) signs every one of them.
    cast(&mut site)
        .policy(
            "kb",
            &TWO_STEPS.replacen("min_approvals: 1", "min_approvals: 2", 1),
        )
        .page("kb/install.md", "Install the agent", "Run it.\n");
    site.sign("wanda", Kind::Submit, "kb/install", &[], SUBMITTED);
    let mut files = Vec::new();
    for (i, comment) in comments.iter().enumerate() {
        let at = format!("2026-11-20T10:{i:02}:00Z");
        let file = site.sign(
            "alice",
            Kind::Approve,
            "kb/install",
            &[
                "--step",
                "technical",
                "--force",
                &format!("--comment={comment}"),
            ],
            &at,
        );
        let parsed = imprimatur::trust::record::parse(&site.read(&file))
            .unwrap_or_else(|e| panic!("{comment:?}: {e}\n{}", site.read(&file)));
        assert_eq!(parsed.record.comment.as_deref(), Some(*comment));
        files.push(file);
    }
    let log = site
        .cmd(&["log", "kb/install", "--format", "json", "--now", NOW])
        .success();
    let log: Value = serde_json::from_slice(&log.get_output().stdout).unwrap();
    let entries = log["entries"].as_array().unwrap();
    for (file, comment) in files.iter().zip(comments) {
        let entry = entries
            .iter()
            .find(|e| e["file"] == file.as_str())
            .unwrap_or_else(|| panic!("{file} in {log:#}"));
        assert_eq!(entry["comment"], comment, "{entry:#}");
        assert_eq!(entry["finding"], Value::Null, "{comment:?}: {entry:#}");
    }
    assert_eq!(
        site.status_json(NOW)["invalid_records"],
        serde_json::json!([])
    );
}

#[test]
fn a_record_written_by_hand_with_unquoted_values_still_counts() {
    let mut site = TestSite::new();
    cast(&mut site)
        .policy("kb", ONE_STEP)
        .page("kb/install.md", "Install the agent", "Run it.\n");
    site.sign("wanda", Kind::Submit, "kb/install", &[], SUBMITTED);
    let record = Record {
        step: Some("technical".into()),
        comment: Some("Looks right".into()),
        ..site.record_for("alice", Kind::Approve, "kb/install", SIGNED)
    };
    let signature = base64::engine::general_purpose::STANDARD
        .encode(record.sign(site.signing_key("alice")).to_bytes());
    let plain = format!(
        "imprimatur: 1\nkind: approve\nspace: kb\ncontent: kb/install\nversion: {}\nstep: technical\nreviewer: alice\nkey: {}\nsigned_at: {SIGNED}\ncomment: Looks right\nsignature: {signature}\n",
        record.version,
        site.key_id("alice"),
    );
    site.file("approvals/records/by-hand.yaml", &plain);
    assert_eq!(site.page_status(NOW, "kb/install")["status"], "published");
}

// --- strict records ------------------------------------------------------------------------

#[test]
fn an_unpublish_record_signed_by_hand_counts_like_one_the_command_writes() {
    let mut site = TestSite::new();
    cast(&mut site)
        .policy("kb", &format!("{ONE_STEP}managers: [carol]\n"))
        .page("kb/install.md", "Install the agent", "Run it.\n");
    site.sign("wanda", Kind::Submit, "kb/install", &[], SUBMITTED);
    site.sign(
        "alice",
        Kind::Approve,
        "kb/install",
        &["--step", "technical"],
        SIGNED,
    );
    let record = site.record_for("carol", Kind::Unpublish, "kb/install", SIGNED_LATER);
    site.write_record_signed_by("takedown", &record, "carol");
    let status = build(&site);
    let install = status["pages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "kb/install")
        .unwrap();
    assert_eq!(install["status"], "unpublished", "{status:#}");
    assert!(status["invalid_records"].as_array().unwrap().is_empty());
    assert!(!site.exists("output/kb/install/index.html"));
}

// --- policies ------------------------------------------------------------------------------

#[test]
fn a_second_policy_file_for_one_space_is_an_error_naming_both_files() {
    let mut site = published_site();
    site.file("approvals/policies/kb.yml", ONE_STEP);
    let failed = site.cmd_within(SECONDS, &["build", "--now", NOW]).code(1);
    let message = stderr(&failed);
    for file in ["approvals/policies/kb.yaml", "approvals/policies/kb.yml"] {
        assert!(message.contains(file), "{message}");
    }
}

#[test]
fn a_huge_day_count_in_a_policy_is_refused_at_load_naming_the_field() {
    for field in [
        "approval_expires_days",
        "escalate_after_days",
        "stale_after_days",
    ] {
        for days in ["36501", "4000000000", "99999999999999999999", "-1", "1.5"] {
            let mut site = published_site();
            // A page in review too, so escalation and staleness would be computed.
            site.page("kb/draft.md", "Draft", "Soon.\n");
            site.sign("wanda", Kind::Submit, "kb/draft", &[], SUBMITTED);
            site.policy("kb", &format!("{ONE_STEP}{field}: {days}\n"));
            let failed = site.cmd_within(SECONDS, &["build", "--now", NOW]).code(1);
            let message = stderr(&failed);
            assert!(
                message.contains("approvals/policies/kb.yaml") && message.contains(field),
                "{field}: {days}: {message}"
            );
        }
    }
}

#[test]
fn a_resubmission_after_a_rejection_resumes_at_the_rejecting_step_by_default() {
    let mut site = TestSite::new();
    cast(&mut site)
        .policy("kb", TWO_STEPS)
        .page("kb/install.md", "Install the agent", "Run it.\n");
    site.sign("wanda", Kind::Submit, "kb/install", &[], SUBMITTED);
    site.sign(
        "alice",
        Kind::Approve,
        "kb/install",
        &["--step", "technical"],
        SIGNED,
    );
    site.sign(
        "dave",
        Kind::Reject,
        "kb/install",
        &["--step", "legal", "--comment", "Needs a disclaimer"],
        "2026-11-20T10:30:00Z",
    );
    site.page(
        "kb/install.md",
        "Install the agent",
        "Run it. No warranty.\n",
    );
    site.sign(
        "wanda",
        Kind::Submit,
        "kb/install",
        &[],
        "2026-11-20T11:00:00Z",
    );
    let page = site.page_status(NOW, "kb/install");
    assert_eq!(page["status"], "pending", "{page:#}");
    assert_eq!(page["step"], "legal", "{page:#}");
}

// --- rendering -----------------------------------------------------------------------------

#[test]
fn twenty_thousand_headings_with_the_same_text_get_unique_ids_at_once() {
    let mut site = TestSite::new();
    cast(&mut site).policy("kb", ONE_STEP);
    // "Same", then text whose slug is the suffix the next "Same" would take.
    let mut body = String::new();
    for _ in 0..10_000 {
        body.push_str("## Same\n\n## Same 1\n\n");
    }
    site.page("kb/long.md", "Long", &body);
    site.sign("wanda", Kind::Submit, "kb/long", &[], SUBMITTED);
    site.sign(
        "alice",
        Kind::Approve,
        "kb/long",
        &["--step", "technical"],
        SIGNED,
    );
    site.cmd_within(SECONDS, &["build", "--now", NOW]).success();
    let html = site.read("output/kb/long/index.html");
    let ids: Vec<&str> = html
        .split("<h2 id=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap())
        .collect();
    assert_eq!(ids.len(), 20_000);
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 20_000);
    assert_eq!(&ids[..4], ["same", "same-1", "same-2", "same-1-1"]);
}

// --- reports -------------------------------------------------------------------------------

const HOSTILE: &str =
    "<script>alert(1)</script> | `tick` [link](javascript:alert(1)) <img src=x onerror=alert(2)>";

#[test]
fn the_summary_escapes_page_and_record_text_so_it_cannot_break_a_table_or_inject_markup() {
    let mut site = published_site();
    // A page whose file name, title and front matter carry markup, waiting in the queue.
    let id = "kb/x|y`z<b>#h";
    site.file(
        &format!("content/{id}.md"),
        format!(
            "---\ntitle: \"{}\"\n---\n\nBody\n",
            HOSTILE.replace('"', "\\\"")
        ),
    );
    site.sign("wanda", Kind::Submit, id, &[], SUBMITTED);
    // A page whose front matter error quotes the attacker's text, across lines.
    site.file(
        "content/kb/bad.md",
        format!("---\ntitle: Bad\npublish_at: \"{HOSTILE}\\n# Heading\\n\\n| a | b |\"\n---\n"),
    );
    // A record whose refusal quotes the attacker's text.
    site.file(
        "approvals/records/evil|`[x](javascript:y)`.yaml",
        format!("imprimatur: 1\nkind: \"{HOSTILE}\\n\\n# Heading\"\n"),
    );
    site.cmd_within(SECONDS, &["build", "--now", NOW]).success();

    let summary = site.read("reports/summary.md");
    assert!(
        summary.contains("x|y") || summary.contains("x\\|y"),
        "{summary}"
    );
    let mut html = String::new();
    let options = pulldown_cmark::Options::ENABLE_TABLES;
    pulldown_cmark::html::push_html(
        &mut html,
        pulldown_cmark::Parser::new_ext(&summary, options),
    );
    for injected in [
        "<script",
        "<img",
        "href=\"javascript",
        "<h1>Heading",
        "<b>",
        "<a ",
    ] {
        assert!(
            !html.contains(injected),
            "summary.md renders {injected}:\n{summary}\n{html}"
        );
    }
    assert_eq!(
        html.matches("<h1>").count(),
        1,
        "one title only:\n{summary}"
    );
    // Every row of every table has as many cells as its header.
    for table in html.split("<table>").skip(1) {
        let table = table.split("</table>").next().unwrap();
        let header = table.matches("<th>").count() + table.matches("<th ").count();
        for row in table.split("<tr>").skip(2) {
            assert_eq!(row.matches("<td").count(), header, "{row}\n{summary}");
        }
    }
    // The text is still there, shown as text.
    assert!(html.contains("&lt;script&gt;"), "{html}");

    let dashboard = site.read("reports/index.html");
    for injected in ["<script>alert", "<img src=x", "<b>#h"] {
        assert!(!dashboard.contains(injected), "index.html has {injected}");
    }
    assert!(dashboard.contains("&lt;script&gt;"), "{dashboard}");
}

// --- one grammar for both readers ------------------------------------------------------------

/// A signed approval whose comment ends in U+FFFE, a noncharacter YAML refuses: whether it
/// counts must not depend on which of the two readers reads it. In the flat form imprimatur
/// writes, and behind a `# note` line (which the flat reader leaves to the full one), it is
/// the same `invalid_record`, and the page stays pending. A page whose title ends in one is
/// `invalid_page` both ways too.
#[test]
fn a_noncharacter_gets_the_same_verdict_from_the_flat_and_the_full_reader() {
    let mut site = TestSite::new();
    cast(&mut site)
        .policy("kb", ONE_STEP)
        .page("kb/install.md", "Install the agent", "Run it.\n");
    site.sign("wanda", Kind::Submit, "kb/install", &[], SUBMITTED);
    let record = Record {
        step: Some("technical".into()),
        comment: Some("Looks right\u{fffe}".into()),
        ..site.record_for("alice", Kind::Approve, "kb/install", SIGNED)
    };
    let signature = base64::engine::general_purpose::STANDARD
        .encode(record.sign(site.signing_key("alice")).to_bytes());
    let flat = format!(
        "imprimatur: 1\nkind: \"approve\"\nspace: \"kb\"\ncontent: \"kb/install\"\nversion: \"{}\"\nstep: \"technical\"\nreviewer: \"alice\"\nkey: \"{}\"\nsigned_at: \"{SIGNED}\"\ncomment: \"Looks right\u{fffe}\"\nsignature: \"{signature}\"\n",
        record.version,
        site.key_id("alice"),
    );
    let file = "approvals/records/noncharacter.yaml";
    // Not `build`: nothing here is about time, and four builds on a busy machine need not
    // each finish within its limit.
    let build = |site: &TestSite| -> Value {
        let out = site
            .cmd(&["build", "--format", "json", "--now", NOW])
            .success();
        serde_json::from_slice(&out.get_output().stdout).expect("build prints JSON")
    };
    for text in [flat.clone(), format!("# note\n{flat}")] {
        site.file(file, &text);
        let status = build(&site);
        let reason = invalid_record_reason(&status, file);
        assert!(reason.contains("fffe"), "{text:?}: {reason}");
        assert_eq!(
            crate::util::page_entry(&status, "kb/install")["status"],
            "pending",
            "{text:?}"
        );
    }

    for front in ["", "# note\n"] {
        site.file(
            "content/kb/odd.md",
            format!("---\n{front}title: \"Odd\u{ffff}\"\n---\nWords.\n"),
        );
        let status = build(&site);
        assert!(
            finding_detail(&status, "invalid_page", "kb/odd").contains("ffff"),
            "{front:?}: {status:#}"
        );
    }
}
