//! RADIO/DISH on the wire, against crafted ZMTP 3.1 peers that send and expect the bytes
//! libzmq 4.3 does (`radio.cpp`, `dish.cpp`): a DISH sends `JOIN`/`LEAVE` commands, a RADIO
//! sends each message as a group frame (MORE) and a body frame.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use libsock::{Context, Message, OptionValue, SocketOption, DISH, RADIO};

const MORE: u8 = 1;
const COMMAND: u8 = 4;

fn frame(flags: u8, body: &[u8]) -> Vec<u8> {
    assert!(body.len() < 256);
    let mut out = vec![flags, body.len() as u8];
    out.extend_from_slice(body);
    out
}

fn read_frame(s: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut head = [0u8; 2];
    s.read_exact(&mut head).expect("a frame header");
    let len = if head[0] & 2 != 0 {
        let mut rest = [0u8; 7];
        s.read_exact(&mut rest).unwrap();
        let mut size = [0u8; 8];
        size[0] = head[1];
        size[1..].copy_from_slice(&rest);
        u64::from_be_bytes(size) as usize
    } else {
        head[1] as usize
    };
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).unwrap();
    (head[0], body)
}

/// Greets as a ZMTP 3.1 NULL peer of type `ours` and checks the peer announces `theirs`.
fn handshake(s: &mut TcpStream, ours: &str, theirs: &str) {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut greeting = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, 1];
    greeting.extend_from_slice(b"NULL");
    greeting.resize(64, 0);
    let mut ready = vec![5];
    ready.extend_from_slice(b"READY");
    ready.push(11);
    ready.extend_from_slice(b"Socket-Type");
    ready.extend_from_slice(&(ours.len() as u32).to_be_bytes());
    ready.extend_from_slice(ours.as_bytes());
    s.write_all(&greeting).unwrap();
    s.write_all(&frame(COMMAND, &ready)).unwrap();
    let mut theirs_greeting = [0u8; 64];
    s.read_exact(&mut theirs_greeting).unwrap();
    assert_eq!(&theirs_greeting[10..12], &[3, 1]);
    let (flags, body) = read_frame(s);
    assert_eq!(flags, COMMAND);
    assert!(body.starts_with(b"\x05READY"));
    let name = theirs.as_bytes();
    assert!(body.windows(name.len()).any(|w| w == name), "peer announces {theirs}");
}

#[test]
fn crafted_dish_joins_a_libsock_radio() {
    let ctx = Context::new();
    let radio = ctx.thread_safe_socket(RADIO).unwrap();
    radio.set_option(SocketOption::LINGER, OptionValue::Int(0)).unwrap();
    radio.bind("tcp://127.0.0.1:*").unwrap();
    let port = radio.get_last_endpoint().unwrap().rsplit(':').next().unwrap().to_string();
    let mut s = TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    handshake(&mut s, "DISH", "RADIO");
    s.write_all(&frame(COMMAND, b"\x04JOINg")).unwrap();
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for i in 0..4000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                for group in ["g", "h"] {
                    let mut m = Message::from(format!("{group}{i}"));
                    m.set_group(group).unwrap();
                    radio.send_msg(m, 0).unwrap();
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        // Two frames per message: the group with MORE, then the body.
        let (flags, group) = read_frame(&mut s);
        assert_eq!((flags, &group[..]), (MORE, &b"g"[..]));
        let (flags, body) = read_frame(&mut s);
        assert_eq!(flags, 0);
        assert!(body.starts_with(b"g"), "{body:?}");
        // LEAVE g then JOIN h: once an h message came, no g message follows.
        s.write_all(&frame(COMMAND, b"\x05LEAVEg")).unwrap();
        s.write_all(&frame(COMMAND, b"\x04JOINh")).unwrap();
        let mut seen_h = 0;
        while seen_h < 3 {
            let (flags, group) = read_frame(&mut s);
            assert_eq!(flags, MORE);
            let (_, body) = read_frame(&mut s);
            assert_eq!(body[0], group[0], "body matches its group");
            if group == b"h" {
                seen_h += 1;
            } else {
                assert_eq!(seen_h, 0, "a g message after leaving g");
            }
        }
        stop.store(true, Ordering::Relaxed);
    });
}

#[test]
fn libsock_dish_joins_a_crafted_radio() {
    let ctx = Context::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let dish = ctx.socket(DISH).unwrap();
    dish.set_linger(0).unwrap();
    dish.set_rcvtimeo(10_000).unwrap();
    dish.join("g").unwrap();
    dish.connect(&format!("tcp://{}", listener.local_addr().unwrap())).unwrap();
    let (mut s, _) = listener.accept().unwrap();
    handshake(&mut s, "RADIO", "DISH");
    // The join made before connecting goes out at the handshake, as a command.
    assert_eq!(read_frame(&mut s), (COMMAND, b"\x04JOINg".to_vec()));
    // Dropped: a frame without a group, a group not joined; delivered: the g message.
    s.write_all(&frame(0, b"no group")).unwrap();
    s.write_all(&frame(MORE, b"h")).unwrap();
    s.write_all(&frame(0, b"not joined")).unwrap();
    s.write_all(&frame(MORE, b"g")).unwrap();
    s.write_all(&frame(0, b"hello")).unwrap();
    let msg = dish.recv_msg(0).unwrap();
    assert_eq!((msg.group(), msg.as_str()), ("g", Some("hello")));
    dish.leave("g").unwrap();
    assert_eq!(read_frame(&mut s), (COMMAND, b"\x05LEAVEg".to_vec()));
}
