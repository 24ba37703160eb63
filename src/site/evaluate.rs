//! `Site::evaluate`, the judgement of a loaded site at one instant, in named stages: verify
//! every record, put back the counted records whose file is gone, judge every page through
//! the review engine (in parallel, fetching each live version's bytes, hash-checked), resolve
//! URLs, and add the reminders. `evaluate_one` judges a single page the same way.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rayon::prelude::*;

use super::content::Page;
use crate::progress::{Phase, Progress, Unwatched};
use crate::time::{self, Instant};
use crate::trust::policy::Policy;
use crate::trust::record::{self, RecordFileParsed};
use crate::trust::review::{
    self, FindingKind, Liveness, Offline, PageInput, PageReview, VerifiedRecord, VersionMeta,
};
use crate::trust::store::StoreError;
use crate::trust::version::Version;

use super::urls::{page_url, resolve_urls};
use super::{
    content, counted, Evaluation, Finding, Judgement, Live, LiveContent, PageEvaluation,
    RecordFile, Site,
};

/// A record that does not count: an `invalid_record` finding, and a line of the status
/// report's `invalid_records`.
fn report_invalid(
    findings: &mut Vec<Finding>,
    invalid: &mut Vec<(String, String)>,
    file: String,
    why: String,
) {
    findings.push(Finding {
        kind: FindingKind::InvalidRecord,
        page: None,
        detail: why.clone(),
        file: Some(file.clone()),
    });
    invalid.push((file, why));
}

impl Site {
    /// Judges every page at `now` for `audiences`, in named stages: verify records → judge
    /// pages (in parallel) → resolve URLs → reminders. Pure apart from reading the store.
    pub fn evaluate(&self, now: Instant, audiences: &[String]) -> Evaluation {
        self.evaluate_records(&self.records, now, audiences, &Unwatched)
    }

    /// [`Site::evaluate`], telling `progress` of each record verified (`status`, `verify`).
    pub fn evaluate_watched(
        &self,
        now: Instant,
        audiences: &[String],
        progress: &dyn Progress,
    ) -> Evaluation {
        self.evaluate_records(&self.records, now, audiences, progress)
    }

    /// [`Site::evaluate`] of `records`, which the caller took out of the site to free them
    /// once judged (a build of 100,000 pages: ~80 MB that nothing after the judgement reads).
    pub fn evaluate_records(
        &self,
        records: &[RecordFile],
        now: Instant,
        audiences: &[String],
        progress: &dyn Progress,
    ) -> Evaluation {
        let mut findings = Vec::new();
        let t = crate::timings::phase("verify records");
        progress.begin(Phase::Verify, Some(records.len() as u64));
        let (mut by_page, mut invalid_records, on_disk) =
            self.verify_records(records, now, &mut findings, progress);
        progress.end(Phase::Verify, &[(records.len() as u64, "records")]);
        let mut counted = self.put_back_removed(
            on_disk,
            now,
            &mut by_page,
            &mut invalid_records,
            &mut findings,
        );
        drop(t);
        let _t = crate::timings::phase("judge pages");
        findings.extend(self.invalid_pages());
        findings.extend(self.orphans(&by_page));
        findings.extend(self.spaces_without_policy());
        findings.extend(self.unreachable_steps(now));

        // Each page takes its own records (moved, not copied).
        let per_page: Vec<(&Arc<Page>, Vec<VerifiedRecord>)> = self
            .pages
            .iter()
            .map(|p| (p, by_page.remove(&p.id).unwrap_or_default()))
            .collect();
        let judged: Vec<(PageEvaluation, Vec<Finding>)> = per_page
            .into_par_iter()
            .map(|(page, records)| self.judge_page(Arc::clone(page), records, now, audiences))
            .collect();
        let mut pages = Vec::with_capacity(judged.len());
        // Records the policy refused (outside the signer's authority, out of turn) did not
        // count: they are not kept as counted.
        let mut refused: std::collections::HashSet<String> = std::collections::HashSet::new();
        for (p, f) in judged {
            pages.push(p);
            refused.extend(
                f.iter()
                    .filter(|f| {
                        matches!(f.kind, FindingKind::InvalidRecord | FindingKind::OutOfTurn)
                    })
                    .filter_map(|f| f.file.clone()),
            );
            findings.extend(f);
        }
        counted.settle(&refused, records, &self.counted);
        findings.extend(resolve_urls(&mut pages, &self.policies));
        let admins = self.admins();
        for p in &pages {
            if let (Some(review), Some(policy)) = (p.review(), self.policies.get(&p.page.space)) {
                findings.extend(reminders(&p.page.id, review, policy, admins.as_deref()));
            }
        }
        findings.sort();
        invalid_records.sort();
        Evaluation {
            now,
            pages,
            invalid_records,
            findings,
            counted,
        }
    }

    /// Stage one: every record checked against SPEC §4, grouped by page. Records that fail
    /// are findings (and the `invalid_records` list of the status report). Also the id of
    /// each record that counts, with its index in `records`.
    #[allow(clippy::type_complexity)]
    fn verify_records(
        &self,
        records: &[RecordFile],
        now: Instant,
        findings: &mut Vec<Finding>,
        progress: &dyn Progress,
    ) -> (
        BTreeMap<String, Vec<VerifiedRecord>>,
        Vec<(String, String)>,
        Vec<(record::RecordId, usize)>,
    ) {
        #[allow(clippy::type_complexity)]
        let checked: Vec<
            std::result::Result<(VerifiedRecord, record::RecordId), (String, String)>,
        > = records
            .par_iter()
            .map(|f| match &f.parsed {
                Err(why) => Err((f.file.clone(), why.clone())),
                Ok(parsed) => {
                    match record::check_with(
                        parsed,
                        &self.keyring,
                        &now,
                        self.memo.as_deref().map(|m| m as _),
                    ) {
                        Ok(id) => Ok((
                            VerifiedRecord {
                                file: f.file.clone(),
                                record: parsed.record.clone(),
                            },
                            id,
                        )),
                        Err(why) => Err((f.file.clone(), why)),
                    }
                }
            })
            .inspect(|_| progress.advance(Phase::Verify))
            .collect();
        let mut by_page: BTreeMap<String, Vec<VerifiedRecord>> = BTreeMap::new();
        let mut invalid = Vec::new();
        let mut ids = Vec::with_capacity(checked.len());
        for (i, c) in checked.into_iter().enumerate() {
            match c {
                Ok((v, id)) => {
                    ids.push((id, i));
                    by_page.entry(v.record.content.clone()).or_default().push(v)
                }
                Err((file, why)) => report_invalid(findings, &mut invalid, file, why),
            }
        }
        (by_page, invalid, ids)
    }

    /// Stage one and a half: the records an earlier build counted whose file is gone (or no
    /// longer counts) are judged from the copy kept beside `output/`, as if their file were
    /// there, and reported (`record_removed`); see [`counted`]. `on_disk`: the ids of the
    /// records whose file counts now. Returns what the build keeps for the next one.
    fn put_back_removed(
        &self,
        on_disk: Vec<(record::RecordId, usize)>,
        now: Instant,
        by_page: &mut BTreeMap<String, Vec<VerifiedRecord>>,
        invalid: &mut Vec<(String, String)>,
        findings: &mut Vec<Finding>,
    ) -> counted::Next {
        let counted = &self.counted;
        if let Some(why) = &counted.unreadable {
            let why = format!(
                "the records earlier builds counted can't be read: {why}. A record whose file was deleted before this build can't be found this once; this build keeps what it counts now"
            );
            report_invalid(findings, invalid, counted.shown.clone(), why);
        }
        if counted.entries.is_empty() {
            return counted::Next {
                on_disk,
                ..counted::Next::default()
            };
        }
        let now_ids: std::collections::HashSet<record::RecordId> =
            on_disk.iter().map(|(id, _)| *id).collect();
        let page_exists =
            |id: &str| self.page(id).is_some() || self.invalid_pages.iter().any(|p| p.id == id);
        let check = |p: &RecordFileParsed| record::check_with(p, &self.keyring, &now, None);
        let mut kept = Vec::new();
        for (i, entry, judged) in counted::missing(counted, &now_ids, &page_exists, &check) {
            match judged {
                counted::Missing::Carried => kept.push((i, entry.file)),
                counted::Missing::PutBack(parsed) => {
                    let r = &parsed.record;
                    findings.push(Finding {
                        kind: FindingKind::RecordRemoved,
                        page: Some(r.content.clone()),
                        detail: format!(
                            "the {} by '{}' of version {} ({}), counted by an earlier build, is gone from {}: it still counts. Put its file back (`git log --diff-filter=D -- {}` names the commit that deleted it); a decision is withdrawn by a new record, never by deleting one",
                            r.kind,
                            r.reviewer,
                            r.version.short(),
                            time::format_utc(&r.signed_at),
                            self.config.display_path(&self.config.records_dir()),
                            entry.file
                        ),
                        file: Some(entry.file.clone()),
                    });
                    by_page
                        .entry(r.content.clone())
                        .or_default()
                        .push(VerifiedRecord {
                            file: entry.file.clone(),
                            record: parsed.record.clone(),
                        });
                    kept.push((i, entry.file));
                }
                counted::Missing::Invalid(why) => {
                    let file = format!("{} ({})", counted.shown, entry.file);
                    let why =
                        format!("kept as counted by an earlier build, but does not count: {why}");
                    report_invalid(findings, invalid, file, why);
                }
            }
        }
        counted::Next {
            on_disk,
            kept,
            changed: false,
        }
    }

    /// Pages in `content/` whose bytes no version can pin (SPEC §2): offline, reported.
    fn invalid_pages(&self) -> impl Iterator<Item = Finding> + '_ {
        self.invalid_pages.iter().map(|p| Finding {
            kind: FindingKind::InvalidPage,
            page: Some(p.id.clone()),
            detail: p.why.clone(),
            file: Some(p.source.clone()),
        })
    }

    /// Records about pages that are not in `content/` (an invalid page is there: its records
    /// are not orphans).
    fn orphans(&self, by_page: &BTreeMap<String, Vec<VerifiedRecord>>) -> Vec<Finding> {
        let page_ids: BTreeSet<&str> = self
            .pages
            .iter()
            .map(|p| p.id.as_str())
            .chain(self.invalid_pages.iter().map(|p| p.id.as_str()))
            .collect();
        by_page
            .iter()
            .filter(|(id, _)| !page_ids.contains(id.as_str()))
            .flat_map(|(id, records)| {
                records.iter().map(move |r| Finding {
                    kind: FindingKind::OrphanRecord,
                    page: Some(id.clone()),
                    detail: format!(
                        "a {} record about a page that is not in content/",
                        r.record.kind
                    ),
                    file: Some(r.file.clone()),
                })
            })
            .collect()
    }

    fn spaces_without_policy(&self) -> Vec<Finding> {
        let spaces: BTreeSet<&str> = self
            .pages
            .iter()
            .map(|p| p.space.as_str())
            .filter(|s| !self.policies.contains_key(*s))
            .collect();
        spaces
            .into_iter()
            .map(|space| Finding {
                kind: FindingKind::NoPolicy,
                page: None,
                detail: format!("space '{space}' has no approvals/policies/{space}.yaml: none of its pages is published"),
                file: None,
            })
            .collect()
    }

    /// Every step of a policy that nobody able to sign at `now` can complete
    /// (`Policy::unreachable_steps`): its space's pages would wait on it forever.
    fn unreachable_steps(&self, now: Instant) -> Vec<Finding> {
        self.policies
            .values()
            .flat_map(|policy| {
                policy
                    .unreachable_steps(&self.keyring, &now)
                    .into_iter()
                    .map(move |u| Finding {
                        kind: FindingKind::StepUnreachable,
                        page: None,
                        detail: format!(
                            "space '{}', step '{}': nobody who can sign today can complete it: {}. Add or restore a reviewer who may act in this step in approvals/keyring.yaml (imprimatur keyring add), or change the step in {}",
                            policy.space, u.step, u.why, policy.file
                        ),
                        file: Some(policy.file.clone()),
                    })
            })
            .collect()
    }

    /// Judges one page alone (`log`, and the signing commands' check of the record they are
    /// about to write, passed as `extra`). URL conflicts with other pages are not judged.
    pub fn evaluate_one(
        &self,
        id: &str,
        now: Instant,
        extra: Option<VerifiedRecord>,
    ) -> Option<PageEvaluation> {
        let at = self
            .pages
            .binary_search_by(|p| p.id.as_str().cmp(id))
            .ok()?;
        let page = Arc::clone(&self.pages[at]);
        let records = self
            .records
            .iter()
            .filter_map(|f| f.parsed.as_ref().ok().map(|p| (f, p)))
            .filter(|(_, p)| {
                p.record.content == id
                    && record::check_with(
                        p,
                        &self.keyring,
                        &now,
                        self.memo.as_deref().map(|m| m as _),
                    )
                    .is_ok()
            })
            .map(|(f, p)| VerifiedRecord {
                file: f.file.clone(),
                record: p.record.clone(),
            })
            .chain(extra)
            .collect();
        Some(
            self.judge_page(page, records, now, &self.config.audiences)
                .0,
        )
    }

    fn judge_page(
        &self,
        page: Arc<Page>,
        records: Vec<VerifiedRecord>,
        now: Instant,
        audiences: &[String],
    ) -> (PageEvaluation, Vec<Finding>) {
        let mut findings = Vec::new();
        if let Err(why) = &page.content {
            findings.push(Finding {
                kind: FindingKind::InvalidPage,
                page: Some(page.id.clone()),
                detail: format!("{}: {why}", page.source),
                file: Some(page.source.clone()),
            });
        }
        let Some(policy) = self.policies.get(&page.space) else {
            let eval = PageEvaluation {
                page,
                records,
                judgement: Judgement::NoPolicy,
            };
            return (eval, findings);
        };
        // Each version's bytes are fetched at most once: from the draft when it is that
        // version, else from the store, checked against the version hash.
        type Fetched = std::result::Result<Arc<LiveContent>, FetchError>;
        let fetched: RefCell<BTreeMap<Version, Fetched>> = RefCell::new(BTreeMap::new());
        let fetch = |v: &Version| -> Option<VersionMeta> {
            let mut cache = fetched.borrow_mut();
            let entry = cache.entry(v.clone()).or_insert_with(|| {
                if *v == page.version {
                    return page.content.clone().map_err(FetchError::Page);
                }
                let files = Arc::new(self.store.get_version(v).map_err(FetchError::Store)?);
                // Held where the page's own bytes are (`serve`), else read again when wanted.
                let bytes = match page.bytes.is_held() {
                    true => content::VersionSource::held(Arc::clone(&files)),
                    false => content::VersionSource::in_store(&self.store, v),
                };
                LiveContent::parse(&files, bytes)
                    .map(Arc::new)
                    .map_err(FetchError::Page)
            });
            entry.as_ref().ok().map(|c| VersionMeta {
                publish_at: c.front.publish_at,
                expires_at: c.front.expires_at,
                audience: c.front.audience.clone(),
            })
        };
        let review = review::evaluate(&PageInput {
            current: &page.version,
            records: &records,
            policy,
            now,
            audiences,
            meta: &fetch,
        });
        for note in &review.notes {
            if let Some(kind) = note.finding {
                findings.push(Finding {
                    kind,
                    page: Some(page.id.clone()),
                    detail: note.note.clone(),
                    file: Some(records[note.index].file.clone()),
                });
            }
        }
        let mut cache = fetched.into_inner();
        let review = review.map_live(|live| match live {
            Liveness::Live(version) => {
                let Some(Ok(content)) = cache.remove(&version.version) else {
                    unreachable!("the engine chose a version whose bytes it read")
                };
                match page_url(policy, &page.path, content.front.slug.as_deref()) {
                    Ok(url) => Liveness::Live(Live {
                        version,
                        content,
                        url,
                    }),
                    Err((url, why)) => {
                        findings.push(Finding {
                            kind: FindingKind::InvalidPage,
                            page: Some(page.id.clone()),
                            detail: format!("its URL {url} can't be used: {why}; not published"),
                            file: Some(page.source.clone()),
                        });
                        Liveness::Offline(Offline::BadUrl { url, why })
                    }
                }
            }
            Liveness::Offline(Offline::Unavailable { version }) => {
                let (kind, why) = match cache.get(&version) {
                    Some(Err(FetchError::Store(e @ StoreError::Missing { .. }))) => {
                        (FindingKind::StoreMissing, e.to_string())
                    }
                    Some(Err(FetchError::Store(e))) => (FindingKind::StoreCorrupt, e.to_string()),
                    Some(Err(FetchError::Page(why))) => (FindingKind::InvalidPage, why.clone()),
                    _ => (FindingKind::StoreMissing, "unavailable".into()),
                };
                findings.push(Finding {
                    kind,
                    page: Some(page.id.clone()),
                    detail: format!(
                        "the published version {} can't be served: {why}; the page is offline (an older version does not come back)",
                        version.short()
                    ),
                    file: None,
                });
                Liveness::Offline(Offline::Unavailable { version })
            }
            Liveness::Offline(why) => Liveness::Offline(why),
            Liveness::Never => Liveness::Never,
        });
        let eval = PageEvaluation {
            page,
            records,
            judgement: Judgement::Reviewed(Box::new(review)),
        };
        (eval, findings)
    }
}
/// Why an approved version's bytes can't be used.
enum FetchError {
    Store(StoreError),
    Page(String),
}

/// `stale`, `escalation` and `review_due` (SPEC §5): reminders that only notify and report;
/// and `review_cancelled` (docs/workflow.md), the notice that an edit ended a review.
fn reminders(
    page: &str,
    review: &PageReview<Live>,
    policy: &Policy,
    admins: Option<&[String]>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(c) = &review.cancelled {
        out.push(Finding {
            kind: FindingKind::ReviewCancelled,
            page: Some(page.to_string()),
            detail: format!(
                "the review of version {} (submitted by '{}' at {}, waiting in step '{}') was cancelled: the page was edited (edit_cancels_review); submit it again",
                c.version.short(),
                c.submitter,
                time::format_utc(&c.submitted_at),
                c.step
            ),
            file: None,
        });
    }
    if let Some(r) = &review.in_review {
        if let (Some(rung), Some(e)) = (r.rungs.last(), &policy.escalate_after_days) {
            let detail = if e.ladder {
                let n = crate::trust::escalation::notified(policy, r, rung, admins);
                format!(
                    "rung {} of {} ([{}] days): step '{}' has waited {} days, since {}, on {}; notifies {}: {}",
                    rung.number,
                    e.after_days.len(),
                    e.days_text(),
                    r.step,
                    r.waited_days,
                    time::format_utc(&r.stage_since),
                    r.waiting_on.join(", "),
                    n.whom,
                    if n.who.is_empty() { "nobody (none left to ask)".into() } else { n.who.join(", ") }
                )
            } else {
                // The single-number form reads as it did before the ladder.
                format!(
                    "step '{}' has waited since {} (more than {} days) on {}",
                    r.step,
                    time::format_utc(&r.stage_since),
                    e.first(),
                    r.waiting_on.join(", ")
                )
            };
            out.push(Finding {
                kind: FindingKind::Escalation,
                page: Some(page.to_string()),
                detail,
                file: None,
            });
        }
        if let (Some(_), Some(days)) = (r.stale_at, policy.stale_after_days) {
            out.push(Finding {
                kind: FindingKind::Stale,
                page: Some(page.to_string()),
                detail: format!(
                    "version {} has been pending since {} (more than {days} days)",
                    r.version.short(),
                    time::format_utc(&r.submitted_at)
                ),
                file: None,
            });
        }
    }
    let Some(days) = policy.approval_expires_days else {
        return out;
    };
    match &review.live {
        Liveness::Live(live) if live.version.approval_expired() => out.push(Finding {
            kind: FindingKind::ReviewDue,
            page: Some(page.to_string()),
            detail: format!(
                "the live version {} was approved {} (more than {days} days ago): review it again",
                live.version.version.short(),
                time::format_utc(&live.version.approved_at)
            ),
            file: None,
        }),
        // Only an expired approval is a review that is due; a passed `expires_at` is the end
        // the writer chose.
        Liveness::Offline(Offline::Expired { approval: true, .. }) => out.push(Finding {
            kind: FindingKind::ReviewDue,
            page: Some(page.to_string()),
            detail: format!("the approval expired (approval_expires_days: {days}, on_expiry: unpublish); the page is offline until it is re-certified"),
            file: None,
        }),
        _ => {}
    }
    out
}
