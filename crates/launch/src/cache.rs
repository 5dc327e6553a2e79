//! The vstrace cache directory (kernel, extracted vmlinux, built initramfs).
//!
//! Resolution order matches `scripts/setup-host.sh`: `$VSTRACE_CACHE`, then
//! `$XDG_CACHE_HOME/vstrace`, then `$HOME/.cache/vstrace`.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

/// The cache directory (not created).
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("VSTRACE_CACHE").filter(|v| !v.is_empty()) {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(d).join("vstrace");
    }
    if let Some(h) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(h).join(".cache").join("vstrace");
    }
    std::env::temp_dir().join("vstrace-cache")
}

/// Hex SHA-256 of `data`, used as a content key.
pub fn content_key(data: &[u8]) -> String {
    let digest = Sha256::digest(data);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes `data` to `path` atomically (temp file in the same directory, then
/// rename), so concurrent runs never see a half-written file.
pub fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Keeps at most `keep` files with `suffix` in `dir`, deleting the least
/// recently modified ones. Best effort: errors are ignored.
pub fn prune(dir: &Path, suffix: &str, keep: usize) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = rd
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(suffix))
        .filter_map(|e| {
            let m = e.metadata().ok()?;
            Some((m.modified().ok()?, e.path()))
        })
        .collect();
    if files.len() <= keep {
        return;
    }
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    for (_, p) in files.into_iter().skip(keep) {
        let _ = fs::remove_file(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_sha256_hex() {
        assert_eq!(
            content_key(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn atomic_write_and_prune() {
        let dir = std::env::temp_dir().join(format!("vstrace-cache-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        for i in 0..5 {
            write_atomic(&dir.join(format!("f{i}.bin")), &[i as u8; 3]).unwrap();
        }
        assert_eq!(fs::read(dir.join("f3.bin")).unwrap(), vec![3u8; 3]);
        prune(&dir, ".bin", 2);
        let left = fs::read_dir(&dir).unwrap().count();
        assert_eq!(left, 2);
        fs::remove_dir_all(&dir).unwrap();
    }
}
