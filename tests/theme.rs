//! What readers and reviewers see, told through `imprimatur build`: the approval history names
//! the version each record was signed for and the path the live version took (rejections and
//! resubmissions included), keeps reviewers' comments to reviewers unless the site makes them
//! public, and never shows a byte of an earlier version's text; the "Outdated" notice says
//! where the newer version stands; the dashboard names the pages behind every count and links
//! each to its review page; the search index comes as a script too, for a site opened from
//! disk; narrow screens get the navigation at the top.

use imprimatur::trust::record::Kind;
use serde_json::Value;

use crate::util::{stderr, TestSite};

const SUBMITTED: &str = "2026-11-20T09:00:00Z";
const APPROVED: &str = "2026-11-20T10:00:00Z";
const NOW: &str = "2026-11-20T12:00:00Z";

const CONFIG: &str = "title: Example Help Center\nbase_url: https://help.example.com/\n";

/// One technical approval publishes.
const ONE_STEP: &str = "\
title: Knowledge Base
contributors: [group:writers]
steps:
  - name: technical
    approvers: [group:engineering]
    min_approvals: 1
";

/// Technical, then legal; a resubmission after a rejection resumes at the rejecting step.
const TWO_STEPS: &str = "\
title: Knowledge Base
contributors: [group:writers]
steps:
  - name: technical
    approvers: [group:engineering]
    min_approvals: 1
  - name: legal
    approvers: [group:legal]
    min_approvals: 1
";

/// wanda writes, alice and bob are engineers, dave is legal.
fn cast(site: &mut TestSite) -> &mut TestSite {
    site.reviewer("wanda", &["writers"])
        .reviewer("alice", &["engineering"])
        .reviewer("bob", &["engineering"])
        .reviewer("dave", &["legal"])
}

fn build(site: &TestSite) {
    site.imprimatur(&["build"]).at(NOW).run();
}

/// Every file under `output/` whose path or bytes contain `needle`.
fn output_with(site: &TestSite, needle: &str) -> Vec<String> {
    site.all_output_files()
        .into_iter()
        .filter(|(path, bytes)| {
            path.contains(needle) || String::from_utf8_lossy(bytes).contains(needle)
        })
        .map(|(path, _)| path)
        .collect()
}

/// The `<li class="event ...">` items of a page's approval history, in order.
fn history_events(html: &str) -> Vec<String> {
    let history = &html[html.find("<ol class=\"timeline\">").expect("a timeline")..];
    let history = &history[..history.find("</ol>").unwrap()];
    history
        .split("<li class=\"event ")
        .skip(1)
        .map(|e| e.split("</li>").next().unwrap().to_string())
        .collect()
}

/// The first event's label (`Submitted`, `Rejected` ...).
fn label(event: &str) -> &str {
    let start = event.find("event__kind\">").unwrap() + "event__kind\">".len();
    &event[start..start + event[start..].find('<').unwrap()]
}

// --- the approval history ------------------------------------------------------------------

/// A page wanda submits with a comment and alice approves with one.
fn commented_site() -> TestSite {
    let mut site = TestSite::new();
    cast(&mut site).policy("kb", ONE_STEP).page(
        "kb/install.md",
        "Install the agent",
        "Run the installer.\n",
    );
    site.sign(
        "wanda",
        Kind::Submit,
        "kb/install",
        &["--comment", "WANDA-NOTE for reviewers"],
        SUBMITTED,
    );
    site.sign(
        "alice",
        Kind::Approve,
        "kb/install",
        &[
            "--step",
            "technical",
            "--comment",
            "ALICE-NOTE: checked on a VM",
        ],
        APPROVED,
    );
    site
}

#[test]
fn reviewers_comments_are_hidden_from_readers_by_default() {
    let site = commented_site();
    build(&site);
    let html = site.read("output/kb/install/index.html");
    // The history is there, with who and when ...
    let events = history_events(&html);
    assert_eq!(events.len(), 2, "{html}");
    assert!(events[1].contains("alice Example") && events[1].contains("technical"));
    // ... but no comment: not on the page, nowhere in output/.
    assert!(!html.contains("event__comment"), "{html}");
    for note in ["WANDA-NOTE", "ALICE-NOTE"] {
        assert_eq!(output_with(&site, note), Vec::<String>::new(), "{note}");
    }
    // The comments are in the records: hiding them is the theme's choice, not their absence.
    let log = site.cmd(&["log", "kb/install", "--now", NOW]).success();
    assert!(crate::util::stdout(&log).contains("ALICE-NOTE"));
}

#[test]
fn reviewers_comments_are_shown_when_the_site_makes_them_public() {
    let mut site = commented_site();
    site.file(
        "imprimatur.yaml",
        format!("{CONFIG}history: {{comments: public}}\n"),
    );
    build(&site);
    let html = site.read("output/kb/install/index.html");
    let events = history_events(&html);
    assert!(
        events[0].contains("<blockquote class=\"event__comment\"><p>WANDA-NOTE for reviewers</p>")
    );
    assert!(events[1].contains("ALICE-NOTE: checked on a VM"));

    // `hidden` says the default out loud.
    site.file(
        "imprimatur.yaml",
        format!("{CONFIG}history: {{comments: hidden}}\n"),
    );
    build(&site);
    assert_eq!(output_with(&site, "ALICE-NOTE"), Vec::<String>::new());
}

#[test]
fn an_unknown_history_setting_is_a_config_error_naming_the_file_and_field() {
    let mut site = commented_site();
    build(&site);
    let before = site.read_bytes("output/kb/install/index.html");
    for (yaml, field) in [
        ("history: {comments: readers}\n", "history.comments"),
        ("history: {comment: public}\n", "history.comment"),
        ("history: public\n", "history"),
        ("review_url: localhost:1111\n", "review_url"),
    ] {
        site.file("imprimatur.yaml", format!("{CONFIG}{yaml}"));
        let failed = site.cmd(&["build", "--now", NOW]).code(1);
        let message = stderr(&failed);
        assert!(
            message.contains("imprimatur.yaml") && message.contains(field),
            "{yaml}: {message}"
        );
    }
    // Nothing was half-written: the last good site stands.
    assert_eq!(site.read_bytes("output/kb/install/index.html"), before);
}

/// v1 ("Old Quokka Title", OLD-TEXT) passes technical, legal rejects it quoting its text;
/// wanda fixes it (v2) and resubmits, review resumes at legal, and dave approves v2.
fn resumed_site(comments_public: bool) -> (TestSite, String, String) {
    let mut site = TestSite::new();
    cast(&mut site).policy("kb", TWO_STEPS).page(
        "kb/privacy.md",
        "Old Quokka Title",
        "OLD-TEXT we never share data.\n",
    );
    if comments_public {
        site.file(
            "imprimatur.yaml",
            format!("{CONFIG}history: {{comments: public}}\n"),
        );
    }
    let v1 = site.version_of("kb/privacy").hex()[..12].to_string();
    site.sign(
        "wanda",
        Kind::Submit,
        "kb/privacy",
        &[],
        "2026-11-18T09:00:00Z",
    );
    site.sign(
        "alice",
        Kind::Approve,
        "kb/privacy",
        &[
            "--step",
            "technical",
            "--role",
            "ROLE-OF-V1",
            "--comment",
            "CARRIED-NOTE",
        ],
        "2026-11-18T10:00:00Z",
    );
    site.sign(
        "dave",
        Kind::Reject,
        "kb/privacy",
        &[
            "--step",
            "legal",
            "--comment",
            "REJECT-NOTE: 'OLD-TEXT we never share data' is not true",
        ],
        "2026-11-18T11:00:00Z",
    );
    site.page(
        "kb/privacy.md",
        "Privacy",
        "NEW-TEXT lists our subprocessors.\n",
    );
    let v2 = site.version_of("kb/privacy").hex()[..12].to_string();
    site.sign(
        "wanda",
        Kind::Submit,
        "kb/privacy",
        &["--comment", "RESUBMIT-NOTE"],
        "2026-11-19T09:00:00Z",
    );
    site.sign(
        "dave",
        Kind::Approve,
        "kb/privacy",
        &[
            "--step",
            "legal",
            "--role",
            "Legal counsel",
            "--comment",
            "LEGAL-OK-NOTE",
        ],
        "2026-11-19T10:00:00Z",
    );
    build(&site);
    (site, v1, v2)
}

#[test]
fn each_history_entry_names_its_version_and_the_path_shows_the_rejection_and_resubmission() {
    let (site, v1, v2) = resumed_site(false);
    let html = site.read("output/kb/privacy/index.html");
    let events = history_events(&html);
    let labels: Vec<&str> = events.iter().map(|e| label(e)).collect();
    assert_eq!(
        labels,
        [
            "Submitted",
            "Approved",
            "Rejected",
            "Resubmitted",
            "Approved"
        ],
        "{html}"
    );
    // The first three were signed for v1, an earlier version, and say so; the last two for v2.
    for (i, event) in events.iter().enumerate() {
        let (version, earlier) = if i < 3 { (&v1, true) } else { (&v2, false) };
        assert!(
            event.contains(&format!(">{version}</code>")),
            "event {i} names {version}: {event}"
        );
        assert_eq!(
            event.contains("earlier version"),
            earlier,
            "event {i}: {event}"
        );
    }
    assert!(events[2].contains("dave Example") && events[2].contains("<dd>legal</dd>"));
    // Roles, like comments, are the signer's words: shown for the live version only.
    assert!(
        events[4].contains("<dd>Legal counsel</dd>"),
        "{}",
        events[4]
    );
    assert!(html.contains("Page version <code>sha256:"));
    // Of v1, only its hash, steps, people, times and kinds: never its title or text, nor the
    // rejection comment that quotes it, nor its reviewers' words.
    for needle in [
        "Quokka",
        "OLD-TEXT",
        "REJECT-NOTE",
        "CARRIED-NOTE",
        "ROLE-OF-V1",
    ] {
        assert_eq!(output_with(&site, needle), Vec::<String>::new(), "{needle}");
    }
    assert!(html.contains("NEW-TEXT"), "the live text is there");
}

#[test]
fn public_comments_are_those_of_the_live_version_only() {
    let (site, v1, _) = resumed_site(true);
    let html = site.read("output/kb/privacy/index.html");
    let events = history_events(&html);
    assert_eq!(events.len(), 5, "{html}");
    assert!(events[3].contains("RESUBMIT-NOTE"), "{}", events[3]);
    assert!(events[4].contains("LEGAL-OK-NOTE"), "{}", events[4]);
    // v1's comments may quote text that was never published: never shown.
    for event in &events[..3] {
        assert!(
            event.contains(&v1) && !event.contains("event__comment"),
            "{event}"
        );
    }
    for needle in ["Quokka", "OLD-TEXT", "REJECT-NOTE", "CARRIED-NOTE"] {
        assert_eq!(output_with(&site, needle), Vec::<String>::new(), "{needle}");
    }
}

#[test]
fn the_path_goes_back_to_the_previous_published_version_and_no_further() {
    let mut site = TestSite::new();
    cast(&mut site)
        .policy("kb", ONE_STEP)
        .page("kb/install.md", "Install the agent", "V1-TEXT\n");
    site.sign(
        "wanda",
        Kind::Submit,
        "kb/install",
        &[],
        "2026-11-16T09:00:00Z",
    );
    site.sign(
        "alice",
        Kind::Approve,
        "kb/install",
        &["--step", "technical"],
        "2026-11-16T10:00:00Z",
    );
    // v2 is rejected, v3 is retracted by its writer, v4 passes.
    site.page("kb/install.md", "Install the agent", "V2-TEXT\n");
    let v2 = site.version_of("kb/install").hex()[..12].to_string();
    site.sign(
        "wanda",
        Kind::Submit,
        "kb/install",
        &[],
        "2026-11-17T09:00:00Z",
    );
    site.sign(
        "bob",
        Kind::Reject,
        "kb/install",
        &["--step", "technical", "--comment", "No"],
        "2026-11-17T10:00:00Z",
    );
    site.page("kb/install.md", "Install the agent", "V3-TEXT\n");
    let v3 = site.version_of("kb/install").hex()[..12].to_string();
    site.sign(
        "wanda",
        Kind::Submit,
        "kb/install",
        &[],
        "2026-11-18T09:00:00Z",
    );
    site.sign(
        "wanda",
        Kind::Retract,
        "kb/install",
        &[],
        "2026-11-18T10:00:00Z",
    );
    site.page("kb/install.md", "Install the agent", "V4-TEXT\n");
    let v4 = site.version_of("kb/install").hex()[..12].to_string();
    site.sign("wanda", Kind::Submit, "kb/install", &[], SUBMITTED);
    site.sign(
        "alice",
        Kind::Approve,
        "kb/install",
        &["--step", "technical"],
        APPROVED,
    );
    build(&site);
    let html = site.read("output/kb/install/index.html");
    let events = history_events(&html);
    let seen: Vec<(&str, bool, bool, bool)> = events
        .iter()
        .map(|e| (label(e), e.contains(&v2), e.contains(&v3), e.contains(&v4)))
        .collect();
    assert_eq!(
        seen,
        [
            ("Submitted", true, false, false),
            ("Rejected", true, false, false),
            ("Resubmitted", false, true, false),
            ("Retracted", false, true, false),
            ("Resubmitted", false, false, true),
            ("Approved", false, false, true),
        ],
        "{html}"
    );
    // v1's review ended with a publication: the history of v4 starts after it.
    assert!(!html.contains("2026-11-16"), "{html}");
    for needle in ["V1-TEXT", "V2-TEXT", "V3-TEXT"] {
        assert_eq!(output_with(&site, needle), Vec::<String>::new(), "{needle}");
    }
}

// --- the "Outdated" notice -----------------------------------------------------------------

fn notice(html: &str) -> &str {
    let start = html.find("notice--outdated").expect("an outdated notice");
    &html[start..start + html[start..].find("</div>").unwrap()]
}

#[test]
fn the_outdated_notice_says_whether_the_newer_version_is_a_draft_pending_or_rejected() {
    let mut site = TestSite::new();
    cast(&mut site)
        .file("imprimatur.yaml", format!("{CONFIG}notices: internal\n"))
        .policy("kb", ONE_STEP)
        .page("kb/install.md", "Install the agent", "V1-TEXT\n");
    site.sign(
        "wanda",
        Kind::Submit,
        "kb/install",
        &[],
        "2026-11-18T09:00:00Z",
    );
    site.sign(
        "alice",
        Kind::Approve,
        "kb/install",
        &["--step", "technical"],
        "2026-11-18T10:00:00Z",
    );
    build(&site);
    let page = "output/kb/install/index.html";
    assert!(!site.read(page).contains("notice--outdated"), "up to date");

    site.page("kb/install.md", "Zebra Title", "V2-TEXT\n");
    let wording = [
        (
            "draft",
            "The newer changes have not been submitted for review yet.",
        ),
        (
            "pending",
            "A newer version is in review and is not published yet.",
        ),
        (
            "rejected",
            "A newer version was rejected in review, so this approved version stays live.",
        ),
    ];
    let says = |site: &TestSite, state: &str| {
        let html = site.read(page);
        let text = notice(&html).to_string();
        for (other, sentence) in wording {
            assert_eq!(text.contains(sentence), other == state, "{state}: {text}");
        }
        assert!(html.contains("V1-TEXT") && html.contains("badge--outdated"));
        for needle in ["Zebra", "V2-TEXT"] {
            assert_eq!(output_with(site, needle), Vec::<String>::new(), "{needle}");
        }
    };
    build(&site);
    says(&site, "draft");
    site.sign("wanda", Kind::Submit, "kb/install", &[], SUBMITTED);
    build(&site);
    says(&site, "pending");
    site.sign(
        "alice",
        Kind::Reject,
        "kb/install",
        &["--step", "technical", "--comment", "Not yet"],
        APPROVED,
    );
    build(&site);
    says(&site, "rejected");
}

#[test]
fn the_outdated_notice_says_an_approved_newer_version_is_scheduled_without_saying_when() {
    let mut site = TestSite::new();
    cast(&mut site)
        .file("imprimatur.yaml", format!("{CONFIG}notices: internal\n"))
        .policy("kb", ONE_STEP)
        .page("kb/install.md", "Install the agent", "V1-TEXT\n");
    site.sign(
        "wanda",
        Kind::Submit,
        "kb/install",
        &[],
        "2026-11-18T09:00:00Z",
    );
    site.sign(
        "alice",
        Kind::Approve,
        "kb/install",
        &["--step", "technical"],
        "2026-11-18T10:00:00Z",
    );
    site.file(
        "content/kb/install.md",
        "---\ntitle: Zebra Title\npublish_at: 2031-05-06T07:00:00Z\n---\n\nV2-TEXT\n",
    );
    site.sign("wanda", Kind::Submit, "kb/install", &[], SUBMITTED);
    site.sign(
        "alice",
        Kind::Approve,
        "kb/install",
        &["--step", "technical"],
        APPROVED,
    );
    build(&site);
    let html = site.read("output/kb/install/index.html");
    assert!(
        notice(&html).contains("A newer version is approved and scheduled to go live."),
        "{html}"
    );
    for needle in ["Zebra", "V2-TEXT", "2031"] {
        assert_eq!(output_with(&site, needle), Vec::<String>::new(), "{needle}");
    }
}

/// Words that would tell a reader of the public site about work nobody published.
const INTERNAL_WORDS: &[&str] = &[
    "draft",
    "pending",
    "in review",
    "rejected",
    "outdated",
    "not been submitted",
    "not published",
    "newer version",
    "changed since",
];

#[test]
fn a_public_build_tells_customers_nothing_of_a_newer_version_unless_the_site_opts_in() {
    let mut site = TestSite::new();
    cast(&mut site)
        .policy("kb", &format!("{ONE_STEP}audience: [public, internal]\n"))
        .page("kb/install.md", "Install the agent", "V1-TEXT\n");
    site.sign(
        "wanda",
        Kind::Submit,
        "kb/install",
        &[],
        "2026-11-18T09:00:00Z",
    );
    site.sign(
        "alice",
        Kind::Approve,
        "kb/install",
        &["--step", "technical"],
        "2026-11-18T10:00:00Z",
    );
    // A newer version waits in review.
    site.page("kb/install.md", "Install the agent", "V2-TEXT\n");
    site.sign("wanda", Kind::Submit, "kb/install", &[], SUBMITTED);
    let page = "output/kb/install/index.html";

    // The site's own audiences are [public]: customers read the live version, and nothing
    // else, in any page of the site.
    build(&site);
    let html = site.read(page);
    assert!(
        html.contains("V1-TEXT") && html.contains("badge--published"),
        "{html}"
    );
    assert!(!html.contains("notice--outdated"), "{html}");
    for (path, bytes) in site.all_output_files() {
        if !path.ends_with(".html") {
            continue;
        }
        let text = String::from_utf8_lossy(&bytes).to_lowercase();
        for word in INTERNAL_WORDS {
            assert!(!text.contains(word), "{path} says '{word}':\n{text}");
        }
    }
    // So does a build for the public audience by name.
    site.imprimatur(&["build", "--audience", "public"])
        .at(NOW)
        .run();
    assert!(!site.read(page).contains("notice--outdated"));

    // An internal audience keeps today's detail.
    site.imprimatur(&["build", "--audience", "internal"])
        .at(NOW)
        .run();
    let html = site.read(page);
    assert!(
        notice(&html).contains("A newer version is in review and is not published yet."),
        "{html}"
    );
    assert!(html.contains("badge--outdated"));

    // And so does the public site of a site that opts in.
    site.file("imprimatur.yaml", format!("{CONFIG}notices: internal\n"));
    build(&site);
    let html = site.read(page);
    assert!(
        notice(&html).contains("A newer version is in review and is not published yet."),
        "{html}"
    );

    // Anything else is refused, naming the file, the field and the choices.
    site.file("imprimatur.yaml", format!("{CONFIG}notices: secret\n"));
    site.imprimatur(&["build"])
        .at(NOW)
        .exits(1)
        .stderr_has("imprimatur.yaml: notices: 'secret' is neither 'public'")
        .run();
}

// --- the dashboard -------------------------------------------------------------------------

/// The dashboard's list of the pages of one status (`pending`, `rejected` ...).
fn status_list<'a>(html: &'a str, status: &str) -> &'a str {
    let start = html
        .find(&format!("<h3 id=\"status-{status}\">"))
        .unwrap_or_else(|| panic!("no list of {status} pages:\n{html}"));
    let rest = &html[start..];
    &rest[..rest[4..]
        .find("<h3 ")
        .map_or(rest.find("</section>").unwrap(), |i| i + 4)]
}

fn dashboard_site() -> TestSite {
    let mut site = TestSite::new();
    cast(&mut site)
        .policy("kb", ONE_STEP)
        .page("kb/pending.md", "Pending page", "P\n")
        .page("kb/rejected.md", "Rejected page", "R\n")
        .page("kb/draft.md", "Draft page", "D\n")
        .file(
            "content/kb/scheduled.md",
            "---\ntitle: Scheduled page\npublish_at: 2030-01-01T09:00:00Z\n---\n\nS\n",
        )
        .page("kb/outdated.md", "Outdated page", "O1\n")
        .page("kb/live.md", "Live page", "L\n");
    for page in [
        "kb/pending",
        "kb/rejected",
        "kb/scheduled",
        "kb/outdated",
        "kb/live",
    ] {
        site.sign("wanda", Kind::Submit, page, &[], SUBMITTED);
    }
    site.sign(
        "alice",
        Kind::Reject,
        "kb/rejected",
        &["--step", "technical", "--comment", "Wrong port in step 2"],
        APPROVED,
    );
    for page in ["kb/scheduled", "kb/outdated", "kb/live"] {
        site.sign(
            "alice",
            Kind::Approve,
            page,
            &["--step", "technical"],
            APPROVED,
        );
    }
    site.page("kb/outdated.md", "Outdated page", "O2\n");
    site
}

#[test]
fn the_dashboard_names_the_pages_behind_every_count_and_links_their_review_pages() {
    let mut site = dashboard_site();
    site.file(
        "imprimatur.yaml",
        format!("{CONFIG}review_url: https://review.example/r/\n"),
    );
    build(&site);
    let html = site.read("reports/index.html");
    let review = "https://review.example/r/";
    for (status, id) in [
        ("pending", "kb/pending"),
        ("rejected", "kb/rejected"),
        ("draft", "kb/draft"),
        ("scheduled", "kb/scheduled"),
        ("outdated", "kb/outdated"),
        ("published", "kb/live"),
    ] {
        let list = status_list(&html, status);
        assert!(
            list.contains(&format!("href=\"{review}{id}\"")),
            "{status} lists {id} with its review link: {list}"
        );
        assert!(list.contains(&format!("<code>{id}</code>")), "{list}");
        // Each count is a link to its list.
        assert!(html.contains(&format!("href=\"#status-{status}\"")));
    }
    let pending = status_list(&html, "pending");
    assert!(
        pending.contains("technical") && pending.contains("alice, bob"),
        "{pending}"
    );
    assert!(pending.contains("by wanda"), "{pending}");
    let rejected = status_list(&html, "rejected");
    assert!(
        rejected.contains("Wrong port in step 2") && rejected.contains("alice"),
        "{rejected}"
    );
    assert!(status_list(&html, "scheduled").contains("2030-01-01 09:00 UTC"));
    assert!(status_list(&html, "outdated").contains("the draft is"));
    assert!(status_list(&html, "draft").contains("Not submitted for review"));
    // Only the pages of that status: the rejected page is not listed as pending.
    assert!(!pending.contains("kb/rejected"));
    // Dark mode follows the reader's system.
    assert!(html.contains("@media (prefers-color-scheme: dark)"));
}

#[test]
fn without_a_review_url_the_dashboard_says_how_to_open_a_review_and_links_no_loopback_address() {
    let site = dashboard_site();
    build(&site);
    let html = site.read("reports/index.html");
    assert!(
        html.contains("To review a page, open it with <code>imprimatur serve</code>"),
        "{html}"
    );
    assert!(
        !html.contains("/_review/kb/"),
        "no review link to guess: {html}"
    );
    assert!(!html.contains("127.0.0.1"), "{html}");
    assert!(status_list(&html, "pending").contains("Pending page"));
}

#[test]
fn the_dashboard_links_review_pages_under_the_configured_review_url() {
    let mut site = dashboard_site();
    site.file(
        "imprimatur.yaml",
        format!("{CONFIG}review_url: https://review.example/desk\n"),
    );
    build(&site);
    let html = site.read("reports/index.html");
    assert!(
        html.contains("href=\"https://review.example/desk/kb/pending\""),
        "{html}"
    );
    assert!(!html.contains("127.0.0.1:1111"), "{html}");
    // Reviews are never linked from the public site.
    assert_eq!(output_with(&site, "review.example"), Vec::<String>::new());
}

// --- the site opened from disk, and on a phone -----------------------------------------------

#[test]
fn the_search_pieces_hold_the_live_pages_and_nothing_unpublished() {
    let site = dashboard_site();
    build(&site);
    let pieces = site.files_under("output/search-index");
    assert!(pieces.len() > 2, "{pieces:?}");
    let mut all = String::new();
    for (path, bytes) in &pieces {
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            text.starts_with(
                "(window.IMPRIMATUR_SEARCH_PARTS = window.IMPRIMATUR_SEARCH_PARTS || {})["
            ),
            "{path}: {text}"
        );
        all.push_str(&text);
    }
    // The page pieces: the live pages (the outdated one with its approved text), nothing else.
    let mut urls: Vec<String> = Vec::new();
    for (path, bytes) in &pieces {
        if !path.starts_with("output/search-index/p-") {
            continue;
        }
        let text = String::from_utf8(bytes.clone()).unwrap();
        let json = text
            .split_once("] = ")
            .and_then(|(_, json)| json.strip_suffix(";\n"))
            .unwrap_or_else(|| panic!("not a piece: {text}"));
        let slots: Value = serde_json::from_str(json).unwrap();
        // An empty slot is null.
        for page in slots.as_array().unwrap().iter().filter(|p| !p.is_null()) {
            urls.push(page[1].as_str().unwrap().to_string());
        }
    }
    urls.sort();
    assert_eq!(urls, ["kb/live/", "kb/outdated/"]);
    assert!(all.contains("O1") && !all.to_lowercase().contains("o2"));
    let json = site.read("output/search-index.json");
    assert!(json.contains("O1") && !json.contains("O2"));
    for needle in [
        "Pending page",
        "Rejected page",
        "Draft page",
        "Scheduled page",
        "pending",
        "rejected",
        "draft",
        "scheduled",
    ] {
        assert!(!all.contains(needle), "{needle}");
        assert!(!json.contains(needle), "{needle}");
    }
}

#[test]
fn pages_put_their_navigation_in_a_menu_before_the_article() {
    let mut site = TestSite::new();
    cast(&mut site)
        .policy("kb", ONE_STEP)
        .page("kb/install.md", "Install the agent", "Words.\n")
        .page("kb/configure.md", "Configure the agent", "More words.\n");
    for page in ["kb/install", "kb/configure"] {
        site.sign("wanda", Kind::Submit, page, &[], SUBMITTED);
        site.sign(
            "alice",
            Kind::Approve,
            page,
            &["--step", "technical"],
            APPROVED,
        );
    }
    build(&site);
    for (file, link) in [
        (
            "output/kb/install/index.html",
            "href=\"../../kb/configure/\"",
        ),
        ("output/kb/index.html", "href=\"#overview\""),
    ] {
        let html = site.read(file);
        let menu = html.find("<details class=\"menu\">").expect("a menu");
        let main = html.find("<main").unwrap();
        assert!(menu < main, "{file}: the menu comes first");
        let menu_html = &html[menu..menu + html[menu..].find("</details>").unwrap()];
        assert!(menu_html.contains("<summary"), "{menu_html}");
        assert!(menu_html.contains(link), "{file}: {menu_html}");
        // The sidebar is still there for wide screens.
        assert!(html[main..].contains("<nav class=\"sidebar\""), "{file}");
    }
    // The home page has no sidebar, so no menu.
    assert!(!site.read("output/index.html").contains("class=\"menu\""));
}
