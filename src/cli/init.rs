//! `imprimatur init DIR`: a small working site to start from. It creates a reviewer key for
//! the person running it (kept in `keys/`, which the site's `.gitignore` excludes), signs the
//! welcome page so the first `imprimatur build` publishes something, and leaves a second page
//! as a draft to walk through the review workflow.

use std::io::Write;
use std::path::Path;

use super::{print, EXIT_OK};
use crate::error::{Error, Result};
use crate::time::Instant;
use crate::trust::signer::KeySource;
use crate::workflow::sign::{self, Action, SignRequest};

const CONFIG: &str = "title: My Help Center\nbase_url: https://help.example.com/\ntheme: default\naudiences: [public]\n";

const WELCOME: &str = "---\ntitle: Welcome\ndescription: What this help center is and how pages get published.\nweight: 1\ntags: [start]\n---\n\n# Welcome\n\nEvery page here was reviewed and signed before it was published.\nOpen the **approval history** below to see who approved this version, and when.\n\n## Next steps\n\n- Read [Writing a page](writing-a-page.md) (a draft until someone approves it).\n- Run `imprimatur status` to see what is waiting on whom.\n";

const DRAFT: &str = "---\ntitle: Writing a page\ndescription: From a Markdown draft to a published page.\nweight: 2\n---\n\n# Writing a page\n\n1. Write Markdown with front matter under `content/<space>/`.\n2. `imprimatur submit content/docs/writing-a-page.md --key keys/me.pem`\n3. A reviewer runs `imprimatur approve ... --step review --key their.pem`.\n4. `imprimatur build` publishes the approved version into `output/`.\n";

const POLICY: &str = "title: Documentation\npublish_to: docs\naudience: [public]\ncontributors: [anyone]\nmanagers: [me]\nauto_publish: true\n# A real team sets this to false and adds reviewers to the keyring.\nallow_self_approval: true\nreject_comment_required: true\nresume_after_reject: true\nsteps:\n  - name: review\n    approvers: [anyone]\n    min_approvals: 1\n";

fn create(dir: &Path, now: Instant) -> Result<Vec<String>> {
    if dir.exists()
        && std::fs::read_dir(dir)
            .map_err(|e| Error::io(dir, e))?
            .next()
            .is_some()
    {
        return Err(Error::Refused(format!(
            "{}: exists and is not empty; init writes only into a new or empty folder",
            dir.display()
        )));
    }
    let write = |rel: &str, text: &str| -> Result<()> {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        std::fs::write(&path, text).map_err(|e| Error::io(&path, e))
    };
    write("imprimatur.yaml", CONFIG)?;
    write(
        ".gitignore",
        "/output/\n/reports/\n/keys/\n/.imprimatur-*\n",
    )?;
    write("content/docs/welcome.md", WELCOME)?;
    write("content/docs/writing-a-page.md", DRAFT)?;
    write("approvals/policies/docs.yaml", POLICY)?;
    std::fs::create_dir_all(dir.join("keys")).map_err(|e| Error::io(dir.join("keys"), e))?;
    let key_file = dir.join("keys/me.pem");
    let public = crate::trust::keyfile::generate(&key_file)?;
    write(
        "approvals/keyring.yaml",
        &format!("reviewers:\n  - id: me\n    name: Me\n    groups: [writers]\n    keys:\n      - id: me-1\n        public_key: {public}\n"),
    )?;
    let key = KeySource::File(key_file);
    let sign = |action: Action| -> Result<String> {
        sign::sign(&SignRequest {
            site_root: dir,
            action,
            page: "docs/welcome",
            key: &key,
            version: None,
            now,
            force: false,
        })
    };
    Ok(vec![
        sign(Action::Submit {
            comment: None,
            assign: None,
        })?,
        sign(Action::Approve {
            step: "review".into(),
            role: Some("Author".into()),
            comment: None,
            publish: false,
            override_: false,
        })?,
    ])
}

/// `imprimatur init DIR`.
pub fn init(dir: &Path, now: Instant, out: &mut dyn Write) -> Result<i32> {
    let records = create(dir, now)?;
    let d = dir.display();
    print(
        out,
        &format!(
            "created a site in {d}: 2 pages, a policy, a keyring, and your key in {d}/keys/me.pem (git-ignored)\n\
             signed: {}\n\
             next:\n  cd {d}\n  imprimatur build           # publishes the welcome page into output/\n  \
             imprimatur status          # writing-a-page is a draft\n  \
             imprimatur submit content/docs/writing-a-page.md --key keys/me.pem\n",
            records.join(", ")
        ),
    )?;
    Ok(EXIT_OK)
}
