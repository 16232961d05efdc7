//! What a DRPC spout and `ReturnResults` read from peers: a client's request frames, a result
//! message on the results socket and the `return-info` text a bolt hands on. Each is parsed or
//! rejected with a message, never a panic; what parses writes back to what parses the same.
#![no_main]

use dataflow::components::drpc::protocol::{self, ReturnInfo};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // Frames split at 0xFF bytes.
    let frames: Vec<Vec<u8>> = data.split(|&b| b == 0xFF).map(<[u8]>::to_vec).collect();
    match protocol::parse_request(frames.clone()) {
        Ok(r) => {
            assert!(r.envelope.len() <= frames.len() - 2);
            let reply = protocol::reply(r.envelope.clone(), protocol::OK, r.args);
            assert_eq!(&reply[..r.envelope.len()], &r.envelope[..]);
        }
        Err((envelope, why)) => {
            assert!(why.starts_with("bad request"));
            assert!(envelope.len() <= frames.len());
        }
    }
    if let Ok((id, token, result)) = protocol::parse_result(frames) {
        let info = ReturnInfo { id, token: String::from_utf8_lossy(&token).into_owned(), ..blank() };
        let again = protocol::parse_result(protocol::result_message(&info, result.clone())).unwrap();
        assert_eq!((again.0, again.2), (id, result));
    }
    if let Ok(text) = std::str::from_utf8(data) {
        match ReturnInfo::parse(text) {
            Ok(info) => assert_eq!(ReturnInfo::parse(&info.to_json()).unwrap(), info),
            Err(why) => assert!(why.starts_with("bad return-info") && why.len() < 1200, "{why}"),
        }
    }
});

fn blank() -> ReturnInfo {
    ReturnInfo { id: 0, token: String::new(), endpoint: String::new(), process: String::new() }
}
