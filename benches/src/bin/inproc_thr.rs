//! `inproc_thr <message-size> <message-count>`: libsock's build of libzmq's `inproc_thr`.
//! PULL binds `inproc://thr_test` in the main thread, a PUSH on a second thread of the same
//! context sends; prints libzmq's four lines.

use benches::perf::{self, Stopwatch};

fn main() {
    let a = perf::args_or_usage("usage: inproc_thr <message-size> <message-count>", 2, 2);
    let size = perf::positive(&a[0], "message size");
    let count = perf::positive(&a[1], "message count");
    let ctx = libsock::Context::new();
    let s = ctx.socket(libsock::PULL).unwrap_or_else(|e| perf::fail("zmq_socket", e));
    s.bind("inproc://thr_test").unwrap_or_else(|e| perf::fail("zmq_bind", e));
    let worker_ctx = ctx.clone();
    let worker = std::thread::spawn(move || {
        let s = worker_ctx.socket(libsock::PUSH).unwrap_or_else(|e| perf::fail("zmq_socket", e));
        s.connect("inproc://thr_test").unwrap_or_else(|e| perf::fail("zmq_connect", e));
        // A fresh message per send, as libzmq's tool makes with zmq_msg_init_size (content
        // unspecified, not written): copying a body from a slice was work the C tool does
        // not do, which made the C layer look cheaper against this twin than it is.
        for _ in 0..count {
            s.send(libsock::Message::for_overwrite(size), 0).unwrap_or_else(|e| perf::fail("zmq_sendmsg", e));
        }
    });
    perf::print_thr_head(size, count);
    let recv = || s.recv_msg(0).unwrap_or_else(|e| perf::fail("zmq_recvmsg", e));
    perf::check_size(recv().len(), size);
    let watch = Stopwatch::start();
    for _ in 1..count {
        perf::check_size(recv().len(), size);
    }
    let elapsed = watch.stop_us();
    worker.join().unwrap_or_else(|_| perf::fail("pthread_join", "worker panicked"));
    perf::print_thr_inproc(size, count, elapsed);
}
