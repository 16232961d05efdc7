//! A network namespace of the test's own, for what must not reach the machine's real
//! network (multicast): loopback, and a veth link `v0` (192.0.2.1/24, IPv6 link-local,
//! multicast routes) whose peer sits in a second namespace, so what is sent out of `v0`
//! leaves the host as from a real interface and nothing comes back. Removed on drop.

#![allow(dead_code)]

use std::process::{Command, Output};

/// The two namespaces; the test runs in the first.
pub struct Netns {
    pub name: String,
    peer: String,
}

/// Runs `ip ARGS`; its error output when it fails.
pub fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip").args(args).output().map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

impl Netns {
    /// Makes the namespaces, or says why it cannot (not root, no `ip`, no veth).
    pub fn create(tag: &str) -> Result<Netns, String> {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("ls{tag}{}-{n}", std::process::id());
        let ns = Netns { peer: format!("{name}p"), name };
        ip(&["netns", "add", &ns.name])?;
        ip(&["netns", "add", &ns.peer])?;
        let sysctl = |key: &str| {
            let out = Command::new("ip").args(["netns", "exec", &ns.name, "sysctl", "-qw", key]).output();
            out.map_err(|e| e.to_string()).and_then(|o| {
                if o.status.success() {
                    Ok(())
                } else {
                    Err(format!("sysctl {key} failed"))
                }
            })
        };
        // No duplicate address detection: the link-local address is usable at once.
        sysctl("net.ipv6.conf.all.accept_dad=0")?;
        sysctl("net.ipv6.conf.default.accept_dad=0")?;
        ip(&["-n", &ns.name, "link", "set", "lo", "up"])?;
        ip(&["-n", &ns.name, "link", "add", "v0", "type", "veth", "peer", "name", "v1", "netns", &ns.peer])?;
        ip(&["-n", &ns.name, "addr", "add", "192.0.2.1/24", "dev", "v0"])?;
        ip(&["-n", &ns.name, "link", "set", "v0", "up"])?;
        ip(&["-n", &ns.peer, "link", "set", "v1", "up"])?;
        ip(&["-n", &ns.name, "route", "add", "224.0.0.0/4", "dev", "v0"])?;
        Ok(ns)
    }

    /// Runs `program` with `args` inside the namespace, with `env` set.
    pub fn run(&self, program: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).arg(program).args(args);
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().expect("ip netns exec runs")
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.name]);
        let _ = ip(&["netns", "del", &self.peer]);
    }
}
