/* Thread-safe draft sockets through zmq.h (ZMQ_BUILD_DRAFT_API): several pthreads share one
 * CLIENT and one SERVER handle, as libzmq allows; ZMQ_THREAD_SAFE reads 1, ZMQ_FD is EINVAL;
 * a thread blocked in recv does not hold up a send on the same socket; zmq_poll takes them;
 * a thread joins a group on a DISH while another is blocked receiving on it;
 * zmq_ctx_shutdown wakes every thread blocked on one socket with ETERM. */
#define ZMQ_BUILD_DRAFT_API
#include "testutil.h"
#include <pthread.h>
#include <stdint.h>
#include <unistd.h>

#define SENDERS 4
#define PER_SENDER 50
#define SERVERS 3

static void *server;
static void *client;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int seen[SENDERS][PER_SENDER];

/* Answers every request on the shared SERVER with "r" + the request, to its sender; stops
 * at "stop" (one per serving thread). */
static void *serve (void *arg)
{
    (void) arg;
    for (;;) {
        zmq_msg_t msg;
        OK (zmq_msg_init (&msg));
        int n = zmq_msg_recv (&msg, server, 0);
        CHECK (n >= 0);
        if (n == 4 && memcmp (zmq_msg_data (&msg), "stop", 4) == 0) {
            OK (zmq_msg_close (&msg));
            return NULL;
        }
        uint32_t id = zmq_msg_routing_id (&msg);
        CHECK (id != 0);
        char reply[64];
        CHECK (n < (int) sizeof reply - 1);
        reply[0] = 'r';
        memcpy (reply + 1, zmq_msg_data (&msg), n);
        OK (zmq_msg_close (&msg));
        zmq_msg_t out;
        OK (zmq_msg_init_size (&out, n + 1));
        memcpy (zmq_msg_data (&out), reply, n + 1);
        OK (zmq_msg_set_routing_id (&out, id));
        CHECK (zmq_msg_send (&out, server, 0) == n + 1);
    }
}

/* Sends PER_SENDER requests "<sender> <i>" on the shared CLIENT. */
static void *send_requests (void *arg)
{
    int sender = (int) (intptr_t) arg;
    for (int i = 0; i < PER_SENDER; i++) {
        char req[32];
        snprintf (req, sizeof req, "%d %d", sender, i);
        send_str (client, req, 0);
    }
    return NULL;
}

/* Receives `count` replies on the shared CLIENT and marks each one seen. */
static void *collect (void *arg)
{
    int count = (int) (intptr_t) arg;
    for (int k = 0; k < count; k++) {
        char buf[64];
        int n = zmq_recv (client, buf, sizeof buf - 1, 0);
        CHECK (n > 1 && n < (int) sizeof buf - 1);
        buf[n] = 0;
        int sender = -1, i = -1;
        CHECK (sscanf (buf, "r%d %d", &sender, &i) == 2);
        CHECK (sender >= 0 && sender < SENDERS && i >= 0 && i < PER_SENDER);
        pthread_mutex_lock (&lock);
        seen[sender][i]++;
        pthread_mutex_unlock (&lock);
    }
    return NULL;
}

/* Blocks in recv on `arg` until the context shuts down. */
static void *blocked_until_term (void *arg)
{
    char buf[8];
    FAILS (zmq_recv (arg, buf, sizeof buf, 0), ETERM);
    return NULL;
}

static volatile int dish_got;

/* Receives one message on the DISH `arg` (blocking) and checks its group. */
static void *dish_recv (void *arg)
{
    zmq_msg_t msg;
    OK (zmq_msg_init (&msg));
    CHECK (zmq_msg_recv (&msg, arg, 0) == 5);
    CHECK (strcmp (zmq_msg_group (&msg), "news") == 0);
    OK (zmq_msg_close (&msg));
    __atomic_store_n (&dish_got, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/* zmq_join on a DISH from this thread while another thread is blocked in its recv. */
static void join_while_receiving (void *ctx)
{
    void *radio = zmq_socket (ctx, ZMQ_RADIO);
    void *dish = zmq_socket (ctx, ZMQ_DISH);
    CHECK (radio && dish);
    char ep[256];
    bind_tcp (dish, ep, sizeof ep);
    OK (zmq_connect (radio, ep));
    pthread_t t;
    CHECK (pthread_create (&t, NULL, dish_recv, dish) == 0);
    OK (zmq_join (dish, "news"));
    FAILS (zmq_join (dish, "news"), EINVAL);
    /* The join reaches the RADIO some time later; it drops what nobody joined until then. */
    for (int i = 0; !__atomic_load_n (&dish_got, __ATOMIC_SEQ_CST); i++) {
        CHECK (i < 6000);
        zmq_msg_t msg;
        OK (zmq_msg_init_size (&msg, 5));
        memcpy (zmq_msg_data (&msg), "hello", 5);
        OK (zmq_msg_set_group (&msg, "news"));
        CHECK (zmq_msg_send (&msg, radio, 0) == 5);
        usleep (10000);
    }
    CHECK (pthread_join (t, NULL) == 0);
    OK (zmq_leave (dish, "news"));
    int linger = 0;
    OK (zmq_setsockopt (radio, ZMQ_LINGER, &linger, sizeof linger));
    OK (zmq_close (radio));
    OK (zmq_close (dish));
}

static int get_int (void *s, int option)
{
    int v = -1;
    size_t len = sizeof v;
    OK (zmq_getsockopt (s, option, &v, &len));
    return v;
}

static void options (void *ctx)
{
    int types[] = {ZMQ_SERVER, ZMQ_CLIENT, ZMQ_RADIO, ZMQ_DISH, ZMQ_GATHER, ZMQ_SCATTER};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        void *s = zmq_socket (ctx, types[i]);
        CHECK (s);
        CHECK (get_int (s, ZMQ_THREAD_SAFE) == 1);
        CHECK (get_int (s, ZMQ_TYPE) == types[i]);
        int fd;
        size_t len = sizeof fd;
        FAILS (zmq_getsockopt (s, ZMQ_FD, &fd, &len), EINVAL);
        int hwm = 7;
        OK (zmq_setsockopt (s, ZMQ_SNDHWM, &hwm, sizeof hwm));
        CHECK (get_int (s, ZMQ_SNDHWM) == 7);
        FAILS (zmq_proxy (s, s, NULL), ENOTSUP);
        OK (zmq_close (s));
    }
    void *pair = zmq_socket (ctx, ZMQ_PAIR);
    CHECK (get_int (pair, ZMQ_THREAD_SAFE) == 0);
    OK (zmq_close (pair));
}

int main (void)
{
    void *ctx = zmq_ctx_new ();
    CHECK (ctx);
    options (ctx);
    join_while_receiving (ctx);

    server = zmq_socket (ctx, ZMQ_SERVER);
    client = zmq_socket (ctx, ZMQ_CLIENT);
    CHECK (server && client);
    char ep[256];
    bind_tcp (server, ep, sizeof ep);
    OK (zmq_connect (client, ep));

    /* A thread blocked in recv on the CLIENT does not hold up this thread's send on it. */
    pthread_t waiter;
    CHECK (pthread_create (&waiter, NULL, collect, (void *) (intptr_t) 1) == 0);
    zmq_pollitem_t item = {server, 0, ZMQ_POLLIN, 0};
    send_str (client, "0 0", 0);
    CHECK (zmq_poll (&item, 1, -1) == 1);
    CHECK (item.revents == ZMQ_POLLIN);
    pthread_t t[SERVERS + SENDERS + 2];
    CHECK (pthread_create (&t[0], NULL, serve, NULL) == 0);
    CHECK (pthread_join (waiter, NULL) == 0);
    CHECK (seen[0][0] == 1);
    seen[0][0] = 0;

    /* SERVERS threads serve one SERVER while SENDERS threads send on one CLIENT and two
     * more receive the replies on it. */
    for (int i = 1; i < SERVERS; i++)
        CHECK (pthread_create (&t[i], NULL, serve, NULL) == 0);
    for (int i = 0; i < SENDERS; i++)
        CHECK (pthread_create (&t[SERVERS + i], NULL, send_requests, (void *) (intptr_t) i) == 0);
    int total = SENDERS * PER_SENDER;
    CHECK (pthread_create (&t[SERVERS + SENDERS], NULL, collect, (void *) (intptr_t) (total / 2)) == 0);
    CHECK (pthread_create (&t[SERVERS + SENDERS + 1], NULL, collect,
                           (void *) (intptr_t) (total - total / 2))
           == 0);
    for (int i = SERVERS; i < SERVERS + SENDERS + 2; i++)
        CHECK (pthread_join (t[i], NULL) == 0);
    for (int s = 0; s < SENDERS; s++)
        for (int i = 0; i < PER_SENDER; i++)
            CHECK (seen[s][i] == 1);
    for (int i = 0; i < SERVERS; i++)
        send_str (client, "stop", 0);
    for (int i = 0; i < SERVERS; i++)
        CHECK (pthread_join (t[i], NULL) == 0);

    /* Nothing left: the CLIENT polls writable, not readable. */
    zmq_pollitem_t both = {client, 0, ZMQ_POLLIN | ZMQ_POLLOUT, 0};
    CHECK (zmq_poll (&both, 1, 0) == 1);
    CHECK (both.revents == ZMQ_POLLOUT);

    /* Shutdown wakes every thread blocked on the shared socket. */
    pthread_t blocked[3];
    for (int i = 0; i < 3; i++)
        CHECK (pthread_create (&blocked[i], NULL, blocked_until_term, client) == 0);
    OK (zmq_ctx_shutdown (ctx));
    for (int i = 0; i < 3; i++)
        CHECK (pthread_join (blocked[i], NULL) == 0);
    OK (zmq_close (client));
    OK (zmq_close (server));
    OK (zmq_ctx_term (ctx));
    return 0;
}
