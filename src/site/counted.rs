//! The records earlier builds counted, kept beside `output/` so that deleting a record's file
//! can't un-say a decision. A rejection, a retraction or a takedown whose file is gone from
//! `approvals/records/` still counts, judged from the copy kept here exactly as if its file
//! were there, and is reported (`record_removed`, which fails `--strict`) until the file is
//! put back.
//!
//! Who can write this file, and what could they make it say: whoever can write beside
//! `output/` (a CI's restored artifact or cache). Records are self-authenticating, so an
//! entry is a record file's text and nothing more: it is parsed, and checked against SPEC §4
//! with the build's keyring and clock, as any record is. An entry that does not parse, that
//! is not the record its id names, or that does not count is reported as an `invalid_record`
//! and forgotten; it can't make anything count. What such a writer *can* do is delete the file
//! (then the build can't tell what was removed before it: `imprimatur verify --since REV`
//! asks git instead, which is why the CI recipes run it on pull requests).
//!
//! The file: the line `imprimatur-counted-records-v1`, then for each record, sorted by id, its
//! 32-byte id, then the path its file had and its text, each a big-endian `u32` length and
//! the bytes.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::trust::record::{self, RecordFileParsed, RecordId};

const MAGIC: &[u8] = b"imprimatur-counted-records-v1\n";
/// What the file is called beside `output/`: `.imprimatur-records-<output folder's name>`.
const PREFIX: &str = ".imprimatur-records-";
/// The most read of it: ~2,000 times what 100,000 pages' records take.
const LIMIT: u64 = 1 << 30;

/// One record a build counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) id: RecordId,
    /// Where its file was (`approvals/records/...`), for the finding that says it is gone.
    pub(crate) file: String,
    pub(crate) text: String,
}

/// The counted records as the last build left them.
#[derive(Default)]
pub(crate) struct Counted {
    /// Sorted by id, each id once.
    pub(crate) entries: Vec<Entry>,
    /// Why (part of) the file could not be read: reported, since then deleted records may go
    /// unnoticed this once.
    pub(crate) unreadable: Option<String>,
    /// The file, as shown to people.
    pub(crate) shown: String,
}

/// Where the counted records of a site whose public folder is `output_dir` are kept.
pub(crate) fn path_for(output_dir: &Path) -> PathBuf {
    let name = output_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into());
    output_dir
        .parent()
        .unwrap_or(Path::new("."))
        .join(format!("{PREFIX}{name}"))
}

impl Counted {
    /// What the last build kept beside `output_dir`: nothing when it kept nothing (a first
    /// build); never an error (a file that can't be read is reported as `unreadable`).
    pub(crate) fn load(output_dir: &Path, shown: String) -> Counted {
        let path = path_for(output_dir);
        let parent = path.parent().unwrap_or(Path::new("."));
        let name = Path::new(path.file_name().expect("a file name"));
        let bytes = match crate::atomic::read_beneath(parent, name, LIMIT) {
            Ok(bytes) => bytes,
            Err(e) if matches!(e.kind, crate::atomic::ReadErrorKind::Missing) => {
                return Counted {
                    shown,
                    ..Counted::default()
                }
            }
            Err(e) => {
                return Counted {
                    unreadable: Some(format!("the file {}", e.kind)),
                    shown,
                    ..Counted::default()
                }
            }
        };
        let (entries, unreadable) = decode(&bytes);
        Counted {
            entries,
            unreadable,
            shown,
        }
    }
}

/// The entries of a file's bytes, and why the rest could not be read (if it could not).
fn decode(bytes: &[u8]) -> (Vec<Entry>, Option<String>) {
    let Some(mut rest) = bytes.strip_prefix(MAGIC) else {
        return (
            Vec::new(),
            Some("it is not a file of counted records (its first line is wrong)".into()),
        );
    };
    let mut entries: Vec<Entry> = Vec::new();
    while !rest.is_empty() {
        let Some(entry) = next_entry(&mut rest) else {
            let why = format!("it is cut or garbled after {} record(s)", entries.len());
            return (entries, Some(why));
        };
        if entries.last().is_some_and(|last| last.id >= entry.id) {
            let why = format!("its records are not sorted after {}", entries.len());
            return (entries, Some(why));
        }
        entries.push(entry);
    }
    (entries, None)
}

fn next_entry(rest: &mut &[u8]) -> Option<Entry> {
    fn take<'a>(rest: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (head, tail) = rest.split_at_checked(n)?;
        *rest = tail;
        Some(head)
    }
    fn text(rest: &mut &[u8]) -> Option<String> {
        let len = u32::from_be_bytes(take(rest, 4)?.try_into().ok()?) as usize;
        String::from_utf8(take(rest, len)?.to_vec()).ok()
    }
    let id = RecordId(take(rest, 32)?.try_into().ok()?);
    let file = text(rest)?;
    let text = text(rest)?;
    Some(Entry { id, file, text })
}

fn encode_entry(out: &mut dyn std::io::Write, entry: &Entry) -> std::io::Result<()> {
    out.write_all(&entry.id.0)?;
    for part in [entry.file.as_bytes(), entry.text.as_bytes()] {
        let len = u32::try_from(part.len()).map_err(std::io::Error::other)?;
        out.write_all(&len.to_be_bytes())?;
        out.write_all(part)?;
    }
    Ok(())
}

/// What one judgement did with the counted records: which counted now (by the index of their
/// file in the records judged), and which of the kept ones stay kept although their file is
/// gone. From it the build writes the file again ([`write`]).
#[derive(Default)]
pub struct Next {
    /// Records whose file counted now: their id and index in the records judged.
    pub(crate) on_disk: Vec<(RecordId, usize)>,
    /// Kept entries whose file is gone, kept on (by index in [`Counted::entries`]).
    pub(crate) kept: Vec<usize>,
    /// Whether the next file holds other ids than the last (else nothing is written).
    pub(crate) changed: bool,
}

impl Next {
    /// Leaves out the records the policy refused (`refused`: their files), which did not
    /// count after all, and settles whether the next file differs from `last`.
    pub(crate) fn settle(
        &mut self,
        refused: &HashSet<String>,
        records: &[super::RecordFile],
        last: &Counted,
    ) {
        if !refused.is_empty() {
            self.on_disk
                .retain(|(_, i)| records.get(*i).is_none_or(|r| !refused.contains(&r.file)));
            self.kept.retain(|i| {
                last.entries
                    .get(*i)
                    .is_none_or(|e| !refused.contains(&e.file))
            });
        }
        // The next file holds the records that counted on disk and those kept on: it differs
        // from the last when it holds one the last did not, or leaves one out.
        let mut present: Vec<RecordId> = Vec::with_capacity(self.on_disk.len());
        let mut new = false;
        for (id, _) in &self.on_disk {
            match last.entries.binary_search_by(|e| e.id.cmp(id)) {
                Ok(_) => present.push(*id),
                Err(_) => new = true,
            }
        }
        present.sort_unstable();
        present.dedup();
        self.changed = new
            || present.len() + self.kept.len() != last.entries.len()
            || last.unreadable.is_some();
    }
}

/// What to make of a kept record whose file is gone.
pub(crate) enum Missing {
    /// Its page is in `content/`: judged as if its file were there, and reported.
    PutBack(RecordFileParsed),
    /// Its page is not in `content/`: nothing to judge; kept, should the page come back.
    Carried,
    /// Not a record that counts: reported, and forgotten.
    Invalid(String),
}

/// The counted entries whose id is not among `now` (the ids of records whose files count
/// now), each with what to make of it. `page_exists` says whether a page id is in `content/`.
pub(crate) fn missing<'a>(
    counted: &'a Counted,
    now: &HashSet<RecordId>,
    page_exists: &dyn Fn(&str) -> bool,
    check: &dyn Fn(&RecordFileParsed) -> std::result::Result<RecordId, String>,
) -> Vec<(usize, &'a Entry, Missing)> {
    counted
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| !now.contains(&e.id))
        .map(|(i, e)| {
            let judged = match record::parse(&e.text) {
                Err(why) => Missing::Invalid(why),
                Ok(parsed) if parsed.id() != e.id => Missing::Invalid(
                    "its text is not the record its id names (the file of counted records was changed)".into(),
                ),
                Ok(parsed) if !page_exists(&parsed.record.content) => Missing::Carried,
                Ok(parsed) => match check(&parsed) {
                    Ok(_) => Missing::PutBack(parsed),
                    Err(why) => Missing::Invalid(why),
                },
            };
            (i, e, judged)
        })
        .collect()
}

/// Writes the counted records of a build beside `output_dir`: every record whose file
/// counted (`records[i]` for each of `next.on_disk`) and the kept ones `next` keeps on.
/// Nothing is written when the ids are those of the last file. Synced: a decision once
/// counted must outlive a crash of the machine.
pub(crate) fn write(
    output_dir: &Path,
    last: &Counted,
    next: &Next,
    records: &[super::RecordFile],
) -> Result<()> {
    if !next.changed && last.unreadable.is_none() {
        return Ok(());
    }
    use rayon::prelude::*;
    let kept_before = |id: &RecordId| {
        let i = last.entries.binary_search_by(|e| e.id.cmp(id)).ok()?;
        Some(&last.entries[i])
    };
    let mut entries: Vec<std::borrow::Cow<'_, Entry>> = next
        .on_disk
        .par_iter()
        .filter_map(|(id, i)| {
            if let Some(e) = kept_before(id) {
                return Some(std::borrow::Cow::Borrowed(e));
            }
            let parsed = records.get(*i)?.parsed.as_ref().ok()?;
            Some(std::borrow::Cow::Owned(Entry {
                id: *id,
                file: records[*i].file.clone(),
                text: parsed.to_yaml(),
            }))
        })
        .collect();
    entries.extend(
        next.kept
            .iter()
            .filter_map(|i| last.entries.get(*i).map(std::borrow::Cow::Borrowed)),
    );
    entries.sort_by_key(|e| e.id);
    entries.dedup_by(|a, b| a.id == b.id);
    crate::atomic::write_file_synced_with(&path_for(output_dir), &|out| {
        out.write_all(MAGIC)?;
        for entry in &entries {
            encode_entry(out, entry)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: u8, text: &str) -> Entry {
        Entry {
            id: RecordId([n; 32]),
            file: format!("approvals/records/{n}.yaml"),
            text: text.into(),
        }
    }

    fn encoded(entries: &[Entry]) -> Vec<u8> {
        let mut bytes = MAGIC.to_vec();
        for e in entries {
            encode_entry(&mut bytes, e).unwrap();
        }
        bytes
    }

    #[test]
    fn a_file_of_counted_records_reads_back_as_written() {
        let entries = vec![entry(1, "one"), entry(2, "two: ü")];
        assert_eq!(decode(&encoded(&entries)), (entries, None));
        assert_eq!(decode(MAGIC), (vec![], None));
    }

    #[test]
    fn a_cut_garbled_or_foreign_file_keeps_what_reads_and_says_why() {
        let entries = vec![entry(1, "one"), entry(2, "two")];
        let bytes = encoded(&entries);
        for (bytes, kept, why) in [
            (
                bytes[..bytes.len() - 1].to_vec(),
                1,
                "cut or garbled after 1",
            ),
            (
                b"something else".to_vec(),
                0,
                "not a file of counted records",
            ),
            (encoded(&[entry(2, "b"), entry(1, "a")]), 1, "not sorted"),
            (encoded(&[entry(1, "a"), entry(1, "a")]), 1, "not sorted"),
            (
                [MAGIC, &[0u8; 32], &[255, 255, 255, 255]].concat(),
                0,
                "cut",
            ),
        ] {
            let (read, problem) = decode(&bytes);
            assert_eq!(read.len(), kept, "{why}");
            assert!(problem.as_deref().unwrap().contains(why), "{problem:?}");
        }
        let mut bad_utf8 = MAGIC.to_vec();
        bad_utf8.extend([1u8; 32]);
        bad_utf8.extend([0, 0, 0, 1, 0xff, 0, 0, 0, 0]);
        assert!(decode(&bad_utf8).1.is_some());
    }

    #[test]
    fn the_file_lies_beside_output_named_after_it() {
        assert_eq!(
            path_for(Path::new("/site/public")),
            Path::new("/site/.imprimatur-records-public")
        );
    }
}
