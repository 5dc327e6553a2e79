//! Changing what the guest sees, checked inside the guest: the guest
//! program's own output shows the effect of --inject, --rewrite-path and a
//! Rust hook (examples/hook-plugin).

#[macro_use]
mod common;
use common::*;

on_both_qemus!(
    inject_error_on_the_second_openat_only,
    inject_error_on_the_second_openat_only_on_qemu_11,
    inject_error_on_the_second_openat_only_on
);

fn inject_error_on_the_second_openat_only_on(qemu: Option<&std::path::Path>) {
    let trace = trace_path(&per_qemu("inject-when", qemu));
    let out = run_on(
        qemu,
        &[
            "--inject=openat:error=ENOENT:when=2",
            "--json",
            "-o",
            trace.to_str().unwrap(),
            "--",
            "/bin/workload",
            "opens",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let g = stdout(&out);
    assert!(g.contains("open1 fd=3 errno=0"), "{g}");
    assert!(g.contains("open2 fd=-1 errno=2"), "{g}");
    assert!(g.contains("open3 fd=3 errno=0"), "{g}");
    // The trace shows the injected result and the modification.
    let recs = records(&trace);
    let opens = find(&recs, |r| name(r) == "openat" && arg(r, 1) == "\"/init\"");
    assert_eq!(opens.len(), 3);
    assert_eq!(opens[1]["errno"], "ENOENT");
    let mods = opens[1]["modifications"].as_array().unwrap();
    assert!(mods
        .iter()
        .any(|m| m["target"] == "retval" && m["after"] == (-2i64) as u64));
    assert!(opens[0].get("modifications").is_none());
}

on_both_qemus!(
    inject_retval_on_getpid,
    inject_retval_on_getpid_on_qemu_11,
    inject_retval_on_getpid_on
);

fn inject_retval_on_getpid_on(qemu: Option<&std::path::Path>) {
    let out = run_on(
        qemu,
        &[
            "--inject=getpid:retval=4242",
            "-e",
            "trace=getpid",
            "--",
            "/bin/workload",
            "opens",
        ],
    );
    assert!(out.status.success());
    assert!(stdout(&out).contains("getpid=4242"), "{}", stdout(&out));
    assert!(
        has_call(&stderr(&out), "getpid()", "4242"),
        "{}",
        stderr(&out)
    );
}

on_both_qemus!(
    rewrite_path_redirects_cat,
    rewrite_path_redirects_cat_on_qemu_11,
    rewrite_path_redirects_cat_on
);

fn rewrite_path_redirects_cat_on(qemu: Option<&std::path::Path>) {
    let other = tmp().join(per_qemu("other-file", qemu));
    std::fs::write(&other, "the other file\n").unwrap();
    let add = format!("{}:/etc/other", other.display());
    let out = run_on(
        qemu,
        &[
            "--add",
            &add,
            "--rewrite-path=/etc/hostname=/etc/other",
            "-e",
            "trace=openat",
            "--",
            "cat",
            "/etc/hostname",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "the other file\n");
    let err = stderr(&out);
    assert!(err.contains("openat(AT_FDCWD, \"/etc/other\""), "{err}");
    assert!(err.contains("\"/etc/hostname\" -> \"/etc/other\""), "{err}");
}

on_both_qemus!(
    rust_hooks_plugin_truncates_redirects_and_fakes,
    rust_hooks_plugin_truncates_redirects_and_fakes_on_qemu_11,
    rust_hooks_plugin_truncates_redirects_and_fakes_on
);

fn rust_hooks_plugin_truncates_redirects_and_fakes_on(qemu: Option<&std::path::Path>) {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_vstrace"));
    let plugin = bin.parent().unwrap().join("libvstrace_example_hooks.so");
    assert!(
        plugin.is_file(),
        "build the workspace first: {} missing",
        plugin.display()
    );
    let content = tmp().join(per_qemu("example-content", qemu));
    std::fs::write(&content, "redirected by a hook\n").unwrap();
    let add = format!("{}:/etc/vstrace-example", content.display());
    let trace = trace_path(&per_qemu("hooks", qemu));
    let out = run_on(qemu, &[
        "--plugin",
        plugin.to_str().unwrap(),
        "--add",
        &add,
        "--json",
        "-o",
        trace.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        "/bin/workload write 'vstrace-truncate: this part is cut'; echo; cat /etc/hostname; echo ppid=$PPID",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let g = stdout(&out);
    assert!(
        g.starts_with("vstrace-truncate\n"),
        "write count rewritten: {g:?}"
    );
    assert!(stderr(&out).contains("wrote 16"), "{}", stderr(&out));
    assert!(g.contains("redirected by a hook\n"), "{g}");
    assert!(g.contains("ppid=4242"), "{g}");
    let recs = records(&trace);
    let w = find(&recs, |r| {
        name(r) == "write" && r["hook"]["truncated_from"] == 34
    });
    assert_eq!(w.len(), 1, "hook data in the record");
    assert_eq!(w[0]["args"][2]["raw"], 16);
}

/// `--inject=chdir:signal=USR1`, as the guest program sees it: the call
/// runs and returns its own result, then the handler runs with a
/// kernel-sent siginfo (SI_KERNEL, 128); a blocked signal stays pending
/// until the unblock; with `error=` the call is faked and the signal
/// follows. On the x86-64 kernel (64-bit and compat programs: sysret and
/// iret returns) and on the i386 kernel (sysexit returns).
#[test]
fn inject_signal_follows_the_call() {
    let prog64 = build_prog("sigject", &[]);
    let prog32 = build_prog("sigject", &["-m32"]);
    for (prog, arch) in [(&prog64, None), (&prog32, None), (&prog32, Some("i386"))] {
        let add = format!("{}:/bin/sigject", prog.display());
        let mut args = vec!["run"];
        if let Some(a) = arch {
            args.extend(["--arch", a]);
        }
        let signal_only = [
            "--inject=chdir:signal=USR1:when=2+",
            "-e",
            "trace=chdir,rt_sigprocmask",
            "--",
            "/bin/sigject",
            "i",
        ];
        let run = |opts: &[&str]| {
            let out = vstrace()
                .args(&args)
                .args(["--add", &add])
                .args(opts)
                .output()
                .unwrap();
            (out.status.success(), stdout(&out), stderr(&out))
        };
        let (ok, g, e) = run(&signal_only);
        assert!(ok, "{arch:?} {e}");
        assert!(g.contains("chdir1=0 got=0 code=0"), "{arch:?} {g}");
        assert!(g.contains("chdir2=0 got=10 code=128"), "{arch:?} {g}");
        assert!(g.contains("blocked=0 got=0"), "{arch:?} {g}");
        assert!(g.contains("unblocked got=10"), "{arch:?} {g}");
        assert!(g.contains("last=-1 got=10"), "{arch:?} {g}");
        // strace's lines: no mark on the call, the signal after it.
        let lines: Vec<&str> = e
            .lines()
            .filter(|l| l.contains("chdir(") || l.contains("SIGUSR1 {"))
            .collect();
        let signal = "--- SIGUSR1 {si_signo=SIGUSR1, si_code=SI_KERNEL} ---";
        assert!(lines.len() == 7, "{arch:?} {e}");
        assert!(
            lines[1].ends_with("= 0") && lines[2].ends_with(signal),
            "{arch:?} {e}"
        );
        assert!(
            lines[3].ends_with("= 0") && lines[4].ends_with(signal),
            "{arch:?} {e}"
        );
        assert!(
            lines[5].contains("ENOENT") && lines[6].ends_with(signal),
            "{arch:?} {e}"
        );

        let faked = [
            "--inject=chdir:error=EIO:signal=USR1:when=2",
            "-e",
            "trace=chdir",
            "--",
            "/bin/sigject",
            "i",
        ];
        let (ok, g, e) = run(&faked);
        assert!(ok, "{arch:?} {e}");
        assert!(g.contains("chdir1=0 got=0"), "{arch:?} {g}");
        assert!(g.contains("chdir2=-1 got=10 code=128"), "{arch:?} {g}");
        assert!(g.contains("last=-1 got=0"), "{arch:?} {g}");
        assert!(
            e.contains("EIO (Input/output error) (INJECTED)"),
            "{arch:?} {e}"
        );
        assert!(e.contains(signal), "{arch:?} {e}");
    }
}
