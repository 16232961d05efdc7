//! The SOCKS5 client handshake over arbitrary proxy replies.

use crate::transport::socks::{Socks5, SocksTarget};
use crate::transport::tcp::TcpTarget;

/// Feeds `data` to a SOCKS5 client as the proxy's replies, in chunks whose size the first
/// byte picks; that byte also picks username/password or none, and a target given as IPv4,
/// IPv6 or a name. Must never panic, never hold a whole reply while it waits, and,
/// once the tunnel is up, hand back exactly the bytes that followed the proxy's reply.
pub fn socks_reply(data: &[u8]) {
    let Some((&mode, data)) = data.split_first() else { return };
    let host = ["10.1.2.3", "[::1]", "proxy.example"][usize::from(mode >> 1 & 3) % 3];
    let target = SocksTarget {
        proxy: TcpTarget { host: "127.0.0.1".into(), port: 1080, source: None, ipv6: false },
        host: host.into(),
        port: 5555,
        auth: (mode & 1 != 0).then(|| (b"user".to_vec(), b"secret".to_vec())),
    };
    let mut socks = Socks5::new(target);
    let chunk = usize::from(mode >> 3).max(1);
    let mut fed = 0;
    for piece in data.chunks(chunk) {
        let len = socks.output().len();
        socks.sent(len);
        fed += piece.len();
        match socks.received(piece) {
            // Waiting means fewer bytes than the longest reply (a 255-byte name) are held.
            Ok(None) => assert!(socks.buffered() < 4 + 1 + 255 + 2, "unbounded buffer"),
            Ok(Some(rest)) => {
                assert!(data[..fed].ends_with(&rest), "the tunnel's first bytes are the input's");
                return;
            }
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Valid replies of every shape, whole and cut short, with and without trailing bytes,
    /// and random bytes: so CI runs the target too.
    #[test]
    fn replies_and_garbage_never_panic() {
        let mut name_reply = vec![5, 0, 0, 3, 255];
        name_reply.extend([b'h'; 255]);
        name_reply.extend([0, 80, 9, 9]);
        let replies: [&[u8]; 4] = [
            &[5, 0, 5, 0, 0, 1, 10, 0, 0, 1, 0, 80, 1, 2, 3],
            &[5, 2, 1, 0, 5, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 80],
            &[5, 0, 5, 0, 0, 3],
            &name_reply,
        ];
        for reply in replies {
            for mode in 0..=255u8 {
                let mut data = vec![mode];
                data.extend_from_slice(reply);
                socks_reply(&data);
                data.truncate(data.len() / 2);
                socks_reply(&data);
            }
        }
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 300) as usize;
            let data: Vec<u8> = (0..len).map(|i| (x >> (i % 8 * 8)) as u8 ^ i as u8).collect();
            socks_reply(&data);
        }
    }
}
