//! The replay's one use of `unsafe`: mapping a trace file into memory,
//! so that its frames are decoded where they lie in the page cache (no
//! read system call, no copy into a buffer: at replay's speed those were
//! a fifth of the work).
#![allow(unsafe_code)]

use std::fs::File;

/// The whole of `file` mapped read-only, when it is a regular non-empty
/// file that maps; None otherwise (a pipe, a device, an empty file: the
/// caller reads it instead).
pub fn map(file: &File) -> Option<memmap2::Mmap> {
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() == 0 {
        return None;
    }
    // SAFETY: the mapping is read-only and private to this process, and
    // the bytes are only ever read as `&[u8]`, which any contents are (a
    // trace file is hostile input: the reader checks every byte it
    // decodes). What the type system cannot rule out is another process
    // changing the file while it is mapped: new bytes written in place
    // are read as whatever they are (the reader stops at the damage, as
    // for any damaged file), and a file truncated under the mapping
    // raises SIGBUS when its lost pages are touched, as for any mapped
    // file (`vstrace` never truncates a recording it replays; a user
    // overwriting the recording being replayed would).
    // Populated at once: one fault per page of a recording read end to
    // end was a tenth of a `replay -c` (55,000 faults for 228 MB).
    unsafe { memmap2::MmapOptions::new().populate().map(file) }.ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_map_and_others_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t");
        std::fs::write(&path, b"VSTRACE\0 bytes").unwrap();
        let m = map(&File::open(&path).unwrap()).expect("a regular file maps");
        assert_eq!(&m[..], b"VSTRACE\0 bytes");
        // Empty: nothing to map (the reader reports it as no trace file).
        std::fs::write(&path, b"").unwrap();
        assert!(map(&File::open(&path).unwrap()).is_none());
        // A directory is no regular file.
        assert!(map(&File::open(dir.path()).unwrap()).is_none());
    }
}
