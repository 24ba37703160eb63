//! Unit tests of `publish::markdown`, kept beside its files so that each stays short.

use std::collections::HashSet;

use super::*;
use std::cell::RefCell;

fn keep_all(_: &str) -> LinkResolution {
    LinkResolution::Keep
}

fn sanitized(markdown: &str) -> Rendered {
    render(markdown, &MarkdownOptions::default(), &keep_all).unwrap()
}

/// A small site: one page is unpublished, one gets rewritten.
fn site(dest: &str) -> LinkResolution {
    match dest {
        "secret.md" | "drafts/secret.png" | "secret.md#part" => LinkResolution::Unpublished,
        "../install.md#step-2" => LinkResolution::Rewrite("../../kb/install/#step-2".into()),
        "install.md" => LinkResolution::Rewrite("../install/".into()),
        "shot.png" => LinkResolution::Rewrite("../assets/shot.png".into()),
        _ => LinkResolution::Keep,
    }
}

#[test]
fn extensions_and_headings_render_exactly() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "table with alignment",
            "| a | b | c | d |\n|:--|:-:|--:|---|\n| 1 | 2 | 3 | 4 |\n",
            "<table><thead><tr><th style=\"text-align: left\">a</th>\
             <th style=\"text-align: center\">b</th>\
             <th style=\"text-align: right\">c</th><th>d</th></tr></thead><tbody>\n\
             <tr><td style=\"text-align: left\">1</td>\
             <td style=\"text-align: center\">2</td>\
             <td style=\"text-align: right\">3</td><td>4</td></tr>\n\
             </tbody></table>\n",
        ),
        (
            "footnote",
            "Text[^n].\n\n[^n]: Note.\n",
            "<p>Text<sup class=\"footnote-reference\"><a href=\"#n\">1</a></sup>.</p>\n\
             <div class=\"footnote-definition\" id=\"n\">\
             <sup class=\"footnote-definition-label\">1</sup>\n<p>Note.</p>\n</div>\n",
        ),
        ("strikethrough", "~~old~~ new", "<p><del>old</del> new</p>\n"),
        (
            "task list",
            "- [x] done\n- [ ] todo\n",
            "<ul>\n\
             <li><input disabled=\"\" type=\"checkbox\" checked=\"\"/>\ndone</li>\n\
             <li><input disabled=\"\" type=\"checkbox\"/>\ntodo</li>\n\
             </ul>\n",
        ),
        (
            "code block language class",
            // A language no grammar knows: highlighted ones are tested in highlight.rs.
            "```nosuchlang\nfn main() {}\n```\n",
            "<pre><code class=\"language-nosuchlang\">fn main() {}\n</code></pre>\n",
        ),
        (
            "heading slug",
            "## Getting Started: *Fast*!\n",
            "<h2 id=\"getting-started-fast\">Getting Started: <em>Fast</em>!</h2>\n",
        ),
        (
            "duplicate headings get suffixes",
            "## Intro\n## Intro\n## Intro\n",
            "<h2 id=\"intro\">Intro</h2>\n<h2 id=\"intro-1\">Intro</h2>\n\
             <h2 id=\"intro-2\">Intro</h2>\n",
        ),
        (
            "custom id, and a later slug avoids it",
            "## Setup {#intro}\n## Intro\n",
            "<h2 id=\"intro\">Setup</h2>\n<h2 id=\"intro-1\">Intro</h2>\n",
        ),
        (
            "custom id declared later still wins",
            "## Intro\n## Other {#intro}\n",
            "<h2 id=\"intro-1\">Intro</h2>\n<h2 id=\"intro\">Other</h2>\n",
        ),
        (
            "duplicate custom ids are made unique",
            "## A {#x}\n## B {#x}\n",
            "<h2 id=\"x\">A</h2>\n<h2 id=\"x-1\">B</h2>\n",
        ),
        (
            "unicode heading",
            "## Über Größe 2\n",
            "<h2 id=\"über-größe-2\">Über Größe 2</h2>\n",
        ),
        (
            "heading without slug characters",
            "## !!!\n",
            "<h2 id=\"section\">!!!</h2>\n",
        ),
        (
            "heading id attribute cannot duplicate the id",
            "## T {id=evil .note}\n",
            "<h2 id=\"t\" class=\"note\">T</h2>\n",
        ),
        (
            "heading slug avoids footnote ids",
            "## N\n\nA[^n]\n\n[^n]: B\n",
            "<h2 id=\"n-1\">N</h2>\n<p>A<sup class=\"footnote-reference\"><a href=\"#n\">1</a></sup></p>\n\
             <div class=\"footnote-definition\" id=\"n\">\
             <sup class=\"footnote-definition-label\">1</sup>\n<p>B</p>\n</div>\n",
        ),
    ];
    for (name, markdown, expected) in cases {
        assert_eq!(sanitized(markdown).html, *expected, "case: {name}");
    }
}

#[test]
fn repeated_headings_get_the_smallest_free_suffix_in_one_pass() {
    // The ids the original quadratic search gave: the smallest free suffix, every time.
    fn by_search(bases: &[&str]) -> Vec<String> {
        let mut used = HashSet::new();
        bases
            .iter()
            .map(|base| {
                let id = std::iter::once(base.to_string())
                    .chain((1..).map(|n| format!("{base}-{n}")))
                    .find(|c| !used.contains(c))
                    .unwrap();
                used.insert(id.clone());
                id
            })
            .collect()
    }
    let headings = [
        "Same", "Same 1", "Same", "Same 2", "Same", "Same 1", "Same", "Same-1-1", "Same 1",
        "Other", "Same",
    ];
    let markdown: String = headings.iter().map(|h| format!("## {h}\n")).collect();
    let toc = sanitized(&markdown).toc;
    let slugs: Vec<String> = headings.iter().map(|h| slugify(h)).collect();
    let slugs: Vec<&str> = slugs.iter().map(String::as_str).collect();
    let ids: Vec<String> = toc.into_iter().map(|t| t.id).collect();
    assert_eq!(ids, by_search(&slugs));

    let many = "## Same\n\n## Same 1\n\n".repeat(10_000);
    let ids: Vec<String> = sanitized(&many).toc.into_iter().map(|t| t.id).collect();
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 20_000);
    assert_eq!(ids[19_998], "same-10000");
    assert_eq!(ids[19_999], "same-1-9999");
}

#[test]
fn toc_lists_h2_to_h4_in_order() {
    let markdown =
        "# Page\n## Install\n### On `Linux`\n#### Details {#deep}\n##### Too deep\n## Install\n";
    let toc = sanitized(markdown).toc;
    let expected = vec![
        TocEntry {
            level: 2,
            id: "install".into(),
            title: "Install".into(),
        },
        TocEntry {
            level: 3,
            id: "on-linux".into(),
            title: "On Linux".into(),
        },
        TocEntry {
            level: 4,
            id: "deep".into(),
            title: "Details".into(),
        },
        TocEntry {
            level: 2,
            id: "install-1".into(),
            title: "Install".into(),
        },
    ];
    assert_eq!(toc, expected);
}

#[test]
fn slugify_cases() {
    let cases = [
        ("Hello, World!", "hello-world"),
        ("  --Leading and trailing--  ", "leading-and-trailing"),
        ("Über Größe", "über-größe"),
        ("日本語 ガイド", "日本語-ガイド"),
        ("v1.2_beta", "v1-2-beta"),
        ("CamelCase", "camelcase"),
        ("!!!", "section"),
        ("", "section"),
    ];
    for (input, expected) in cases {
        assert_eq!(slugify(input), expected, "input: {input:?}");
    }
}

#[test]
fn links_are_kept_rewritten_or_unlinked() {
    let cases: &[(&str, &str, &str, &[&str])] = &[
        (
            "inline keep",
            "[Guide](guide.pdf \"The guide\")",
            "<p><a href=\"guide.pdf\" title=\"The guide\">Guide</a></p>\n",
            &[],
        ),
        (
            "inline rewrite keeps fragment handling to the caller",
            "[Step 2](../install.md#step-2)",
            "<p><a href=\"../../kb/install/#step-2\">Step 2</a></p>\n",
            &[],
        ),
        (
            "inline unpublished drops the anchor and title",
            "See [the *plan*](secret.md \"Plan\") now.",
            "<p>See the <em>plan</em> now.</p>\n",
            &["secret.md"],
        ),
        (
            "reference rewrite",
            "[Install][i]\n\n[i]: install.md \"How to\"\n",
            "<p><a href=\"../install/\" title=\"How to\">Install</a></p>\n",
            &[],
        ),
        (
            "reference unpublished",
            "[Plan][p] and [again][p]\n\n[p]: secret.md\n",
            "<p>Plan and again</p>\n",
            &["secret.md"],
        ),
        (
            "image rewrite",
            "![Screen](shot.png \"Shot\")",
            "<p><img src=\"../assets/shot.png\" alt=\"Screen\" title=\"Shot\" /></p>\n",
            &[],
        ),
        (
            "image unpublished becomes escaped alt text",
            "![a <b> & *c*](drafts/secret.png \"T\")",
            "<p>a &lt;b&gt; &amp; c</p>\n",
            &["drafts/secret.png"],
        ),
        (
            "unpublished image without alt leaves nothing",
            "x ![](drafts/secret.png) y",
            "<p>x  y</p>\n",
            &["drafts/secret.png"],
        ),
        (
            "image inside unpublished link survives",
            "[![Screen](shot.png)](secret.md)",
            "<p><img src=\"../assets/shot.png\" alt=\"Screen\" /></p>\n",
            &["secret.md"],
        ),
        (
            "unpublished list is ordered and deduplicated",
            "[a](secret.md#part) [b](secret.md) [c](secret.md#part)",
            "<p>a b c</p>\n",
            &["secret.md#part", "secret.md"],
        ),
        (
            "absolute and anchor links untouched",
            "[a](#top) [b](/root.md) [c](https://x.test/secret.md) [d](//cdn.test/x) <https://auto.test/p> <me@x.test>",
            "<p><a href=\"#top\">a</a> <a>b</a> \
             <a href=\"https://x.test/secret.md\">c</a> <a href=\"//cdn.test/x\">d</a> \
             <a href=\"https://auto.test/p\">https://auto.test/p</a> \
             <a href=\"mailto:me@x.test\">me@x.test</a></p>\n",
            &[],
        ),
    ];
    for (name, markdown, expected, unpublished) in cases {
        let rendered = render(markdown, &MarkdownOptions::default(), &site).unwrap();
        assert_eq!(rendered.html, *expected, "case: {name}");
        assert_eq!(rendered.unpublished_links, *unpublished, "case: {name}");
        for dest in *unpublished {
            assert!(!rendered.html.contains(dest), "case {name} leaks {dest}");
            assert!(!rendered.text.contains(dest), "case {name} leaks {dest}");
        }
    }
}

#[test]
fn unpublished_destination_never_reaches_html_even_unsanitized() {
    let raw = MarkdownOptions {
        raw_html_allowed: true,
    };
    let markdown = "[Roadmap](roadmap-2031.md \"roadmap-2031.md\") ![Chart](roadmap-2031.md)\n\n\
                    [ref]\n\n[ref]: roadmap-2031.md\n";
    let hide = |_: &str| LinkResolution::Unpublished;
    for options in [MarkdownOptions::default(), raw] {
        let rendered = render(markdown, &options, &hide).unwrap();
        assert!(!rendered.html.contains("roadmap-2031"), "{}", rendered.html);
        assert_eq!(rendered.html, "<p>Roadmap Chart</p>\n<p>ref</p>\n");
        assert_eq!(rendered.unpublished_links, ["roadmap-2031.md"]);
    }
}

#[test]
fn resolve_sees_only_relative_destinations() {
    let cases: &[(&str, &[&str])] = &[
        ("[a](page.md)", &["page.md"]),
        ("[a](../dir/page.md?x=1#frag)", &["../dir/page.md?x=1#frag"]),
        ("![i](img/a.png)", &["img/a.png"]),
        ("[a][r]\n\n[r]: ref.md\n", &["ref.md"]),
        ("[a](#anchor)", &[]),
        ("[a](/abs/page.md)", &[]),
        ("[a](\\\\evil.test/x)", &[]),
        ("[a](//cdn.test/x.js)", &[]),
        ("[a](http://x.test) [b](HTTPS://x.test)", &[]),
        ("[a](mailto:me@x.test) [b](data:text/plain,hi)", &[]),
        ("[a](custom+v1.2-x:thing)", &[]),
        ("[a](java&#9;script:alert(1))", &[]),
        ("<https://auto.test/p> <me@x.test>", &[]),
        ("[a]()", &[]),
        // Nested in alt text: rendered as plain text, never as a link.
        ("![alt [in](inner.md)](outer.png)", &["outer.png"]),
    ];
    for (markdown, expected) in cases {
        let calls = RefCell::new(Vec::<String>::new());
        let record = |dest: &str| {
            calls.borrow_mut().push(dest.to_owned());
            LinkResolution::Keep
        };
        render(markdown, &MarkdownOptions::default(), &record).unwrap();
        assert_eq!(calls.into_inner(), *expected, "markdown: {markdown:?}");
    }
}

#[test]
fn dangerous_html_is_removed_unless_raw_html_is_allowed() {
    // (markdown, sanitized html, raw html)
    let cases: &[(&str, &str, &str)] = &[
        (
            "<script>alert(1)</script>\n\nok",
            "\n<p>ok</p>\n",
            "<script>alert(1)</script>\n<p>ok</p>\n",
        ),
        (
            "x <img src=x onerror=alert(1)> y",
            "<p>x <img src=\"x\"> y</p>\n",
            "<p>x <img src=x onerror=alert(1)> y</p>\n",
        ),
        (
            "[x](javascript:alert(1))",
            "<p><a>x</a></p>\n",
            "<p><a href=\"javascript:alert(1)\">x</a></p>\n",
        ),
        (
            "<iframe src=\"https://evil.test\"></iframe>\n\n<style>p{}</style>\n\nok",
            "\n\n<p>ok</p>\n",
            "<iframe src=\"https://evil.test\"></iframe>\n<style>p{}</style>\n<p>ok</p>\n",
        ),
        (
            "<p style=\"position:fixed\" class=\"x\" onclick=\"e()\">hi</p>",
            "<p>hi</p>",
            "<p style=\"position:fixed\" class=\"x\" onclick=\"e()\">hi</p>",
        ),
        (
            "<code class=\"admin-only\">c</code> <code class=\"language-sh\">d</code>",
            "<p><code>c</code> <code class=\"language-sh\">d</code></p>\n",
            "<p><code class=\"admin-only\">c</code> <code class=\"language-sh\">d</code></p>\n",
        ),
        (
            "<table><tr><td style=\"text-align: left; color: red\">x</td>\
             <td style=\"text-align: right\">y</td></tr></table>",
            "<table><tbody><tr><td>x</td><td style=\"text-align: right\">y</td></tr></tbody></table>",
            "<table><tr><td style=\"text-align: left; color: red\">x</td>\
             <td style=\"text-align: right\">y</td></tr></table>",
        ),
    ];
    let raw = MarkdownOptions {
        raw_html_allowed: true,
    };
    for (markdown, expected_sanitized, expected_raw) in cases {
        assert_eq!(
            sanitized(markdown).html,
            *expected_sanitized,
            "sanitized: {markdown:?}"
        );
        assert_eq!(
            render(markdown, &raw, &keep_all).unwrap().html,
            *expected_raw,
            "raw: {markdown:?}"
        );
    }
}

#[test]
fn text_is_plain_and_collapsed() {
    let cases: &[(&str, &str)] = &[
        (
            "# Title\n\nSome *emphasis*   and `code`.\n\n- one\n- two\n",
            "Title Some emphasis and code. one two",
        ),
        // Cells are set apart, across rows too; a table after text starts afresh.
        ("| h1 | h2 |\n|---|---|\n| a | b |\n", "h1 · h2 · a · b"),
        (
            "| Platform | Package |\n|---|---|\n| Ubuntu, Debian | `apt.example.com` |\n\nNext.\n\n| x |\n|---|\n| y |\n",
            "Platform · Package · Ubuntu, Debian · apt.example.com Next. x · y",
        ),
        ("| *a* b | | c |\n|---|---|---|\n| | d | |\n", "a b · c · d"),
        ("```\nlet x =\n    1;\n```\n", "let x = 1;"),
        ("a <span>html</span> b\n\n<div>block</div>\n", "a html b"),
        ("- [x] done\n", "done"),
        // Tight lists have no paragraph events: only the nested block's own tags
        // separate the words.
        ("- a\n  - b\n", "a b"),
        ("- # h\n  b\n", "h b"),
        (
            "Read [the plan](secret.md \"tip\") ![chart](drafts/secret.png)",
            "Read the plan chart",
        ),
        ("Fn[^1]\n\n[^1]: Note.\n", "Fn Note."),
        ("", ""),
    ];
    for (markdown, expected) in cases {
        let rendered = render(markdown, &MarkdownOptions::default(), &site).unwrap();
        assert_eq!(rendered.text, *expected, "markdown: {markdown:?}");
    }
}

#[test]
fn output_is_deterministic() {
    let markdown =
        "## A\n## A\n\n| x |\n|:-:|\n| y |\n\n[^b]: c\n\nT[^b] [l](install.md) [s](secret.md)";
    let first = render(markdown, &MarkdownOptions::default(), &site).unwrap();
    for _ in 0..5 {
        let again = render(markdown, &MarkdownOptions::default(), &site).unwrap();
        assert_eq!(again.html, first.html);
        assert_eq!(again.toc, first.toc);
        assert_eq!(again.text, first.text);
    }
}

#[test]
fn raw_html_links_to_markdown_sources_are_dropped_when_sanitizing() {
    let r = sanitized("<a href=\"../secret-plans.md#x\">plans</a> <img src=\"drafts/x.md\"> <a href=\"https://e.example/a.md\">ok?</a>\n");
    assert!(!r.html.contains("secret-plans"), "{}", r.html);
    assert!(!r.html.contains("drafts/x.md"), "{}", r.html);
    assert!(r.html.contains("plans</a>"), "{}", r.html);
    assert!(r.html.contains("https://e.example/a.md"), "{}", r.html);
}

#[test]
fn pages_without_raw_html_skip_the_sanitizer_only_when_nothing_could_run() {
    for (markdown, forbidden) in [
        ("[x](javascript:alert(1))", "javascript"),
        ("[x](JaVaScRiPt:alert(1))", "alert"),
        // pulldown-cmark percent-encodes the tab: a relative URL, not a script.
        ("[x](<java\tscript:alert(1)>)", "href=\"javascript"),
        ("![x](data:text/html;base64,PHNjcmlwdD4=)", "data:"),
        ("# Title {onclick=alert(1)}", "onclick"),
        ("[x](vbscript:msgbox)", "vbscript"),
    ] {
        let html = sanitized(markdown).html;
        assert!(
            !html.to_ascii_lowercase().contains(forbidden),
            "{markdown}: {html}"
        );
    }
    // The common case: plain Markdown renders exactly as pulldown-cmark writes it.
    let html = sanitized(
        "# T {#t .c}\n\n[a](https://e.example) [m](mailto:x@e.example) ![i](img/a.png)\n",
    )
    .html;
    assert_eq!(
        html,
        "<h1 id=\"t\" class=\"c\">T</h1>\n<p><a href=\"https://e.example\">a</a> <a href=\"mailto:x@e.example\">m</a> <img src=\"img/a.png\" alt=\"i\" /></p>\n"
    );
}

#[test]
fn unpublished_links_are_found_without_rendering() {
    let found = unpublished_links("[a](gone.md) [b](here.md) ![c](gone.png)", &|d: &str| {
        if d.starts_with("gone") {
            LinkResolution::Unpublished
        } else {
            LinkResolution::Keep
        }
    })
    .unwrap();
    assert_eq!(found, vec!["gone.md", "gone.png"]);
}
