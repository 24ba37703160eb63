//! The drafts in `content/` (SPEC §2): which files are pages, their ids, their front matter,
//! and the version that names their exact bytes. The bytes that get rendered are always the
//! bytes of the judged version, so nothing can change between check and use: held since they
//! were hashed, or read again and hashed again ([`VersionSource`]).

mod front_matter;

#[cfg(feature = "fuzzing")]
pub(crate) use self::front_matter::both_front_matter_readers;
pub use self::front_matter::{parse_page, FrontMatter};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use super::memo::Memo;
use crate::cache::inputs::{Clock, Keep, Kept, PageRead};
use crate::fs::{self, Fingerprint};
use crate::progress::{Phase, Progress};

use crate::error::{Error, Result};
pub use crate::trust::record::is_valid_page_id;
use crate::trust::store::VersionFiles;
use crate::trust::version::{self, ManifestEntry, Version};

/// A page found in `content/`, with the bytes of its current version.
#[derive(Debug, Clone)]
pub struct Page {
    /// `<space>/<path>`: no `.md`, no `/index`.
    pub id: String,
    pub space: String,
    /// The page's path inside its space (`getting-started/install`).
    pub path: String,
    /// The file (`.md`) or bundle folder, relative to the site root.
    pub source: String,
    pub bundle: bool,
    pub version: Version,
    /// Where the bytes of `version` are (the evaluation and the renderer get the same ones).
    pub bytes: VersionSource,
    /// Those bytes as front matter and body, parsed once when the page was read; or why
    /// they can't be a page (an `invalid_page` finding, never published).
    /// Shared with the page's `Live`, not copied.
    pub content: std::result::Result<Arc<crate::site::LiveContent>, String>,
}

impl Page {
    /// The bytes of the page's version (an error naming the file when it changed since).
    pub fn files(&self) -> Result<Arc<VersionFiles>> {
        self.bytes.get()
    }

    /// The bytes as the store keeps them: `(relative path, bytes)`, sorted, `index.md` included.
    pub fn store_files(&self) -> Result<Vec<(String, Vec<u8>)>> {
        let files = self.files()?;
        if !self.bundle {
            return Ok(vec![(self.source.clone(), files.markdown.clone())]);
        }
        let mut all = files.assets.clone();
        all.push(("index.md".into(), files.markdown.clone()));
        all.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        Ok(all)
    }
}

/// Where the bytes of one version are, to be handed out as the version's and nothing else:
/// held since they were read and hashed (`serve`, which keeps pages between loads), or read
/// again whenever they are wanted and hashed again (a build: at 100,000 pages they are
/// 400 MB it need not hold while it judges and renders). Bytes that no longer hash to the
/// version are an error naming the file, never rendered: the build fails closed, and
/// `output/` keeps the site it had.
#[derive(Clone)]
pub struct VersionSource(Origin);

#[derive(Clone)]
enum Origin {
    Held(Arc<VersionFiles>),
    Content {
        dir: Arc<ContentDir>,
        /// The `.md` file or bundle folder, relative to `content/`.
        rel: PathBuf,
        bundle: bool,
        version: Version,
    },
    Store {
        store: crate::trust::store::Store,
        version: Version,
    },
}

/// `content/`, opened once, for pages read again.
pub(crate) struct ContentDir {
    beneath: fs::Beneath,
    site_root: PathBuf,
}

impl std::fmt::Debug for VersionSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Origin::Held(files) => write!(f, "held ({} bytes of Markdown)", files.markdown.len()),
            Origin::Content { rel, version, .. } => {
                write!(f, "{} read again from {}", version.short(), rel.display())
            }
            Origin::Store { version, .. } => write!(f, "{} in the store", version.short()),
        }
    }
}

impl VersionSource {
    /// Bytes held as they were read.
    pub(crate) fn held(files: Arc<VersionFiles>) -> VersionSource {
        VersionSource(Origin::Held(files))
    }

    /// The version `version` in `store`, read from it again when wanted.
    pub(crate) fn in_store(store: &crate::trust::store::Store, version: &Version) -> VersionSource {
        VersionSource(Origin::Store {
            store: store.clone(),
            version: version.clone(),
        })
    }

    /// Whether the bytes are held (else they are read again when wanted).
    pub(crate) fn is_held(&self) -> bool {
        matches!(self.0, Origin::Held(_))
    }

    /// The bytes, checked to be the version's.
    pub fn get(&self) -> Result<Arc<VersionFiles>> {
        match &self.0 {
            Origin::Held(files) => Ok(Arc::clone(files)),
            Origin::Store { store, version } => store
                .get_version(version)
                .map(Arc::new)
                .map_err(|e| Error::InvalidPage { why: e.to_string() }),
            Origin::Content {
                dir,
                rel,
                bundle,
                version,
            } => {
                let (now, files, _) = read_source(&dir.beneath, &dir.site_root, rel, *bundle)
                    .map_err(|why| Error::InvalidPage { why })?;
                if now != *version {
                    let shown = crate::site::config::display_relative(
                        &dir.site_root,
                        &dir.beneath.path().join(rel),
                    );
                    return Err(Error::InvalidPage {
                        why: format!(
                            "{} changed while this command ran: it is no longer version {}, which was judged; nothing was published (run it again)",
                            fs::printable(&shown),
                            version.short()
                        ),
                    });
                }
                Ok(Arc::new(files))
            }
        }
    }
}

/// Turns a command-line PAGE (`content/kb/install.md`, `content/kb/shots/`, `kb/install`)
/// into a page id.
pub fn page_id_from_arg(arg: &str) -> String {
    let mut id = arg.trim().replace('\\', "/");
    while let Some(rest) = id.strip_prefix("./") {
        id = rest.to_string();
    }
    if let Some(rest) = id.strip_prefix("content/") {
        id = rest.to_string();
    }
    let id = id.trim_end_matches('/');
    let id = id.strip_suffix("/index.md").unwrap_or(id);
    id.strip_suffix(".md").unwrap_or(id).to_string()
}

/// Of `ids`, the one a mistyped `given` most likely meant: one that ends with it as a whole
/// name (`install` → `kb/install`), else the most alike by Jaro-Winkler above 0.8 (the
/// measure clap suggests flags by), first in order on a tie. `None` when none is near.
pub fn nearest_id<'a>(ids: impl Iterator<Item = &'a str> + Clone, given: &str) -> Option<&'a str> {
    if given.is_empty() {
        return None;
    }
    let suffix = format!("/{given}");
    if let Some(id) = ids.clone().find(|id| id.ends_with(&suffix)) {
        return Some(id);
    }
    let mut best: Option<(f64, &str)> = None;
    for id in ids {
        let score = strsim::jaro_winkler(id, given);
        if score > 0.8 && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, id));
        }
    }
    best.map(|(_, id)| id)
}

/// What `scan` found in `content/`: the pages, and what stands where a page would but can't
/// be one (never published; each is an `invalid_page` finding).
#[derive(Debug, Default)]
pub struct Scan {
    /// Sorted by id.
    pub pages: Vec<Arc<Page>>,
    /// Sorted by source.
    pub invalid: Vec<InvalidPage>,
}

/// A page that has no version (SPEC §2): a symbolic link, a FIFO or device, a file over the
/// size limit, a name that is not UTF-8 or holds a control character, an id used twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidPage {
    /// The id it would have: best effort (lossy UTF-8, control characters escaped).
    pub id: String,
    /// The page file or bundle folder, relative to the site root (made printable like `id`).
    pub source: String,
    /// Why, naming the file at fault.
    pub why: String,
}

/// Where a page would be: a `.md` file or a bundle folder, relative to `content/`.
struct Candidate {
    rel: PathBuf,
    bundle: bool,
}

/// Scans `content/`: every `.md` file and every bundle folder under a space folder, read and
/// hashed in parallel, without following a symbolic link. A problem with one page makes it an
/// [`InvalidPage`] and the scan goes on; only a `content/` that can't be listed is an error.
/// `progress` is told of each page read (`Phase::Read`).
pub(crate) fn scan(
    content_dir: &Path,
    site_root: &Path,
    memo: Option<&Memo>,
    clock: Option<Clock>,
    progress: &dyn Progress,
) -> Result<Scan> {
    let mut scan = Scan::default();
    if !content_dir.is_dir() {
        return Ok(scan);
    }
    let show = |path: &Path| fs::printable(&crate::site::config::display_relative(site_root, path));
    let invalid_at = |path: &Path, why: String| {
        let rel = path.strip_prefix(content_dir).unwrap_or(path);
        InvalidPage {
            id: lossy_id(rel),
            source: show(path),
            why,
        }
    };
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut walker = crate::fs::walk_by_name(content_dir)
        .min_depth(1)
        .into_iter();
    while let Some(entry) = walker.next() {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                // A folder that can't be listed: the pages it may hold can't be found.
                let path = e.path().unwrap_or(content_dir).to_path_buf();
                if path == content_dir {
                    return Err(Error::io(&path, e.into()));
                }
                let why = format!("{} can't be read: {e}", show(&path));
                scan.invalid.push(invalid_at(&path, why));
                continue;
            }
        };
        let name = entry.file_name().as_encoded_bytes();
        let kind = entry.file_type();
        if name.starts_with(b"_") || name.starts_with(b".") {
            if kind.is_dir() {
                walker.skip_current_dir();
            }
            continue;
        }
        let path = entry.path();
        let rel = path.strip_prefix(content_dir).unwrap_or(path).to_path_buf();
        let markdown = entry.depth() >= 2 && name.ends_with(b".md");
        if kind.is_dir() {
            if entry.depth() < 2 {
                continue; // a space folder is never a bundle
            }
            // Below it, a folder holding anything named index.md is a bundle, whatever that
            // is: a link or a FIFO there makes an invalid bundle, never a folder of pages.
            match std::fs::symlink_metadata(path.join("index.md")) {
                Ok(_) => {
                    candidates.push(Candidate { rel, bundle: true });
                    walker.skip_current_dir();
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    let why = format!("{}/index.md can't be read: {e}", show(path));
                    scan.invalid.push(invalid_at(path, why));
                    walker.skip_current_dir();
                }
            }
        } else if kind.is_symlink() {
            // Never followed. Reported where it stands for a page or a folder of pages.
            let to_folder = std::fs::metadata(path).is_ok_and(|m| m.is_dir());
            if markdown || to_folder {
                let why = format!("{} {}", show(path), fs::ReadErrorKind::Symlink);
                scan.invalid.push(invalid_at(path, why));
            }
        } else if markdown {
            if kind.is_file() {
                // The kind is what the listing said (`d_type`): no `stat` here.
                candidates.push(Candidate { rel, bundle: false });
            } else {
                let why = format!("{} {}", show(path), fs::ReadErrorKind::NotRegular);
                scan.invalid.push(invalid_at(path, why));
            }
        }
    }

    // Ids first: a name that makes no id, or an id two candidates share, is never read.
    let mut named: Vec<(Candidate, String)> = Vec::with_capacity(candidates.len());
    for c in candidates {
        match page_id(&c.rel, c.bundle) {
            Ok(id) => named.push((c, id)),
            Err(why) => {
                let path = content_dir.join(&c.rel);
                let why = format!("{} {why}", show(&path));
                scan.invalid.push(invalid_at(&path, why));
            }
        }
    }
    // Shown paths are made only for the ids that are shared, which are few.
    let mut holders: BTreeMap<&str, Vec<&Path>> = BTreeMap::new();
    for (c, id) in &named {
        holders.entry(id.as_str()).or_default().push(&c.rel);
    }
    let shared: BTreeMap<String, Vec<String>> = holders
        .into_iter()
        .filter(|(_, rels)| rels.len() > 1)
        .map(|(id, rels)| {
            let sources = rels.iter().map(|r| show(&content_dir.join(r))).collect();
            (id.to_string(), sources)
        })
        .collect();
    let (named, twice): (Vec<_>, Vec<_>) = named
        .into_iter()
        .partition(|(_, id)| !shared.contains_key(id));
    for (c, id) in twice {
        let source = show(&content_dir.join(&c.rel));
        let others: Vec<&str> = shared[&id]
            .iter()
            .map(String::as_str)
            .filter(|s| *s != source)
            .collect();
        scan.invalid.push(InvalidPage {
            why: format!(
                "{source} has page id '{id}', which {} also has: neither is published",
                others.join(" and ")
            ),
            id,
            source,
        });
    }

    // Opened once for every page: each file is then one `openat2` below it.
    let beneath = fs::Beneath::open(content_dir).map_err(|e| {
        let e = match e.kind {
            fs::ReadErrorKind::Io(e) => e,
            kind => std::io::Error::other(kind.to_string()),
        };
        Error::io(content_dir, e)
    })?;
    let content = Arc::new(ContentDir {
        beneath,
        site_root: site_root.to_path_buf(),
    });
    // Bytes are held only for a load that keeps its pages for the next (`serve`).
    let hold = memo.is_some_and(Memo::keeps_files);
    let previous = memo.map(Memo::take_pages).unwrap_or_default();
    // What the last build read (a build: see `memo::inputs`).
    let kept = memo.and_then(|m| m.kept_pages(clock));
    // A file page's fingerprint (bundles are always read again: a change inside one leaves
    // its folder's fingerprint as it was). Looked up (`lstat`, not followed) only when an
    // earlier load left pages to reuse; otherwise the file read says who it is (`fstat`).
    let look_up =
        memo.is_some() && !(previous.is_empty() && kept.as_ref().is_none_or(Kept::is_empty));
    type Read = (
        std::result::Result<Arc<Page>, InvalidPage>,
        Option<Fingerprint>,
        Keep<PageRead>,
    );
    let mut read: Vec<Read> = named
        .par_iter()
        .map(|(c, id)| {
            let path = content_dir.join(&c.rel);
            let seen = match look_up && !c.bundle {
                true => content.beneath.fingerprint(&c.rel),
                false => None,
            };
            if let Some(page) = seen.and_then(|f| previous.get(&path, f)) {
                return (Ok(Arc::clone(page)), seen, Keep::Nothing);
            }
            let reused = seen.and_then(|f| {
                let read = kept.as_ref()?.get(&path, f)?;
                Some((f, page_kept(&content, content_dir, c, id, read)?))
            });
            if let Some((f, page)) = reused {
                return (Ok(Arc::new(page)), seen, Keep::Reused(f));
            }
            let keep = |f: &Fingerprint| kept.as_ref().is_some_and(|k| k.may_keep(f));
            match read_page(&content, hold, content_dir, c, id, keep) {
                Ok((page, read, keep)) => (
                    Ok(Arc::new(page)),
                    seen.or(read).filter(|_| memo.is_some()),
                    keep,
                ),
                Err(why) => {
                    let invalid = InvalidPage {
                        id: id.clone(),
                        source: show(&path),
                        why,
                    };
                    (Err(invalid), None, Keep::Nothing)
                }
            }
        })
        .inspect(|_| progress.advance(Phase::Read))
        .collect();
    drop(previous);
    if let (Some(memo), Some(kept)) = (memo, kept) {
        let now = named
            .iter()
            .zip(&mut read)
            .filter_map(|((c, _), (_, _, keep))| std::mem::take(keep).now(content_dir.join(&c.rel)))
            .collect();
        memo.save_later(kept, now);
    }
    if let Some(memo) = memo.filter(|m| m.keeps_files()) {
        let kept = named.iter().zip(&read).filter_map(|((c, _), (r, f, _))| {
            let page = r.as_ref().ok()?;
            Some((content_dir.join(&c.rel), (*f)?, Arc::clone(page)))
        });
        memo.keep_pages(kept.collect());
    }
    for (r, _, _) in read {
        match r {
            Ok(page) => scan.pages.push(page),
            Err(invalid) => scan.invalid.push(invalid),
        }
    }
    scan.pages.sort_by(|a, b| a.id.cmp(&b.id));
    scan.invalid
        .sort_by(|a, b| (&a.source, &a.why).cmp(&(&b.source, &b.why)));
    Ok(scan)
}

/// The id of a page at `rel` (relative to `content/`), or why it has none.
fn page_id(rel: &Path, bundle: bool) -> std::result::Result<String, String> {
    let text = slash_path(rel)?;
    let id = if bundle {
        text.as_str()
    } else {
        text.strip_suffix(".md").unwrap_or(&text)
    };
    if !is_valid_page_id(id) {
        return Err(format!(
            "does not make a well-formed page id ('{}')",
            fs::printable(id)
        ));
    }
    Ok(id.to_string())
}

/// `rel` with `/` separators, or why it can't be part of a version: a name that is not UTF-8
/// or holds a control character (which would forge a manifest line).
fn slash_path(rel: &Path) -> std::result::Result<String, String> {
    let mut parts = Vec::new();
    for c in rel.components() {
        let part = c
            .as_os_str()
            .to_str()
            .ok_or("has a name that is not UTF-8")?;
        if part.chars().any(version::is_control) {
            return Err("has a control character in its name".into());
        }
        parts.push(part);
    }
    Ok(parts.join("/"))
}

/// The id a page at `rel` would have, for reports about a page that has none.
fn lossy_id(rel: &Path) -> String {
    let text = crate::site::config::display_relative(Path::new(""), rel);
    let text = text.strip_suffix(".md").unwrap_or(&text);
    fs::printable(text)
}

/// Reads the page at `candidate` below `content` (`content_dir`); with a file page, the
/// fingerprint of the file that was read, and what to keep of it for the next build when
/// `keep` says a file with that fingerprint may be kept (see `memo::inputs`).
fn read_page(
    content: &Arc<ContentDir>,
    hold: bool,
    content_dir: &Path,
    candidate: &Candidate,
    id: &str,
    keep: impl Fn(&Fingerprint) -> bool,
) -> std::result::Result<(Page, Option<Fingerprint>, Keep<PageRead>), String> {
    id.split_once('/').ok_or("an id has a space and a path")?;
    let (version, files, fingerprint) = read_source(
        &content.beneath,
        &content.site_root,
        &candidate.rel,
        candidate.bundle,
    )?;
    let files = Arc::new(files);
    let bytes = match hold {
        true => VersionSource::held(Arc::clone(&files)),
        false => VersionSource(Origin::Content {
            dir: Arc::clone(content),
            rel: candidate.rel.clone(),
            bundle: candidate.bundle,
            version: version.clone(),
        }),
    };
    let parsed = crate::site::LiveContent::parse(&files, bytes.clone()).map(Arc::new);
    let kept = match fingerprint.filter(&keep) {
        Some(f) => Keep::Read(
            f,
            match &parsed {
                Ok(live) => PageRead::Parsed {
                    version: version.as_str().to_string(),
                    head: files.markdown[..live.body_start].to_vec(),
                },
                Err(why) => PageRead::Invalid {
                    version: version.as_str().to_string(),
                    why: why.clone(),
                },
            },
        ),
        None => Keep::Nothing,
    };
    let page = new_page(content, content_dir, candidate, id, version, bytes, parsed);
    Ok((page, fingerprint, kept))
}

/// The page file at `candidate` as the last build read it (`read`), or `None` when what was
/// kept is not a version (then the file is read).
fn page_kept(
    content: &Arc<ContentDir>,
    content_dir: &Path,
    candidate: &Candidate,
    id: &str,
    read: &PageRead,
) -> Option<Page> {
    let (version, parsed) = match read {
        PageRead::Parsed { version, head } => (Version::parse(version)?, Ok(head)),
        PageRead::Invalid { version, why } => (Version::parse(version)?, Err(why)),
    };
    id.split_once('/')?;
    let bytes = VersionSource(Origin::Content {
        dir: Arc::clone(content),
        rel: candidate.rel.clone(),
        bundle: false,
        version: version.clone(),
    });
    // The front matter as it was parsed: the same text, the body left out (it is read again,
    // and hashed again, when the page is rendered).
    let parsed = match parsed {
        Ok(head) => {
            let files = VersionFiles {
                markdown: head.clone(),
                assets: Vec::new(),
            };
            crate::site::LiveContent::parse(&files, bytes.clone()).map(Arc::new)
        }
        Err(why) => Err(why.clone()),
    };
    Some(new_page(
        content,
        content_dir,
        candidate,
        id,
        version,
        bytes,
        parsed,
    ))
}

/// The page `id` at `candidate`, of `version`, whose bytes `bytes` hands out and parsed as
/// `parsed`. `id` has a space and a path (checked by the caller).
fn new_page(
    content: &ContentDir,
    content_dir: &Path,
    candidate: &Candidate,
    id: &str,
    version: Version,
    bytes: VersionSource,
    parsed: std::result::Result<Arc<crate::site::LiveContent>, String>,
) -> Page {
    let (space, page_path) = id.split_once('/').unwrap_or((id, ""));
    let source = content_dir.join(&candidate.rel);
    Page {
        content: parsed,
        id: id.to_string(),
        space: space.to_string(),
        path: page_path.to_string(),
        source: crate::site::config::display_relative(&content.site_root, &source),
        bundle: candidate.bundle,
        version,
        bytes,
    }
}

/// Reads the page file or bundle folder at `rel` below `content`: its version, its bytes and,
/// for a file page, the fingerprint of the file read (a bundle has none that covers it).
fn read_source(
    content: &fs::Beneath,
    site_root: &Path,
    rel: &Path,
    bundle: bool,
) -> std::result::Result<(Version, VersionFiles, Option<Fingerprint>), String> {
    if bundle {
        let (version, files) = read_bundle_beneath(content, rel, site_root)?;
        return Ok((version, files, None));
    }
    let (bytes, meta) = content
        .read_with_metadata(rel, version::MAX_FILE_BYTES)
        .map_err(|e| e.describe(site_root))?;
    let files = VersionFiles {
        markdown: bytes,
        assets: Vec::new(),
    };
    Ok((
        Version::of_bytes(&files.markdown),
        files,
        Some(Fingerprint::of(&meta)),
    ))
}

/// Reads a bundle and names it by its manifest (SPEC §2). An error (naming the file) when the
/// bundle has no version: it holds a symbolic link, something that is not a regular file or
/// folder, a path with a control character, or more than the size limits allow.
pub fn read_bundle(dir: &Path) -> Result<(Version, VersionFiles)> {
    let base = dir.parent().unwrap_or(Path::new("."));
    let base = if base.as_os_str().is_empty() {
        Path::new(".")
    } else {
        base
    };
    let name = dir.file_name().map(PathBuf::from).unwrap_or_default();
    let beneath = fs::Beneath::open(base).map_err(|e| Error::InvalidPage {
        why: e.describe(base),
    })?;
    read_bundle_beneath(&beneath, &name, base).map_err(|why| Error::InvalidPage { why })
}

/// Reads the bundle `base/rel`, every file opened below `base` without following links.
/// Errors name files relative to `shown_from`.
fn read_bundle_beneath(
    base: &fs::Beneath,
    rel: &Path,
    shown_from: &Path,
) -> std::result::Result<(Version, VersionFiles), String> {
    let dir = base.path().join(rel);
    let show =
        |path: &Path| fs::printable(&crate::site::config::display_relative(shown_from, path));
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut total: u64 = 0;
    let walker = crate::fs::walk_by_name(&dir)
        .min_depth(1)
        .into_iter()
        .filter_entry(|e| !e.file_name().as_encoded_bytes().starts_with(b"."));
    for entry in walker {
        let entry =
            entry.map_err(|e| format!("{} can't be read: {e}", show(e.path().unwrap_or(&dir))))?;
        let kind = entry.file_type();
        if kind.is_dir() {
            continue;
        }
        let path = entry.path();
        if kind.is_symlink() {
            return Err(format!("{} {}", show(path), fs::ReadErrorKind::Symlink));
        }
        if !kind.is_file() {
            return Err(format!("{} {}", show(path), fs::ReadErrorKind::NotRegular));
        }
        let inner = path.strip_prefix(&dir).unwrap_or(path);
        let name = slash_path(inner).map_err(|why| format!("{} {why}", show(path)))?;
        if !version::is_safe_relative_path(&name) {
            return Err(format!(
                "{} has a name no bundle may hold (a backslash)",
                show(path)
            ));
        }
        // It exists here, but may not fit below the page's URL in `output/`, nor in a
        // stored manifest (which refuses such paths): refused the same way on both sides.
        if let Some(why) = version::name_too_long(&name) {
            return Err(format!("{} can't be published: {why}", show(path)));
        }
        if files.len() == version::MAX_BUNDLE_FILES {
            return Err(format!(
                "{} holds more than {} files",
                show(&dir),
                version::MAX_BUNDLE_FILES
            ));
        }
        let bytes = base
            .read(&rel.join(inner), version::MAX_FILE_BYTES)
            .map_err(|e| e.describe(shown_from))?;
        total += bytes.len() as u64;
        if total > version::MAX_BUNDLE_BYTES {
            return Err(format!(
                "{} holds more than the limit of {} MiB",
                show(&dir),
                version::MAX_BUNDLE_BYTES >> 20
            ));
        }
        files.push((name, bytes));
    }
    files.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    if !files.iter().any(|(path, _)| path == "index.md") {
        return Err(format!(
            "{}/index.md {}",
            show(&dir),
            fs::ReadErrorKind::NotRegular
        ));
    }
    let entries: Vec<ManifestEntry> = files
        .iter()
        .map(|(path, bytes)| ManifestEntry {
            path: path.clone(),
            hex: version::sha256_hex(bytes),
        })
        .collect();
    let version = Version::of_bytes(version::manifest_text(&entries).as_bytes());
    let mut markdown = Vec::new();
    let mut assets = Vec::new();
    for (path, bytes) in files {
        if path == "index.md" {
            markdown = bytes;
        } else {
            assets.push((path, bytes));
        }
    }
    Ok((version, VersionFiles { markdown, assets }))
}

#[cfg(test)]
mod tests;
