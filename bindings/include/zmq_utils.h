/*
 * zmq_utils.h for libsock. Deprecated, as in libzmq 4.3: everything it used to declare is
 * in zmq.h, which this file includes for programs that still include it alone.
 */
#ifndef __ZMQ_UTILS_H_INCLUDED__
#define __ZMQ_UTILS_H_INCLUDED__

#include "zmq.h"

#endif
