//! What the plugin tells whoever started QEMU: typed status lines
//! (`vstrace_launch::status`) in the file the launcher named with
//! `status=PATH`, or, for a QEMU started by hand, the same as text on
//! stderr.

use std::path::PathBuf;

use vstrace_launch::status::{append_status, errno_of_message, PluginStatus};

/// Where statuses go.
pub struct Reporter {
    /// The status file (`status=PATH`); None: stderr.
    path: Option<PathBuf>,
}

impl Reporter {
    /// Reports to `path` when given, else to stderr.
    pub fn new(path: Option<&str>) -> Reporter {
        Reporter {
            path: path.map(PathBuf::from),
        }
    }

    /// Reports one status. A status file that cannot be written falls
    /// back to stderr: the message is not lost, only its type.
    pub fn report(&self, status: &PluginStatus) {
        if let Some(p) = &self.path {
            match append_status(p, status) {
                Ok(()) => return,
                Err(e) => eprintln!("vstrace-plugin: status file {}: {e}", p.display()),
            }
        }
        eprintln!("{}", as_text(status));
    }

    /// Reports a trace output error (the engine's text).
    pub fn output_error(&self, message: &str) {
        self.report(&PluginStatus::OutputError {
            errno: errno_of_message(message),
            message: message.to_string(),
        });
    }

    /// Reports a recording error (the engine's text).
    pub fn record_error(&self, message: &str) {
        self.report(&PluginStatus::RecordError {
            errno: errno_of_message(message),
            message: message.to_string(),
        });
    }

    /// Reports a line for the user.
    pub fn message(&self, text: String) {
        self.report(&PluginStatus::Message { text });
    }
}

/// A status as a person reads it on stderr.
fn as_text(status: &PluginStatus) -> String {
    match status {
        PluginStatus::OutputError { message, .. } => {
            format!("vstrace-plugin: output error: {message}")
        }
        PluginStatus::RecordError { message, .. } => {
            format!("vstrace-plugin: recording error: {message}")
        }
        PluginStatus::Message { text } => text.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vstrace_launch::status::read_statuses;

    #[test]
    fn statuses_reach_the_file_typed() {
        let dir = std::env::temp_dir().join(format!("vstrace-report-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("status");
        let _ = std::fs::remove_file(&p);
        let r = Reporter::new(p.to_str());
        r.output_error(&std::io::Error::from_raw_os_error(28).to_string());
        r.record_error("frame too big");
        r.message("vstrace: warning: w".into());
        let got: Vec<PluginStatus> = read_statuses(&p).into_iter().map(Result::unwrap).collect();
        assert!(matches!(
            &got[0],
            PluginStatus::OutputError {
                errno: Some(28),
                ..
            }
        ));
        assert!(matches!(
            &got[1],
            PluginStatus::RecordError { errno: None, .. }
        ));
        assert_eq!(
            got[2],
            PluginStatus::Message {
                text: "vstrace: warning: w".into()
            }
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
