//! What the search index holds of each page, the renderer's side of it: the entries handed to
//! `publish::search`, and the files that make the index (kept whole when its inputs held).

use rayon::prelude::*;
use serde::Serialize;

use super::pages::Renderer;
use super::pages::Sink;
use super::{PublishedPage, PublishedSpace};
use crate::cache::render_memo;
use crate::error::{Error, Result};
use crate::publish::output::Fill;
use crate::publish::search;
use crate::trust::version::hash_part;

#[derive(Clone, Serialize)]
pub struct SearchEntry<'a> {
    pub title: &'a str,
    pub url: &'a str,
    pub space: &'a str,
    pub description: Option<&'a str>,
    pub tags: &'a [String],
    pub text: std::sync::Arc<str>,
    /// The key of the Markdown inputs `text` was made from, when known (the render memo's):
    /// the search index's inputs are digested by it instead of by every page's text.
    #[serde(skip)]
    pub text_key: Option<String>,
}

#[derive(Serialize)]
pub struct SearchIndex<'e, 'a> {
    pub pages: &'e [SearchEntry<'a>],
}

/// How much of a page's text goes into the search index: enough to find it by its opening,
/// small enough that the index of a 10,000-page site still loads in a browser.
pub const SEARCH_TEXT_CHARS: usize = 1500;

pub fn search_text(text: &str) -> String {
    match text.char_indices().nth(SEARCH_TEXT_CHARS) {
        Some((cut, _)) => text[..cut].to_string(),
        None => text.to_string(),
    }
}

/// The search entry of a page whose indexed text is `text` (already `super::search_text`),
/// made from Markdown inputs with key `text_key` when known.
pub(super) fn search_entry<'a>(
    space: &'a PublishedSpace<'a>,
    page: &'a PublishedPage<'a>,
    text: std::sync::Arc<str>,
    text_key: Option<String>,
) -> SearchEntry<'a> {
    SearchEntry {
        title: page.title,
        url: page.url,
        space: &space.policy.title,
        description: page.description,
        tags: page.tags,
        text,
        text_key,
    }
}

/// The name of the search index's files as a group in the render memo.
pub(super) const SEARCH_GROUP: &str = "search";

/// What one page's search entry is made from, with this program: the digest [`search::patch`]
/// tells the pages that changed by. Its text counts by the key of the Markdown inputs it was
/// made from, when known (equal keys make equal text: the render memo rests on that too), so a
/// rebuild does not hash the text of every page.
pub(super) fn entry_digest(e: &SearchEntry) -> [u8; 32] {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(b"imprimatur-search-entry-v1\n");
    h.update(render_memo::program_id());
    let mut part = |bytes: &[u8]| hash_part(&mut h, bytes);
    for field in [e.title, e.url, e.space] {
        part(field.as_bytes());
    }
    let (mark, description): (&[u8], &str) = match e.description {
        Some(d) => (b"d", d),
        None => (b"-", ""),
    };
    part(mark);
    part(description.as_bytes());
    part(&(e.tags.len() as u64).to_be_bytes());
    for tag in e.tags {
        part(tag.as_bytes());
    }
    let (mark, text): (&[u8], &str) = match &e.text_key {
        Some(key) => (b"k", key),
        None => (b"t", &e.text[..]),
    };
    part(mark);
    part(text.as_bytes());
    h.finalize().into()
}

/// What the search index's files are made from: the digests of its entries (sorted by URL,
/// see [`entry_digest`]), in one.
pub(super) fn search_digest(entries: &[[u8; 32]]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(b"imprimatur-search-inputs-v3\n");
    h.update((entries.len() as u64).to_be_bytes());
    for digest in entries {
        h.update(digest);
    }
    render_memo::hex(&h.finalize())
}

/// The files of the search index of `entries` (sorted by URL): the pieces, each handed to
/// `emit` as soon as it is made (or patched from the last build's, `before`, with each entry's
/// digest), and side by side the whole index in one file, which `emit_by` has written a piece
/// at a time (it is 170 MB at 100,000 pages). Their paths, sorted.
pub(super) fn search_files_of(
    entries: &[SearchEntry],
    emit: &search::Emit<'_, crate::error::Error>,
    emit_by: &(dyn Fn(&str, &Fill) -> Result<()> + Sync),
    before: Option<(&search::Before<'_, crate::error::Error>, &[[u8; 32]])>,
) -> Result<Vec<String>> {
    let (pieces, whole) = rayon::join(
        || -> Result<Vec<String>> {
            if let Some((before, digests)) = before {
                if let Some(patched) = search::patch(entries, digests, before, emit)? {
                    return Ok(patched);
                }
            }
            search::pieces(entries, emit)
        },
        || {
            emit_by("search-index.json", &|w| {
                serde_json::to_writer(w, &super::SearchIndex { pages: entries })
                    .map_err(std::io::Error::from)
            })
        },
    );
    let mut files = pieces?;
    whole?;
    files.push("search-index.json".to_string());
    files.sort_unstable();
    Ok(files)
}

/// Whether `path` (relative to the site root) is a file of the search index.
pub fn is_search_file(path: &str) -> bool {
    path == "search-index.json"
        || path
            .strip_prefix(search::DIR)
            .is_some_and(|rest| rest.starts_with('/'))
}

impl<'a> Renderer<'a> {
    /// The index pieces and `search-index.json`, made from the entries alone: kept as the
    /// last build wrote them when their inputs are the same, patched where only some pages'
    /// entries changed (see [`search::patch`]). How many files.
    pub(super) fn search_into(
        &self,
        sink: &dyn Sink,
        mut search: Vec<SearchEntry>,
    ) -> Result<usize> {
        let _t = crate::timings::phase("search index");
        search.sort_by(|a, b| a.url.cmp(b.url));
        let write = |rel: &str, bytes: &[u8]| sink.write(rel, bytes);
        let write_with = |rel: &str, fill: &Fill| sink.write_with(rel, fill);
        if !sink.remembers() {
            return Ok(search_files_of(&search, &write, &write_with, None)?.len());
        }
        let digests: Vec<[u8; 32]> = search.par_iter().map(entry_digest).collect();
        let inputs = search_digest(&digests);
        if let Some(kept) = sink.reuse_group(SEARCH_GROUP, &inputs) {
            return Ok(kept);
        }
        let read = |rel: &str, hash: &str| sink.read_before(rel, hash);
        let keep = |rel: &str, hash: &str| -> Result<()> {
            match sink.keep_before(rel, hash) {
                true => Ok(()),
                false => Err(Error::Refused(format!(
                    "the search index's file '{rel}' could not be kept from the last build"
                ))),
            }
        };
        let before = sink.group_before(SEARCH_GROUP).map(|memo| search::Before {
            entries: &memo.parts,
            files: &memo.files,
            read: &read,
            keep: &keep,
        });
        let made = search_files_of(
            &search,
            &write,
            &write_with,
            before.as_ref().map(|b| (b, &digests[..])),
        )?;
        let parts = search
            .iter()
            .zip(digests)
            .map(|(e, d)| (e.url.to_string(), d))
            .collect();
        sink.remember_group(SEARCH_GROUP, Some(inputs), &made, parts);
        Ok(made.len())
    }

    /// Every file of the search index (`search-index.json` and the pieces under
    /// `search-index/`) by path, from one gathering of every page's entry: what a build
    /// writes. `serve` keeps them, so that the pieces of one search are not each gathered anew
    /// (which is why [`Renderer::file`] does not make them one by one).
    pub fn search_files(&self) -> Result<Vec<(String, Vec<u8>)>> {
        let mut entries: Vec<SearchEntry> = (0..self.jobs.len())
            .into_par_iter()
            .map(|j| self.search_entry(j))
            .collect::<Result<_>>()?;
        entries.sort_by(|a, b| a.url.cmp(b.url));
        let made = std::sync::Mutex::new(Vec::new());
        let collect = |rel: &str, bytes: &[u8]| -> Result<()> {
            let file = (rel.to_string(), bytes.to_vec());
            made.lock().expect("no collector panics").push(file);
            Ok(())
        };
        let collect_by = |rel: &str, fill: &Fill| -> Result<()> {
            let mut bytes = Vec::new();
            fill(&mut bytes).map_err(|e| Error::io(rel, e))?;
            collect(rel, &bytes)
        };
        search_files_of(&entries, &collect, &collect_by, None)?;
        Ok(made.into_inner().expect("no collector panics"))
    }

    /// The page's search entry, for a request of the index alone (no templates rendered).
    pub(super) fn search_entry(&self, j: usize) -> Result<SearchEntry<'_>> {
        let (space, page) = self.job(j);
        let body = super::render_body(page, &self.published.links, &self.site.config)?;
        let text = super::search_text(&body.text).into();
        Ok(search_entry(space, page, text, None))
    }
}
