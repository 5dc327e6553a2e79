//! The status channel from the plugin inside QEMU to the launcher.
//!
//! QEMU's own stderr mixes its messages, the guest kernel's and the
//! engine's; what the CLI must act on (an output write error and its
//! errno, which decide the exit status) needs a channel of its own. The
//! launcher passes a file as the plugin argument [`STATUS_ARG`]`=PATH`;
//! the plugin appends one JSON line per [`PluginStatus`]; the launcher
//! reads them back with [`read_statuses`] once QEMU has exited. Both sides
//! use this module, so the format is defined once.

use std::io::{Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The plugin argument (`-plugin lib.so,status=PATH`) naming the status
/// file.
pub const STATUS_ARG: &str = "status";

/// The most the launcher reads of a status file: a plugin writes a handful
/// of short lines, anything bigger is not ours to trust.
pub const MAX_STATUS_BYTES: u64 = 1 << 20;

/// One thing the plugin tells the launcher.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PluginStatus {
    /// Writing the trace failed (disk full, closed pipe): the records
    /// before the failure were written, the rest dropped.
    OutputError {
        /// The OS error number, when the failure was an OS error (28 is
        /// ENOSPC, 32 EPIPE): what the exit status is chosen by.
        errno: Option<i32>,
        /// The error as the user reads it.
        message: String,
    },
    /// Writing the recording (`--record`) failed; its frames before the
    /// failure are intact.
    RecordError {
        /// The OS error number, when it was an OS error.
        errno: Option<i32>,
        /// The error as the user reads it.
        message: String,
    },
    /// A line for the user (a warning of the plugin or the engine), shown
    /// as it is.
    Message {
        /// The line, without its newline.
        text: String,
    },
}

impl PluginStatus {
    /// The status as one line of the file, newline included.
    pub fn to_line(&self) -> String {
        // Serializing an enum of strings and integers cannot fail; the
        // fallback keeps the line well-formed if it ever did.
        let mut s = serde_json::to_string(self)
            .unwrap_or_else(|_| r#"{"kind":"message","text":"(unserializable status)"}"#.into());
        s.push('\n');
        s
    }

    /// Parses one line of the file.
    pub fn parse(line: &str) -> Result<PluginStatus, StatusError> {
        serde_json::from_str(line).map_err(|e| StatusError::BadLine {
            line: line.chars().take(80).collect(),
            reason: e.to_string(),
        })
    }
}

/// The OS error number in an `std::io::Error`'s text ("No space left on
/// device (os error 28)"): the engine keeps its first output error as
/// text, and the status carries the number.
pub fn errno_of_message(message: &str) -> Option<i32> {
    let (_, rest) = message.rsplit_once("(os error ")?;
    rest.strip_suffix(')')?.parse().ok()
}

/// Appends one status line to the status file (the plugin side). One
/// `write` per line, so lines from several vCPU threads do not interleave.
pub fn append_status(path: &Path, status: &PluginStatus) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)?;
    f.write_all(status.to_line().as_bytes())
}

/// Reads the statuses of a status file (the launcher side), at most
/// [`MAX_STATUS_BYTES`] of it. A missing file means no status; each bad
/// line is returned as an error in its place, so one damaged line does
/// not hide the others.
pub fn read_statuses(path: &Path) -> Vec<Result<PluginStatus, StatusError>> {
    let mut text = String::new();
    let read = std::fs::File::open(path).and_then(|f| {
        f.take(MAX_STATUS_BYTES)
            .read_to_string(&mut text)
            .map(|_| ())
    });
    match read {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => return vec![Err(StatusError::Read(e.to_string()))],
    }
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(PluginStatus::parse)
        .collect()
}

/// Why a status could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusError {
    /// The status file exists but could not be read.
    #[error("reading the plugin's status file: {0}")]
    Read(String),
    /// A line is not a status this version knows.
    #[error("bad plugin status line {line:?}: {reason}")]
    BadLine {
        /// The start of the line.
        line: String,
        /// What the parser said.
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip() {
        let all = [
            PluginStatus::OutputError {
                errno: Some(28),
                message: "No space left on device (os error 28)".into(),
            },
            PluginStatus::RecordError {
                errno: None,
                message: "frame too big".into(),
            },
            PluginStatus::Message {
                text: "vstrace: warning: \"quoted\"\nnot a new line".into(),
            },
        ];
        for s in &all {
            let line = s.to_line();
            assert!(line.ends_with('\n'));
            assert_eq!(line.matches('\n').count(), 1, "one line: {line}");
            assert_eq!(PluginStatus::parse(line.trim_end()).unwrap(), *s);
        }
    }

    #[test]
    fn file_is_appended_and_read_back_bounded() {
        let dir = tempfile_dir();
        let p = dir.join("status");
        assert!(read_statuses(&p).is_empty(), "no file, no status");
        let a = PluginStatus::Message { text: "a".into() };
        let b = PluginStatus::OutputError {
            errno: Some(32),
            message: "Broken pipe (os error 32)".into(),
        };
        append_status(&p, &a).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .unwrap()
            .write_all(b"not json\n\n")
            .unwrap();
        append_status(&p, &b).unwrap();
        let got = read_statuses(&p);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].as_ref().unwrap(), &a);
        assert!(matches!(got[1], Err(StatusError::BadLine { .. })));
        assert_eq!(got[2].as_ref().unwrap(), &b);
        // A huge file is read only up to the bound.
        let big = "x".repeat(MAX_STATUS_BYTES as usize + 10);
        std::fs::write(&p, big).unwrap();
        let got = read_statuses(&p);
        assert_eq!(got.len(), 1);
        assert!(got[0].is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn errno_from_io_error_text() {
        let e = std::io::Error::from_raw_os_error(28).to_string();
        assert_eq!(errno_of_message(&e), Some(28));
        assert_eq!(errno_of_message("serializing a record: x"), None);
        assert_eq!(errno_of_message("(os error 2x)"), None);
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!(
            "vstrace-status-test-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
