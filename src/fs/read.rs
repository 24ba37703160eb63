//! Reading files so that what is checked is what is used. Reads below a trusted folder never
//! follow a symbolic link (at any component), take regular files only, and refuse a file over
//! its size limit before reading it: a link can't swap the bytes a reviewer saw, a FIFO can't
//! hang a build, a huge file can't exhaust memory.

use std::fmt;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use super::fingerprint::Fingerprint;
use super::path::{display_relative, printable};

/// Everything under `dir` (links not followed), each folder's entries in the byte order of
/// their names, as `WalkDir::sort_by_file_name` lists them. The entries of one folder share
/// its path, so comparing whole paths orders them by name just the same, without taking two
/// paths apart at every comparison (~2 % of a 10,000-page rebuild's CPU, over 40,000 files).
pub(crate) fn walk_by_name(dir: &Path) -> walkdir::WalkDir {
    fn bytes(e: &walkdir::DirEntry) -> &[u8] {
        e.path().as_os_str().as_encoded_bytes()
    }
    walkdir::WalkDir::new(dir).sort_by(|a, b| bytes(a).cmp(bytes(b)))
}

/// Why [`read_beneath`] did not return a file's bytes. `at` is the path at fault: the file, or
/// the folder on the way that is a link or no folder.
#[derive(Debug)]
pub struct ReadError {
    pub at: PathBuf,
    pub kind: ReadErrorKind,
}

#[derive(Debug)]
pub enum ReadErrorKind {
    Missing,
    Symlink,
    NotFolder,
    /// A FIFO, socket, device or folder where a file was expected.
    NotRegular,
    TooLarge {
        limit: u64,
    },
    Io(std::io::Error),
}

impl ReadError {
    /// `<at relative to root> <what is wrong>`, e.g. `content/kb/x.md is a symbolic link ...`.
    pub fn describe(&self, root: &Path) -> String {
        format!(
            "{} {}",
            printable(&display_relative(root, &self.at)),
            self.kind
        )
    }
}

impl fmt::Display for ReadErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadErrorKind::Missing => f.write_str("does not exist"),
            ReadErrorKind::Symlink => {
                f.write_str("is a symbolic link (never followed: it could point anywhere)")
            }
            ReadErrorKind::NotFolder => f.write_str("is not a folder"),
            ReadErrorKind::NotRegular => {
                f.write_str("is not a regular file (a FIFO, socket, device or folder)")
            }
            ReadErrorKind::TooLarge { limit } if *limit >= 1 << 20 => {
                write!(
                    f,
                    "is larger than the limit of {limit} bytes ({} MiB)",
                    limit >> 20
                )
            }
            ReadErrorKind::TooLarge { limit } => {
                write!(
                    f,
                    "is larger than the limit of {limit} bytes ({} KiB)",
                    limit >> 10
                )
            }
            ReadErrorKind::Io(e) => write!(f, "can't be read: {e}"),
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", printable(&self.at.to_string_lossy()), self.kind)
    }
}

/// Reads the regular file `base/rel` without following a symbolic link at any component of
/// `rel` (`base` itself is trusted and may be reached through links), refusing it before
/// reading when it holds more than `limit` bytes. A FIFO is opened without blocking and refused.
pub fn read_beneath(base: &Path, rel: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    plain_components(base, rel)?;
    Beneath::open(base)?.read(rel, limit)
}

/// A trusted folder opened once, to read many files below it with the rules of
/// [`read_beneath`]: a build reads tens of thousands of pages and records, and opening the
/// base again for each of them is most of what reading them costs.
pub(crate) struct Beneath {
    base: PathBuf,
    /// The base itself, opened once: every read resolves relative to this folder, so a base
    /// that is renamed or replaced meanwhile does not change what is read.
    #[cfg(target_os = "linux")]
    dir: rustix::fd::OwnedFd,
}

impl Beneath {
    /// Opens `base` (trusted: it may be reached through links).
    pub(crate) fn open(base: &Path) -> Result<Beneath, ReadError> {
        #[cfg(target_os = "linux")]
        {
            use rustix::fs::{openat, Mode, CWD};
            let dir = openat(CWD, base, FOLDER, Mode::empty()).map_err(|e| fail(base, e))?;
            Ok(Beneath {
                base: base.to_path_buf(),
                dir,
            })
        }
        #[cfg(not(target_os = "linux"))]
        {
            let meta = std::fs::metadata(base).map_err(|e| io_failure(base, e))?;
            if !meta.is_dir() {
                return Err(ReadError {
                    at: base.to_path_buf(),
                    kind: ReadErrorKind::NotFolder,
                });
            }
            Ok(Beneath {
                base: base.to_path_buf(),
            })
        }
    }

    /// The folder `base/rel`, reached without following a link at any component of `rel`,
    /// as a trusted base of its own.
    pub(crate) fn folder(&self, rel: &Path) -> Result<Beneath, ReadError> {
        let names = plain_components(&self.base, rel)?;
        #[cfg(target_os = "linux")]
        {
            let (dir, at) = open_folders(&self.dir, self.base.clone(), &names)?;
            Ok(Beneath { base: at, dir })
        }
        #[cfg(not(target_os = "linux"))]
        {
            let mut at = self.base.clone();
            for name in names {
                at.push(name);
                let meta = std::fs::symlink_metadata(&at).map_err(|e| io_failure(&at, e))?;
                let kind = if meta.file_type().is_symlink() {
                    ReadErrorKind::Symlink
                } else if !meta.is_dir() {
                    ReadErrorKind::NotFolder
                } else {
                    continue;
                };
                return Err(ReadError { at, kind });
            }
            Ok(Beneath { base: at })
        }
    }

    /// The path of the base, as it was given.
    pub(crate) fn path(&self) -> &Path {
        &self.base
    }

    /// Who the entry at `rel` below the base is, not following a link at its end: what
    /// [`Fingerprint::of`] says of its `lstat`, in one `statx` relative to the open base (a
    /// shorter walk than the whole path's). `None` when it can't be looked up.
    pub(crate) fn fingerprint(&self, rel: &Path) -> Option<Fingerprint> {
        #[cfg(target_os = "linux")]
        {
            use rustix::fs::{makedev, statx, AtFlags, StatxFlags};
            let s = statx(
                &self.dir,
                rel,
                AtFlags::SYMLINK_NOFOLLOW,
                StatxFlags::BASIC_STATS,
            )
            .ok()?;
            let time = |t: rustix::fs::StatxTimestamp| (t.tv_sec, i64::from(t.tv_nsec));
            // The device number as the standard library makes it from `statx`.
            let dev = makedev(s.stx_dev_major, s.stx_dev_minor);
            Some(Fingerprint::from_parts(
                dev,
                s.stx_ino,
                s.stx_size,
                time(s.stx_mtime),
                time(s.stx_ctime),
            ))
        }
        #[cfg(not(target_os = "linux"))]
        {
            let meta = std::fs::symlink_metadata(self.base.join(rel)).ok()?;
            Some(Fingerprint::of(&meta))
        }
    }

    /// [`read_beneath`] of `base/rel`.
    pub(crate) fn read(&self, rel: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
        self.read_with_metadata(rel, limit).map(|(bytes, _)| bytes)
    }

    /// [`Beneath::read`], with what `fstat` said of the file that was read: who it is, for a
    /// caller that remembers what it read, without looking the path up once more.
    pub(crate) fn read_with_metadata(
        &self,
        rel: &Path,
        limit: u64,
    ) -> Result<(Vec<u8>, std::fs::Metadata), ReadError> {
        let names = plain_components(&self.base, rel)?;
        #[cfg(target_os = "linux")]
        {
            if let Some(file) = open_with_openat2(&self.dir, rel) {
                return read_open_file(file, || at_of(&self.base, &names), limit);
            }
            read_components(&self.dir, self.base.clone(), &names, limit)
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = names;
            read_portable(&self.base, rel, limit)
        }
    }
}

/// `base` with `names` pushed one by one: the path an error names.
#[cfg(target_os = "linux")]
fn at_of(base: &Path, names: &[&std::ffi::OsStr]) -> PathBuf {
    let mut at = base.to_path_buf();
    for name in names {
        at.push(name);
    }
    at
}

/// `rel`'s components, which must all be plain names (no `/`, `.`, `..`).
fn plain_components<'a>(base: &Path, rel: &'a Path) -> Result<Vec<&'a std::ffi::OsStr>, ReadError> {
    let mut names = Vec::new();
    for c in rel.components() {
        match c {
            Component::Normal(name) => names.push(name),
            _ => {
                return Err(ReadError {
                    at: base.join(rel),
                    kind: ReadErrorKind::Io(std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        "not a plain relative path",
                    )),
                })
            }
        }
    }
    if names.is_empty() {
        return Err(ReadError {
            at: base.to_path_buf(),
            kind: ReadErrorKind::NotRegular,
        });
    }
    Ok(names)
}

#[cfg(target_os = "linux")]
const FOLDER: rustix::fs::OFlags = rustix::fs::OFlags::RDONLY
    .union(rustix::fs::OFlags::DIRECTORY)
    .union(rustix::fs::OFlags::CLOEXEC);

/// How a file is opened: never through a link, and without blocking, so a FIFO opens at once
/// (and is then refused by `fstat`).
#[cfg(target_os = "linux")]
const FILE: rustix::fs::OFlags = rustix::fs::OFlags::RDONLY
    .union(rustix::fs::OFlags::NOFOLLOW)
    .union(rustix::fs::OFlags::NONBLOCK)
    .union(rustix::fs::OFlags::NOCTTY)
    .union(rustix::fs::OFlags::CLOEXEC);

/// Whether `openat2(2)` may still be tried: cleared, for the rest of the process, the first
/// time the kernel lacks it (`ENOSYS`) or a seccomp filter forbids it (`EPERM`).
#[cfg(target_os = "linux")]
static OPENAT2: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Opens `dir/rel` in one system call that refuses a symbolic link at any component
/// (`RESOLVE_NO_SYMLINKS`, magic links of `/proc` included) and any path leading out of `dir`
/// (`RESOLVE_BENEATH`), with the flags of [`FILE`]. `None` when that did not open a file, for
/// whatever reason: the caller then takes the component-by-component way, which either reads
/// the file after all (a rename raced the lookup) or says exactly what is wrong and where,
/// which `openat2` can't (`ELOOP` does not say which component is a link).
#[cfg(target_os = "linux")]
fn open_with_openat2(dir: &rustix::fd::OwnedFd, rel: &Path) -> Option<std::fs::File> {
    use rustix::fs::{openat2, Mode, ResolveFlags};
    use rustix::io::Errno;
    use std::sync::atomic::Ordering;

    if !OPENAT2.load(Ordering::Relaxed) {
        return None;
    }
    let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
    match openat2(dir, rel, FILE, Mode::empty(), resolve) {
        Ok(fd) => Some(std::fs::File::from(fd)),
        Err(Errno::NOSYS | Errno::PERM) => {
            OPENAT2.store(false, Ordering::Relaxed);
            None
        }
        Err(_) => None,
    }
}

/// How open(2)'s answer for `at` reads as a [`ReadErrorKind`].
#[cfg(target_os = "linux")]
fn fail(at: &Path, e: rustix::io::Errno) -> ReadError {
    use rustix::io::Errno;
    let kind = match e {
        Errno::NOENT => ReadErrorKind::Missing,
        Errno::LOOP => ReadErrorKind::Symlink,
        Errno::NOTDIR => ReadErrorKind::NotFolder,
        // What open(2) says of a socket.
        Errno::NXIO => ReadErrorKind::NotRegular,
        e => ReadErrorKind::Io(e.into()),
    };
    ReadError {
        at: at.to_path_buf(),
        kind,
    }
}

/// Opens each of `names` as a folder relative to the one before with `O_NOFOLLOW`, starting
/// at `dir` (known as `at`), so nothing can be swapped for a link between a check and the
/// open. Returns the last folder and its path.
#[cfg(target_os = "linux")]
fn open_folders(
    dir: &rustix::fd::OwnedFd,
    mut at: PathBuf,
    names: &[&std::ffi::OsStr],
) -> Result<(rustix::fd::OwnedFd, PathBuf), ReadError> {
    use rustix::fs::{openat, statat, AtFlags, FileType, Mode, OFlags};
    use rustix::io::Errno;

    let mut current: Option<rustix::fd::OwnedFd> = None;
    for name in names {
        at.push(name);
        let parent = current.as_ref().unwrap_or(dir);
        current = Some(
            match openat(parent, *name, FOLDER | OFlags::NOFOLLOW, Mode::empty()) {
                Ok(next) => next,
                // With O_DIRECTORY, Linux says ENOTDIR of a link too: look, to name it right.
                Err(Errno::NOTDIR)
                    if statat(parent, *name, AtFlags::SYMLINK_NOFOLLOW).is_ok_and(|st| {
                        FileType::from_raw_mode(st.st_mode) == FileType::Symlink
                    }) =>
                {
                    return Err(fail(&at, Errno::LOOP))
                }
                Err(e) => return Err(fail(&at, e)),
            },
        );
    }
    let current = match current {
        Some(fd) => fd,
        None => rustix::io::dup(dir).map_err(|e| fail(&at, e))?,
    };
    Ok((current, at))
}

/// Reads `dir/names…` one component at a time: each folder with [`open_folders`], then the
/// file with the flags of [`FILE`]. Slower than `openat2`, but it names the component at
/// fault, and it works on kernels without `openat2`.
#[cfg(target_os = "linux")]
fn read_components(
    dir: &rustix::fd::OwnedFd,
    base: PathBuf,
    names: &[&std::ffi::OsStr],
    limit: u64,
) -> Result<(Vec<u8>, std::fs::Metadata), ReadError> {
    use rustix::fs::{openat, Mode};

    let (file_name, folders) = names.split_last().expect("plain_components is never empty");
    let (parent, mut at) = open_folders(dir, base, folders)?;
    at.push(file_name);
    let fd = openat(&parent, *file_name, FILE, Mode::empty()).map_err(|e| fail(&at, e))?;
    read_open_file(std::fs::File::from(fd), || at, limit)
}

/// The component-by-component way alone, opening the base again: for tests that hold it to
/// the same rules as the `openat2` way.
#[cfg(all(test, target_os = "linux"))]
fn read_beneath_components(base: &Path, rel: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let names = plain_components(base, rel)?;
    let dir = Beneath::open(base)?.dir;
    read_components(&dir, base.to_path_buf(), &names, limit).map(|(bytes, _)| bytes)
}

/// Where there is no `openat`: every component is checked with `symlink_metadata` first.
/// A link or FIFO put in place between the check and the open is not caught here.
/// Only the tests read through it alone, to hold it to the rules of the Linux way.
#[cfg(test)]
fn read_beneath_portable(base: &Path, rel: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    read_portable(base, rel, limit).map(|(bytes, _)| bytes)
}

/// [`read_beneath_portable`], with what `fstat` said of the file read.
#[cfg_attr(target_os = "linux", allow(dead_code))]
fn read_portable(
    base: &Path,
    rel: &Path,
    limit: u64,
) -> Result<(Vec<u8>, std::fs::Metadata), ReadError> {
    let names = plain_components(base, rel)?;
    let mut at = base.to_path_buf();
    for (i, name) in names.iter().enumerate() {
        at.push(name);
        let meta = std::fs::symlink_metadata(&at).map_err(|e| io_failure(&at, e))?;
        let last = i + 1 == names.len();
        let kind = if meta.file_type().is_symlink() {
            Some(ReadErrorKind::Symlink)
        } else if !last && !meta.is_dir() {
            Some(ReadErrorKind::NotFolder)
        } else if last && !meta.is_file() {
            Some(ReadErrorKind::NotRegular)
        } else {
            None
        };
        if let Some(kind) = kind {
            return Err(ReadError { at, kind });
        }
    }
    let file = std::fs::File::open(&at).map_err(|e| io_failure(&at, e))?;
    read_open_file(file, || at, limit)
}

fn io_failure(at: &Path, e: std::io::Error) -> ReadError {
    let kind = if e.kind() == std::io::ErrorKind::NotFound {
        ReadErrorKind::Missing
    } else {
        ReadErrorKind::Io(e)
    };
    ReadError {
        at: at.to_path_buf(),
        kind,
    }
}

/// Checks the open file itself (`fstat`): regular, at most `limit` bytes; then reads at most
/// `limit` bytes, in case it grows meanwhile. `at` names the file, made only for an error.
fn read_open_file(
    file: std::fs::File,
    at: impl FnOnce() -> PathBuf,
    limit: u64,
) -> Result<(Vec<u8>, std::fs::Metadata), ReadError> {
    let meta = match file.metadata() {
        Ok(meta) => meta,
        Err(e) => return Err(io_failure(&at(), e)),
    };
    let too_large = ReadErrorKind::TooLarge { limit };
    if !meta.is_file() {
        return Err(ReadError {
            at: at(),
            kind: ReadErrorKind::NotRegular,
        });
    }
    if meta.len() > limit {
        return Err(ReadError {
            at: at(),
            kind: too_large,
        });
    }
    let mut file = file.take(limit.saturating_add(1));
    let bytes = match read_sized(&mut file, meta.len() as usize) {
        Ok(bytes) => bytes,
        Err(e) => return Err(io_failure(&at(), e)),
    };
    if bytes.len() as u64 > limit {
        return Err(ReadError {
            at: at(),
            kind: too_large,
        });
    }
    Ok((bytes, meta))
}

/// Reads `file` to its end, told by `fstat` that it holds `size` bytes: one `read` that asks
/// for a byte more and gets exactly `size` has found the end (a build reads 40,000 files, and
/// the second `read` that returns nothing was a fifth of its system calls). Fewer bytes (a
/// short read, a file cut meanwhile) or more (a file that grew) are read on as usual.
fn read_sized(file: &mut impl Read, size: usize) -> std::io::Result<Vec<u8>> {
    let mut bytes = vec![0; size.saturating_add(1)];
    let got = loop {
        match file.read(&mut bytes) {
            Ok(got) => break got,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    };
    bytes.truncate(got);
    if got != size {
        file.read_to_end(&mut bytes)?;
    }
    Ok(bytes)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// A reader that hands out at most `step` bytes a call, and counts the calls.
    struct Trickle<'a> {
        bytes: &'a [u8],
        step: usize,
        calls: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.calls += 1;
            let n = buf.len().min(self.step).min(self.bytes.len());
            buf[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_file_of_the_size_fstat_said_is_read_in_one_call_and_any_other_to_its_end() {
        let text = b"kind: approve\nreviewer: chen\n";
        let read = |size: usize, step: usize| {
            let mut r = Trickle {
                bytes: text,
                step,
                calls: 0,
            };
            let bytes = read_sized(&mut r, size).unwrap();
            (bytes, r.calls)
        };
        // As fstat said: one call, whole.
        assert_eq!(read(text.len(), usize::MAX), (text.to_vec(), 1));
        // Grown since (fstat said less), cut since (said more), short reads: read to the end.
        for (size, step) in [
            (4, usize::MAX),
            (text.len() + 9, usize::MAX),
            (text.len(), 5),
        ] {
            let (bytes, calls) = read(size, step);
            assert_eq!(bytes, text, "size {size}, step {step}");
            assert!(calls > 1);
        }
        // An empty file: one call.
        assert_eq!(read_sized(&mut &b""[..], 0).unwrap(), b"");
    }

    #[test]
    fn walk_by_name_lists_in_the_order_of_sort_by_file_name() {
        let dir = tempfile::tempdir().unwrap();
        for rel in [
            "a/x", "a-b/y", "a.b/z", "a b", "B/c", "é/d", "a/b-c/e", "a/b/f", "a/b.c", "_x", "0",
        ] {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        }
        let listed = |walk: walkdir::WalkDir| -> Vec<PathBuf> {
            walk.into_iter().map(|e| e.unwrap().into_path()).collect()
        };
        let by_name = listed(walk_by_name(dir.path()));
        // The folder itself, 7 folders and 11 files in it.
        assert_eq!(by_name.len(), 19, "{by_name:?}");
        assert_eq!(
            by_name,
            listed(walkdir::WalkDir::new(dir.path()).sort_by_file_name())
        );
    }

    type Reader = fn(&Path, &Path, u64) -> Result<Vec<u8>, ReadError>;

    /// Both implementations are held to the same rules (the portable one is only used off Linux).
    const READERS: &[Reader] = &[read_beneath, read_beneath_portable];

    fn kind(reader: Reader, base: &Path, rel: &str, limit: u64) -> String {
        match reader(base, Path::new(rel), limit) {
            Ok(bytes) => format!("ok {}", String::from_utf8_lossy(&bytes)),
            Err(e) => format!("{:?}", e.kind)
                .split(['(', ' ', '{'])
                .next()
                .unwrap_or_default()
                .to_string(),
        }
    }

    /// `real/sub/f` (5 bytes), `linked` → `real`, `real/link` → `sub/f`, and a FIFO `real/fifo`.
    fn tree_with_links_and_a_fifo() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        std::fs::create_dir_all(base.join("real/sub")).unwrap();
        std::fs::write(base.join("real/sub/f"), b"bytes").unwrap();
        std::os::unix::fs::symlink("real", base.join("linked")).unwrap();
        std::os::unix::fs::symlink("sub/f", base.join("real/link")).unwrap();
        let fifo = std::process::Command::new("mkfifo")
            .arg(base.join("real/fifo"))
            .status()
            .unwrap();
        assert!(fifo.success());
        dir
    }

    #[test]
    fn reads_refuse_links_at_any_component_fifos_and_large_files() {
        let dir = tree_with_links_and_a_fifo();
        let base = dir.path();
        for reader in READERS {
            assert_eq!(kind(*reader, base, "real/sub/f", 5), "ok bytes");
            assert_eq!(kind(*reader, base, "real/sub/f", 4), "TooLarge");
            assert_eq!(kind(*reader, base, "linked/sub/f", 5), "Symlink");
            assert_eq!(kind(*reader, base, "real/link", 5), "Symlink");
            assert_eq!(kind(*reader, base, "real/fifo", 5), "NotRegular");
            assert_eq!(kind(*reader, base, "real/sub", 5), "NotRegular");
            assert_eq!(kind(*reader, base, "real/sub/f/x", 5), "NotFolder");
            assert_eq!(kind(*reader, base, "real/none", 5), "Missing");
            assert_eq!(kind(*reader, base, "real/../real/sub/f", 5), "Io");
        }
        // The trusted base itself may be reached through a link.
        assert_eq!(
            kind(read_beneath, &base.join("linked"), "sub/f", 5),
            "ok bytes"
        );
    }

    /// The same rules hold for the component-by-component way alone (what a kernel without
    /// `openat2` takes, and what names the component at fault) and for a base opened once.
    #[cfg(target_os = "linux")]
    #[test]
    fn every_way_of_reading_names_the_same_fault() {
        let dir = tree_with_links_and_a_fifo();
        let base = dir.path();
        std::os::unix::fs::symlink("/proc/self/root", base.join("real/magic")).unwrap();
        let opened = Beneath::open(base).unwrap();
        let describe = |r: Result<Vec<u8>, ReadError>| match r {
            Ok(bytes) => format!("ok {}", String::from_utf8_lossy(&bytes)),
            Err(e) => e.to_string(),
        };
        for (rel, limit) in [
            ("real/sub/f", 5),
            ("real/sub/f", 4),
            ("linked/sub/f", 5),
            ("real/link", 5),
            ("real/magic/etc/hostname", 5),
            ("real/fifo", 5),
            ("real/sub", 5),
            ("real/sub/f/x", 5),
            ("real/none", 5),
            ("real/none/f", 5),
            ("real/sub/", 5),
            ("real/../real/sub/f", 5),
            ("/etc/hostname", 5),
            ("", 5),
        ] {
            let rel_path = Path::new(rel);
            let expected = describe(read_beneath_components(base, rel_path, limit));
            assert_eq!(
                describe(read_beneath(base, rel_path, limit)),
                expected,
                "{rel}"
            );
            assert_eq!(describe(opened.read(rel_path, limit)), expected, "{rel}");
        }
        let real = opened.folder(Path::new("real")).unwrap();
        assert_eq!(describe(real.read(Path::new("sub/f"), 5)), "ok bytes");
        let err = real.read(Path::new("link"), 5).unwrap_err();
        assert_eq!(err.at, base.join("real/link"));
        assert!(matches!(err.kind, ReadErrorKind::Symlink));
        let err = opened.folder(Path::new("linked/sub")).err().unwrap();
        assert_eq!(err.at, base.join("linked"));
        assert!(matches!(err.kind, ReadErrorKind::Symlink));
        let err = opened.folder(Path::new("real/sub/f")).err().unwrap();
        assert!(matches!(err.kind, ReadErrorKind::NotFolder), "{err}");
    }
}
