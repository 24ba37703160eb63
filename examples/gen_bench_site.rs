//! Generates the benchmark's help center (see bench/README.md): N realistic Markdown pages
//! across S spaces, a keyring derived from fixed seeds, one policy per space, and for every
//! page a submit and two approvals, all signed and valid, so every page is published. The same
//! Markdown is written as a Hugo site beside it (`DIR-hugo/`), so both tools do comparable work.
//!
//! ```text
//! cargo run --release --example gen_bench_site -- --pages 10000 --out /tmp/bench-site [--spaces 10]
//! ```
//!
//! Everything is deterministic: the same arguments give byte-identical trees. No secret key is
//! written to disk; the reviewers' keys are derived from fixed seeds each run.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant as Clock;

use base64::Engine as _;
use ed25519_dalek::SigningKey;
use imprimatur::time::{self, Instant};
use imprimatur::trust::record::{Kind, Record};
use imprimatur::trust::store::Store;
use imprimatur::trust::version::{sha256_hex, Version};

const USAGE: &str =
    "usage: gen_bench_site --pages N --out DIR [--spaces S] [--hold-back]   (also writes DIR-hugo/)";
const SECTIONS_PER_SPACE: usize = 10;
const WRITERS: &[&str] = &["wren", "xavi", "yara"];
const ENGINEERS: &[&str] = &["ada", "brian", "chen", "dmitri"];

struct Args {
    pages: usize,
    out: PathBuf,
    spaces: usize,
    /// The last page (its Markdown, store blob and three records) goes to `DIR-add/` and
    /// `DIR-hugo-add/` instead: copied over the sites, it is "one approved page added".
    hold_back: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut pages = None;
    let mut out = None;
    let mut spaces = 10usize;
    let mut hold_back = false;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match flag.as_str() {
            "--pages" => {
                pages = Some(
                    value("--pages")?
                        .parse::<usize>()
                        .map_err(|_| "--pages: not a whole number".to_string())?,
                )
            }
            "--out" => out = Some(PathBuf::from(value("--out")?)),
            "--spaces" => {
                spaces = value("--spaces")?
                    .parse::<usize>()
                    .map_err(|_| "--spaces: not a whole number".to_string())?
            }
            "--hold-back" => hold_back = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    let pages = pages.ok_or("--pages is required")?;
    let out = out.ok_or("--out is required")?;
    if pages == 0 || spaces == 0 {
        return Err("--pages and --spaces must be at least 1".into());
    }
    Ok(Args {
        pages,
        out,
        spaces,
        hold_back,
    })
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("gen_bench_site: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match generate(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen_bench_site: {e}");
            ExitCode::from(1)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Deterministic randomness: splitmix64, seeded per page, so any page can be regenerated alone.

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

// ---------------------------------------------------------------------------------------------
// The site's shape: spaces, sections and page names.

const SPACE_NAMES: &[&str] = &[
    "getting-started",
    "admin",
    "billing",
    "api",
    "integrations",
    "security",
    "mobile",
    "reporting",
    "troubleshooting",
    "releases",
];
const SECTION_NAMES: &[&str] = &[
    "overview",
    "setup",
    "configuration",
    "users",
    "permissions",
    "automation",
    "data",
    "notifications",
    "faq",
    "reference",
];
const VERBS: &[&str] = &[
    "configure",
    "install",
    "manage",
    "export",
    "import",
    "troubleshoot",
    "enable",
    "disable",
    "schedule",
    "migrate",
    "monitor",
    "secure",
    "connect",
    "customize",
    "review",
    "archive",
];
const NOUNS: &[&str] = &[
    "alerts",
    "dashboards",
    "agents",
    "webhooks",
    "invoices",
    "teams",
    "roles",
    "tokens",
    "reports",
    "backups",
    "workflows",
    "domains",
    "audit-logs",
    "integrations",
    "exports",
    "notifications",
    "queues",
    "projects",
    "sso",
    "api-keys",
];
const WORDS: &[&str] = &[
    "the",
    "agent",
    "sends",
    "a",
    "report",
    "to",
    "your",
    "workspace",
    "every",
    "hour",
    "and",
    "keeps",
    "data",
    "for",
    "thirty",
    "days",
    "when",
    "you",
    "change",
    "settings",
    "admins",
    "can",
    "review",
    "each",
    "request",
    "before",
    "it",
    "is",
    "applied",
    "this",
    "page",
    "explains",
    "how",
    "configure",
    "option",
    "that",
    "controls",
    "which",
    "users",
    "see",
    "results",
    "in",
    "dashboard",
    "most",
    "teams",
    "start",
    "with",
    "default",
    "values",
    "then",
    "adjust",
    "them",
    "after",
    "first",
    "week",
    "of",
    "usage",
    "if",
    "something",
    "goes",
    "wrong",
    "check",
    "logs",
    "on",
    "host",
    "or",
    "contact",
    "support",
    "from",
    "console",
    "billing",
    "cycle",
    "invoice",
    "includes",
    "seats",
    "plan",
    "limits",
    "are",
    "shown",
    "under",
    "account",
    "new",
    "members",
    "receive",
    "an",
    "invitation",
    "email",
    "link",
    "expires",
    "seven",
    "tokens",
    "should",
    "be",
    "rotated",
    "regularly",
    "store",
    "secrets",
    "safely",
    "never",
    "commit",
    "repository",
    "webhook",
    "delivers",
    "events",
    "as",
    "JSON",
    "payloads",
    "retries",
    "failed",
    "deliveries",
    "three",
    "times",
    "backoff",
    "all",
    "timestamps",
    "UTC",
    "export",
    "CSV",
    "files",
    "large",
    "accounts",
    "may",
    "take",
    "several",
    "minutes",
    "complete",
];

/// One page's place in the site, known before any page is written (links need it).
struct PageMeta {
    space: usize,
    section: &'static str,
    slug: String,
    /// "export reports": what the page is about, for its title and description.
    topic: String,
    title: String,
    weight: usize,
}

impl PageMeta {
    fn id(&self, spaces: &[String]) -> String {
        format!("{}/{}/{}", spaces[self.space], self.section, self.slug)
    }
}

fn space_names(count: usize) -> Vec<String> {
    (0..count)
        .map(|i| match SPACE_NAMES.get(i) {
            Some(name) => name.to_string(),
            None => format!("space-{:02}", i + 1),
        })
        .collect()
}

/// Pages per space, as even as possible; within a space, page j is in section j % 10.
fn plan(pages: usize, spaces: usize) -> Vec<Vec<PageMeta>> {
    (0..spaces)
        .map(|s| {
            let count = pages / spaces + usize::from(s < pages % spaces);
            (0..count)
                .map(|j| {
                    let mut rng = Rng::new(((s as u64) << 32) | j as u64);
                    let verb = rng.pick(VERBS);
                    let noun = rng.pick(NOUNS);
                    let n = j / SECTIONS_PER_SPACE;
                    PageMeta {
                        space: s,
                        section: SECTION_NAMES[j % SECTIONS_PER_SPACE],
                        slug: format!("{verb}-{noun}-{n:04}"),
                        topic: format!("{verb} {}", noun.replace('-', " ")),
                        title: format!(
                            "{} {} ({})",
                            capitalize(verb),
                            noun.replace('-', " "),
                            n + 1
                        ),
                        weight: n + 1,
                    }
                })
                .collect()
        })
        .collect()
}

fn capitalize(word: &str) -> String {
    let mut c = word.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Markdown.

fn sentence(rng: &mut Rng, out: &mut String) {
    let len = 8 + rng.below(12);
    for i in 0..len {
        let w = rng.pick(WORDS);
        if i == 0 {
            out.push_str(&capitalize(w));
        } else {
            out.push(' ');
            match rng.below(20) {
                0 => {
                    let _ = write!(out, "`{w}`");
                }
                1 => {
                    let _ = write!(out, "**{w}**");
                }
                _ => out.push_str(w),
            }
        }
    }
    out.push_str(". ");
}

fn paragraph(rng: &mut Rng, out: &mut String) {
    for _ in 0..3 + rng.below(4) {
        sentence(rng, out);
    }
    out.pop();
    out.push_str("\n\n");
}

fn page_markdown(meta: &PageMeta, space_pages: &[PageMeta], index: usize) -> String {
    let mut rng = Rng::new(((meta.space as u64) << 32) | index as u64 | 1 << 63);
    // The config key the page documents: its slug without the number, `export_reports`.
    let config_key = meta
        .slug
        .rsplit_once('-')
        .map_or("", |(rest, _)| rest)
        .replace('-', "_");
    let mut md = String::with_capacity(5200);
    // Front matter both tools read: title, description, weight, tags.
    let _ = write!(
        md,
        "---\ntitle: \"{}\"\ndescription: \"How to {} in the {} section, step by step.\"\nweight: {}\ntags: [{}, {}, {}]\n---\n\n",
        meta.title,
        meta.topic,
        meta.section,
        meta.weight,
        meta.section,
        rng.pick(NOUNS),
        rng.pick(VERBS),
    );
    paragraph(&mut rng, &mut md);
    md.push_str("## Before you begin\n\n");
    paragraph(&mut rng, &mut md);
    for _ in 0..3 + rng.below(3) {
        md.push_str("- ");
        sentence(&mut rng, &mut md);
        md.pop();
        md.push('\n');
    }
    md.push_str("\n## Steps\n\n");
    for i in 1..=4 + rng.below(4) {
        let _ = write!(md, "{i}. ");
        sentence(&mut rng, &mut md);
        md.pop();
        md.push('\n');
    }
    md.push_str("\n## Options\n\n| Option | Default | Description |\n|---|---|---|\n");
    for _ in 0..4 + rng.below(3) {
        let _ = write!(
            md,
            "| `{}_{}` | `{}` | ",
            config_key,
            rng.pick(&[
                "enabled",
                "interval",
                "retention",
                "scope",
                "level",
                "owner"
            ]),
            rng.pick(&["true", "false", "30", "3600", "all", "none"]),
        );
        sentence(&mut rng, &mut md);
        md.pop();
        md.push_str(" |\n");
    }
    md.push_str("\n## Example\n\n```yaml\n");
    let _ = write!(
        md,
        "{}:\n  enabled: true\n  interval: {}s\n  owners:\n    - team-{}\n    - team-{}\n  retention_days: {}\n",
        config_key,
        15 * (1 + rng.below(8)),
        rng.pick(WORDS),
        rng.pick(WORDS),
        7 * (1 + rng.below(12)),
    );
    md.push_str("```\n\n## Details\n\n");
    // Pad with prose to a size between 3 and 5 KB (the related links add ~200 bytes).
    let target = 2900 + rng.below(1700);
    while md.len() < target {
        if rng.below(4) == 0 {
            let _ = writeln!(md, "### {}\n", capitalize(rng.pick(WORDS)));
        }
        paragraph(&mut rng, &mut md);
    }
    md.push_str("## Related\n\n");
    for _ in 0..2 {
        if space_pages.len() < 2 {
            break;
        }
        let mut other = rng.below(space_pages.len());
        if other == index {
            other = (other + 1) % space_pages.len();
        }
        let o = &space_pages[other];
        let _ = writeln!(md, "- [{}](../{}/{}.md)", o.title, o.section, o.slug);
    }
    md
}

// ---------------------------------------------------------------------------------------------
// Keys, records and site files.

struct Signer {
    reviewer: &'static str,
    key_id: String,
    key: SigningKey,
}

/// A reviewer's key from a fixed seed: deterministic, and never written to disk.
fn signer(reviewer: &'static str) -> Signer {
    let seed = sha256_hex(format!("imprimatur-bench-seed:{reviewer}").as_bytes());
    let mut bytes = [0u8; 32];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = u8::from_str_radix(&seed[2 * i..2 * i + 2], 16).expect("hex");
    }
    Signer {
        reviewer,
        key_id: format!("{reviewer}-2026"),
        key: SigningKey::from_bytes(&bytes),
    }
}

fn keyring_yaml(writers: &[Signer], engineers: &[Signer]) -> String {
    let mut y = String::from("reviewers:\n");
    for (signers, group) in [(writers, "writers"), (engineers, "engineering")] {
        for s in signers {
            let public =
                base64::engine::general_purpose::STANDARD.encode(s.key.verifying_key().to_bytes());
            let _ = write!(
                y,
                "  - id: {id}\n    name: {name} Example\n    email: {id}@example.com\n    groups: [{group}]\n    keys:\n      - id: {kid}\n        public_key: {public}\n        not_before: 2026-01-01T00:00:00Z\n",
                id = s.reviewer,
                name = capitalize(s.reviewer),
                kid = s.key_id,
            );
        }
    }
    y
}

fn space_title(space: &str) -> String {
    space
        .split('-')
        .map(capitalize)
        .collect::<Vec<_>>()
        .join(" ")
}

fn policy_yaml(space: &str) -> String {
    format!(
        "title: {}\npublish_to: {space}\naudience: [public]\ncontributors: [group:writers]\nsteps:\n  - name: technical\n    approvers: [group:engineering]\n    min_approvals: 2\n",
        space_title(space)
    )
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

fn at(base: &Instant, seconds: i64) -> Instant {
    *base + chrono::Duration::seconds(seconds)
}

const HUGO_CONFIG: &str = r#"baseURL = "https://help.example.com/"
title = "Bench Help Center"
languageCode = "en"
# Comparable work: pages, section lists, home and sitemap; no taxonomy pages or feeds.
disableKinds = ["taxonomy", "term", "RSS"]
enableRobotsTXT = false
"#;

const HUGO_BASEOF: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{ .Title }} | {{ .Site.Title }}</title>
{{ with .Description }}<meta name="description" content="{{ . }}">{{ end }}
</head>
<body>
<header><a href="{{ "/" | relURL }}">{{ .Site.Title }}</a></header>
<nav class="sidebar">{{ block "sidebar" . }}{{ end }}</nav>
<main>{{ block "main" . }}{{ end }}</main>
</body>
</html>
"#;

const HUGO_SINGLE: &str = r#"{{ define "sidebar" }}<h2>{{ .CurrentSection.Title }}</h2>
<ul>{{ range .CurrentSection.RegularPages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}</ul>{{ end }}
{{ define "main" }}<article><h1>{{ .Title }}</h1>
{{ with .Description }}<p class="description">{{ . }}</p>{{ end }}
{{ .Content }}
{{ with .Params.tags }}<ul class="tags">{{ range . }}<li>{{ . }}</li>{{ end }}</ul>{{ end }}
</article>{{ end }}
"#;

const HUGO_LIST: &str = r#"{{ define "sidebar" }}<h2>{{ .Title }}</h2>
<ul>{{ range .Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}</ul>{{ end }}
{{ define "main" }}<h1>{{ .Title }}</h1>
{{ .Content }}
<ul>{{ range .Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a>{{ with .Description }} — {{ . }}{{ end }}</li>{{ end }}</ul>{{ end }}
"#;

fn generate(args: &Args) -> Result<(), String> {
    let started = Clock::now();
    let root = &args.out;
    let hugo_root = PathBuf::from(format!("{}-hugo", root.display()));
    let add_root = PathBuf::from(format!("{}-add", root.display()));
    let hugo_add_root = PathBuf::from(format!("{}-hugo-add", root.display()));
    for dir in [&add_root, &hugo_add_root] {
        if dir.exists() {
            fs::remove_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
    }
    // Regenerating replaces an earlier generated tree, and nothing else.
    for (dir, marker) in [(root, "imprimatur.yaml"), (&hugo_root, "hugo.toml")] {
        let empty = fs::read_dir(dir).map_or(true, |mut d| d.next().is_none());
        if dir.join(marker).exists() {
            fs::remove_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        } else if !empty {
            return Err(format!(
                "{} exists and is not a generated site (no {marker}); choose another --out",
                dir.display()
            ));
        }
    }
    let spaces = space_names(args.spaces);
    let pages = plan(args.pages, args.spaces);
    let writers: Vec<Signer> = WRITERS.iter().map(|r| signer(r)).collect();
    let engineers: Vec<Signer> = ENGINEERS.iter().map(|r| signer(r)).collect();

    write(
        &root.join("imprimatur.yaml"),
        b"title: Bench Help Center\nbase_url: https://help.example.com/\ntheme: default\naudiences: [public]\n",
    )?;
    write(
        &root.join("approvals/keyring.yaml"),
        keyring_yaml(&writers, &engineers).as_bytes(),
    )?;
    write(&hugo_root.join("hugo.toml"), HUGO_CONFIG.as_bytes())?;
    let layouts = hugo_root.join("layouts/_default");
    write(&layouts.join("baseof.html"), HUGO_BASEOF.as_bytes())?;
    write(&layouts.join("single.html"), HUGO_SINGLE.as_bytes())?;
    write(&layouts.join("list.html"), HUGO_LIST.as_bytes())?;
    write(
        &hugo_root.join("content/_index.md"),
        b"---\ntitle: Bench Help Center\n---\n",
    )?;

    let store = Store::new(root.join("approvals/store"));
    let base = time::parse_signed_at("2026-11-01T09:00:00Z").expect("a fixed time");
    let mut bytes_total = 0usize;
    let mut records = 0usize;
    let mut serial = 0i64;
    for (s, space) in spaces.iter().enumerate() {
        write(
            &root.join(format!("approvals/policies/{space}.yaml")),
            policy_yaml(space).as_bytes(),
        )?;
        // Hugo only makes nested folders sections when they hold an _index.md. imprimatur
        // ignores `_` files, but they are written to the Hugo tree only, to keep content/ plain.
        write(
            &hugo_root.join(format!("content/{space}/_index.md")),
            format!("---\ntitle: \"{}\"\n---\n", space_title(space)).as_bytes(),
        )?;
        for section in SECTION_NAMES
            .iter()
            .take(pages[s].len().min(SECTIONS_PER_SPACE))
        {
            write(
                &hugo_root.join(format!("content/{space}/{section}/_index.md")),
                format!("---\ntitle: \"{}\"\n---\n", capitalize(section)).as_bytes(),
            )?;
        }
        for (j, meta) in pages[s].iter().enumerate() {
            let held = args.hold_back && s + 1 == spaces.len() && j + 1 == pages[s].len();
            let (root, hugo_root) = if held {
                (&add_root, &hugo_add_root)
            } else {
                (root, &hugo_root)
            };
            let markdown = page_markdown(meta, &pages[s], j);
            bytes_total += markdown.len();
            let rel = format!("content/{space}/{}/{}.md", meta.section, meta.slug);
            write(&root.join(&rel), markdown.as_bytes())?;
            write(&hugo_root.join(&rel), markdown.as_bytes())?;
            // What `imprimatur submit` does: keep the submitted version in the store.
            let held_store = Store::new(add_root.join("approvals/store"));
            let store = if held {
                let dir = add_root.join("approvals/store");
                fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                &held_store
            } else {
                &store
            };
            store.put(markdown.as_bytes()).map_err(|e| e.to_string())?;

            let id = meta.id(&spaces);
            let version = Version::of_bytes(markdown.as_bytes());
            // Spread signing times over the three weeks before the benchmark's --now.
            let submitted = at(&base, (serial * 97) % (18 * 86_400));
            serial += 1;
            let writer = &writers[(s + j) % writers.len()];
            let first = (s * 7 + j) % engineers.len();
            let second = (first + 1 + j % (engineers.len() - 1)) % engineers.len();
            let actions: [(Kind, &Signer, i64, Option<&str>); 3] = [
                (Kind::Submit, writer, 0, None),
                (
                    Kind::Approve,
                    &engineers[first],
                    3_600,
                    Some("Technical reviewer"),
                ),
                (
                    Kind::Approve,
                    &engineers[second],
                    7_200,
                    Some("Technical reviewer"),
                ),
            ];
            for (kind, who, offset, role) in actions {
                let record = Record {
                    kind,
                    space: space.clone(),
                    content: id.clone(),
                    version: version.clone(),
                    step: (kind == Kind::Approve).then(|| "technical".to_string()),
                    reviewer: who.reviewer.to_string(),
                    key: who.key_id.clone(),
                    signed_at: at(&submitted, offset),
                    role: role.map(str::to_string),
                    comment: (kind == Kind::Approve).then(|| "Checked the steps.".to_string()),
                    comment_salt: None,
                    comment_digest: None,
                    discard: None,
                    publish: None,
                    override_: None,
                    assign: None,
                };
                let yaml = record.to_yaml(&record.sign(&who.key));
                let name = match kind {
                    Kind::Submit => format!("{}.submit.yaml", meta.slug),
                    _ => format!("{}.approve-{}.yaml", meta.slug, who.reviewer),
                };
                write(
                    &root.join(format!("approvals/records/{space}/{}/{name}", meta.section)),
                    yaml.as_bytes(),
                )?;
                records += 1;
            }
        }
    }
    eprintln!(
        "gen_bench_site: {} pages ({:.1} MB of Markdown) in {} spaces, {} records -> {} and {} ({:.1}s)",
        args.pages,
        bytes_total as f64 / 1e6,
        args.spaces,
        records,
        root.display(),
        hugo_root.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
