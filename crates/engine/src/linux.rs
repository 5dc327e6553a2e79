//! Linux OS layer adapter (placeholder naming until vstrace-linux lands).

use vstrace_core::{Bitness, Event, VirtMem};

use crate::os::{CallInfo, DecodeOpts, OsLayer};
use crate::record::ArgRecord;

/// The Linux layer.
pub struct LinuxLayer;

impl OsLayer for LinuxLayer {
    fn os_name(&self) -> &'static str {
        "linux"
    }
    fn identify(&self, event: &Event, nr: u64) -> CallInfo {
        let abi = if event.bitness == Bitness::B64 {
            "x86_64"
        } else {
            "i386"
        };
        CallInfo {
            abi,
            nr,
            name: format!("syscall_{nr}"),
            nargs: 6,
            noreturn: false,
            exec: false,
            id: 0,
        }
    }
    fn all_names(&self) -> Vec<String> {
        Vec::new()
    }
    fn class_members(&self, _class: &str) -> Option<Vec<String>> {
        None
    }
    fn decode_enter(
        &self,
        _info: &CallInfo,
        raw: &[u64],
        _mem: &mut dyn VirtMem,
        _o: &DecodeOpts,
    ) -> Vec<ArgRecord> {
        raw.iter()
            .enumerate()
            .map(|(i, r)| ArgRecord {
                name: format!("arg{}", i + 1),
                raw: *r,
                value: None,
            })
            .collect()
    }
    fn decode_exit(
        &self,
        _i: &CallInfo,
        _r: &[u64],
        _ret: i64,
        _m: &mut dyn VirtMem,
        _o: &DecodeOpts,
        _a: &mut [ArgRecord],
    ) {
    }
    fn format_return(&self, _info: &CallInfo, ret: i64) -> (String, Option<String>) {
        (ret.to_string(), None)
    }
    fn error_value(&self, _name: &str) -> Option<i64> {
        None
    }
    fn invalid_nr(&self, _info: &CallInfo) -> u64 {
        u64::MAX
    }
    fn path_args(&self, _info: &CallInfo) -> Vec<usize> {
        Vec::new()
    }
}
