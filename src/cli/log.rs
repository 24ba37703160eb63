//! `imprimatur log [PAGE]`: every record — of one page, or of the site — and whether it
//! counted; filtered by space, reviewer, time and kind; as text, JSON or CSV.

use std::io::Write;
use std::path::Path;

use super::{load_site, print, EXIT_OK};
use crate::error::{Error, Result};
use crate::report::log::{page_log, site_log, to_csv};
use crate::report::Style;
use crate::time::Instant;
use crate::trust::record::Kind;

pub use crate::report::log::LogFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
    Csv,
}

impl LogFilter {
    /// The filter flags, checked once: times are RFC 3339, the kind is a record kind.
    pub fn parse(
        space: Option<String>,
        reviewer: Option<String>,
        since: Option<&str>,
        until: Option<&str>,
        kind: Option<&str>,
    ) -> Result<LogFilter> {
        let at = |flag: &str, text: Option<&str>| -> Result<Option<Instant>> {
            text.map(|t| {
                crate::time::parse_rfc3339(t).ok_or_else(|| {
                    Error::Usage(format!(
                        "{flag}: '{t}' is not an RFC 3339 time (2026-11-20T10:00:00Z)"
                    ))
                })
            })
            .transpose()
        };
        let kind = kind
            .map(|k| {
                Kind::parse(k).ok_or_else(|| {
                    let names: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
                    Error::Usage(format!("--kind: '{k}' is not one of {}", names.join(", ")))
                })
            })
            .transpose()?;
        Ok(LogFilter {
            space,
            reviewer,
            since: at("--since", since)?,
            until: at("--until", until)?,
            kind,
        })
    }
}

fn json<T: serde::Serialize>(value: &T) -> String {
    let mut json = serde_json::to_string_pretty(value).expect("logs serialize");
    json.push('\n');
    json
}

/// `imprimatur log [PAGE]`.
pub fn log(
    site_root: &Path,
    now: Instant,
    format: LogFormat,
    page: Option<&str>,
    filter: &LogFilter,
    out: &mut dyn Write,
) -> Result<i32> {
    let site = load_site(site_root)?;
    let style = Style::detect();
    let text = match page {
        Some(page) => {
            let log = page_log(&site, now, page, filter)?;
            match format {
                LogFormat::Json => json(&log),
                LogFormat::Csv => to_csv(&log.entries),
                LogFormat::Text => log.to_text(&style),
            }
        }
        None => {
            let log = site_log(&site, now, filter);
            match format {
                LogFormat::Json => json(&log),
                LogFormat::Csv => to_csv(&log.entries),
                LogFormat::Text => log.to_text(&style),
            }
        }
    };
    print(out, &text)?;
    Ok(EXIT_OK)
}
