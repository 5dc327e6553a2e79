//! The setup scripts' shared shell helpers (scripts/lib), run by bash as
//! the scripts source them: `retry` (a fetch the mirror fails, tried
//! again) and `host_debian_mirror` (the mirror the host's apt sources
//! name, from one-line and deb822 files). The fetches themselves are
//! exercised by every CI run's setup.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("setup-scripts-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `script` run by bash after sourcing scripts/lib/`lib`, with `env`.
fn bash(lib: &str, script: &str, env: &[(&str, &str)]) -> Output {
    let src = repo().join("scripts/lib").join(lib);
    Command::new("bash")
        .arg("-c")
        .arg(format!(
            "set -euo pipefail; . '{}'; {script}",
            src.display()
        ))
        .env_remove("VSTRACE_FETCH_TRIES")
        .env_remove("VSTRACE_DEBIAN_MIRROR")
        .envs(env.iter().copied())
        .output()
        .expect("bash runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `after` run with a function NAME defined whose body, after counting
/// its run in a file (`$runs`: the runs so far), is `body`; `retry` with
/// `tries` tries and no wait: bash's stdout and stderr, and how many times
/// the function ran.
fn retried(name: &str, body: &str, tries: &str, after: &str) -> (String, String, usize) {
    let count = scratch(name).join("count");
    let c = count.display().to_string();
    let script = format!("{name}() {{ echo x >>'{c}'; runs=$(wc -l <'{c}'); {body} }}; {after}");
    let out = bash(
        "retry.sh",
        &script,
        &[("VSTRACE_FETCH_TRIES", tries), ("VSTRACE_FETCH_WAIT", "0")],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let runs = std::fs::read_to_string(&count).unwrap().lines().count();
    (text(&out.stdout), text(&out.stderr), runs)
}

#[test]
fn retry_runs_a_failing_command_again_until_it_succeeds() {
    // Fails on its first two runs, succeeds on the third.
    let (out, err, runs) = retried(
        "flaky",
        "[ \"$runs\" -ge 3 ];",
        "5",
        "retry flaky; echo done",
    );
    assert_eq!(out, "done\n");
    assert_eq!(runs, 3);
    assert!(
        err.contains("'flaky' failed (status 1), try 2 of 5"),
        "{err}"
    );
    assert!(err.contains("try 3 of 5"), "{err}");
    assert!(!err.contains("giving up"), "{err}");
}

#[test]
fn retry_gives_up_after_its_tries_with_the_commands_status() {
    let (out, err, runs) = retried(
        "broken",
        "return 7;",
        "2",
        "rc=0; retry broken || rc=$?; echo \"rc=$rc\"",
    );
    assert_eq!(out, "rc=7\n");
    assert_eq!(runs, 2);
    assert!(
        err.contains("'broken' failed 2 times (status 7); giving up"),
        "{err}"
    );
    // A command that succeeds at once runs once and says nothing.
    let out = bash("retry.sh", "retry true; echo ok", &[]);
    assert_eq!(text(&out.stdout), "ok\n");
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn retry_lists_goes_on_after_three_failed_updates() {
    // An `apt-get update` that keeps failing: 3 tries (the variable
    // empty), a warning, and the script goes on with its own setting.
    let (out, err, runs) = retried(
        "update",
        "return 100;",
        "",
        "retry_lists update; echo \"went on [$VSTRACE_FETCH_TRIES]\"",
    );
    assert_eq!(out, "went on []\n");
    assert_eq!(runs, 3);
    assert!(
        err.contains("'update' failed 3 times (status 100); giving up"),
        "{err}"
    );
    assert!(
        err.contains("warning: 'update' failed; going on with the package lists it got"),
        "{err}"
    );
}

#[test]
fn retry_leaves_the_callers_variables_alone() {
    // The helper's own counters must not shadow a variable the retried
    // function uses (bash's locals are dynamically scoped).
    let out = bash(
        "retry.sh",
        "n=0; tries=x; wait=y; f() { n=$((n + 1)); [ \"$n\" -ge 2 ]; }; retry f; echo \"$n $tries $wait\"",
        &[("VSTRACE_FETCH_WAIT", "0")],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "2 x y\n");
}

#[test]
fn the_mirror_is_the_first_enabled_bookworm_entry_of_the_hosts_sources() {
    let d = scratch("mirror");
    let etc = d.join("apt");
    std::fs::create_dir_all(etc.join("sources.list.d")).unwrap();
    let mirror = |env: &[(&str, &str)]| {
        let mut all = vec![("VSTRACE_APT_ETC", etc.to_str().unwrap())];
        all.extend_from_slice(env);
        let out = bash("debian-mirror.sh", "debian_mirror", &all);
        (out.status.success(), text(&out.stdout), text(&out.stderr))
    };
    // None at all: a one-line error naming the override.
    let (ok, _, err) = mirror(&[]);
    assert!(!ok);
    assert!(err.contains("VSTRACE_DEBIAN_MIRROR"), "{err}");
    // deb822: a disabled stanza and a deb-src one are passed over.
    std::fs::write(
        etc.join("sources.list.d/debian.sources"),
        "Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nEnabled: no\n\n\
         Types: deb-src\nURIs: http://src.example/debian\nSuites: bookworm\n\n\
         Types: deb\nURIs: http://deb822.example/debian/ http://second.example/debian\n\
         Suites: bookworm bookworm-updates\nComponents: main\n",
    )
    .unwrap();
    assert_eq!(
        mirror(&[]).1,
        "http://deb822.example/debian\n",
        "trailing slash dropped"
    );
    // One-line files come first; options in brackets are skipped, a
    // comment and another suite's line are not taken.
    std::fs::write(
        etc.join("sources.list"),
        "# deb http://commented.example/debian bookworm main\n\
         deb http://trixie.example/debian trixie main\n\
         deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://list.example/debian bookworm main\n",
    )
    .unwrap();
    assert_eq!(mirror(&[]).1, "http://list.example/debian\n");
    // The override wins.
    assert_eq!(
        mirror(&[("VSTRACE_DEBIAN_MIRROR", "http://mine.example/d")]).1,
        "http://mine.example/d\n"
    );
}
