//! `--config FILE`: the relay's settings as TOML, with errors that name the file and line.
//!
//! ```toml
//! device = "queue"
//! frontend-bind = ["tcp://*:5559"]
//! backend-bind = ["tcp://*:5560"]
//! control = "ipc:///run/sockdev/queue.ctl"
//! hwm = 5000
//! metrics = "127.0.0.1:9464"
//! frontend-curve-server = "<Z85 secret key>"   # security keys: the flag names, per side
//! backend-plain-server = true
//! backend-plain-user = ["worker:secret"]
//! frontend-wss-cert = "tls/relay_chain.pem"   # wss:// PEM files: relative to this file
//! frontend-wss-key = "tls/relay.key"
//! ```

use std::path::Path;

use super::cli::FileSettings;

/// Reads and checks a config file; the error is one line: `FILE:LINE: what is wrong`.
/// Certificate paths in it are relative to its directory.
pub fn load(path: &Path) -> Result<FileSettings, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("cannot read config {}: {e}", path.display()))?;
    let mut settings = parse(&text).map_err(|e| format!("{}:{e}", path.display()))?;
    settings.anchor_paths(path.parent().unwrap_or(Path::new("")));
    Ok(settings)
}

/// Parses config text; the error is `LINE: what is wrong`.
pub fn parse(text: &str) -> Result<FileSettings, String> {
    toml::from_str(text).map_err(|e: toml::de::Error| {
        let line = e.span().map_or(1, |span| {
            text.as_bytes()[..span.start.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
        });
        // toml's message may span lines (it quotes the source); keep the first.
        let message = e.message().lines().next().unwrap_or("invalid TOML").to_owned();
        format!("{line}: {message}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sockdev::cli::{Args, Device};
    use clap::Parser;

    fn args(line: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("sockdev").chain(line.iter().copied())).unwrap()
    }

    #[test]
    fn flags_win_over_the_file() {
        let file = parse(
            "device = \"streamer\"\nfrontend-bind = [\"tcp://*:1\"]\nbackend-connect = [\"ipc:///x\"]\nhwm = 7\n",
        )
        .unwrap();
        let s = args(&["--hwm", "9", "--frontend-bind", "tcp://*:2"]).settings(file.clone()).unwrap();
        assert_eq!(s.device, Device::Streamer);
        assert_eq!(s.frontend_bind, ["tcp://*:2"]);
        assert_eq!(s.backend_connect, ["ipc:///x"]);
        assert_eq!(s.hwm, 9);
        let s = args(&["queue"]).settings(file).unwrap();
        assert_eq!((s.device, s.hwm), (Device::Queue, 7));
    }

    #[test]
    fn certificate_paths_are_relative_to_the_config_file() {
        // A config beside its certificates (the server's pair, a directory of allowed
        // clients), read from elsewhere: the paths still resolve, and the keys are the files'.
        let dir = tempfile::tempdir().unwrap();
        let (server_public_path, _) = libsock::create_certificates(dir.path(), "relay").unwrap();
        std::fs::create_dir(dir.path().join("clients")).unwrap();
        libsock::create_certificates(dir.path().join("clients"), "alice").unwrap();
        let (_, server_secret) = libsock::load_certificate(dir.path().join("relay.key_secret")).unwrap();
        let (alice, _) = libsock::load_certificate(dir.path().join("clients/alice.key")).unwrap();
        let config = dir.path().join("sockdev.toml");
        std::fs::write(
            &config,
            "device = \"queue\"\nfrontend-bind = [\"tcp://*:1\"]\nbackend-bind = [\"tcp://*:2\"]\n\
             frontend-curve-server = \"relay.key_secret\"\nfrontend-curve-client = [\"clients\"]\n",
        )
        .unwrap();
        let s = args(&[]).settings(load(&config).unwrap()).unwrap();
        let fe = s.frontend_security.resolved("--frontend-").unwrap();
        assert_eq!(fe.curve_server.as_deref(), server_secret.as_deref());
        assert_eq!(fe.curve_client, [alice]);
        assert!(server_public_path.exists());
        // A key written in the file stays a key.
        let (_, secret) = libsock::curve_keypair();
        std::fs::write(&config, format!("device = \"queue\"\nbackend-bind = [\"tcp://*:2\"]\nfrontend-bind = [\"tcp://*:1\"]\nfrontend-curve-server = \"{secret}\"\n")).unwrap();
        let s = args(&[]).settings(load(&config).unwrap()).unwrap();
        assert_eq!(s.frontend_security.curve_server.as_deref(), Some(secret.as_str()));
    }

    #[test]
    fn wss_files_are_relative_to_the_config_file_and_flags_replace_a_sides() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("sockdev.toml");
        std::fs::write(
            &config,
            "device = \"queue\"\nfrontend-bind = [\"wss://*:1/in\"]\nbackend-connect = [\"wss://h:2/out\"]\n\
             frontend-wss-cert = \"tls/chain.pem\"\nfrontend-wss-key = \"/etc/tls/key.pem\"\n\
             backend-wss-trust = \"ca.pem\"\nbackend-wss-hostname = \"h.example\"\n\
             backend-wss-trust-system = true\n",
        )
        .unwrap();
        let s = args(&[]).settings(load(&config).unwrap()).unwrap();
        assert_eq!(s.frontend_wss.cert, Some(dir.path().join("tls/chain.pem")));
        assert_eq!(s.frontend_wss.key, Some("/etc/tls/key.pem".into()));
        assert_eq!(s.backend_wss.trust, Some(dir.path().join("ca.pem")));
        assert_eq!(
            (s.backend_wss.hostname.as_deref(), s.backend_wss.trust_system),
            (Some("h.example"), true)
        );
        // A side's wss flag replaces that side's wss settings from the file, not the other's.
        let s = args(&["--backend-wss-trust", "mine.pem"]).settings(load(&config).unwrap()).unwrap();
        assert_eq!((s.backend_wss.trust, s.backend_wss.hostname), (Some("mine.pem".into()), None));
        assert_eq!(s.frontend_wss.cert, Some(dir.path().join("tls/chain.pem")));
        let e = args(&["--frontend-wss-cert", "c.pem"]).settings(load(&config).unwrap()).unwrap_err();
        assert_eq!(e, "--frontend-wss-cert and --frontend-wss-key go together");
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("device = \"queue\"\nhwm = \"many\"\n").unwrap_err();
        assert!(e.starts_with("2: "), "{e}");
        assert!(!e.contains('\n'), "{e}");
        let e = parse("device = \"queue\"\n\nfrontend-bnid = []\n").unwrap_err();
        assert!(e.starts_with("3: unknown field `frontend-bnid`"), "{e}");
        let e = parse("device = \"router\"\n").unwrap_err();
        assert!(e.starts_with("1: unknown variant `router`"), "{e}");
    }

    #[test]
    fn a_sides_security_flags_replace_the_files() {
        let (_, secret) = libsock::curve_keypair();
        let file = parse(&format!(
            "device = \"queue\"\nfrontend-bind = [\"tcp://*:1\"]\nbackend-bind = [\"tcp://*:2\"]\n\
             frontend-curve-server = \"{secret}\"\nbackend-plain = \"u:p\"\n"
        ))
        .unwrap();
        let s = args(&[]).settings(file.clone()).unwrap();
        assert_eq!(s.frontend_security.curve_server.as_deref(), Some(secret.as_str()));
        assert_eq!(s.backend_security.plain.as_deref(), Some("u:p"));
        // A flag for the frontend replaces the file's frontend security, not the backend's.
        let s = args(&["--frontend-plain", "a:b"]).settings(file).unwrap();
        assert_eq!(s.frontend_security.curve_server, None);
        assert_eq!(s.frontend_security.plain.as_deref(), Some("a:b"));
        assert_eq!(s.backend_security.plain.as_deref(), Some("u:p"));
    }

    #[test]
    fn missing_pieces_are_usage_errors() {
        let e =
            args(&["--frontend-bind", "x", "--backend-bind", "y"]).settings(Default::default()).unwrap_err();
        assert!(e.starts_with("no device"), "{e}");
        let e = args(&["queue", "--frontend-bind", "x"]).settings(Default::default()).unwrap_err();
        assert!(e.contains("backend"), "{e}");
    }
}
