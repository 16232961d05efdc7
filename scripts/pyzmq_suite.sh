#!/usr/bin/env bash
# pyzmq's own test suite on libsock: Debian's python3-zmq (pyzmq 24, a Cython build linked
# against libzmq.so.5, which ships its tests) loads libsock through the drop-in name.
#
#   bash scripts/pyzmq_suite.sh [--libzmq] [pytest args...]
#
#   --libzmq   run on the system's libzmq instead (the baseline; needs libzmq5)
#
# Downloads the package with apt-get (no install) into target/pyzmq-deb, installs pytest,
# pytest-timeout, tornado, numpy and gevent with pip if missing, builds libsock.so (release)
# and points LD_LIBRARY_PATH at a directory where libzmq.so.5 is libsock. test_cython needs Cython
# and a compiler at test time and is left out. Needs a python3 of the package's version
# (3.11 on Debian 12). Not in CI: see README's C section.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

use_libzmq=0
if [[ ${1:-} == --libzmq ]]; then
    use_libzmq=1
    shift
fi

deb_dir=$root/target/pyzmq-deb
site=$deb_dir/usr/lib/python3/dist-packages
if [[ ! -d $site/zmq/tests ]]; then
    mkdir -p "$deb_dir/download"
    (cd "$deb_dir/download" && apt-get download python3-zmq)
    dpkg -x "$deb_dir"/download/python3-zmq_*.deb "$deb_dir"
fi
want=$(find "$site/zmq/backend/cython" -name 'context.cpython-*.so' | sed 's/.*cpython-\([0-9]*\).*/\1/' | head -n 1)
have=$(python3 -c 'import sys; print(f"{sys.version_info.major}{sys.version_info.minor}")')
if [[ $want != "$have" ]]; then
    echo "pyzmq_suite: python3 is $have, Debian's python3-zmq is built for $want" >&2
    exit 1
fi
# tornado, numpy and gevent are optional for pyzmq: without them zmq.green's tests,
# test_future, test_ioloop, test_zmqstream and the buffer tests skip (about 100 tests, many
# driving ZMQ_FD/ZMQ_EVENTS from an event loop).
python3 -c 'import pytest, pytest_timeout, tornado, numpy, gevent' 2>/dev/null \
    || python3 -m pip install --quiet pytest pytest-timeout tornado numpy gevent 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages pytest pytest-timeout tornado numpy gevent

lib_path=
if ((use_libzmq == 0)); then
    cargo build --release -p libsock-bindings
    compat=$root/target/pyzmq-compat
    mkdir -p "$compat"
    ln -sf "$root/target/release/libsock.so" "$compat/libzmq.so.5"
    lib_path=$compat
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
LD_LIBRARY_PATH=$lib_path PYTHONPATH=$site python3 -c \
    'import zmq; print("pyzmq", zmq.pyzmq_version(), "on", zmq.__file__, "- libzmq API", zmq.zmq_version())'
LD_LIBRARY_PATH=$lib_path PYTHONPATH=$site python3 -m pytest "$site/zmq/tests" -p no:cacheprovider \
    --timeout=30 -k 'not test_cython' -q "$@"
