//! `bound_push_thr <bind-to> <message-size> <message-count>`: the flood of `local_thr` and
//! `remote_thr` with bind and connect swapped. The PUSH binds (over `ws://` and `wss://` it is
//! the listening side, whose frames go unmasked: the path a server publishing to browsers
//! takes), a PULL on a second thread with a context of its own connects; one process, so
//! the CPU line counts both sides (every thread, user and system). Prints libzmq's
//! `inproc_thr` lines and that CPU per message.

use benches::perf::{self, Stopwatch};

fn main() {
    let a = perf::args_or_usage("usage: bound_push_thr <bind-to> <message-size> <message-count>", 3, 3);
    let size = perf::positive(&a[1], "message size");
    let count = perf::positive(&a[2], "message count");
    let ctx = libsock::Context::new();
    let push = ctx.socket(libsock::PUSH).unwrap_or_else(|e| perf::fail("zmq_socket", e));
    perf::wss_bind(&push, &a[0]);
    push.bind(&a[0]).unwrap_or_else(|e| perf::fail("zmq_bind", e));
    let endpoint = push.get_last_endpoint().unwrap_or_else(|e| perf::fail("zmq_getsockopt", e));
    let cpu = || benches::cpu::process_cpu_secs().unwrap_or_else(|e| perf::fail("/proc/self/stat", e));
    let cpu_before = cpu();
    let receiver = std::thread::spawn(move || {
        let pull =
            libsock::Context::new().socket(libsock::PULL).unwrap_or_else(|e| perf::fail("zmq_socket", e));
        perf::wss_connect(&pull, &endpoint);
        pull.connect(&endpoint).unwrap_or_else(|e| perf::fail("zmq_connect", e));
        let recv = || pull.recv_msg(0).unwrap_or_else(|e| perf::fail("zmq_recvmsg", e));
        perf::check_size(recv().len(), size);
        let watch = Stopwatch::start();
        for _ in 1..count {
            perf::check_size(recv().len(), size);
        }
        watch.stop_us()
    });
    perf::print_thr_head(size, count);
    // A fresh message per send, as libzmq's tool makes with zmq_msg_init_size.
    for _ in 0..count {
        push.send(libsock::Message::for_overwrite(size), 0).unwrap_or_else(|e| perf::fail("zmq_sendmsg", e));
    }
    let elapsed = receiver.join().unwrap_or_else(|_| perf::fail("pthread_join", "receiver panicked"));
    let cpu_used = cpu() - cpu_before;
    perf::print_thr_inproc(size, count, elapsed);
    println!("CPU per message (both sides) [us]: {:.3}", cpu_used * 1e6 / count as f64);
}
