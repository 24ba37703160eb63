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
//! The file: the line `imprimatur-counted-records-v2`, the number of records (`u64`), then an
//! index of them sorted by id — each its 32-byte id, the offset of its data (`u64`) and the
//! lengths of the path its file had and of its text (`u32` each) — then the data. All numbers
//! are big-endian. A build reads the index alone (48 bytes a record); a text is read only for
//! a record whose file is gone, and copied from file to file when the next build keeps it.

use std::collections::HashSet;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::trust::record::{self, RecordFileParsed, RecordId};

const MAGIC: &[u8] = b"imprimatur-counted-records-v2\n";
/// What the file is called beside `output/`: `.imprimatur-records-<output folder's name>`.
const PREFIX: &str = ".imprimatur-records-";
/// The bytes of one entry of the index.
const INDEX_ENTRY: u64 = 32 + 8 + 4 + 4;
/// The most a path or a text may take (a record file is at most 64 KiB).
const MAX_PART: u32 = 1 << 20;

/// One record of the index: who it is and where its path and text are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) id: RecordId,
    offset: u64,
    file_len: u32,
    text_len: u32,
}

/// A kept record's path (where its file was) and text, read from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Kept {
    pub(crate) file: String,
    pub(crate) text: String,
}

/// The counted records as the last build left them: the index, and the file to read texts
/// from.
#[derive(Default)]
pub(crate) struct Counted {
    /// Sorted by id, each id once.
    pub(crate) entries: Vec<Entry>,
    /// Why (part of) the file could not be read: reported, since then deleted records may go
    /// unnoticed this once.
    pub(crate) unreadable: Option<String>,
    /// The file, as shown to people.
    pub(crate) shown: String,
    file: Option<std::sync::Mutex<std::fs::File>>,
    len: u64,
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

/// Opens a regular file without following a link at its last component.
fn open_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    #[cfg(target_os = "linux")]
    let nofollow = rustix::fs::OFlags::NOFOLLOW.bits() as i32;
    #[cfg(not(target_os = "linux"))]
    let nofollow = 0x100;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nofollow)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("it is not a regular file"));
    }
    Ok(file)
}

impl Counted {
    /// What the last build kept beside `output_dir`: nothing when it kept nothing (a first
    /// build); never an error (a file that can't be read is reported as `unreadable`).
    pub(crate) fn load(output_dir: &Path, shown: String) -> Counted {
        let unreadable = |why: String| Counted {
            unreadable: Some(why),
            shown: shown.clone(),
            ..Counted::default()
        };
        let mut file = match open_file(&path_for(output_dir)) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Counted {
                    shown,
                    ..Counted::default()
                }
            }
            Err(e) if e.raw_os_error() == Some(40) => {
                return unreadable("the file is a symbolic link".into())
            }
            Err(e) => return unreadable(format!("the file can't be read: {e}")),
        };
        match read_index(&mut file) {
            Ok((entries, len, problem)) => Counted {
                entries,
                unreadable: problem,
                shown,
                file: Some(std::sync::Mutex::new(file)),
                len,
            },
            Err(why) => unreadable(why),
        }
    }

    /// The path and text of `entry`, read from the file; `None` when they can't be.
    pub(crate) fn read(&self, entry: &Entry) -> Option<Kept> {
        let total = entry.file_len as u64 + entry.text_len as u64;
        if entry.offset.checked_add(total)? > self.len {
            return None;
        }
        let mut bytes = vec![0u8; total as usize];
        {
            let mut file = self.file.as_ref()?.lock().ok()?;
            file.seek(SeekFrom::Start(entry.offset)).ok()?;
            file.read_exact(&mut bytes).ok()?;
        }
        let text = String::from_utf8(bytes.split_off(entry.file_len as usize)).ok()?;
        let file = String::from_utf8(bytes).ok()?;
        Some(Kept { file, text })
    }
}

/// The index of an open file of counted records: its entries (those read before anything went
/// wrong), the file's length, and why the rest could not be read (if it could not).
fn read_index(
    file: &mut std::fs::File,
) -> std::result::Result<(Vec<Entry>, u64, Option<String>), String> {
    let len = file
        .metadata()
        .map_err(|e| format!("the file can't be read: {e}"))?
        .len();
    let mut head = vec![0u8; MAGIC.len() + 8];
    if file.read_exact(&mut head).is_err() || !head.starts_with(MAGIC) {
        return Err("it is not a file of counted records (its first line is wrong)".into());
    }
    let count = u64::from_be_bytes(head[MAGIC.len()..].try_into().expect("8 bytes"));
    let index_end = count
        .checked_mul(INDEX_ENTRY)
        .and_then(|n| n.checked_add(head.len() as u64))
        .filter(|end| *end <= len)
        .ok_or_else(|| format!("its index of {count} records is longer than the file"))?;
    let mut index = vec![0u8; (index_end - head.len() as u64) as usize];
    file.read_exact(&mut index)
        .map_err(|e| format!("its index can't be read: {e}"))?;
    let mut entries: Vec<Entry> = Vec::with_capacity(count as usize);
    for raw in index.chunks_exact(INDEX_ENTRY as usize) {
        let entry = Entry {
            id: RecordId(raw[..32].try_into().expect("32 bytes")),
            offset: u64::from_be_bytes(raw[32..40].try_into().expect("8 bytes")),
            file_len: u32::from_be_bytes(raw[40..44].try_into().expect("4 bytes")),
            text_len: u32::from_be_bytes(raw[44..48].try_into().expect("4 bytes")),
        };
        if entries.last().is_some_and(|last| last.id >= entry.id) {
            let why = format!("its records are not sorted after {}", entries.len());
            return Ok((entries, len, Some(why)));
        }
        if entry.file_len > MAX_PART || entry.text_len > MAX_PART || entry.offset < index_end {
            let why = format!("its index is garbled after {} record(s)", entries.len());
            return Ok((entries, len, Some(why)));
        }
        entries.push(entry);
    }
    Ok((entries, len, None))
}

/// What one judgement did with the counted records: which counted now (by the index of their
/// file in the records judged), and which of the kept ones stay kept although their file is
/// gone. From it the build writes the file again ([`write`]).
#[derive(Default)]
pub struct Next {
    /// Records whose file counted now: their id and index in the records judged.
    pub(crate) on_disk: Vec<(RecordId, usize)>,
    /// Kept entries whose file is gone, kept on: their index in [`Counted::entries`] and the
    /// path their file had.
    pub(crate) kept: Vec<(usize, String)>,
    /// Whether the next file holds other ids than the last (else nothing is written).
    pub(crate) changed: bool,
}

impl Next {
    /// Leaves out the records the policy refused (`refused`: their files), which did not
    /// count after all, and settles whether the next file differs from `last`.
    pub(crate) fn settle(
        &mut self,
        refused: &HashSet<String>,
        records: &[crate::trust::record::RecordFile],
        last: &Counted,
    ) {
        if !refused.is_empty() {
            self.on_disk
                .retain(|(_, i)| records.get(*i).is_none_or(|r| !refused.contains(&r.file)));
            self.kept.retain(|(_, file)| !refused.contains(file));
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
/// now), each with its kept path and text and what to make of it. `page_exists` says whether
/// a page id is in `content/`.
pub(crate) fn missing(
    counted: &Counted,
    now: &HashSet<RecordId>,
    page_exists: &dyn Fn(&str) -> bool,
    check: &dyn Fn(&RecordFileParsed) -> std::result::Result<RecordId, String>,
) -> Vec<(usize, Kept, Missing)> {
    counted
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| !now.contains(&e.id))
        .map(|(i, e)| {
            let Some(kept) = counted.read(e) else {
                let kept = Kept {
                    file: "?".into(),
                    text: String::new(),
                };
                let why = "its text can't be read from the file of counted records".into();
                return (i, kept, Missing::Invalid(why));
            };
            let judged = match record::parse(&kept.text) {
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
            (i, kept, judged)
        })
        .collect()
}

/// One entry of the next file: a record read now, or one the last file holds.
enum Source<'a> {
    New { file: &'a str, text: String },
    Last(&'a Entry),
}

/// Writes the counted records of a build beside `output_dir`: every record whose file
/// counted (`records[i]` for each of `next.on_disk`) and the kept ones `next` keeps on, the
/// texts the last file holds copied from it. Nothing is written when the ids are those of the
/// last file. Synced: a decision once counted must outlive a crash of the machine.
pub(crate) fn write(
    output_dir: &Path,
    last: &Counted,
    next: &Next,
    records: &[crate::trust::record::RecordFile],
) -> Result<()> {
    use rayon::prelude::*;
    if !next.changed {
        return Ok(());
    }
    let in_last = |id: &RecordId| {
        let i = last.entries.binary_search_by(|e| e.id.cmp(id)).ok()?;
        Some(&last.entries[i])
    };
    let mut entries: Vec<(RecordId, Source<'_>)> = next
        .on_disk
        .par_iter()
        .filter_map(|(id, i)| match in_last(id) {
            Some(e) => Some((*id, Source::Last(e))),
            None => {
                let record = records.get(*i)?;
                let text = record.parsed.as_ref().ok()?.to_yaml();
                Some((
                    *id,
                    Source::New {
                        file: &record.file,
                        text,
                    },
                ))
            }
        })
        .collect();
    entries.extend(
        next.kept
            .iter()
            .filter_map(|(i, _)| last.entries.get(*i).map(|e| (e.id, Source::Last(e)))),
    );
    entries.sort_by_key(|(id, _)| *id);
    entries.dedup_by_key(|(id, _)| *id);
    // A kept text that can't be read from the last file is not carried into the next.
    let kept: Vec<(RecordId, Kept)> = entries
        .into_iter()
        .filter_map(|(id, source)| match source {
            Source::New { file, text } => Some((
                id,
                Kept {
                    file: file.to_string(),
                    text,
                },
            )),
            Source::Last(e) => last.read(e).map(|k| (id, k)),
        })
        .collect();
    let path = path_for(output_dir);
    crate::fs::write_file_synced_with(&path, &|out| encode(out, &kept)).map_err(|e| match e {
        Error::Io { source, .. } => Error::io(&path, source),
        other => other,
    })
}

fn encode(out: &mut dyn Write, entries: &[(RecordId, Kept)]) -> std::io::Result<()> {
    out.write_all(MAGIC)?;
    out.write_all(&(entries.len() as u64).to_be_bytes())?;
    let mut offset = MAGIC.len() as u64 + 8 + entries.len() as u64 * INDEX_ENTRY;
    let len = |s: &str| u32::try_from(s.len()).map_err(std::io::Error::other);
    for (id, kept) in entries {
        out.write_all(&id.0)?;
        out.write_all(&offset.to_be_bytes())?;
        out.write_all(&len(&kept.file)?.to_be_bytes())?;
        out.write_all(&len(&kept.text)?.to_be_bytes())?;
        offset += (kept.file.len() + kept.text.len()) as u64;
    }
    for (_, kept) in entries {
        out.write_all(kept.file.as_bytes())?;
        out.write_all(kept.text.as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(n: u8, text: &str) -> (RecordId, Kept) {
        (
            RecordId([n; 32]),
            Kept {
                file: format!("approvals/records/{n}.yaml"),
                text: text.into(),
            },
        )
    }

    fn encoded(entries: &[(RecordId, Kept)]) -> Vec<u8> {
        let mut bytes = Vec::new();
        encode(&mut bytes, entries).unwrap();
        bytes
    }

    /// The file `bytes` beside a folder `output`, loaded.
    fn load(bytes: &[u8]) -> (tempfile::TempDir, Counted) {
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("output");
        std::fs::write(path_for(&output), bytes).unwrap();
        let counted = Counted::load(&output, "shown".into());
        (dir, counted)
    }

    #[test]
    fn a_file_of_counted_records_reads_back_as_written() {
        let entries = vec![kept(1, "one"), kept(2, "two: ü")];
        let (_dir, counted) = load(&encoded(&entries));
        assert_eq!(counted.unreadable, None);
        let read: Vec<(RecordId, Kept)> = counted
            .entries
            .iter()
            .map(|e| (e.id, counted.read(e).unwrap()))
            .collect();
        assert_eq!(read, entries);
        let (_dir, empty) = load(&encoded(&[]));
        assert!(empty.entries.is_empty() && empty.unreadable.is_none());
        // None at all: a first build.
        let dir = tempfile::tempdir().unwrap();
        let none = Counted::load(&dir.path().join("output"), "shown".into());
        assert!(none.entries.is_empty() && none.unreadable.is_none());
    }

    #[test]
    fn a_cut_garbled_or_foreign_file_keeps_what_reads_and_says_why() {
        let entries = vec![kept(1, "one"), kept(2, "two")];
        let bytes = encoded(&entries);
        let index_end = MAGIC.len() + 8 + 2 * INDEX_ENTRY as usize;
        let mut garbled_offset = bytes.clone();
        garbled_offset[index_end - 16..index_end - 8].copy_from_slice(&[0; 8]);
        for (bytes, index, why) in [
            (
                b"something else".to_vec(),
                0,
                "not a file of counted records",
            ),
            (bytes[..index_end - 1].to_vec(), 0, "longer than the file"),
            (encoded(&[kept(2, "b"), kept(1, "a")]), 1, "not sorted"),
            (encoded(&[kept(1, "a"), kept(1, "a")]), 1, "not sorted"),
            (garbled_offset, 1, "garbled after 1"),
        ] {
            let (_dir, counted) = load(&bytes);
            assert_eq!(counted.entries.len(), index, "{why}");
            let problem = counted.unreadable.unwrap_or_default();
            assert!(problem.contains(why), "{why}: {problem}");
        }
        // A text cut off the end: the index reads, the text does not.
        let (_dir, cut) = load(&bytes[..bytes.len() - 1]);
        assert_eq!(cut.entries.len(), 2);
        assert!(cut.read(&cut.entries[0]).is_some());
        assert!(cut.read(&cut.entries[1]).is_none());
    }

    #[test]
    fn a_link_in_place_of_the_file_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("output");
        let elsewhere = dir.path().join("elsewhere");
        std::fs::write(&elsewhere, encoded(&[kept(1, "one")])).unwrap();
        std::os::unix::fs::symlink(&elsewhere, path_for(&output)).unwrap();
        let counted = Counted::load(&output, "shown".into());
        assert!(counted.entries.is_empty());
        assert!(counted.unreadable.unwrap().contains("symbolic link"));
    }

    #[test]
    fn the_file_lies_beside_output_named_after_it() {
        assert_eq!(
            path_for(Path::new("/site/public")),
            Path::new("/site/.imprimatur-records-public")
        );
    }
}
