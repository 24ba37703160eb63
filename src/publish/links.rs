//! Relative links between pages (SPEC §7). A link in Markdown points at a source file
//! (`../install.md`, `img/shot.png`); in the public site it must point at the published URL —
//! or, when its target is not published in this build, not point anywhere at all, so that no
//! path of an unpublished page reaches `output/`.

use std::collections::{BTreeMap, BTreeSet};

use crate::publish::markdown::LinkResolution;

/// Everything published in this build that a link may point at.
#[derive(Debug, Default)]
pub struct PublishedLinks {
    /// Page id → URL relative to the output root (`kb/install/`).
    pub pages: BTreeMap<String, String>,
    /// Bundle page id → its live version's asset paths (`img/shot.png`).
    pub assets: BTreeMap<String, BTreeSet<String>>,
}

/// Where a page's Markdown lives, to resolve its relative links from.
pub struct LinkSource<'a> {
    /// The page id.
    pub id: &'a str,
    pub bundle: bool,
    /// `"../../"` for a page at `kb/guide/install/`: from its HTML back to the output root.
    pub root: &'a str,
}

impl PublishedLinks {
    /// Resolves one relative destination written in `source`'s Markdown.
    pub fn resolve(&self, source: &LinkSource, dest: &str) -> LinkResolution {
        let (path_part, suffix) = match dest.find(['#', '?']) {
            Some(i) => (&dest[..i], &dest[i..]),
            None => (dest, ""),
        };
        if path_part.is_empty() {
            return LinkResolution::Keep;
        }
        // Markdown paths are relative to the folder holding the Markdown file: the page's
        // own folder for a bundle (`kb/shots/index.md`), its parent for a file (`kb/a.md`).
        let base = if source.bundle {
            source.id.to_string()
        } else {
            source
                .id
                .rsplit_once('/')
                .map_or(String::new(), |(d, _)| d.to_string())
        };
        let Some(target) = normalize(&base, &percent_decode(path_part)) else {
            return LinkResolution::Unpublished;
        };
        if source.bundle {
            if let Some(asset) = target.strip_prefix(&format!("{}/", source.id)) {
                return match self.assets.get(source.id) {
                    Some(a) if a.contains(asset) => LinkResolution::Keep,
                    _ => LinkResolution::Unpublished,
                };
            }
        }
        let page_id = target
            .strip_suffix("/index.md")
            .or_else(|| target.strip_suffix(".md"))
            .unwrap_or(&target);
        if let Some(url) = self.pages.get(page_id) {
            return LinkResolution::Rewrite(format!("{}{url}{suffix}", source.root));
        }
        // An asset of another published bundle: the longest page id that prefixes it.
        let mut cut = target.len();
        while let Some(slash) = target[..cut].rfind('/') {
            let (bundle, asset) = (&target[..slash], &target[slash + 1..]);
            if let (Some(assets), Some(url)) = (self.assets.get(bundle), self.pages.get(bundle)) {
                if assets.contains(asset) {
                    return LinkResolution::Rewrite(format!("{}{url}{asset}{suffix}", source.root));
                }
                break;
            }
            cut = slash;
        }
        LinkResolution::Unpublished
    }
}

/// Joins `rel` onto `base` (both `/`-separated, inside `content/`), resolving `.` and `..`.
/// `None` when the path climbs out of `content/`.
fn normalize(base: &str, rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    for part in rel.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// `%20` → ` `; text that does not decode to UTF-8 is kept as written.
fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .map(|t| t.into_owned())
        .unwrap_or_else(|_| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn published() -> PublishedLinks {
        let mut l = PublishedLinks::default();
        l.pages.insert("kb/install".into(), "kb/install/".into());
        l.pages
            .insert("kb/guide/setup".into(), "kb/guide/configure/".into());
        l.pages.insert("kb/shots".into(), "kb/shots/".into());
        l.pages.insert("api/auth".into(), "developers/auth/".into());
        l.assets
            .insert("kb/shots".into(), ["img/a.png".to_string()].into());
        l
    }

    #[test]
    fn percent_escapes_decode_and_bytes_that_are_not_utf8_stay_as_written() {
        assert_eq!(percent_decode("my%20page.md"), "my page.md");
        assert_eq!(percent_decode("caf%C3%A9.md"), "café.md");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("bad%FF.md"), "bad%FF.md");
    }

    #[test]
    fn links_resolve_to_published_urls_or_to_nothing() {
        let l = published();
        let file = LinkSource {
            id: "kb/guide/page",
            bundle: false,
            root: "../../../",
        };
        let bundle = LinkSource {
            id: "kb/shots",
            bundle: true,
            root: "../../",
        };
        use LinkResolution::*;
        let cases: Vec<(&LinkSource, &str, LinkResolution)> = vec![
            (
                &file,
                "../install.md",
                Rewrite("../../../kb/install/".into()),
            ),
            (
                &file,
                "../install.md#step-2",
                Rewrite("../../../kb/install/#step-2".into()),
            ),
            (
                &file,
                "setup.md",
                Rewrite("../../../kb/guide/configure/".into()),
            ),
            (
                &file,
                "./setup.md?x=1",
                Rewrite("../../../kb/guide/configure/?x=1".into()),
            ),
            (
                &file,
                "../../api/auth.md",
                Rewrite("../../../developers/auth/".into()),
            ),
            (
                &file,
                "../shots/index.md",
                Rewrite("../../../kb/shots/".into()),
            ),
            (
                &file,
                "../shots/img/a.png",
                Rewrite("../../../kb/shots/img/a.png".into()),
            ),
            (&file, "../shots/img/draft-only.png", Unpublished),
            (&file, "../secret-plans.md", Unpublished),
            (&file, "../../../../etc/passwd", Unpublished),
            (&file, "../../../outside.md", Unpublished),
            (&file, "#anchor", Keep),
            (&bundle, "img/a.png", Keep),
            (&bundle, "img/not-in-live-version.png", Unpublished),
            (
                &bundle,
                "../install.md",
                Rewrite("../../kb/install/".into()),
            ),
            (
                &file,
                "../inst%61ll.md",
                Rewrite("../../../kb/install/".into()),
            ),
        ];
        for (source, dest, want) in cases {
            assert_eq!(l.resolve(source, dest), want, "{dest}");
        }
    }
}
