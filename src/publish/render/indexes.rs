//! The index pages: the home page (every space) and each space's index (its sections and
//! pages), rendered after the pages.

use rayon::prelude::*;

use super::pages::{RenderedPages, RenderedSite, Renderer, Sink, View};
use crate::error::{Error, Result};

impl<'a> Renderer<'a> {
    /// The second half of [`Renderer::render_all`], once `pages` are rendered: the spaces'
    /// and the home page, the search index, the sitemap, the feeds, the redirects and the theme's static files; the
    /// pages of spaces side by side with the search index.
    pub fn render_indexes(&self, sink: &dyn Sink, pages: RenderedPages) -> Result<RenderedSite> {
        let _t = crate::timings::phase("render indexes");
        let mut files = pages.results.iter().map(|(_, n)| n).sum::<usize>();
        let mut search = Vec::with_capacity(pages.results.len());
        let mut sitemap = self.sitemap_head();
        for (r, _) in pages.results {
            search.push(r.search);
            sitemap.push(r.sitemap);
        }
        let (indexes, search_files) = rayon::join(
            || -> Result<usize> {
                (0..self.published.spaces.len())
                    .into_par_iter()
                    .try_for_each(|s| {
                        let space = &self.published.spaces[s];
                        sink.write(
                            &format!("{}index.html", space.url),
                            self.space(s)?.as_bytes(),
                        )
                    })?;
                sink.write("index.html", self.home()?.as_bytes())?;
                sink.write(super::NOT_FOUND_PAGE, self.not_found()?.as_bytes())?;
                Ok(self.published.spaces.len() + 2)
            },
            || self.search_into(sink, search),
        );
        files += indexes? + search_files?;
        if self.view == View::Published {
            sink.write("sitemap.xml", &self.sitemap_of(sitemap))?;
            files += 1;
        }
        for (rel, bytes) in self.feeds()?.into_iter().chain(self.redirect_files()?) {
            sink.write(&rel, &bytes)?;
            files += 1;
        }
        for (rel, bytes) in self.theme.static_files() {
            sink.write(&format!("static/{rel}"), bytes)?;
            files += 1;
        }
        Ok(RenderedSite { files })
    }

    pub(super) fn home(&self) -> Result<String> {
        let mut ctx = tera::Context::new();
        ctx.insert("site", &self.site_context(String::new()));
        self.insert_view(&mut ctx, None);
        self.theme
            .render("index.html", &ctx)
            .map_err(|e| Error::Render {
                page: "home page".into(),
                source: e.into(),
            })
    }

    pub(super) fn space(&self, s: usize) -> Result<String> {
        let space = &self.published.spaces[s];
        let mut ctx = tera::Context::new();
        ctx.insert("site", &self.site_context(super::root_prefix(&space.url)));
        ctx.insert("space", &super::space_context(space));
        self.insert_view(&mut ctx, None);
        self.theme
            .render("space.html", &ctx)
            .map_err(|e| Error::Render {
                page: format!("space {}", space.policy.space),
                source: e.into(),
            })
    }
}
