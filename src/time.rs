//! The build's clock. SPEC §8: one fixed instant per build (`--now`, else `SOURCE_DATE_EPOCH`,
//! else the clock read once), so every page is judged at the same moment and output is
//! reproducible. Record times are RFC 3339 UTC with whole seconds and a `Z`.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

pub type Instant = DateTime<Utc>;

/// Parses `--now` and front-matter times: any RFC 3339 instant, normalised to UTC.
pub fn parse_rfc3339(text: &str) -> Option<Instant> {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Parses a record's `signed_at`, which the signing rule fixes to `YYYY-MM-DDTHH:MM:SSZ`
/// exactly, so that one instant has one spelling in signed bytes.
pub fn parse_signed_at(text: &str) -> Option<Instant> {
    let t = parse_rfc3339(text)?;
    (format_utc(&t) == text).then_some(t)
}

/// `2026-11-20T10:00:00Z`
pub fn format_utc(t: &Instant) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `2026-11-20 10:00 UTC`, for people. Written out by hand for four-digit years (a build
/// formats several times per page; chrono parses its format string each time), by chrono's
/// `%Y` otherwise, so every year is spelled as it always was.
pub fn format_human(t: &Instant) -> String {
    use chrono::{Datelike, Timelike};
    if (0..=9999).contains(&t.year()) {
        return format!(
            "{:04}-{:02}-{:02} {:02}:{:02} UTC",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute()
        );
    }
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// How long before `now` `at` was, as people say it: `just now`, `5 minutes ago`,
/// `3 hours ago`, `3 days ago`, `2 months ago`, `1 year ago`; `in 2 days` for the future.
/// Measured against the judged `now`, so a page rendered at a fixed `--now` reads the same.
pub fn relative(at: &Instant, now: &Instant) -> String {
    let seconds = (*now - *at).num_seconds();
    let (ahead, seconds) = (seconds < 0, seconds.unsigned_abs());
    let (n, unit) = match seconds {
        0..60 => return "just now".to_string(),
        60..3_600 => (seconds / 60, "minute"),
        3_600..172_800 => (seconds / 3_600, "hour"),
        172_800..5_184_000 => (seconds / 86_400, "day"),
        5_184_000..63_072_000 => (seconds / 2_592_000, "month"),
        _ => (seconds / 31_536_000, "year"),
    };
    let plural = if n == 1 { "" } else { "s" };
    if ahead {
        format!("in {n} {unit}{plural}")
    } else {
        format!("{n} {unit}{plural} ago")
    }
}

/// The build's `now`: `--now` if given, else `SOURCE_DATE_EPOCH`, else the clock, read once.
pub fn resolve_now(flag: Option<&str>) -> Result<Instant, String> {
    if let Some(text) = flag {
        return parse_rfc3339(text).map(truncate_to_seconds).ok_or_else(|| {
            format!("--now: '{text}' is not an RFC 3339 time (e.g. 2026-11-20T10:00:00Z)")
        });
    }
    if let Ok(epoch) = std::env::var("SOURCE_DATE_EPOCH") {
        let secs: i64 = epoch.trim().parse().map_err(|_| {
            format!("SOURCE_DATE_EPOCH: '{epoch}' is not a whole number of seconds")
        })?;
        return Utc
            .timestamp_opt(secs, 0)
            .single()
            .ok_or_else(|| format!("SOURCE_DATE_EPOCH: '{epoch}' is out of range"));
    }
    Ok(truncate_to_seconds(Utc::now()))
}

fn truncate_to_seconds(t: Instant) -> Instant {
    Utc.timestamp_opt(t.timestamp(), 0).single().unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_read_as_people_say_them() {
        let now = parse_rfc3339("2026-11-21T12:00:00Z").unwrap();
        let ago = |s: &str| relative(&parse_rfc3339(s).unwrap(), &now);
        assert_eq!(ago("2026-11-21T11:59:30Z"), "just now");
        assert_eq!(ago("2026-11-21T11:59:00Z"), "1 minute ago");
        assert_eq!(ago("2026-11-21T09:30:00Z"), "2 hours ago");
        assert_eq!(ago("2026-11-20T09:00:00Z"), "27 hours ago");
        assert_eq!(ago("2026-11-18T12:00:00Z"), "3 days ago");
        assert_eq!(ago("2026-08-01T12:00:00Z"), "3 months ago");
        assert_eq!(ago("2024-11-01T12:00:00Z"), "2 years ago");
        assert_eq!(ago("2026-11-23T12:00:00Z"), "in 2 days");
    }

    #[test]
    fn a_time_for_people_is_spelled_as_chrono_spells_it_in_every_year() {
        for text in [
            "2026-11-20T10:00:00Z",
            "0000-01-01T00:00:00Z",
            "0999-03-04T05:06:07Z",
            "9999-12-31T23:59:59Z",
            "2024-02-29T00:09:59Z",
        ] {
            let t = parse_rfc3339(text).unwrap();
            assert_eq!(format_human(&t), t.format("%Y-%m-%d %H:%M UTC").to_string());
        }
        for t in [
            Utc.with_ymd_and_hms(-1, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap(),
        ] {
            assert_eq!(format_human(&t), t.format("%Y-%m-%d %H:%M UTC").to_string());
        }
        assert_eq!(
            format_human(&parse_rfc3339("2026-11-20T10:00:59Z").unwrap()),
            "2026-11-20 10:00 UTC"
        );
    }

    #[test]
    fn signed_at_accepts_only_the_canonical_spelling() {
        assert!(parse_signed_at("2026-11-20T10:00:00Z").is_some());
        for bad in [
            "2026-11-20T10:00:00+00:00",
            "2026-11-20T10:00:00.5Z",
            "2026-11-20 10:00:00Z",
            "2026-11-20T11:00:00+01:00",
            "yesterday",
        ] {
            assert!(parse_signed_at(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn now_flag_is_normalised_to_utc_seconds() {
        let t = resolve_now(Some("2026-11-20T11:00:00.9+01:00")).unwrap();
        assert_eq!(format_utc(&t), "2026-11-20T10:00:00Z");
        assert!(resolve_now(Some("soon")).is_err());
    }
}
