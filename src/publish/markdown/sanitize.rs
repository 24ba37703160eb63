//! Sanitizing: what pulldown-cmark makes of untrusted Markdown goes through ammonia unless
//! it is safe as it is (no raw HTML, no link with a scheme outside a short list).

use std::sync::OnceLock;

use pulldown_cmark::{Event, Tag};

use super::links::{has_scheme, names_markdown_source};

/// URL schemes a rendered link may keep without the sanitizer looking at the page.
pub(super) const SAFE_SCHEMES: &[&str] = &["http", "https", "mailto", "tel", "ftp", "ftps"];

/// True when pulldown-cmark's own output for these events is safe as it is: no raw HTML,
/// no link or image with a scheme outside `SAFE_SCHEMES`, no heading attribute but id/class.
pub(super) fn is_inherently_safe(events: &[Event<'_>]) -> bool {
    events.iter().all(|event| match event {
        Event::Html(_) | Event::InlineHtml(_) => false,
        Event::Start(Tag::Link { dest_url, .. }) | Event::Start(Tag::Image { dest_url, .. }) => {
            let cleaned: String = dest_url
                .trim_start_matches(|c: char| c == ' ' || c.is_ascii_control())
                .chars()
                .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
                .collect();
            if names_markdown_source(&cleaned) {
                return false;
            }
            if !has_scheme(&cleaned) {
                return true;
            }
            let scheme = cleaned.split(':').next().unwrap_or("").to_ascii_lowercase();
            SAFE_SCHEMES.contains(&scheme.as_str())
        }
        Event::Start(Tag::Heading { attrs, .. }) => attrs.is_empty(),
        _ => true,
    })
}

/// Allow-list for untrusted pages: ammonia's defaults plus exactly the markup pulldown-cmark
/// emits for the enabled extensions. Built once; the configuration is static.
pub(super) fn sanitizer() -> &'static ammonia::Builder<'static> {
    static SANITIZER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    SANITIZER.get_or_init(|| {
        let mut builder = ammonia::Builder::default();
        builder
            .add_tags(["input"])
            .add_tag_attribute_values("input", "type", ["checkbox"])
            .add_tag_attribute_values("input", "disabled", [""])
            .add_tag_attribute_values("input", "checked", [""])
            .add_tag_attributes("code", ["class"])
            .add_tag_attributes("span", ["class"])
            .add_tag_attributes("div", ["id"])
            .add_tag_attribute_values("div", "class", ["footnote-definition"])
            .add_tag_attribute_values(
                "sup",
                "class",
                ["footnote-reference", "footnote-definition-label"],
            )
            .url_relative(ammonia::UrlRelative::PassThrough)
            // Links are plain same-tab links; a rel we did not ask for would only add noise.
            .link_rel(None)
            .attribute_filter(|element, attribute, value| match (element, attribute) {
                // Only the `language-…` class pulldown-cmark writes, so page CSS can't be
                // hijacked through raw `<code class>`.
                ("code", "class") => (value.starts_with("language-")
                    && !value.contains(char::is_whitespace))
                .then(|| value.into()),
                // Only the highlighter's `hl-` classes (`highlight.rs`), which the theme's
                // highlight.css colours and nothing else styles.
                ("span", "class") => {
                    super::highlight::is_highlight_class(value).then(|| value.into())
                }
                // Raw HTML links never pass through `resolve`; one that still names a `.md`
                // source would expose a page path that may not be published. Our own links
                // are already rewritten to page URLs, which never end in `.md`.
                (_, "href" | "src") if names_markdown_source(value) => None,
                _ => Some(value.into()),
            });
        for heading in ["h1", "h2", "h3", "h4", "h5", "h6"] {
            // `class` comes from `{.class}` heading attributes.
            builder.add_tag_attributes(heading, ["id", "class"]);
        }
        for cell in ["th", "td"] {
            builder.add_tag_attribute_values(
                cell,
                "style",
                [
                    "text-align: left",
                    "text-align: center",
                    "text-align: right",
                ],
            );
        }
        builder
    })
}
