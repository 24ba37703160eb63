//! Where each live page is published: its URL from the space's `publish_to`, its folders
//! and its slug, refused where it would be one of the site's own files; two live pages
//! claiming one URL (SPEC §7), a page's `aliases` (old URLs that redirect to it) among the
//! claims; and two spaces published into one folder, refused at load.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::trust::policy::Policy;
use crate::trust::review::{FindingKind, Offline};

use super::{Finding, PageEvaluation};

/// A name no segment of a page's URL or alias may be: each space's feed is `<space>/feed.xml`.
const FEED: &str = "feed.xml";

/// Names a page's URL may not use: they are the site's own files and folders at the root,
/// or would be replaced by the page's `index.html`.
const RESERVED_AT_ROOT: &[&str] = &[
    "index.html",
    "sitemap.xml",
    "search-index.json",
    "search-index.js",
    "search-index",
    "static",
    "robots.txt",
    "404.html",
    "_redirects",
    "feed.xml",
    "_drafts",
    "_review",
];

/// `<publish_to>/<folders of the page>/<slug or last segment>/`, or why it can't be used:
/// every segment must be a plain name (no control characters, no `.`/`..`, no hidden
/// names, not `index.html`), and the first one none of the site's own root names.
pub fn page_url(
    policy: &Policy,
    page_path: &str,
    slug: Option<&str>,
) -> std::result::Result<String, (String, String)> {
    let (dirs, last) = match page_path.rsplit_once('/') {
        Some((d, l)) => (Some(d), l),
        None => (None, page_path),
    };
    let last = slug.unwrap_or(last);
    let url = match dirs {
        Some(d) => format!("{}/{d}/{last}/", policy.publish_to),
        None => format!("{}/{last}/", policy.publish_to),
    };
    // Checked before anything else: a name the filesystem can't hold would fail the whole
    // build when written (`File name too long`), not just this page.
    if let Some(why) = crate::trust::version::name_too_long(url.trim_end_matches('/')) {
        let shown: String = url.chars().take(64).collect();
        return Err((format!("{}…", shown.escape_debug()), why));
    }
    let segments: Vec<&str> = url.trim_end_matches('/').split('/').collect();
    for (i, segment) in segments.iter().enumerate() {
        let why = if segment.is_empty() || *segment == "." || *segment == ".." {
            Some("an empty, '.' or '..' segment".to_string())
        } else if segment.chars().any(|c| c.is_control()) {
            Some("a control character".into())
        } else if segment.starts_with('.') || segment.contains('\\') {
            Some(format!(
                "'{}' is hidden or holds a backslash",
                segment.escape_debug()
            ))
        } else if *segment == "index.html"
            || *segment == FEED
            || (i == 0 && RESERVED_AT_ROOT.contains(segment))
        {
            Some(format!("'{segment}' is reserved for the site's own files"))
        } else {
            None
        };
        if let Some(why) = why {
            return Err((url.escape_debug().to_string(), why));
        }
    }
    Ok(url)
}

/// An alias as written in front matter (`old/path/`, `/old/path`) as a URL path within the
/// site: no leading `/`, ending in `/`, every segment a plain name as a page's own are (so no
/// scheme, host, query, fragment, `..` or hidden name), the first none of the site's own root
/// names. The error says what is wrong with it, for an `invalid_page`.
pub fn alias_path(alias: &str) -> std::result::Result<String, String> {
    let shown = alias.escape_debug();
    if alias.contains("://") || alias.starts_with("//") {
        return Err(format!(
            "'{shown}' is not a path within the site (no scheme or host)"
        ));
    }
    if let Some(c) = alias.chars().find(|c| matches!(c, '?' | '#' | '%' | ':')) {
        return Err(format!(
            "'{shown}' holds '{c}': an alias is a plain path (no query, fragment or escape)"
        ));
    }
    let trimmed = alias.strip_prefix('/').unwrap_or(alias);
    let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
    if trimmed.is_empty() {
        return Err(format!("'{shown}' is the site's home page"));
    }
    if let Some(why) = crate::trust::version::name_too_long(trimmed) {
        return Err(format!(
            "'{}…' {why}",
            alias.chars().take(64).collect::<String>()
        ));
    }
    for (i, segment) in trimmed.split('/').enumerate() {
        let why = if segment.is_empty() || segment == "." || segment == ".." {
            Some("an empty, '.' or '..' segment".to_string())
        } else if segment.chars().any(|c| c.is_control() || c.is_whitespace()) {
            Some("a control character or a space".into())
        } else if segment.starts_with('.') || segment.contains('\\') {
            Some(format!(
                "'{}' is hidden or holds a backslash",
                segment.escape_debug()
            ))
        } else if segment == "index.html"
            || segment == FEED
            || (i == 0 && RESERVED_AT_ROOT.contains(&segment))
        {
            Some(format!("'{segment}' is reserved for the site's own files"))
        } else {
            None
        };
        if let Some(why) = why {
            return Err(format!("'{shown}' has {why}"));
        }
    }
    Ok(format!("{trimmed}/"))
}

/// Who keeps a URL that `claimants` (each a page's index, and whether the URL is the one its
/// own path gives) all claim: nobody when it is a space's index; the only claimant; else the
/// one page whose own path gives it, if exactly one does. The one rule for the published site
/// and the drafts view.
pub(crate) fn url_keeper(claimants: &[(usize, bool)], space_index: bool) -> Option<usize> {
    let mut owners = claimants.iter().filter(|c| c.1).map(|c| c.0);
    match (space_index, claimants) {
        (true, _) => None,
        (false, [(only, _)]) => Some(*only),
        (false, _) => match (owners.next(), owners.next()) {
            (Some(owner), None) => Some(owner),
            _ => None,
        },
    }
}

/// Two live pages may not share a URL (SPEC §7): the page whose own path gives the URL keeps
/// it, pages that claim it through `slug` go offline (`url_conflict`). Where no page owns it
/// by its path, or a space's index is there, every claimant goes offline: nobody chose a winner.
/// An alias (the live version's, never the draft's) claims its URL as a slug does: a page that
/// names a live page's URL, or another page's alias, as its alias goes offline.
pub(super) fn resolve_urls(
    pages: &mut [PageEvaluation],
    policies: &BTreeMap<String, Policy>,
) -> Vec<Finding> {
    let mut claims: BTreeMap<String, Vec<(usize, bool)>> = BTreeMap::new();
    for (i, p) in pages.iter().enumerate() {
        if let Some(live) = p.live() {
            let own =
                page_url(&policies[&p.page.space], &p.page.path, None).is_ok_and(|u| u == live.url);
            claims.entry(live.url.clone()).or_default().push((i, own));
            let mut aliases: Vec<&String> = live.content.front.aliases.iter().collect();
            aliases.sort();
            aliases.dedup();
            for alias in aliases.into_iter().filter(|a| **a != live.url) {
                claims.entry(alias.clone()).or_default().push((i, false));
            }
        }
    }
    let space_index: BTreeMap<String, &str> = policies
        .values()
        .map(|p| (format!("{}/", p.publish_to), p.space.as_str()))
        .collect();
    let mut findings = Vec::new();
    for (url, claimants) in claims {
        let space = space_index.get(&url);
        let keeper = url_keeper(&claimants, space.is_some());
        let owner = match (space, keeper) {
            (Some(space), _) => format!("the index of space '{space}'"),
            (None, Some(_)) if claimants.len() == 1 => continue,
            (None, Some(k)) => format!("page {}", pages[k].page.id),
            (None, None) => "no page by its own path (several claim it)".to_string(),
        };
        for (i, _) in claimants.into_iter().filter(|c| Some(c.0) != keeper) {
            let p = &mut pages[i];
            findings.push(Finding {
                kind: FindingKind::UrlConflict,
                page: Some(p.page.id.clone()),
                detail: format!(
                    "its URL {url} belongs to {owner}; not published (change its slug)"
                ),
                file: Some(p.page.source.clone()),
            });
            p.take_offline(Offline::UrlConflict {
                url: url.clone(),
                owner: owner.clone(),
            });
        }
    }
    findings
}

/// Two spaces published to one folder would write one index twice: refused at load.
pub(super) fn check_spaces_publish_apart(policies: &BTreeMap<String, Policy>) -> Result<()> {
    let mut seen: BTreeMap<&str, &Policy> = BTreeMap::new();
    for p in policies.values() {
        if let Some(other) = seen.insert(p.publish_to.as_str(), p) {
            return Err(Error::config(
                &p.file,
                "publish_to",
                format!(
                    "'{}' is also the publish_to of {}",
                    p.publish_to, other.file
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{alias_path, url_keeper};

    /// Claimants (page, whether the URL is its own path's), a space's index?, the keeper.
    type Case = (&'static [(usize, bool)], bool, Option<usize>);

    #[test]
    fn who_keeps_a_url_several_pages_claim() {
        let cases: &[Case] = &[
            (&[(0, true)], false, Some(0)),
            (&[(0, false)], false, Some(0)),
            (&[(0, true)], true, None),
            (&[(0, false), (1, true)], false, Some(1)),
            (&[(0, true), (1, false)], false, Some(0)),
            (&[(0, true), (1, true)], false, None),
            (&[(0, false), (1, false)], false, None),
            (&[(0, false), (1, true), (2, false)], false, Some(1)),
        ];
        for (claimants, space_index, keeper) in cases {
            assert_eq!(
                url_keeper(claimants, *space_index),
                *keeper,
                "{claimants:?} space index: {space_index}"
            );
        }
    }

    #[test]
    fn an_alias_is_a_plain_path_within_the_site_normalised_with_a_trailing_slash() {
        assert_eq!(alias_path("kb/old/").unwrap(), "kb/old/");
        assert_eq!(alias_path("/kb/old").unwrap(), "kb/old/");
        assert_eq!(alias_path("old").unwrap(), "old/");
        for bad in [
            "",
            "/",
            "https://x.example/",
            "//x.example/a/",
            "kb/../etc/",
            "kb/./a/",
            "kb//a/",
            "kb/a?b=1",
            "kb/a#top",
            "kb/%2e%2e/",
            "kb/.git/",
            "kb\\a/",
            "kb/a b/",
            "static/a/",
            "_review/a/",
            "search-index/a/",
            "index.html",
            "kb/feed.xml/",
            "feed.xml",
            "_redirects",
            "kb/a\u{7}/",
            "mailto:x",
        ] {
            assert!(alias_path(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
