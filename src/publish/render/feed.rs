//! The Atom feeds (RFC 4287): `feed.xml` at the site's root (every published page) and
//! `<space>/feed.xml` (the space's), so readers and support teams can follow what changed.
//! Made from the published view only — live versions, nothing of a draft — newest approval
//! first, each entry's `updated` its approval time and the feed's the newest of them, so the
//! bytes are a function of the judged site and never of the build's clock. The XML is written
//! by `atom_syndication`.

use atom_syndication::{Entry, Feed, Link, Person, Text};
use pulldown_cmark::{Event, Parser, Tag, TagEnd};

use super::pages::{Renderer, View};
use super::{PublishedPage, PublishedSpace};
use crate::error::{Error, Result};

/// The file name of a feed, at the root and in each space's folder.
pub(super) const FEED_FILE: &str = "feed.xml";

/// The longest summary taken from a page's first paragraph, in characters.
const SUMMARY_CHARS: usize = 280;

impl<'a> Renderer<'a> {
    /// Every feed of the published view, by path: the site's, then each space's. None for
    /// the drafts view.
    pub(super) fn feeds(&self) -> Result<Vec<(String, Vec<u8>)>> {
        if self.view != View::Published {
            return Ok(Vec::new());
        }
        let mut files = vec![(FEED_FILE.to_string(), self.site_feed()?)];
        for space in &self.published.spaces {
            files.push((format!("{}{FEED_FILE}", space.url), self.space_feed(space)?));
        }
        Ok(files)
    }

    /// The feed at `path`, if the published view has one there.
    pub(super) fn feed(&self, path: &str) -> Result<Option<Vec<u8>>> {
        if self.view != View::Published || !path.ends_with(FEED_FILE) {
            return Ok(None);
        }
        if path == FEED_FILE {
            return self.site_feed().map(Some);
        }
        match self
            .published
            .spaces
            .iter()
            .find(|s| format!("{}{FEED_FILE}", s.url) == path)
        {
            Some(space) => self.space_feed(space).map(Some),
            None => Ok(None),
        }
    }

    fn site_feed(&self) -> Result<Vec<u8>> {
        let pages = self.published.spaces.iter().flat_map(pages_of);
        self.feed_of(&self.site.config.title, "", pages)
    }

    fn space_feed(&self, space: &PublishedSpace) -> Result<Vec<u8>> {
        self.feed_of(&space.policy.title, &space.url, pages_of(space))
    }

    /// The feed titled `title` of `pages`, for the site folder `url` ("" for the root).
    fn feed_of<'p>(
        &self,
        title: &str,
        url: &str,
        pages: impl Iterator<Item = &'p PublishedPage<'p>>,
    ) -> Result<Vec<u8>> {
        let base = &self.site.config.base_url;
        let mut pages: Vec<&PublishedPage> = pages.collect();
        pages.sort_by(|a, b| (b.live.approved_at, a.url).cmp(&(a.live.approved_at, b.url)));
        let entries = pages
            .iter()
            .map(|p| entry(base, p))
            .collect::<Result<Vec<Entry>>>()?;
        let updated = pages
            .first()
            .map_or_else(Default::default, |p| p.live.approved_at);
        let mut feed = Feed::default();
        feed.set_title(Text::plain(title));
        feed.set_id(format!("{base}{url}{FEED_FILE}"));
        feed.set_updated(updated.fixed_offset());
        feed.set_authors(vec![Person {
            name: self.site.config.title.clone(),
            ..Person::default()
        }]);
        feed.set_links(vec![
            link(
                format!("{base}{url}{FEED_FILE}"),
                "self",
                "application/atom+xml",
            ),
            link(format!("{base}{url}"), "alternate", "text/html"),
        ]);
        feed.set_entries(entries);
        let mut bytes = feed.write_to(Vec::new()).map_err(|e| Error::Render {
            page: format!("{url}{FEED_FILE}"),
            source: crate::error::Cause::new(e),
        })?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}

fn pages_of<'s, 'a>(space: &'s PublishedSpace<'a>) -> impl Iterator<Item = &'s PublishedPage<'a>> {
    space.sections.iter().flat_map(|s| s.pages.iter())
}

fn link(href: String, rel: &str, mime: &str) -> Link {
    let mut link = Link::default();
    link.set_href(href);
    link.set_rel(rel);
    link.set_mime_type(Some(mime.to_string()));
    link
}

/// One page's entry: its absolute URL as its id, approved at `updated`, published at
/// `published`, summarised by its description or its first paragraph.
fn entry(base: &str, page: &PublishedPage) -> Result<Entry> {
    let summary = match page.description {
        Some(d) => d.to_string(),
        None => first_paragraph(page.content.load()?.body()),
    };
    let mut entry = Entry::default();
    entry.set_title(Text::plain(page.title));
    entry.set_id(format!("{base}{}", page.url));
    entry.set_updated(page.live.approved_at.fixed_offset());
    entry.set_published(Some(page.live.published_at.fixed_offset()));
    entry.set_links(vec![link(
        format!("{base}{}", page.url),
        "alternate",
        "text/html",
    )]);
    if !summary.is_empty() {
        entry.set_summary(Some(Text::plain(summary)));
    }
    Ok(entry)
}

/// The text of the first paragraph of `markdown`, its words joined by single spaces, at most
/// [`SUMMARY_CHARS`] characters (cut at a word, with `…`).
fn first_paragraph(markdown: &str) -> String {
    let mut text = String::new();
    let mut inside = false;
    for event in Parser::new(markdown) {
        match event {
            Event::Start(Tag::Paragraph) => inside = true,
            Event::End(TagEnd::Paragraph) if inside => break,
            Event::Text(t) | Event::Code(t) if inside => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak if inside => text.push(' '),
            _ => {}
        }
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut summary = String::new();
    for word in words {
        if summary.chars().count() + word.chars().count() + 1 > SUMMARY_CHARS {
            summary.push('…');
            break;
        }
        if !summary.is_empty() {
            summary.push(' ');
        }
        summary.push_str(word);
    }
    summary
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_summary_is_the_first_paragraphs_text_cut_at_a_word() {
        let md = "# Title\n\nInstall the `agent`\nfirst, then *run* it.\n\nSecond paragraph.\n";
        assert_eq!(
            super::first_paragraph(md),
            "Install the agent first, then run it."
        );
        let long = "word ".repeat(100);
        let s = super::first_paragraph(&long);
        assert!(
            s.ends_with('…') && s.chars().count() <= super::SUMMARY_CHARS + 1,
            "{s}"
        );
        assert_eq!(super::first_paragraph("# Only a heading\n"), "");
    }
}
