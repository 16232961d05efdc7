//! CI smoke tests: every perf binary at tiny sizes over tcp (or inproc), checking the output
//! lines have libzmq's shape, and a `compare --quick` run. Nothing timed is asserted.

use std::io::Read;
use std::net::TcpListener;
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(120);

/// A tcp endpoint on a port that was free a moment ago.
fn free_endpoint() -> String {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a probe listener");
    format!("tcp://{}", l.local_addr().expect("local addr"))
}

fn spawn(exe: &str, args: &[&str]) -> Child {
    Command::new(exe)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {exe}: {e}"))
}

/// Waits for `child` (killing it after [`LIMIT`]) and returns its output.
fn finish(mut child: Child) -> Output {
    let deadline = Instant::now() + LIMIT;
    while child.try_wait().expect("try_wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("process did not finish within {LIMIT:?}");
        }
        thread::sleep(Duration::from_millis(10));
    }
    let status = child.wait().expect("wait");
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    child.stdout.take().unwrap().read_to_end(&mut stdout).unwrap();
    child.stderr.take().unwrap().read_to_end(&mut stderr).unwrap();
    Output { status, stdout, stderr }
}

fn run(exe: &str, args: &[&str]) -> Output {
    finish(spawn(exe, args))
}

fn lines(out: &Output) -> Vec<String> {
    assert!(
        out.status.success(),
        "failed ({}): stdout {:?} stderr {:?}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output").lines().map(str::to_string).collect()
}

/// `line` is `<prefix><number><suffix>`, the number parsing as `T`.
fn number_line<T: std::str::FromStr>(line: &str, prefix: &str, suffix: &str) -> T {
    let rest = line
        .strip_prefix(prefix)
        .and_then(|r| r.strip_suffix(suffix))
        .unwrap_or_else(|| panic!("{line:?} is not {prefix:?}…{suffix:?}"));
    rest.parse().unwrap_or_else(|_| panic!("{rest:?} in {line:?} is not a number"))
}

/// Three decimals, as `%.3f` prints.
fn three_decimals(line: &str, prefix: &str, suffix: &str) {
    let v: f64 = number_line(line, prefix, suffix);
    assert!(v >= 0.0);
    let digits = line.strip_suffix(suffix).unwrap().rsplit('.').next().unwrap();
    assert_eq!(digits.len(), 3, "{line:?} should have three decimals");
}

fn check_thr(lines: &[String], size: usize, count: usize) {
    assert_eq!(lines.len(), 4, "exactly four lines: {lines:?}");
    assert_eq!(lines[0], format!("message size: {size} [B]"));
    assert_eq!(lines[1], format!("message count: {count}"));
    let _: u64 = number_line(&lines[2], "mean throughput: ", " [msg/s]");
    three_decimals(&lines[3], "mean throughput: ", " [Mb/s]");
}

fn check_lat(lines: &[String], size: usize, roundtrips: usize) {
    assert_eq!(lines.len(), 7, "libzmq's three lines and four percentiles: {lines:?}");
    assert_eq!(lines[0], format!("message size: {size} [B]"));
    assert_eq!(lines[1], format!("roundtrip count: {roundtrips}"));
    three_decimals(&lines[2], "average latency: ", " [us]");
    for (line, name) in lines[3..].iter().zip(["p50", "p90", "p99", "p99.9"]) {
        three_decimals(line, &format!("latency {name}: "), " [us]");
    }
}

#[test]
fn local_and_remote_thr_over_tcp() {
    let ep = free_endpoint();
    let local = spawn(env!("CARGO_BIN_EXE_local_thr"), &[&ep, "64", "1000"]);
    let remote = run(env!("CARGO_BIN_EXE_remote_thr"), &[&ep, "64", "1000"]);
    assert!(lines(&remote).is_empty(), "remote_thr prints nothing");
    check_thr(&lines(&finish(local)), 64, 1000);
}

/// The tools set libsock's test certificate on `wss://` endpoints themselves.
#[test]
fn local_and_remote_thr_over_wss() {
    let ep = free_endpoint().replace("tcp://", "wss://") + "/";
    let local = spawn(env!("CARGO_BIN_EXE_local_thr"), &[&ep, "64", "1000"]);
    let remote = run(env!("CARGO_BIN_EXE_remote_thr"), &[&ep, "64", "1000"]);
    assert!(lines(&remote).is_empty(), "remote_thr prints nothing");
    check_thr(&lines(&finish(local)), 64, 1000);
}

#[test]
fn local_and_remote_lat_over_tcp() {
    let ep = free_endpoint();
    let local = spawn(env!("CARGO_BIN_EXE_local_lat"), &[&ep, "1", "1000"]);
    let remote = run(env!("CARGO_BIN_EXE_remote_lat"), &[&ep, "1", "1000"]);
    check_lat(&lines(&remote), 1, 1000);
    assert!(lines(&finish(local)).is_empty(), "local_lat prints nothing");
}

#[test]
fn inproc_thr_and_lat() {
    check_thr(&lines(&run(env!("CARGO_BIN_EXE_inproc_thr"), &["64", "1000"])), 64, 1000);
    check_lat(&lines(&run(env!("CARGO_BIN_EXE_inproc_lat"), &["64", "1000"])), 64, 1000);
}

#[test]
fn large_messages_use_the_long_frame_form() {
    let ep = free_endpoint();
    let local = spawn(env!("CARGO_BIN_EXE_local_thr"), &[&ep, "70000", "100"]);
    run(env!("CARGO_BIN_EXE_remote_thr"), &[&ep, "70000", "100"]);
    check_thr(&lines(&finish(local)), 70000, 100);
}

#[test]
fn wrong_arguments_print_usage_and_exit_1() {
    for (exe, usage) in [
        (env!("CARGO_BIN_EXE_local_thr"), "usage: local_thr <bind-to>"),
        (env!("CARGO_BIN_EXE_remote_thr"), "usage: remote_thr <connect-to>"),
        (env!("CARGO_BIN_EXE_local_lat"), "usage: local_lat <bind-to>"),
        (env!("CARGO_BIN_EXE_remote_lat"), "usage: remote_lat <connect-to>"),
        (env!("CARGO_BIN_EXE_inproc_thr"), "usage: inproc_thr <message-size>"),
        (env!("CARGO_BIN_EXE_inproc_lat"), "usage: inproc_lat <message-size>"),
    ] {
        let out = run(exe, &[]);
        assert_eq!(out.status.code(), Some(1), "{exe}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.starts_with(usage), "{exe}: {text:?}");
    }
}

/// Runs `compare`; returns its report (stdout) and progress (stderr).
fn compare(args: &[&str]) -> (String, String) {
    let out = run(env!("CARGO_BIN_EXE_compare"), args);
    let progress = String::from_utf8_lossy(&out.stderr).into_owned();
    (lines(&out).join("\n"), progress)
}

/// libsock against libzmq and the raw baseline on every pattern it has: nothing of
/// libsock's may fail.
#[test]
fn compare_quick_subset_has_no_libsock_failures() {
    let (report, progress) = compare(&[
        "--quick",
        "--impls",
        "libsock,libzmq,raw",
        "--transports",
        "tcp,inproc,ws,wss",
        "--sizes",
        "64",
        "--lat-sizes",
        "1",
        "--pubsub-sizes",
        "64",
    ]);
    for heading in
        ["### PUSH/PULL throughput", "### REQ/REP round trip", "### PUB/SUB", "### Memory", "### Targets"]
    {
        assert!(report.contains(heading), "no {heading:?} in:\n{report}");
    }
    for line in progress.lines().filter(|l| l.contains(" libsock rep ")) {
        assert!(!line.contains("FAILED"), "libsock failed: {line}");
    }
    assert!(report.contains("| tcp | 64 B |"), "{report}");
    assert!(report.contains("| inproc | 64 B |"), "{report}");
    assert!(report.contains("| ws | 64 B |") && report.contains("| wss | 64 B |"), "{report}");
    // Round trips over every transport named but inproc (its ends are two processes).
    let lat_rows: Vec<&str> = report.lines().filter(|l| l.ends_with('|') && l.contains(" | 1 B |")).collect();
    for t in ["tcp", "ws", "wss"] {
        assert!(
            lat_rows.iter().any(|l| l.starts_with(&format!("| {t} | 1 B |"))),
            "no {t} round trip: {report}"
        );
    }
    assert!(!lat_rows.iter().any(|l| l.starts_with("| inproc | 1 B |")), "{report}");
}

/// The whole quick comparison, every rival included, completes and renders its tables.
#[test]
fn compare_quick_completes() {
    let (report, _) = compare(&["--quick"]);
    for heading in [
        "### PUSH/PULL throughput",
        "### REQ/REP round trip",
        "### PUB/SUB",
        "### Memory",
        "### Through a proxy",
    ] {
        assert!(report.contains(heading), "no {heading:?} in:\n{report}");
    }
    assert!(report.contains("| tcp | 1 B |"), "{report}");
    assert!(!report.contains("NaN"), "a figure that was not measured: {report}");
    // Each proxy row gives the relay process's CPU time beside libsock's and libzmq's figure.
    for row in report
        .lines()
        .filter(|l| l.starts_with("| PUSH→streamer→PULL |") || l.starts_with("| REQ→queue→REP |"))
    {
        let relays = row.matches("; relay ").count();
        assert!(relays >= 2, "libsock's and libzmq's relay CPU in {row:?}");
    }
}
