//! vstrace layers: the OS layer an engine configuration names, built in
//! one place.
//!
//! The engine knows no OS (it takes a [`Box<dyn OsLayer>`](OsLayer)) and
//! the OS crates know no engine configuration; turning `cfg.os`,
//! `cfg.windows_version`, `cfg.windows_kpcr32` and `cfg.linux_profile`
//! into a layer needs both, so it lives here, in the one crate that
//! depends on the engine and on every OS crate. Everything that makes an
//! engine (the QEMU plugin, the CLI's run, attach and replay, the fuzz
//! targets) calls [`layer`]: the CLI and the plugin share no other crate
//! that could hold it, and a new OS is added here once.

#![forbid(unsafe_code)]

use serde_json::value::RawValue;
use vstrace_core::OsLayer;
use vstrace_engine::EngineConfig;
use vstrace_linux::profile::LinuxProfile;
use vstrace_linux::LinuxLayer;
use vstrace_windows::isf::IsfOffsets;
use vstrace_windows::kuser::{VersionChoiceError, AUTO};
use vstrace_windows::WindowsLayer;

/// Why no layer could be built from a configuration.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    /// `os` names no OS vstrace decodes.
    #[error("engine configuration: unsupported guest OS {0:?}")]
    UnknownOs(String),
    /// `windows_version` names no known Windows release.
    #[error("engine configuration: {0}")]
    WindowsVersion(#[from] VersionChoiceError),
    /// `windows_profile` could not be read or is not a Windows kernel
    /// symbol table.
    #[error("--windows-profile {0}")]
    WindowsProfile(String),
    /// `linux_profile` is not a Linux kernel profile (or one could not
    /// be stored as JSON).
    #[error("engine configuration: the Linux kernel profile: {0}")]
    LinuxProfile(#[source] serde_json::Error),
}

/// The OS layer `cfg` asks for: Linux (with the kernel profile, if any,
/// for attribution) or Windows (the named version, or detection from the
/// guest when absent or `auto`).
pub fn layer(cfg: &EngineConfig) -> Result<Box<dyn OsLayer>, LayerError> {
    match cfg.os.as_str() {
        "linux" => Ok(Box::new(
            LinuxLayer::new(linux_profile(cfg)?)
                .with_host_dirs(cfg.symbol_dirs.iter().map(Into::into).collect()),
        )),
        "windows" => {
            let v = cfg.windows_version.as_deref().unwrap_or(AUTO);
            let mut l = WindowsLayer::new(v, cfg.windows_kpcr32)?;
            if let Some(raw) = &cfg.windows_profile {
                let o: IsfOffsets = serde_json::from_str(raw.get())
                    .map_err(|e| LayerError::WindowsProfile(e.to_string()))?;
                l = l.with_isf(&o);
            }
            Ok(Box::new(l))
        }
        other => Err(LayerError::UnknownOs(other.to_string())),
    }
}

/// The Linux kernel profile `cfg` carries, if any.
pub fn linux_profile(cfg: &EngineConfig) -> Result<Option<LinuxProfile>, LayerError> {
    cfg.linux_profile
        .as_ref()
        .map(|raw| serde_json::from_str(raw.get()).map_err(LayerError::LinuxProfile))
        .transpose()
}

/// Reads the Volatility 3 symbol table at `path` (JSON, `.xz`, `.gz`) and
/// stores its kernel offsets in `cfg` for the Windows layer.
pub fn set_windows_profile(
    cfg: &mut EngineConfig,
    path: &std::path::Path,
) -> Result<(), LayerError> {
    let o =
        vstrace_windows::isf::load(path).map_err(|e| LayerError::WindowsProfile(e.to_string()))?;
    let raw = serde_json::value::to_raw_value(&o)
        .map_err(|e| LayerError::WindowsProfile(e.to_string()))?;
    cfg.windows_profile = Some(raw);
    Ok(())
}

/// Stores `profile` in `cfg`, as the JSON the engine carries unread.
pub fn set_linux_profile(cfg: &mut EngineConfig, profile: &LinuxProfile) -> Result<(), LayerError> {
    let raw: Box<RawValue> =
        serde_json::value::to_raw_value(profile).map_err(LayerError::LinuxProfile)?;
    cfg.linux_profile = Some(raw);
    Ok(())
}

/// [`vstrace_engine::replay::fuzz_replay`] with the layers [`layer`]
/// builds: the fuzzing entry point for replaying untrusted trace files.
pub fn fuzz_replay(data: &[u8]) -> u64 {
    vstrace_engine::replay::fuzz_replay(data, &|cfg| layer(cfg).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use vstrace_core::Os;

    fn cfg(os: &str) -> EngineConfig {
        EngineConfig {
            os: os.into(),
            ..EngineConfig::default()
        }
    }

    #[test]
    fn layers_by_name() {
        assert_eq!(layer(&cfg("linux")).ok().map(|l| l.os()), Some(Os::Linux));
        // No version: detected from the guest.
        let l = layer(&cfg("windows")).ok().map(|l| l.os());
        assert_eq!(l, Some(Os::Windows));
    }

    #[test]
    fn bad_configurations_are_errors() {
        assert!(matches!(layer(&cfg("plan9")), Err(LayerError::UnknownOs(o)) if o == "plan9"));
        let mut c = cfg("windows");
        c.windows_version = Some("win95".into());
        assert!(matches!(layer(&c), Err(LayerError::WindowsVersion(_))));
        let mut c = cfg("linux");
        c.linux_profile = RawValue::from_string("[1, 2]".into()).ok();
        assert!(matches!(layer(&c), Err(LayerError::LinuxProfile(_))));
        assert!(matches!(
            linux_profile(&c),
            Err(LayerError::LinuxProfile(_))
        ));
        assert!(matches!(linux_profile(&cfg("linux")), Ok(None)));
    }
}
