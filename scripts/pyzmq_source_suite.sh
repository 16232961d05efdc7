#!/usr/bin/env bash
# The newest pyzmq, compiled from its source release against libsock's zmq.h and linked
# with libsock.so (not the drop-in name: its Cython backend is built on our header), then
# its own test suite.
#
#   bash scripts/pyzmq_source_suite.sh [--libzmq | --draft] [pytest args...]
#
#   --libzmq   build it against the system libzmq instead (the baseline; needs libzmq3-dev)
#   --draft    build libsock with its `draft` feature (in target/pyzmq-source/cargo) and pyzmq
#              with ZMQ_DRAFT_API, so that test_draft runs too (Debian's libzmq has no draft
#              API to compare with)
#
# Works under target/pyzmq-source/: a prefix made by bindings/install.sh (with a libzmq.so
# name for libsock, which pyzmq's CMake looks for), a virtualenv per library, the sdist
# (`pip download --no-binary pyzmq`) and its tests/. Installs pytest, pytest-asyncio,
# pytest-timeout, tornado, numpy and gevent into the virtualenvs with pip. Set
# PYZMQ_VERSION to pin a release. test_cython and test_mypy are left out (they need Cython
# and mypy at test time). Not in CI: see README's C section.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

use_libzmq=0
draft=0
case ${1:-} in
    --libzmq) use_libzmq=1; shift ;;
    --draft) draft=1; shift ;;
esac

work=$root/target/pyzmq-source
mkdir -p "$work"
if ((use_libzmq)); then
    venv=$work/venv-libzmq
    export ZMQ_PREFIX=auto PYZMQ_NO_BUNDLE=1
elif ((draft)); then
    CARGO_TARGET_DIR=$work/cargo cargo build --release -p libsock-bindings --features draft
    prefix=$work/prefix-draft
    bash bindings/install.sh "$prefix" --lib-from "$work/cargo/release" >/dev/null
    ln -sf libsock.so "$prefix/lib/libzmq.so"
    venv=$work/venv-libsock-draft
    export ZMQ_PREFIX=$prefix ZMQ_DRAFT_API=1
else
    cargo build --release -p libsock-bindings
    prefix=$work/prefix
    bash bindings/install.sh "$prefix" --lib-from "$root/target/release" >/dev/null
    ln -sf libsock.so "$prefix/lib/libzmq.so"
    venv=$work/venv-libsock
    export ZMQ_PREFIX=$prefix
fi

if [[ ! -x $venv/bin/python ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet pytest pytest-asyncio pytest-timeout tornado numpy gevent
fi
spec=pyzmq${PYZMQ_VERSION:+==$PYZMQ_VERSION}
rm -rf "$work/sdist" && mkdir -p "$work/sdist"
"$venv/bin/pip" download --quiet --no-deps --no-binary pyzmq "$spec" -d "$work/sdist"
tar -xzf "$work"/sdist/pyzmq-*.tar.gz -C "$work/sdist"
src=$(find "$work/sdist" -maxdepth 1 -type d -name 'pyzmq-*' | head -n 1)
# Rebuilt every time: a cached wheel would hide a change to zmq.h or the library.
"$venv/bin/pip" install --quiet --force-reinstall --no-deps --no-cache-dir --no-binary pyzmq "$src"

# The tests run from a copy, so that `import zmq` finds the built package, not the source.
tests=$(mktemp -d)
trap 'rm -rf "$tests"' EXIT
cp -r "$src/tests" "$src/pytest.ini" "$tests/"
cd "$tests"
"$venv/bin/python" -c \
    'import zmq; print("pyzmq", zmq.pyzmq_version(), "on", zmq.zmq_version(), "curve:", zmq.has("curve"), "draft:", zmq.DRAFT_API)'
ldd "$venv"/lib/python3*/site-packages/zmq/backend/cython/_zmq*.so | grep -E 'libsock|libzmq'
"$venv/bin/python" -m pytest tests -p no:cacheprovider --timeout=60 -q \
    -k 'not test_cython and not test_mypy' "$@"
