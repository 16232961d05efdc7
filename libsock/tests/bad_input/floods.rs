//! Many hostile connections at once: a flood of garbage, and random bytes after a greeting prefix.

use super::*;

// ---------------------------------------------------------------------------------------------
// (9) A flood of garbage connections while the good peer talks

#[test]
fn flood_of_garbage_connections() {
    const CONNS: usize = 200;
    const THREADS: usize = 4;
    const GOOD_MSGS: usize = 300;
    let bench = Bench::tcp(PULL, no_config);
    let _memory = MEMORY.lock().unwrap_or_else(|e| e.into_inner());
    let rss_before = vm_rss_kib();
    let endpoint = bench.endpoint.clone();
    let Bench { _ctx, bound, good, .. } = bench;

    let sender = std::thread::spawn(move || {
        for i in 0..GOOD_MSGS {
            good.send(format!("flood-good-{i}"), 0).unwrap();
            if i % 10 == 0 {
                std::thread::sleep(ms(1));
            }
        }
        good
    });
    let attackers: Vec<_> = (0..THREADS)
        .map(|_| {
            let endpoint = endpoint.clone();
            std::thread::spawn(move || {
                let mut streams: Vec<TcpStream> = (0..CONNS / THREADS)
                    .map(|_| {
                        let mut s = raw_tcp(&endpoint);
                        send_raw(&mut s, GARBAGE);
                        s
                    })
                    .collect();
                streams
                    .iter_mut()
                    .map(|s| {
                        let name = s.log_name();
                        expect_closed(s, Duration::from_secs(3));
                        name
                    })
                    .collect::<Vec<String>>()
            })
        })
        .collect();

    for i in 0..GOOD_MSGS {
        let got =
            bound.recv_multipart(0).unwrap_or_else(|e| panic!("good message {i} lost during the flood: {e}"));
        assert_eq!(got, vec![format!("flood-good-{i}").into_bytes()]);
    }
    let names: Vec<String> = attackers.into_iter().flat_map(|t| t.join().unwrap()).collect();
    let good = sender.join().unwrap();
    assert_eq!(names.len(), CONNS);

    // Every one of them was logged, with its reason.
    let deadline = Instant::now() + ms(2000);
    loop {
        let text = log_text();
        let logged: std::collections::HashSet<&str> = text
            .lines()
            .filter(|l| l.contains(" WARN ") && l.contains("bad greeting signature"))
            .flat_map(|l| l.split_whitespace())
            .filter_map(|t| t.strip_prefix("endpoint="))
            .collect();
        let missing: Vec<&String> = names.iter().filter(|n| !logged.contains(n.as_str())).collect();
        if missing.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "no log line for {missing:?}");
        std::thread::sleep(ms(20));
    }

    let mut bench = Bench { _ctx, bound, good, endpoint, bound_receives: true, round: 100 };
    bench.served("after the flood");
    let rss_after = vm_rss_kib();
    assert!(rss_after < rss_before + 50 * 1024, "VmRSS grew from {rss_before} KiB to {rss_after} KiB");
}

// ---------------------------------------------------------------------------------------------
// Randomized: a valid greeting prefix, then random bytes

/// 200 connections, each a prefix of a valid greeting (sometimes all of it) then random bytes,
/// then EOF. Every connection is closed and logged, the good peer is served throughout and no
/// random byte surfaces as a message.
fn random_bytes_after_greeting_prefix(seed: u64, configure: impl FnOnce(&Socket)) {
    const CONNS: usize = 200;
    const THREADS: u64 = 4;
    let mut bench = Bench::tcp(PULL, configure);
    let _memory = MEMORY.lock().unwrap_or_else(|e| e.into_inner());
    let rss_before = vm_rss_kib();
    let endpoint = bench.endpoint.clone();
    let attackers: Vec<_> = (0..THREADS)
        .map(|t| {
            let endpoint = endpoint.clone();
            std::thread::spawn(move || {
                let mut rng = XorShift(seed ^ (t + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
                let full = greeting();
                (0..CONNS as u64 / THREADS)
                    .map(|_| {
                        let keep = match rng.below(3) {
                            0 => 64,
                            _ => rng.below(65) as usize,
                        };
                        let mut bytes = full[..keep].to_vec();
                        let n = rng.below(300) as usize;
                        bytes.extend_from_slice(&rng.bytes(n));
                        let mut s = raw_tcp(&endpoint);
                        let name = s.log_name();
                        send_raw(&mut s, &bytes);
                        s.shut_write();
                        expect_closed(&mut s, Duration::from_secs(3));
                        (name, bytes)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    // The good peer is served while the attack runs...
    for _ in 0..5 {
        bench.served("during the random attack");
    }
    let conns: Vec<(String, Vec<u8>)> = attackers.into_iter().flat_map(|t| t.join().unwrap()).collect();
    assert_eq!(conns.len(), CONNS);
    // ...and after it; nothing random came through.
    bench.served("after the random attack");
    // Each connection's end is logged at INFO or WARN.
    let deadline = Instant::now() + ms(2000);
    loop {
        let text = log_text();
        let logged: std::collections::HashSet<&str> = text
            .lines()
            .filter(|l| l.contains(" WARN ") || l.contains(" INFO "))
            .flat_map(|l| l.split_whitespace())
            .filter_map(|t| t.strip_prefix("endpoint="))
            .collect();
        let missing: Vec<_> = conns.iter().filter(|(n, _)| !logged.contains(n.as_str())).collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no INFO/WARN line for {} connections, e.g. {:?}",
            missing.len(),
            missing[0]
        );
        std::thread::sleep(ms(20));
    }
    let rss_after = vm_rss_kib();
    assert!(rss_after < rss_before + 50 * 1024, "VmRSS grew from {rss_before} KiB to {rss_after} KiB");
}

#[test]
fn random_bytes_after_greeting_prefix_with_maxmsgsize() {
    random_bytes_after_greeting_prefix(0x5EED_0001, |s| s.set_maxmsgsize(1 << 20).unwrap());
}

#[test]
fn random_bytes_after_greeting_prefix_default_options() {
    in_child_process("floods::random_bytes_after_greeting_prefix_default_options", || {
        random_bytes_after_greeting_prefix(0x5EED_0002, no_config)
    });
}
