//! The systemd unit shipped for sockdev (`devices/systemd/sockdev@.service`) as systemd's own
//! parser reads it (an unknown key, a bad value or a missing binary is reported), with its
//! `ExecStart=` pointing at the built binary.

use std::process::Command;

const UNIT: &str = include_str!("../systemd/sockdev@.service");

#[test]
fn systemd_itself_accepts_the_shipped_unit() {
    let Ok(out) = Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("SKIP: no systemd-analyze here (apt-get install systemd)");
        return;
    };
    assert!(out.status.success());
    let dir = tempfile::tempdir().unwrap();
    let binary = env!("CARGO_BIN_EXE_sockdev");
    assert!(UNIT.contains("ExecStart=/usr/local/bin/sockdev --config /etc/sockdev/%i.toml\n"));
    let unit = UNIT.replace("/usr/local/bin/sockdev", binary);
    std::fs::write(dir.path().join("sockdev@.service"), unit).unwrap();
    std::os::unix::fs::symlink("sockdev@.service", dir.path().join("sockdev@relay.service")).unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", "./sockdev@relay.service"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && said.trim().is_empty(), "systemd-analyze verify: {said}");
}
