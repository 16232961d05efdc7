/* The platform macros libzmq 4.3.4's CMake generates on Linux (builds/cmake/platform.hpp.in),
   for building libzmq's own test programs against libsock (tests/libzmq_suite.rs): only
   those the tests look at. CURVE is on: libsock has it, like a libzmq built with libsodium;
   so are peer credentials (the deprecated IPC_FILTER_PID/UID/GID options). */
#ifndef __ZMQ_PLATFORM_HPP_INCLUDED__
#define __ZMQ_PLATFORM_HPP_INCLUDED__
#define ZMQ_HAVE_LINUX
#define ZMQ_HAVE_IPC
#define ZMQ_HAVE_UIO
#define ZMQ_HAVE_SO_PEERCRED
#define ZMQ_HAVE_SO_PRIORITY
#define ZMQ_HAVE_SO_KEEPALIVE
#define ZMQ_HAVE_TCP_KEEPCNT
#define ZMQ_HAVE_TCP_KEEPIDLE
#define ZMQ_HAVE_TCP_KEEPINTVL
#define ZMQ_HAVE_CURVE
#define ZMQ_IOTHREAD_POLLER_USE_EPOLL
#define ZMQ_POLL_BASED_ON_POLL
#define HAVE_STRNLEN
#endif
