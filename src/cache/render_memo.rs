//! What a build rendered, kept for the next build so that it renders only what changed.
//!
//! For each page of `output/` the memo holds the digest of everything its HTML was rendered
//! from (theme and template context, see `renderer`), the hash of that HTML, and what the
//! page's Markdown yielded besides HTML: the key of its Markdown inputs (the version, the
//! page's place, and where each of its links pointed), those link destinations, its search
//! text and its links to unpublished pages. For groups of files rendered together (the search
//! index) it holds the digest of their inputs, each file's hash, and each input by name with
//! its own digest (the search index's pages by URL), so that a build can remake only the files
//! of the inputs that changed.
//!
//! It lives in the kept generation beside `output/` ([`FILE`]), where whoever writes to the
//! repository might put a file of their own: the file carries an HMAC-SHA256 of its contents
//! under the key of the cache outside the site (`cache::Tagger`), and a memo whose tag
//! does not hold counts for nothing. An entry only ever says "these inputs rendered to bytes with this hash"; the
//! build then keeps a file only if the intact `output/` holds exactly those bytes (by its
//! manifest, which the drift check compares with the files). Without a key nothing is reused.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::Tagger;
use crate::fs::Tee;

/// The memo's file in the kept generation. Never part of a site.
pub const FILE: &str = ".imprimatur-render-memo.bin";
/// What the memo's tags are made for.
const TAG: &[u8] = b"imprimatur-rendered-v5";

/// What one page's last rendering was made from and yielded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageMemo {
    /// Hex digest of the theme and the page's whole template context.
    pub inputs: String,
    /// Hex SHA-256 of the HTML.
    pub html: String,
    /// Hex key of the Markdown inputs (see `renderer`).
    pub markdown: String,
    /// The relative link and image destinations the Markdown asked to resolve, in order.
    pub dests: Vec<String>,
    /// The page's search text (shared with the page's search entry, not copied).
    pub text: std::sync::Arc<str>,
    /// Its links to pages not published (broken-link findings).
    pub unpublished: Vec<String>,
}

/// Files rendered together from one set of inputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMemo {
    pub inputs: String,
    /// Path relative to `output/` → hex SHA-256.
    pub files: BTreeMap<String, String>,
    /// The inputs one by one, sorted by name, each with its own SHA-256 digest (for the
    /// search index: each page's URL and the digest of its entry).
    pub parts: Vec<(String, [u8; 32])>,
}

/// A memo: pages by the path of their HTML, groups by name.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RenderMemo {
    pub pages: HashMap<String, PageMemo>,
    pub groups: HashMap<String, GroupMemo>,
}

/// The memo as stored (`postcard`: 19 MB at 10,000 pages, most of it search text, which
/// JSON made every build escape, and read back character by character; written sorted, see
/// [`RenderMemo::write_to`]).
#[derive(Deserialize)]
struct Stored {
    pages: HashMap<String, PageMemo>,
    groups: HashMap<String, GroupMemo>,
}

impl RenderMemo {
    /// The memo in a render memo file's `bytes`, if its tag holds under `tagger`; anything
    /// else (empty bytes, bytes that do not parse, a wrong tag) is an empty memo, and the
    /// build renders everything.
    pub fn from_bytes(bytes: &[u8], tagger: &Tagger) -> RenderMemo {
        // The file is the hex tag, a newline, and the stored memo the tag is over.
        let Some((claimed, body)) = bytes.split_at_checked(64) else {
            return RenderMemo::default();
        };
        let Some(body) = body.strip_prefix(b"\n") else {
            return RenderMemo::default();
        };
        let mut tag = tagger.tagging(TAG);
        std::io::Write::write_all(&mut tag, body).expect("a tag takes any bytes");
        if !super::same(hex(&tag.finish()).as_bytes(), claimed) {
            return RenderMemo::default();
        }
        match postcard::from_bytes::<Stored>(body) {
            Ok(stored) => RenderMemo {
                pages: stored.pages,
                groups: stored.groups,
            },
            Err(_) => RenderMemo::default(),
        }
    }

    /// Writes the memo's file into `file` (new and empty): its tag under `tagger` on the
    /// first line, then the memo. The memo goes straight into the file as it is made (it is
    /// 170 MB at 100,000 pages, most of it search text) while it is tagged; the line kept for
    /// the tag holds no tag until the memo is all written, so a file cut short counts for
    /// nothing.
    pub fn write_to(&self, tagger: &Tagger, file: &mut std::fs::File) -> std::io::Result<()> {
        use std::io::{Seek, Write};
        /// [`Stored`], borrowed and sorted: the same memo is the same bytes. Nothing copied.
        #[derive(Serialize)]
        struct Borrowed<'a> {
            pages: BTreeMap<&'a String, &'a PageMemo>,
            groups: BTreeMap<&'a String, &'a GroupMemo>,
        }
        let stored = Borrowed {
            pages: self.pages.iter().collect(),
            groups: self.groups.iter().collect(),
        };
        file.write_all(&[b'\n'; TAG_LINE])?;
        let mut out = std::io::BufWriter::with_capacity(
            1 << 16,
            Tee {
                into: &mut *file,
                copy: tagger.tagging(TAG),
            },
        );
        postcard::to_io(&stored, &mut out).map_err(std::io::Error::other)?;
        let tagged = out.into_inner().map_err(|e| e.into_error())?;
        let tag = hex(&tagged.copy.finish());
        file.seek(std::io::SeekFrom::Start(0))?;
        file.write_all(tag.as_bytes())
    }
}

/// A memo file whose body is `body`, its first line the tag `tagger` makes of it: what the
/// fuzz target feeds [`RenderMemo::from_bytes`] past the tag, which no fuzzer forges.
#[cfg(feature = "fuzzing")]
pub(crate) fn tagged(body: &[u8], tagger: &Tagger) -> Vec<u8> {
    let mut tag = tagger.tagging(TAG);
    std::io::Write::write_all(&mut tag, body).expect("a tag takes any bytes");
    let mut bytes = hex(&tag.finish()).into_bytes();
    bytes.push(b'\n');
    bytes.extend_from_slice(body);
    bytes
}

/// The memo file's first line: the hex tag (64 characters) and a newline.
const TAG_LINE: usize = 65;

/// Which program renders: the SHA-256 of its executable (any other build of imprimatur
/// renders anew, even under the same version number), or its version where the executable
/// can't be read.
///
/// Hashing the executable (16 MB) was ~6 % of a no-op rebuild's samples, with every rendering
/// thread waiting on this lock meanwhile, so the digest is kept in the cache folder under the
/// executable's fingerprint (device, inode, size, modification and change times), tagged with
/// the cache's secret (kept elsewhere, `cache::secret`). An
/// executable changed in the last two seconds is hashed and not remembered: its change time
/// may not have moved yet.
pub fn program_id() -> &'static [u8] {
    static ID: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let remembered = super::cache_dir().and_then(|dir| {
            std::fs::create_dir_all(&dir).ok()?;
            Some((super::cache_tagger(&dir).ok()??, dir))
        });
        let id = std::env::current_exe()
            .and_then(std::fs::File::open)
            .and_then(|file| {
                let meta = file.metadata()?;
                match &remembered {
                    Some((tagger, dir)) => {
                        let now = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map_or(0, |d| d.as_secs());
                        program_digest_remembered(file, &meta, tagger, dir, now)
                    }
                    None => program_digest(file),
                }
            });
        match id {
            Ok(id) => id.to_vec(),
            Err(_) => format!("imprimatur {}", env!("CARGO_PKG_VERSION")).into_bytes(),
        }
    })
}

fn program_digest(mut file: std::fs::File) -> std::io::Result<[u8; 32]> {
    use sha2::Digest;
    // Streamed: the executable is 17 MB (80 with debug information), not worth holding.
    let mut hasher = sha2::Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        match std::io::Read::read(&mut file, &mut buffer) {
            Ok(0) => return Ok(hasher.finalize().into()),
            Ok(n) => hasher.update(&buffer[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

const PROGRAM_TAG: &[u8] = b"imprimatur-program-id-v1";

/// The digest of the executable open as `file`, from the cache folder `dir` when it holds
/// one for the same fingerprint under a valid tag, else hashed (and remembered when its change
/// time is over two seconds before `now`, in seconds since the epoch).
fn program_digest_remembered(
    file: std::fs::File,
    meta: &std::fs::Metadata,
    tagger: &Tagger,
    dir: &std::path::Path,
    now: u64,
) -> std::io::Result<[u8; 32]> {
    use crate::fs::Fingerprint;
    let path = dir.join("program-id");
    let fingerprint = Fingerprint::of(meta);
    let stamp = serde_json::to_vec(&fingerprint).expect("a fingerprint serializes");
    let kept = std::fs::read(&path).ok().and_then(|bytes| {
        let (tag, id) = bytes.split_at_checked(64)?;
        let id: [u8; 32] = id.try_into().ok()?;
        super::same(
            tag,
            hex(&tagger.tag(PROGRAM_TAG, &[&stamp, &id])).as_bytes(),
        )
        .then_some(id)
    });
    if let Some(id) = kept {
        return Ok(id);
    }
    let id = program_digest(file)?;
    let (secs, _) = fingerprint.ctime();
    if u64::try_from(secs).is_ok_and(|changed| changed + 2 < now) {
        let mut bytes = hex(&tagger.tag(PROGRAM_TAG, &[&stamp, &id])).into_bytes();
        bytes.extend(id);
        // A cache that can't be written is a cache not used; the digest stands.
        let _ = crate::fs::write_file(&path, &bytes);
    }
    Ok(id)
}

pub use crate::fs::digest::hex;

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RenderMemo {
        let page = PageMemo {
            inputs: "aa".into(),
            html: "bb".into(),
            markdown: "cc".into(),
            dests: vec!["../b.md".into()],
            text: "Install the agent".into(),
            unpublished: vec![],
        };
        let group = GroupMemo {
            inputs: "dd".into(),
            files: BTreeMap::from([("search-index.json".to_string(), "ee".to_string())]),
            parts: vec![("kb/a/".to_string(), [9; 32])],
        };
        RenderMemo {
            pages: HashMap::from([("kb/a/index.html".to_string(), page)]),
            groups: HashMap::from([("search".to_string(), group)]),
        }
    }

    /// The memo's file as a build writes it.
    fn file_of(memo: &RenderMemo, tagger: &Tagger) -> Vec<u8> {
        let mut file = tempfile::tempfile().unwrap();
        memo.write_to(tagger, &mut file).unwrap();
        std::io::Seek::rewind(&mut file).unwrap();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut bytes).unwrap();
        bytes
    }

    /// The memo file in `dir`, as a build reads it.
    fn read(dir: &std::path::Path, tagger: &Tagger) -> RenderMemo {
        RenderMemo::from_bytes(&std::fs::read(dir.join(FILE)).unwrap_or_default(), tagger)
    }

    #[test]
    fn a_memo_reads_back_under_its_key_and_not_under_another() {
        let dir = tempfile::tempdir().unwrap();
        let (key, other) = (Tagger::for_test([1; 32]), Tagger::for_test([2; 32]));
        std::fs::write(dir.path().join(FILE), file_of(&sample(), &key)).unwrap();
        assert_eq!(read(dir.path(), &key), sample());
        assert_eq!(read(dir.path(), &other), RenderMemo::default());
    }

    #[test]
    fn a_memo_changed_after_tagging_counts_for_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let key = Tagger::for_test([1; 32]);
        let text = String::from_utf8(file_of(&sample(), &key)).unwrap();
        // Someone points the page at other HTML, keeping the tag (the hash `bb` follows the
        // inputs `aa`, each after its length).
        let forged = text.replace("\u{2}aa\u{2}bb", "\u{2}aa\u{2}ff");
        assert_ne!(forged, text);
        let tag_kept = file_of(&sample(), &key)[..TAG_LINE].to_vec();
        assert_eq!(forged.as_bytes()[..TAG_LINE], tag_kept[..]);
        std::fs::write(dir.path().join(FILE), forged).unwrap();
        assert_eq!(read(dir.path(), &key), RenderMemo::default());
        // A file cut short before its tag was written (a build killed meanwhile).
        let cut = format!("{}{}", "\n".repeat(TAG_LINE), &text[TAG_LINE..]);
        std::fs::write(dir.path().join(FILE), cut).unwrap();
        assert_eq!(read(dir.path(), &key), RenderMemo::default());
        // Garbage is no memo, not an error.
        std::fs::write(dir.path().join(FILE), "{not json").unwrap();
        assert_eq!(read(dir.path(), &key), RenderMemo::default());
    }

    /// The digest of the program file at `exe` as a build takes it, `now` seconds after the
    /// epoch, with the cache folder `dir`.
    fn digest_at(
        exe: &std::path::Path,
        dir: &std::path::Path,
        tagger: &Tagger,
        now: u64,
    ) -> [u8; 32] {
        let file = std::fs::File::open(exe).unwrap();
        let meta = file.metadata().unwrap();
        program_digest_remembered(file, &meta, tagger, dir, now).unwrap()
    }

    #[test]
    fn a_program_digest_is_remembered_only_when_settled_and_only_under_its_tag() {
        use sha2::Digest;
        let tmp = tempfile::tempdir().unwrap();
        let exe = tmp.path().join("imprimatur");
        std::fs::write(&exe, b"a program").unwrap();
        let truth: [u8; 32] = sha2::Sha256::digest(b"a program").into();
        let kept = tmp.path().join("program-id");
        let tagger = Tagger::for_test([7; 32]);
        let changed = {
            use std::os::unix::fs::MetadataExt;
            u64::try_from(std::fs::metadata(&exe).unwrap().ctime()).unwrap()
        };

        // Changed a moment ago: hashed, not remembered.
        assert_eq!(digest_at(&exe, tmp.path(), &tagger, changed + 1), truth);
        assert!(!kept.exists());
        // Settled: remembered, and read back.
        assert_eq!(digest_at(&exe, tmp.path(), &tagger, changed + 10), truth);
        assert!(kept.exists());
        assert_eq!(digest_at(&exe, tmp.path(), &tagger, changed + 10), truth);

        // A remembered digest changed after tagging, or tagged under another key, counts for
        // nothing: the program is hashed again.
        let mut forged = std::fs::read(&kept).unwrap();
        *forged.last_mut().unwrap() ^= 1;
        std::fs::write(&kept, &forged).unwrap();
        assert_eq!(digest_at(&exe, tmp.path(), &tagger, changed + 10), truth);
        let meta = std::fs::metadata(&exe).unwrap();
        let stamp = serde_json::to_vec(&crate::fs::Fingerprint::of(&meta)).unwrap();
        let other = [0u8; 32];
        let tag = Tagger::for_test([8; 32]).tag(PROGRAM_TAG, &[&stamp, &other]);
        std::fs::write(&kept, [hex(&tag).as_bytes(), &other].concat()).unwrap();
        assert_eq!(digest_at(&exe, tmp.path(), &tagger, changed + 10), truth);
        // Tagged under this key, the same entry is taken (the test above can fail).
        let tag = tagger.tag(PROGRAM_TAG, &[&stamp, &other]);
        std::fs::write(&kept, [hex(&tag).as_bytes(), &other].concat()).unwrap();
        assert_eq!(digest_at(&exe, tmp.path(), &tagger, changed + 10), other);
    }
}
