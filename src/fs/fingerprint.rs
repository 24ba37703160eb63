//! Who a file on disk is, without reading it: device, inode, size, modification and change
//! times. What is kept between runs is reused only while a file's fingerprint holds.

use std::fs::Metadata;

/// Who a file on disk is, as far as reuse goes (a file is reused only while its inode, size, modification
/// and change times are all unchanged: the change time can't be set back from user space). `build` also
/// keeps it for the files of `output/`, so that a drift check reads only files that moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Fingerprint {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Fingerprint {
    /// From metadata read without following a link (`lstat`).
    pub(crate) fn of(meta: &Metadata) -> Fingerprint {
        use std::os::unix::fs::MetadataExt;
        Fingerprint {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }

    /// From the fields of a `statx` (see `atomic::Beneath::fingerprint`).
    pub(crate) fn from_parts(
        dev: u64,
        ino: u64,
        len: u64,
        mtime: (i64, i64),
        ctime: (i64, i64),
    ) -> Fingerprint {
        Fingerprint {
            dev,
            ino,
            len,
            mtime,
            ctime,
        }
    }

    /// Whether `meta` (read without following a link) is of the same file.
    pub(crate) fn same_file(&self, meta: &Metadata) -> bool {
        use std::os::unix::fs::MetadataExt;
        (self.dev, self.ino) == (meta.dev(), meta.ino())
    }

    /// The device the file is on.
    pub(crate) fn dev(&self) -> u64 {
        self.dev
    }

    /// The change time (seconds, nanoseconds): set by the kernel, never from user space.
    pub(crate) fn ctime(&self) -> (i64, i64) {
        self.ctime
    }
}
