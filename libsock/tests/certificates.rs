//! CURVE certificate files both ways with pyzmq's `zmq.auth` (czmq's `zcert` format): what
//! pyzmq's `create_certificates` writes, libsock reads; what libsock's writes, pyzmq reads.
//! Skipped, with a message, when python3/pyzmq is absent.

#[path = "support/pyzmq.rs"]
mod pyzmq;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use libsock::{create_certificates, curve_public, load_certificate, load_certificates};

/// Runs `code` in python3 with `zmq` and `zmq.auth` imported; its standard output.
fn python(code: &str) -> String {
    let out =
        Command::new("python3").args(["-c", &format!("import zmq, zmq.auth\n{code}")]).output().unwrap();
    assert!(out.status.success(), "python: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn pyzmq_certificates_are_read_by_libsock() {
    if !pyzmq::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let printed = python(&format!(
        "for name in ('server', 'alice'):\n    \
             pub, sec = zmq.auth.create_certificates('{d}', name)\n    \
             p, s = zmq.auth.load_certificate(sec)\n    \
             print(p.decode(), s.decode())"
    ));
    let pairs: Vec<(String, String)> = printed
        .lines()
        .map(|l| {
            let (p, s) = l.split_once(' ').unwrap();
            (p.to_owned(), s.to_owned())
        })
        .collect();
    for (name, (public, secret)) in ["server", "alice"].iter().zip(&pairs) {
        let secret_cert = dir.path().join(format!("{name}.key_secret"));
        assert_eq!(load_certificate(&secret_cert).unwrap(), (public.clone(), Some(secret.clone())));
        let public_cert = dir.path().join(format!("{name}.key"));
        assert_eq!(load_certificate(&public_cert).unwrap(), (public.clone(), None));
        assert_eq!(curve_public(secret).unwrap(), *public);
    }
    let mut publics: Vec<String> = pairs.iter().map(|(p, _)| p.clone()).collect();
    publics.sort();
    assert_eq!(load_certificates(dir.path()).unwrap(), publics, "the *.key files, not the secrets");
}

#[test]
fn libsock_certificates_are_read_by_pyzmq() {
    if !pyzmq::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (public_path, secret_path) = create_certificates(dir.path(), "bob").unwrap();
    assert_eq!(public_path, dir.path().join("bob.key"));
    assert_eq!(secret_path, dir.path().join("bob.key_secret"));
    let mode = std::fs::metadata(&secret_path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the secret certificate is its owner's only");
    assert!(create_certificates(dir.path(), "bob").is_err(), "never overwrites");
    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("carol.key"), "taken").unwrap();
    assert!(create_certificates(other.path(), "carol").is_err());
    assert!(!other.path().join("carol.key_secret").exists(), "no half pair left behind");
    let (public, secret) = load_certificate(&secret_path).unwrap();
    let printed = python(&format!(
        "p, s = zmq.auth.load_certificate('{}')\nprint(p.decode(), s.decode())\n\
         p, s = zmq.auth.load_certificate('{}')\nprint(p.decode(), s)\n\
         print(sorted(k.decode() for k in zmq.auth.load_certificates('{}')))",
        secret_path.display(),
        public_path.display(),
        dir.path().display()
    ));
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines[0], format!("{public} {}", secret.unwrap()));
    assert_eq!(lines[1], format!("{public} None"));
    assert_eq!(lines[2], format!("['{public}']"));
}

#[test]
fn a_directory_is_read_as_czmq_and_pyzmq_lay_it_out() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // pyzmq's layout: NAME.key and NAME.key_secret.
    let (alice_cert, _) = create_certificates(d, "alice").unwrap();
    let alice = load_certificate(&alice_cert).unwrap().0;
    // czmq's: zcert_save(cert, "client.txt") writes client.txt and client.txt_secret; the
    // zguide's Ironhouse saves the public half as NAME.pub.
    let (bob, bob_secret) = libsock::curve_keypair();
    std::fs::write(d.join("client.txt"), libsock::public_certificate(&bob)).unwrap();
    std::fs::write(d.join("client.txt_secret"), libsock::secret_certificate(&bob, &bob_secret)).unwrap();
    let carol = libsock::curve_keypair().0;
    std::fs::write(d.join("carol.pub"), libsock::public_certificate(&carol)).unwrap();
    // A secret certificate alone is never read (its public key is not admitted).
    let (dave, dave_secret) = libsock::curve_keypair();
    std::fs::write(d.join("dave_secret"), libsock::secret_certificate(&dave, &dave_secret)).unwrap();
    // Files that are not certificates are skipped, as czmq skips them; so are directories
    // and anything too large to be one.
    std::fs::write(d.join("README"), "who is admitted, and why\n").unwrap();
    std::fs::create_dir(d.join("old")).unwrap();
    std::fs::write(d.join("old/erin.key"), libsock::public_certificate(&libsock::curve_keypair().0)).unwrap();
    let big = "#".repeat(100 * 1024) + "\n" + &libsock::public_certificate(&libsock::curve_keypair().0);
    std::fs::write(d.join("huge.txt"), big).unwrap();
    let mut want = vec![alice, bob, carol];
    want.sort();
    assert_eq!(load_certificates(d).unwrap(), want);
    assert!(!load_certificates(d).unwrap().contains(&dave));
    // A broken *.key file is an error naming it (pyzmq raises too), not a silent skip.
    std::fs::write(d.join("broken.key"), "curve\n    public-key = \"short\"\n").unwrap();
    let err = load_certificates(d).unwrap_err().to_string();
    assert!(err.contains("broken.key"), "{err}");
}
