//! What the last build read from `content/` and `approvals/records/`, kept in the cache
//! folder so that the next build opens only the files that changed. (A rebuild of 10,000
//! pages with nothing changed spent a third of its time opening, reading and closing 40,000
//! files it had read the time before.)
//!
//! Why it can't make a build publish or count anything a fresh read would not:
//! - It stands in for reading a file, nothing more. For a record it keeps the file's exact
//!   bytes, which are parsed and verified as if just read. For a page file it keeps what
//!   reading it gave: the version (the SHA-256 of its bytes) and the front matter's text, or
//!   why the page can't be parsed; the bytes are read again, and hashed again, when the page
//!   is rendered, as always.
//! - An entry is used for a file only while the file's fingerprint (device, inode, size,
//!   modification and change times) is the one recorded, and it is recorded only when
//!   *settled*: the file's change time older than a reading of the same filesystem's clock
//!   taken before the file was read ([`Clock`]). Any later write to the file moves its change
//!   time past that reading, and nobody can set a change time back from user space, so an
//!   entry never outlives the bytes it stands for.
//! - It lives outside the repository, in the user's cache folder, and each file of it is
//!   authenticated with the cache's HMAC key (mode 0600, see [`super::secret`]) over the digest of
//!   the executable and every byte: whoever writes to the repository can neither write an
//!   entry nor alter one, and another build of imprimatur uses none.
//! - Anything wrong with it (missing, cut short, a tag that does not match, bytes that don't
//!   decode) makes it empty: every file is read, as without it.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::Tagger;
use crate::fs::Fingerprint;

/// A reading of one filesystem's clock, as the change time of a file made there for a moment:
/// a file whose change time on that filesystem is older was last changed before the reading.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    dev: u64,
    ctime: (i64, i64),
}

impl Clock {
    /// The clock of the filesystem that holds the folder `dir`; `None` when no file can be
    /// made there (then nothing read is kept).
    pub(crate) fn read_in(dir: &Path) -> Option<Clock> {
        let probe = tempfile::Builder::new()
            .prefix(".imprimatur-clock-")
            .tempfile_in(dir)
            .ok()?;
        let made = Fingerprint::of(&probe.as_file().metadata().ok()?);
        Some(Clock {
            dev: made.dev(),
            ctime: made.ctime(),
        })
    }

    /// Whether a file with fingerprint `f` has not changed since some moment before this
    /// reading: on the same filesystem (the same clock), with an older change time.
    fn settled(&self, f: &Fingerprint) -> bool {
        f.dev() == self.dev && f.ctime() < self.ctime
    }
}

/// What reading a page file gave (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum PageRead {
    /// It parsed: its version and its bytes up to where the Markdown body starts.
    Parsed {
        version: String,
        #[serde(with = "serde_bytes")]
        head: Vec<u8>,
    },
    /// It has a version but is not a page: why.
    Invalid { version: String, why: String },
}

/// A record file's bytes.
pub(crate) type RecordBytes = serde_bytes::ByteBuf;

/// Where one kind of input (page files, record files) is kept, and under which key.
#[derive(Clone)]
pub(crate) struct Place {
    pub(super) path: PathBuf,
    pub(super) tagger: Tagger,
    pub(super) domain: &'static [u8],
}

/// One kind of input as the last build read it, and where this build keeps what it read.
pub(crate) struct Kept<T> {
    /// By the bytes of the path.
    before: foldhash::HashMap<Vec<u8>, (Fingerprint, T)>,
    place: Place,
    clock: Clock,
}

/// One file as this build has it, for [`Kept::save`]: what the last build kept of it was
/// used (`None`), or what was read now.
pub(crate) type Now<T> = (PathBuf, Fingerprint, Option<T>);

/// What to keep of one file a build has, by how it got it.
#[derive(Debug, Default)]
pub(crate) enum Keep<T> {
    /// Nothing: it can't be kept (not settled, not a file, not read).
    #[default]
    Nothing,
    /// What the last build kept, used again: the file has this fingerprint.
    Reused(Fingerprint),
    /// Read now, from the file with this fingerprint (settled).
    Read(Fingerprint, T),
}

impl<T> Keep<T> {
    /// The file at `path`, for [`Kept::save`].
    pub(crate) fn now(self, path: PathBuf) -> Option<Now<T>> {
        match self {
            Keep::Nothing => None,
            Keep::Reused(f) => Some((path, f, None)),
            Keep::Read(f, value) => Some((path, f, Some(value))),
        }
    }
}

impl<T: Serialize + DeserializeOwned> Kept<T> {
    /// What is kept at `place`; empty when there is nothing there that this program, under
    /// this key, wrote. `clock` was read before any file that may be kept is read.
    pub(crate) fn load(place: Place, clock: Clock) -> Kept<T> {
        let before = std::fs::read(&place.path)
            .ok()
            .and_then(|bytes| open(&place, &bytes))
            .unwrap_or_default();
        Kept {
            before,
            place,
            clock,
        }
    }

    /// What was kept of the file at `path`, if its fingerprint is still `f`.
    pub(crate) fn get(&self, path: &Path, f: Fingerprint) -> Option<&T> {
        match self.before.get(path.as_os_str().as_encoded_bytes()) {
            Some((seen, value)) if *seen == f => Some(value),
            _ => None,
        }
    }

    /// Whether the last build kept anything, so that files need be looked up at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.before.is_empty()
    }

    /// Whether a file with fingerprint `f`, read now, may be kept: what to hand
    /// [`Kept::save`], or nothing, so that nothing is held for a file that can't be.
    pub(crate) fn may_keep(&self, f: &Fingerprint) -> bool {
        self.clock.settled(f)
    }

    /// Keeps what this build read and used, in place of what the last one kept: `now` holds
    /// every file this build has. Nothing is written when that is exactly what was kept.
    /// Errors are ignored: it is only a cache.
    pub(crate) fn save(mut self, now: Vec<Now<T>>) {
        let unchanged = now.len() == self.before.len() && now.iter().all(|(_, _, v)| v.is_none());
        if unchanged {
            return;
        }
        let mut entries = Vec::with_capacity(now.len());
        for (path, f, value) in now {
            let value = match value {
                Some(value) if self.clock.settled(&f) => value,
                Some(_) => continue,
                None => match self.before.remove(path.as_os_str().as_encoded_bytes()) {
                    Some((seen, value)) if seen == f => value,
                    _ => continue,
                },
            };
            entries.push((bytes_of(path), f, value));
        }
        drop(std::mem::take(&mut self.before));
        if let Some(dir) = self.place.path.parent() {
            if let Ok(file) = tempfile::NamedTempFile::new_in(dir) {
                if let Ok(file) = write(&self.place, file, entries) {
                    let _ = file.persist(&self.place.path);
                }
            }
        }
    }
}

/// Writes `entries` into `file` after their tag, one by one as `postcard` writes a list of
/// them, each dropped once written: at 100,000 pages the records are 140 MB, which a build
/// should not hold twice beside its judgement.
fn write<T: Serialize>(
    place: &Place,
    file: tempfile::NamedTempFile,
    entries: Vec<(Vec<u8>, Fingerprint, T)>,
) -> std::io::Result<tempfile::NamedTempFile> {
    use std::io::{Seek, Write};
    let mut out = std::io::BufWriter::with_capacity(1 << 16, file);
    out.write_all(&[0; 32])?;
    let mut both = crate::fs::Tee {
        into: &mut out,
        copy: tagging(place),
    };
    postcard::to_io(&entries.len(), &mut both).map_err(std::io::Error::other)?;
    for (path, f, value) in entries {
        let entry = (serde_bytes::Bytes::new(&path), f, value);
        postcard::to_io(&entry, &mut both).map_err(std::io::Error::other)?;
    }
    let tag = both.copy.finish();
    let mut file = out.into_inner().map_err(|e| e.into_error())?;
    file.seek(std::io::SeekFrom::Start(0))?;
    file.write_all(&tag)?;
    Ok(file)
}

/// The tag of a kept file's payload, fed as it is written or read: under the cache's key,
/// for this kind of input and this very program.
fn tagging(place: &Place) -> super::TagWriter {
    use std::io::Write;
    let program = super::render_memo::program_id();
    let mut tag = place.tagger.tagging(place.domain);
    let _ = tag.write_all(&(program.len() as u64).to_be_bytes());
    let _ = tag.write_all(program);
    tag
}

/// The entries of a kept file, if its tag is this program's under this key.
fn open<T: DeserializeOwned>(
    place: &Place,
    bytes: &[u8],
) -> Option<foldhash::HashMap<Vec<u8>, (Fingerprint, T)>> {
    let (tag_read, payload) = bytes.split_at_checked(32)?;
    let mut tag = tagging(place);
    std::io::Write::write_all(&mut tag, payload).ok()?;
    if !super::same(tag_read, &tag.finish()) {
        return None;
    }
    let entries: Vec<(serde_bytes::ByteBuf, Fingerprint, T)> =
        postcard::from_bytes(payload).ok()?;
    Some(
        entries
            .into_iter()
            .map(|(path, f, value)| (path.into_vec(), (f, value)))
            .collect(),
    )
}

/// The entries of a kept file whose payload is `payload`, tagged under `tagger` as this
/// program tags it: what the fuzz target feeds the real reader past the tag, which no fuzzer
/// forges (`src/fuzzing.rs`). `None` when the payload does not decode.
#[cfg(feature = "fuzzing")]
pub(crate) fn open_payload<T: DeserializeOwned>(
    tagger: Tagger,
    domain: &'static [u8],
    payload: &[u8],
) -> Option<Vec<(Vec<u8>, T)>> {
    let place = Place {
        path: PathBuf::new(),
        tagger,
        domain,
    };
    let mut tag = tagging(&place);
    std::io::Write::write_all(&mut tag, payload).ok()?;
    let mut bytes = tag.finish().to_vec();
    bytes.extend_from_slice(payload);
    let entries = open::<T>(&place, &bytes)?;
    Some(
        entries
            .into_iter()
            .map(|(path, (_, value))| (path, value))
            .collect(),
    )
}

/// A path's bytes (on Unix, any bytes are a path).
fn bytes_of(path: PathBuf) -> Vec<u8> {
    use std::os::unix::ffi::OsStringExt;
    path.into_os_string().into_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(dir: &Path, key: u8) -> Place {
        Place {
            path: dir.join("kept.bin"),
            tagger: Tagger::for_test([key; 32]),
            domain: b"imprimatur-test-inputs",
        }
    }

    fn fingerprint_of(path: &Path) -> Fingerprint {
        Fingerprint::of(&std::fs::symlink_metadata(path).unwrap())
    }

    /// A reading of the clock of `dir` past every change made there so far.
    fn clock_after(dir: &Path) -> Clock {
        let first = Clock::read_in(dir).unwrap();
        loop {
            std::thread::sleep(std::time::Duration::from_millis(2));
            let now = Clock::read_in(dir).unwrap();
            if now.ctime > first.ctime {
                return now;
            }
        }
    }

    #[test]
    fn a_file_read_is_used_next_time_only_while_its_fingerprint_holds() {
        let cache = tempfile::tempdir().unwrap();
        let site = tempfile::tempdir().unwrap();
        let a = site.path().join("a.yaml");
        std::fs::write(&a, "one").unwrap();
        let clock = clock_after(site.path());
        let first: Kept<RecordBytes> = Kept::load(place(cache.path(), 1), clock);
        assert!(first.is_empty());
        let f = fingerprint_of(&a);
        assert!(first.may_keep(&f));
        first.save(vec![(
            a.clone(),
            f,
            Some(RecordBytes::from(b"one".to_vec())),
        )]);

        let second: Kept<RecordBytes> = Kept::load(place(cache.path(), 1), clock);
        assert_eq!(second.get(&a, f).map(|b| b.as_slice()), Some(&b"one"[..]));
        // Rewritten, even with bytes of the same length: the change time moved.
        std::thread::sleep(std::time::Duration::from_millis(5));
        std::fs::write(&a, "two").unwrap();
        assert_eq!(second.get(&a, fingerprint_of(&a)), None);
        // Another path with the same fingerprint is another file.
        assert_eq!(second.get(&site.path().join("b.yaml"), f), None);
    }

    #[test]
    fn a_stat_below_an_open_folder_is_the_fingerprint_lstat_gives() {
        let site = tempfile::tempdir().unwrap();
        std::fs::create_dir(site.path().join("a")).unwrap();
        std::fs::write(site.path().join("a/b.yaml"), "b").unwrap();
        std::os::unix::fs::symlink("b.yaml", site.path().join("a/link")).unwrap();
        let open = crate::fs::Beneath::open(site.path()).unwrap();
        for rel in ["a/b.yaml", "a/link", "a"] {
            let lstat = fingerprint_of(&site.path().join(rel));
            assert_eq!(open.fingerprint(Path::new(rel)), Some(lstat), "{rel}");
        }
        assert_eq!(open.fingerprint(Path::new("a/none")), None);
    }

    #[test]
    fn a_file_changed_in_the_clocks_last_tick_is_not_kept() {
        let cache = tempfile::tempdir().unwrap();
        let site = tempfile::tempdir().unwrap();
        let clock = Clock::read_in(site.path()).unwrap();
        let a = site.path().join("a.yaml");
        std::fs::write(&a, "one").unwrap();
        let f = fingerprint_of(&a);
        // Made after the reading: its change time is not older.
        let kept: Kept<RecordBytes> = Kept::load(place(cache.path(), 1), clock);
        assert!(!kept.may_keep(&f));
        kept.save(vec![(
            a.clone(),
            f,
            Some(RecordBytes::from(b"one".to_vec())),
        )]);
        let next: Kept<RecordBytes> = Kept::load(place(cache.path(), 1), clock);
        assert!(next.is_empty());
    }

    #[test]
    fn a_kept_file_written_without_the_key_or_by_another_program_is_empty() {
        let cache = tempfile::tempdir().unwrap();
        let site = tempfile::tempdir().unwrap();
        let a = site.path().join("a.md");
        std::fs::write(&a, "---\ntitle: A\n---\n").unwrap();
        let clock = clock_after(site.path());
        let f = fingerprint_of(&a);
        let read = PageRead::Parsed {
            version: "sha256:00".into(),
            head: b"---\ntitle: A\n---\n".to_vec(),
        };
        let kept: Kept<PageRead> = Kept::load(place(cache.path(), 1), clock);
        kept.save(vec![(a.clone(), f, Some(read.clone()))]);
        let bytes = std::fs::read(cache.path().join("kept.bin")).unwrap();

        // Under another key: nothing.
        let other: Kept<PageRead> = Kept::load(place(cache.path(), 2), clock);
        assert!(other.is_empty());
        // Another domain (the other kind of input): nothing.
        let mut records = place(cache.path(), 1);
        records.domain = b"imprimatur-test-other";
        assert!(Kept::<PageRead>::load(records, clock).is_empty());
        // One byte of the payload changed, or the file cut short: nothing.
        let mut changed = bytes.clone();
        *changed.last_mut().unwrap() ^= 1;
        std::fs::write(cache.path().join("kept.bin"), &changed).unwrap();
        assert!(Kept::<PageRead>::load(place(cache.path(), 1), clock).is_empty());
        std::fs::write(cache.path().join("kept.bin"), &bytes[..40]).unwrap();
        assert!(Kept::<PageRead>::load(place(cache.path(), 1), clock).is_empty());
        // As written: the entry.
        std::fs::write(cache.path().join("kept.bin"), &bytes).unwrap();
        let same: Kept<PageRead> = Kept::load(place(cache.path(), 1), clock);
        assert_eq!(same.get(&a, f), Some(&read));
    }

    #[test]
    fn what_was_used_is_kept_again_and_what_is_gone_is_forgotten() {
        let cache = tempfile::tempdir().unwrap();
        let site = tempfile::tempdir().unwrap();
        let (a, b) = (site.path().join("a"), site.path().join("b"));
        std::fs::write(&a, "a").unwrap();
        std::fs::write(&b, "b").unwrap();
        let clock = clock_after(site.path());
        let (fa, fb) = (fingerprint_of(&a), fingerprint_of(&b));
        let bytes = |s: &str| Some(RecordBytes::from(s.as_bytes().to_vec()));
        let kept: Kept<RecordBytes> = Kept::load(place(cache.path(), 1), clock);
        kept.save(vec![
            (a.clone(), fa, bytes("a")),
            (b.clone(), fb, bytes("b")),
        ]);

        // `a` used, `b` gone: `a` stays, `b` is forgotten.
        let next: Kept<RecordBytes> = Kept::load(place(cache.path(), 1), clock);
        next.save(vec![(a.clone(), fa, None)]);
        let last: Kept<RecordBytes> = Kept::load(place(cache.path(), 1), clock);
        assert!(last.get(&a, fa).is_some());
        assert!(last.get(&b, fb).is_none());
    }
}
