//! vstrace engine: turns events from any source into records.
//!
//! It pairs enter and exit per thread, names and decodes calls through the
//! OS layer, applies filters, injections and hooks, and writes records to
//! sinks. It runs where the events are (inside the QEMU plugin, or in the
//! CLI for the gdb and replay sources).

use serde::{Deserialize, Serialize};
use vstrace_core::{Cpu, Event};

/// Engine configuration, passed from the CLI to wherever the engine runs
/// (for the QEMU plugin: a JSON file named by the plugin's `config=` arg).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EngineConfig {
    /// Where records go: a file or FIFO path.
    pub output: Option<String>,
}

/// Engine error.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("engine configuration: {0}")]
    Config(String),
    #[error("output: {0}")]
    Io(#[from] std::io::Error),
}

/// The engine. One per traced VM.
pub struct Engine {
    _cfg: EngineConfig,
}

impl Engine {
    pub fn new(cfg: EngineConfig) -> Result<Engine, EngineError> {
        Ok(Engine { _cfg: cfg })
    }

    /// Handles one trap. Called on the vCPU thread that trapped; `cpu` is
    /// valid only during the call.
    pub fn on_event(&mut self, _event: &Event, _cpu: &mut dyn Cpu) {}

    /// Flushes everything (unfinished calls, summary) at the end.
    pub fn finish(&mut self) {}
}
