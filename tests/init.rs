//! `imprimatur init`: a newcomer's first site works at once — one page published, one draft
//! to walk through review — and init never writes over an existing folder.

use assert_cmd::Command;

fn imprimatur(cwd: &std::path::Path, args: &[&str]) -> assert_cmd::assert::Assert {
    Command::new(env!("CARGO_BIN_EXE_imprimatur"))
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("SOURCE_DATE_EPOCH")
        .args(args)
        .assert()
}

#[test]
fn init_makes_a_site_whose_first_build_publishes_the_welcome_page() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("help");
    let site_arg = site.to_str().unwrap();
    imprimatur(
        tmp.path(),
        &["init", site_arg, "--now", "2026-11-20T10:00:00Z"],
    )
    .success();

    // The key is the user's, private, and kept out of git.
    assert!(site.join("keys/me.pem").is_file());
    assert!(std::fs::read_to_string(site.join(".gitignore"))
        .unwrap()
        .contains("/keys/"));

    let out = imprimatur(
        &site,
        &["build", "--now", "2026-11-21T00:00:00Z", "--format", "json"],
    )
    .success();
    let status: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let pages = status["pages"].as_array().unwrap();
    let by_id = |id: &str| pages.iter().find(|p| p["id"] == id).unwrap().clone();
    assert_eq!(by_id("docs/welcome")["status"], "published");
    assert_eq!(by_id("docs/writing-a-page")["status"], "draft");
    assert!(site.join("output/docs/welcome/index.html").is_file());
    assert!(!site.join("output/docs/writing-a-page").exists());
    assert!(status["invalid_records"].as_array().unwrap().is_empty());

    // The draft goes through review with the commands init printed.
    imprimatur(
        &site,
        &[
            "submit",
            "content/docs/writing-a-page.md",
            "--key",
            "keys/me.pem",
            "--now",
            "2026-11-21T01:00:00Z",
        ],
    )
    .success();
    imprimatur(
        &site,
        &[
            "approve",
            "docs/writing-a-page",
            "--key",
            "keys/me.pem",
            "--step",
            "review",
            "--now",
            "2026-11-21T02:00:00Z",
        ],
    )
    .success();
    imprimatur(
        &site,
        &["build", "--now", "2026-11-21T03:00:00Z", "--strict"],
    )
    .success();
    assert!(site.join("output/docs/writing-a-page/index.html").is_file());
}

#[test]
fn init_takes_its_folder_from_site_too_and_never_writes_into_a_used_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("docs-site");
    imprimatur(tmp.path(), &["init", "--site", site.to_str().unwrap()]).success();
    assert!(site.join("imprimatur.yaml").is_file());
    let before = std::fs::read(site.join("keys/me.pem")).unwrap();

    let refused = imprimatur(tmp.path(), &["init", site.to_str().unwrap()])
        .failure()
        .code(1);
    let err = String::from_utf8_lossy(&refused.get_output().stderr).to_string();
    assert!(err.contains("not empty"), "{err}");
    assert_eq!(
        std::fs::read(site.join("keys/me.pem")).unwrap(),
        before,
        "the existing key is untouched"
    );
}

/// Every command finds its site from a subfolder, as git finds its repository; outside a site
/// it says so and names `--site` and `imprimatur init` (not "./imprimatur.yaml: No such file").
#[test]
fn commands_find_the_site_from_a_subfolder_and_say_so_outside_one() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("help");
    let now = "2026-11-21T00:00:00Z";
    imprimatur(
        tmp.path(),
        &[
            "init",
            site.to_str().unwrap(),
            "--now",
            "2026-11-20T10:00:00Z",
        ],
    )
    .success();

    let deep = site.join("content/docs");
    assert!(deep.is_dir());
    let out = imprimatur(&deep, &["status", "--now", now, "--format", "json"]);
    let status: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let ids: Vec<_> = status["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(ids.contains(&"docs/welcome".to_owned()), "{ids:?}");

    let outside = tmp.path().join("elsewhere");
    std::fs::create_dir(&outside).unwrap();
    let out = imprimatur(&outside, &["status", "--now", now]).code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("no imprimatur.yaml in"), "{err}");
    assert!(err.contains("not inside a site"), "{err}");
    assert!(
        err.contains("--site DIR") && err.contains("imprimatur init"),
        "{err}"
    );
    assert!(!err.contains("No such file"), "{err}");
}
