//! `imprimatur audit DIR` accounts for every byte of a published folder (docs/trust-root.md
//! §6), told through the real binary: someone who can write to the hosting that serves
//! `output/` drops a script beside a page, adds a page of their own, edits the home page, a
//! space's index, the sitemap or the search index, or deletes the theme's stylesheet — and
//! the auditor, offline, with nothing but the folder and the pin, is told which file.

use ed25519_dalek::SigningKey;
use imprimatur::trust::record::Kind;

use crate::util::{public_base64, write_secret_key, TestSite};

const SUBMITTED: &str = "2026-11-20T09:00:00Z";
const APPROVED: &str = "2026-11-20T10:00:00Z";
const NOW: &str = "2026-11-20T12:00:00Z";

const ONE_STEP: &str = "\
contributors: [group:writers]
steps:
  - name: technical
    approvers: [group:engineering]
    min_approvals: 1
";

/// A site's own home page template: the theme the admins signed is not the built-in one.
const HOME: &str = "<!doctype html><title>{{ site.title }}</title><h1>Welcome to {{ site.title }}</h1>\n\
{% for s in site.spaces %}<a href=\"{{ s.url }}\">{{ s.title }} ({{ s.page_count }})</a>\n{% endfor %}\
<link rel=\"stylesheet\" href=\"static/brand.css\">\n";

/// A governed site, built: `kb/install` (a page, with the old URL `kb/setup/` as an alias)
/// and `kb/shots` (a bundle with an image) approved and live, `kb/secret-plans` only submitted; a theme overriding the home page and
/// adding `static/brand.css`; all signed by both admins of a pinned root. Returns the site
/// and the pin.
fn published_site() -> (TestSite, String) {
    let mut site = TestSite::new();
    site.reviewer("wanda", &["writers"])
        .reviewer("alice", &["engineering"])
        .policy("kb", ONE_STEP)
        .file(
            "content/kb/install.md",
            "---\ntitle: Install the agent\naliases: [kb/setup/]\n---\n\n\
             Run `agent install`, then see [the screenshots](shots/index.md).\n",
        )
        .page("kb/shots/index.md", "Screenshots", "![Shot](img/a.png)\n")
        .file("content/kb/shots/img/a.png", b"\x89PNG fake image\x00\x01")
        .page("kb/secret-plans.md", "Secret plans", "Not yet.\n")
        .file("themes/default/templates/index.html", HOME)
        .file("themes/default/static/brand.css", "h1 { color: teal }\n")
        .file(
            "imprimatur.yaml",
            "title: Example Help Center\nbase_url: https://help.example.com/\n\
             review_url: https://review.internal.example.com/\n",
        );
    for page in ["kb/install", "kb/shots"] {
        site.sign("wanda", Kind::Submit, page, &[], SUBMITTED);
        site.sign(
            "alice",
            Kind::Approve,
            page,
            &["--step", "technical"],
            APPROVED,
        );
    }
    site.sign("wanda", Kind::Submit, "kb/secret-plans", &[], APPROVED);
    let mut args = vec!["root", "new", "--threshold", "2"];
    let admins: Vec<String> = ["ada", "bo"]
        .iter()
        .map(|name| format!("{name}={}", admin(&site, name)))
        .collect();
    for a in &admins {
        args.extend(["--admin", a]);
    }
    site.imprimatur(&args).run();
    for name in ["ada", "bo"] {
        site.imprimatur(&["root", "sign", "--key", &format!("keys/{name}.pem")])
            .run();
    }
    let pin = format!(
        "sha256:{}",
        imprimatur::trust::version::sha256_hex(&site.read_bytes("approvals/root/1.yaml"))
    );
    for name in ["ada", "bo"] {
        site.imprimatur(&[
            "governance",
            "sign",
            "--key",
            &format!("keys/{name}.pem"),
            "--trust-root",
            &pin,
        ])
        .run();
    }
    site.imprimatur(&["build", "--trust-root", &pin, "--strict"])
        .at(NOW)
        .run();
    (site, pin)
}

/// An admin's key, seeded from its name, written to `keys/<name>.pem`.
fn admin(site: &TestSite, name: &str) -> String {
    let seed: [u8; 32] = imprimatur::trust::version::sha256_hex(name.as_bytes()).as_bytes()[..32]
        .try_into()
        .unwrap();
    let key = SigningKey::from_bytes(&seed);
    write_secret_key(&site.path().join(format!("keys/{name}.pem")), &key);
    public_base64(&key)
}

/// `imprimatur audit output --trust-root PIN` must exit `code` and print each of `needles`.
fn audit(site: &TestSite, pin: &str, code: i32, needles: &[&str]) {
    let output = site.path().join("output");
    let mut run = site
        .imprimatur(&["audit", output.to_str().unwrap(), "--trust-root", pin])
        .exits(code);
    for needle in needles {
        run = run.stdout_has(needle);
    }
    run.run();
}

#[test]
fn an_untouched_build_audits_clean_with_its_public_settings_and_theme_published_as_signed() {
    let (site, pin) = published_site();
    audit(
        &site,
        &pin,
        0,
        &[
            "audited 2 page(s) against root version 1 (pinned)",
            "and every other file is accounted for",
        ],
    );
    // Of the settings, what the generated files are rendered with; never where reviews go.
    let settings = site.read("output/_proof/imprimatur.yaml");
    assert!(
        settings.contains("\"title\": \"Example Help Center\""),
        "{settings}"
    );
    for (path, bytes) in site.all_output_files() {
        assert!(
            !String::from_utf8_lossy(&bytes).contains("review.internal"),
            "{path} names the review server"
        );
    }
    assert_eq!(
        site.read("output/_proof/themes/default/templates/index.html"),
        HOME
    );
    assert!(site.exists("output/_proof/themes/default/static/brand.css"));
    // Nothing of the page that was never approved, anywhere in the folder.
    for (path, bytes) in site.all_output_files() {
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains("secret-plans") && !text.contains("Secret plans"),
            "{path} names the unpublished page"
        );
    }
}

#[test]
fn a_script_dropped_beside_a_bundle_pages_files_is_tampered() {
    let (site, pin) = published_site();
    assert!(site.exists("output/kb/shots/img/a.png"));
    std::fs::write(
        site.path().join("output/kb/shots/evil.svg"),
        "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>steal()</script></svg>\n",
    )
    .unwrap();
    audit(
        &site,
        &pin,
        3,
        &["TAMPERED kb/shots/evil.svg: a stray beside the page kb/shots/"],
    );
}

#[test]
fn a_stray_page_at_the_root_of_the_folder_is_tampered() {
    let (site, pin) = published_site();
    std::fs::write(
        site.path().join("output/evil.html"),
        "<h1>Log in again</h1>\n",
    )
    .unwrap();
    audit(
        &site,
        &pin,
        3,
        &["TAMPERED evil.html: a stray: no proof names it"],
    );
}

#[test]
fn a_page_passed_off_as_a_redirect_in_a_forged_redirects_list_is_tampered() {
    let (site, pin) = published_site();
    // The alias's redirect page is accounted for without a proof of its own.
    assert!(site
        .read("output/kb/setup/index.html")
        .contains("http-equiv=\"refresh\""));
    audit(&site, &pin, 0, &["every other file is accounted for"]);
    // A phishing page, listed in `_redirects` so that it looks like one.
    std::fs::create_dir_all(site.path().join("output/kb/login")).unwrap();
    std::fs::write(
        site.path().join("output/kb/login/index.html"),
        "<h1>Log in again</h1>\n",
    )
    .unwrap();
    let mut list = site.read("output/_redirects");
    list.push_str("/kb/login/ /kb/install/ 301\n");
    std::fs::write(site.path().join("output/_redirects"), list).unwrap();
    audit(
        &site,
        &pin,
        3,
        &[
            "TAMPERED _redirects: not the file the build generates from the proofs",
            "TAMPERED kb/login/index.html: a stray",
        ],
    );
}

#[test]
fn each_file_the_build_generates_is_made_again_and_an_edit_to_any_one_is_named() {
    let (site, pin) = published_site();
    let piece = site
        .files_under("output/search-index")
        .into_iter()
        .map(|(path, _)| path)
        .find(|path| path.ends_with(".js"))
        .expect("a piece of the search index");
    let piece = piece.strip_prefix("output/").unwrap().to_string();
    for rel in [
        "index.html",
        "404.html",
        "kb/index.html",
        "sitemap.xml",
        piece.as_str(),
        "search-index.json",
        "feed.xml",
        "kb/feed.xml",
        "kb/setup/index.html",
        "_redirects",
    ] {
        let path = site.path().join("output").join(rel);
        let original = std::fs::read(&path).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let mut edited = original.clone();
        edited.extend_from_slice(b"<script>steal()</script>\n");
        std::fs::write(&path, &edited).unwrap();
        audit(
            &site,
            &pin,
            3,
            &[&format!(
                "TAMPERED {rel}: not the file the build generates from the proofs"
            )],
        );
        std::fs::write(&path, &original).unwrap();
    }
    audit(&site, &pin, 0, &["every page is the approved version"]);
    // The signed theme is published as it was signed: a changed template under /_proof/ is
    // named too (it can't change what the files are made from unnoticed).
    let template = site
        .path()
        .join("output/_proof/themes/default/templates/index.html");
    std::fs::write(&template, HOME.replace("Welcome", "Pay here")).unwrap();
    audit(
        &site,
        &pin,
        3,
        &["TAMPERED _proof/themes/default/templates/index.html: not the file the admins signed"],
    );
}

#[test]
fn a_deleted_stylesheet_of_the_theme_is_tampered() {
    let (site, pin) = published_site();
    std::fs::remove_file(site.path().join("output/static/brand.css")).unwrap();
    audit(
        &site,
        &pin,
        3,
        &["TAMPERED static/brand.css: missing: the build publishes it"],
    );
}

#[test]
fn a_page_deleted_from_the_hosting_is_named_by_its_url() {
    let (site, pin) = published_site();
    std::fs::remove_dir_all(site.path().join("output/kb/install")).unwrap();
    audit(
        &site,
        &pin,
        3,
        &[
            "TAMPERED kb/install/: a page the build's manifest lists, with no proof.json here",
            // What it leaves behind names it too.
            "TAMPERED kb/index.html: not the file the build generates",
            "TAMPERED sitemap.xml: not the file the build generates",
        ],
    );
}

#[test]
fn a_page_folder_put_back_from_an_earlier_build_is_named() {
    let (site, pin) = published_site();
    let folder = site.path().join("output/kb/install");
    let earlier: Vec<(std::path::PathBuf, Vec<u8>)> = ["index.html", "proof.json"]
        .iter()
        .map(|f| (folder.join(f), std::fs::read(folder.join(f)).unwrap()))
        .collect();
    site.imprimatur(&["build", "--trust-root", &pin])
        .at("2026-11-21T12:00:00Z")
        .run();
    audit(&site, &pin, 0, &["every page is the approved version"]);
    // Every file of the earlier build's page verifies on its own ...
    for (path, bytes) in &earlier {
        std::fs::write(path, bytes).unwrap();
    }
    // ... but it is not of the build the rest of the folder is of.
    audit(
        &site,
        &pin,
        3,
        &["kb/install/proof.json is of a build at 2026-11-20T12:00:00Z"],
    );
}
