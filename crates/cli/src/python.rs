//! `--hooks FILE.py`: the CLI's side of Python hooks. The files are
//! imported here before the guest starts (for `run` only as a check: the
//! plugin imports them again inside QEMU, where they run), so a file that
//! does not import stops vstrace with the Python error and status 2; for
//! `attach` and `replay` the hooks run in this process.

use std::path::PathBuf;

use anyhow::{Context, Result};
use vstrace_engine::Hooks;
pub use vstrace_python::Mode;

/// A hooks file that cannot be imported: a usage error (exit status 2).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct HooksFileError(#[from] pub vstrace_python::PythonError);

/// The hooks files as absolute paths (the engine may run in QEMU, with
/// another working directory), each checked to exist.
pub fn hooks_paths(files: &[PathBuf]) -> Result<Vec<String>> {
    files
        .iter()
        .map(|p| {
            let abs = std::path::absolute(p).with_context(|| format!("--hooks {}", p.display()))?;
            if !abs.is_file() {
                return Err(HooksFileError(vstrace_python::PythonError::Load {
                    path: p.display().to_string(),
                    message: "no such file".into(),
                })
                .into());
            }
            Ok(abs.display().to_string())
        })
        .collect()
}

/// Imports the hooks files (and drops what they define): a file that
/// fails to import stops vstrace before the guest starts.
pub fn check(files: &[String]) -> Result<()> {
    if files.is_empty() {
        return Ok(());
    }
    vstrace_python::check(files).map_err(HooksFileError)?;
    Ok(())
}

/// `hooks` with the Python hooks of `files` added, for an engine running
/// in this process.
pub fn add(mut hooks: Hooks, files: &[String], mode: Mode) -> Result<Hooks> {
    if !files.is_empty() {
        vstrace_python::add_hooks(&mut hooks, files, mode).map_err(HooksFileError)?;
    }
    Ok(hooks)
}

/// Prints how many exceptions the Python hooks raised, if any.
pub fn report() {
    vstrace_python::print_error_summary();
}
