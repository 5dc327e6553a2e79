//! docs/record.schema.json describes the JSON records: the replay
//! fixtures' records (Linux and Windows) and the records a replay prints
//! with other options follow it, and records that break it are refused
//! (so the checks every integration test makes through
//! `common::json_lines` can fail). The QEMU tests check their live runs'
//! records the same way.

mod common;

use common::{check_record, json_lines, record_schema, replay, repo, stderr, stdout};
use serde_json::json;

#[test]
fn fixture_records_follow_the_schema() {
    let dir = repo().join("tests/fixtures/replay");
    for name in ["linux-workload", "nt-abi-x64"] {
        let text = std::fs::read_to_string(dir.join(format!("{name}.jsonl"))).expect("fixture");
        let recs = json_lines(&text);
        assert!(recs.len() > 10, "{name}: {} records", recs.len());
        // The typed values are there: a path is a plain string.
        if name == "linux-workload" {
            let exec = &recs[0];
            assert_eq!(exec["args"][0]["value"], "/bin/workload", "{exec}");
            assert_eq!(exec["args"][0]["text"], "\"/bin/workload\"", "{exec}");
        }
    }
}

#[test]
fn replayed_records_with_other_options_follow_the_schema() {
    let rec = repo().join("tests/fixtures/replay/linux-workload.vst");
    for args in [
        &["--json", "-s", "4"][..],
        &["--json", "-e", "verbose=all"],
        &["--json", "-e", "raw=all"],
    ] {
        let out = replay(&rec, args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        let recs = json_lines(&stdout(&out));
        assert!(!recs.is_empty(), "{args:?}");
    }
}

#[test]
fn records_that_break_the_schema_are_refused() {
    let good = json!({
        "seq": 0, "vcpu": 0, "ts_enter_ns": 1, "cr3": 4096, "os": "linux",
        "abi": "x86_64", "mechanism": "syscall", "nr": 2, "name": "open",
        "args": [{"name": "filename", "raw": 4096, "text": "\"/x\"", "value": "/x"}],
        "state": "complete"
    });
    check_record(&good);
    let v = record_schema();
    let mut no_name = good.clone();
    no_name.as_object_mut().unwrap().remove("name");
    assert!(!v.is_valid(&no_name));
    let mut extra = good.clone();
    extra["args"][0]["extra"] = json!(1);
    assert!(!v.is_valid(&extra));
    let mut odd_hex = good.clone();
    odd_hex["args"][0]["value"] = json!({"hex": "abc"});
    assert!(!v.is_valid(&odd_hex));
    let mut opaque_with_more = good.clone();
    opaque_with_more["args"][0]["value"] = json!({"text": "x", "truncated": true});
    assert!(!v.is_valid(&opaque_with_more));
    // The typed return: error name and message; no other key.
    let mut failed = good.clone();
    failed["ret"] = json!(-2);
    failed["ret_value"] = json!({"error": "ENOENT", "message": "No such file or directory"});
    check_record(&failed);
    let mut odd_ret = failed.clone();
    odd_ret["ret_value"]["code"] = json!(2);
    assert!(!v.is_valid(&odd_ret));
    let mut bad_state = good;
    bad_state["state"] = json!("done");
    assert!(!v.is_valid(&bad_state));
}
