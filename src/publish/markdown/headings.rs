//! Heading ids and the table of contents: every heading gets a stable, unique id (an
//! author's `{#id}` first, then a slug of its text), so pages can be deep-linked.

use std::collections::{HashMap, HashSet};

use pulldown_cmark::{CowStr, Event, Tag, TagEnd};

use super::text::{collapse_whitespace, inline_text};
use super::TocEntry;

/// Heading-id slug: lowercase, letters and ASCII digits kept, everything else collapsed
/// into single dashes. Never empty, so every heading stays addressable.
pub fn slugify(text: &str) -> String {
    let mut slug = String::with_capacity(text.len());
    // Starting "in a gap" drops leading separators without a trim pass.
    let mut pending_dash = false;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c.is_alphabetic() {
            if pending_dash && !slug.is_empty() {
                slug.push('-');
            }
            pending_dash = false;
            slug.extend(c.to_lowercase());
        } else {
            pending_dash = true;
        }
    }
    if slug.is_empty() {
        slug.push_str("section");
    }
    slug
}

/// Gives every heading a unique id and collects h2–h4 into the toc.
///
/// Explicit `{#id}`s are reserved up front so an author's chosen anchor is never taken by
/// an earlier auto-generated slug; footnote labels are reserved too because pulldown-cmark
/// uses them verbatim as element ids.
pub(super) fn assign_heading_ids(mut events: Vec<Event<'_>>) -> (Vec<Event<'_>>, Vec<TocEntry>) {
    let mut reserved: HashSet<String> = HashSet::new();
    for event in &events {
        match event {
            Event::Start(Tag::Heading { id: Some(id), .. }) if !id.is_empty() => {
                reserved.insert(id.to_string());
            }
            Event::Start(Tag::FootnoteDefinition(label)) => {
                reserved.insert(label.to_string());
            }
            _ => {}
        }
    }

    let mut ids = HeadingIds {
        used: HashSet::new(),
        reserved,
        next_suffix: HashMap::new(),
    };
    let mut toc = Vec::new();
    let mut i = 0;
    while i < events.len() {
        let Event::Start(Tag::Heading { level, .. }) = &events[i] else {
            i += 1;
            continue;
        };
        let level = *level as u8;
        let end = events[i + 1..]
            .iter()
            .position(|e| matches!(e, Event::End(TagEnd::Heading(_))))
            .map_or(events.len(), |offset| i + 1 + offset);
        let title = collapse_whitespace(&inline_text(&events[i + 1..end]));

        if let Event::Start(Tag::Heading { id, attrs, .. }) = &mut events[i] {
            let custom = id.as_deref().filter(|c| !c.is_empty()).map(str::to_owned);
            let chosen = match custom {
                Some(c) if !ids.used.contains(&c) => c,
                Some(c) => ids.unique(c),
                None => ids.unique(slugify(&title)),
            };
            ids.used.insert(chosen.clone());
            *id = Some(CowStr::from(chosen.clone()));
            // An `{id=…}` attribute would emit a second id attribute and defeat uniqueness.
            attrs.retain(|(name, _)| !name.eq_ignore_ascii_case("id"));

            if (2..=4).contains(&level) {
                toc.push(TocEntry {
                    level,
                    id: chosen,
                    title,
                });
            }
        }
        i = end + 1;
    }
    (events, toc)
}

/// The heading ids of one page: those taken, those reserved, and for each base the next
/// suffix to try. Suffixes below it are known to be taken (ids are only ever added), so a
/// page repeating one heading 20,000 times takes 20,000 steps, not 200 million.
pub(super) struct HeadingIds {
    used: HashSet<String>,
    reserved: HashSet<String>,
    next_suffix: HashMap<String, usize>,
}

impl HeadingIds {
    /// `base` if it is free, else `base-N` with the smallest free N.
    fn unique(&mut self, base: String) -> String {
        let free = |ids: &Self, candidate: &str| {
            !ids.used.contains(candidate) && !ids.reserved.contains(candidate)
        };
        if free(self, &base) {
            return base;
        }
        let mut n = self.next_suffix.get(&base).copied().unwrap_or(1);
        let chosen = loop {
            let candidate = format!("{base}-{n}");
            n += 1;
            if free(self, &candidate) {
                break candidate;
            }
        };
        self.next_suffix.insert(base, n);
        chosen
    }
}
