//! Code blocks coloured at build time, so a reader's browser needs no script for it: the
//! text of a fenced block whose language the built-in grammars know becomes `<span>`s with
//! `hl-` classes (the scopes of Sublime Text grammars, through syntect), which the theme's
//! `static/highlight.css` colours for light and dark. A language no grammar knows, and code
//! past the page's share ([`MAX_HIGHLIGHTED_BYTES`]), stay plain, as before.
//!
//! The spans are made here from the code's text, escaped by syntect; nothing a page author
//! writes becomes markup through them. The sanitizer keeps `class` on `span` only for `hl-`
//! classes ([`is_highlight_class`]).

use std::sync::LazyLock;

use pulldown_cmark::{CodeBlockKind, CowStr, Event, Tag, TagEnd};
use syntect::html::{ClassStyle, ClassedHTMLGenerator};
use syntect::parsing::{SyntaxReference, SyntaxSet};
use syntect::util::LinesWithEndings;

use crate::site::budget::{HIGHLIGHT_BLOCK_BYTES, MAX_HIGHLIGHTED_BYTES, MAX_HIGHLIGHT_INFLATION};

/// Every class the highlighter writes starts with this prefix; `highlight.css` styles them.
pub(crate) const CLASS_PREFIX: &str = "hl-";
pub(crate) const CLASS_STYLE: ClassStyle = ClassStyle::SpacedPrefixed { prefix: "hl-" };

/// syntect's built-in grammars (Sublime Text's defaults), loaded once per process on first
/// use: it takes tens of milliseconds, and most builds' pages share a handful of languages.
static SYNTAXES: LazyLock<SyntaxSet> = LazyLock::new(SyntaxSet::load_defaults_newlines);

/// True for a `class` attribute of the highlighter's spans: `hl-` classes only.
pub(super) fn is_highlight_class(value: &str) -> bool {
    !value.is_empty()
        && value
            .split(' ')
            .all(|c| c.len() > CLASS_PREFIX.len() && c.starts_with(CLASS_PREFIX))
}

/// The grammar for a fenced block's info string (`bash`, `json`, `yaml`, `sh`, `py`...):
/// its first word, as a file extension or a grammar's name. Plain text is not a language.
fn syntax_for(info: &str) -> Option<&'static SyntaxReference> {
    let token = info.split_whitespace().next()?;
    let syntax = SYNTAXES.find_syntax_by_token(token)?;
    (syntax.name != "Plain Text").then_some(syntax)
}

/// The page's events, with the text of each fenced block in a known language replaced by
/// its highlighted HTML (pulldown-cmark writes the `<pre><code class="language-…">` around
/// it as before). Blocks are taken in order, within the page's share of highlighted code.
pub(super) fn highlight_code_blocks(events: Vec<Event<'_>>) -> Vec<Event<'_>> {
    let mut out = Vec::with_capacity(events.len());
    let mut labelled_code = 0usize;
    let mut events = events.into_iter();
    while let Some(event) = events.next() {
        let info = match &event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info)))
                if !info.trim().is_empty() =>
            {
                info.clone()
            }
            _ => {
                out.push(event);
                continue;
            }
        };
        out.push(event);
        let mut code: Vec<Event<'_>> = Vec::new();
        let mut end = None;
        for e in events.by_ref() {
            if matches!(e, Event::End(TagEnd::CodeBlock)) {
                end = Some(e);
                break;
            }
            code.push(e);
        }
        let text: String = code
            .iter()
            .filter_map(|e| match e {
                Event::Text(t) => Some(t.as_ref()),
                _ => None,
            })
            .collect();
        // The same share as the budget's estimate: every labelled block counts, known or not.
        labelled_code = labelled_code.saturating_add(text.len());
        let highlighted = (labelled_code <= MAX_HIGHLIGHTED_BYTES)
            .then(|| syntax_for(&info))
            .flatten()
            .and_then(|syntax| highlight(&text, syntax));
        match highlighted {
            Some(html) => out.push(Event::Html(CowStr::from(html))),
            None => out.extend(code),
        }
        out.extend(end);
    }
    out
}

/// `code` as classed spans, or `None` (stay plain) when the grammar fails on it or its HTML
/// would take more than [`MAX_HIGHLIGHT_INFLATION`] bytes per byte of code (and
/// [`HIGHLIGHT_BLOCK_BYTES`] per block).
fn highlight(code: &str, syntax: &SyntaxReference) -> Option<String> {
    let mut html = ClassedHTMLGenerator::new_with_class_style(syntax, &SYNTAXES, CLASS_STYLE);
    let limit = code
        .len()
        .saturating_mul(MAX_HIGHLIGHT_INFLATION)
        .saturating_add(HIGHLIGHT_BLOCK_BYTES);
    for line in LinesWithEndings::from(code) {
        html.parse_html_for_line_which_includes_newline(line).ok()?;
    }
    let html = html.finalize();
    (html.len() <= limit).then_some(html)
}

#[cfg(test)]
mod tests {
    use super::super::{render, LinkResolution, MarkdownOptions};
    use super::*;

    fn html(markdown: &str) -> String {
        render(markdown, &MarkdownOptions::default(), &|_| {
            LinkResolution::Keep
        })
        .unwrap()
        .html
    }

    /// The theme's highlight.css: syntect's light and dark colour themes for the `hl-` classes,
    /// each for its `prefers-color-scheme`, so that no rule of one leaks into the other.
    fn highlight_css() -> String {
        use syntect::highlighting::ThemeSet;
        use syntect::html::css_for_theme_with_class_style;
        let themes = ThemeSet::load_defaults();
        let css = |name: &str| css_for_theme_with_class_style(&themes.themes[name], CLASS_STYLE);
        format!(
            "/* Colours of highlighted code (the hl- classes of src/publish/markdown/highlight.rs),\n   generated by its test `highlight_css_is_the_generated_one`:\n   IMPRIMATUR_WRITE_HIGHLIGHT_CSS=1 cargo test --lib highlight_css */\n\n\
             @media (prefers-color-scheme: light) {{\n{}}}\n\n@media (prefers-color-scheme: dark) {{\n{}}}\n",
            css("InspiredGitHub").unwrap(),
            css("base16-ocean.dark").unwrap()
        )
    }

    #[test]
    fn highlight_css_is_the_generated_one() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/themes/default/static/highlight.css"
        );
        let css = highlight_css();
        if std::env::var_os("IMPRIMATUR_WRITE_HIGHLIGHT_CSS").is_some() {
            std::fs::write(path, &css).unwrap();
        }
        assert_eq!(std::fs::read_to_string(path).unwrap(), css);
    }

    #[test]
    fn the_languages_of_the_example_are_highlighted() {
        for (lang, code, token) in [
            ("bash", "curl -s https://x/ | jq .\n", "hl-source hl-shell"),
            ("json", "{\"interval\": 30}\n", "hl-source hl-json"),
            ("yaml", "agent:\n  enabled: true\n", "hl-source hl-yaml"),
            ("python", "def f():\n    return 1\n", "hl-keyword"),
        ] {
            let out = html(&format!("```{lang}\n{code}```\n"));
            assert!(
                out.starts_with(&format!(
                    "<pre><code class=\"language-{lang}\"><span class=\""
                )),
                "{out}"
            );
            assert!(out.contains(token), "{lang}: {out}");
            assert!(out.ends_with("</span></code></pre>\n"), "{out}");
        }
    }

    #[test]
    fn an_unknown_language_and_unlabelled_code_stay_plain() {
        assert_eq!(
            html("```nosuchlang\na < b\n```\n"),
            "<pre><code class=\"language-nosuchlang\">a &lt; b\n</code></pre>\n"
        );
        assert_eq!(
            html("```\na < b\n```\n"),
            "<pre><code>a &lt; b\n</code></pre>\n"
        );
        assert_eq!(
            html("```text\na\n```\n"),
            "<pre><code class=\"language-text\">a\n</code></pre>\n"
        );
    }

    #[test]
    fn code_text_is_escaped_and_authors_cannot_bring_their_own_classes() {
        let out = html("```html\n<script>alert(1)</script> &amp;\n```\n");
        assert!(!out.contains("<script"), "{out}");
        assert!(out.contains("hl-entity"), "{out}");
        // Without its spans, the block is exactly the escaped code.
        let mut text = String::new();
        let code =
            &out["<pre><code class=\"language-html\">".len()..out.len() - "</code></pre>\n".len()];
        for piece in format!(">{code}").split('<') {
            text.push_str(piece.split_once('>').map_or("", |(_, t)| t));
        }
        assert_eq!(text, "&lt;script&gt;alert(1)&lt;/script&gt; &amp;amp;\n");
        // A page with raw HTML goes through the sanitizer: the highlighter's spans keep their
        // classes, an author's span keeps none that is not one of them.
        let out = html(
            "<span class=\"admin-only\">a</span><span class=\"hl-x evil\">b</span>\n\n```json\n{}\n```\n",
        );
        assert!(out.contains("<span>a</span><span>b</span>"), "{out}");
        assert!(out.contains("<span class=\"hl-source hl-json\">"), "{out}");
    }

    #[test]
    fn code_past_the_pages_share_stays_plain() {
        let block = format!(
            "```json\n{}\n```\n",
            "[1, 2],".repeat(MAX_HIGHLIGHTED_BYTES / 12)
        );
        let out = html(&format!("{block}\n{block}\n"));
        assert_eq!(out.matches("<span class=\"hl-source hl-json\">").count(), 1);
        // One block over the share alone stays plain; the budget's estimate allows it.
        let huge = format!("```json\n{}\n```\n", "[1,2],".repeat(MAX_HIGHLIGHTED_BYTES));
        crate::site::budget::check(&huge).unwrap();
        assert!(!html(&huge).contains("<span"));
    }

    #[test]
    fn the_same_code_gives_the_same_bytes() {
        let page = "```yaml\na: [1, 2]\nb: {c: d}\n```\n\n```bash\necho $HOME\n```\n";
        assert_eq!(html(page), html(page));
        assert!(is_highlight_class("hl-a hl-b"));
        assert!(!is_highlight_class("hl-a x"));
        assert!(!is_highlight_class("hl-"));
        assert!(!is_highlight_class(""));
    }
}
