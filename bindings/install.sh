#!/usr/bin/env bash
# Installs libsock's C library under a prefix:
#
#   bindings/install.sh PREFIX [--lib-from DIR] [--zmq-compat]
#
#   PREFIX/lib/libsock.so.0.1.0, libsock.so.0, libsock.so, libsock.a
#   PREFIX/lib/pkgconfig/libsock.pc          (pkg-config --cflags --libs libsock)
#   PREFIX/include/zmq.h, zmq_utils.h
#
# Builds `cargo build --release -p libsock-bindings` first, unless --lib-from DIR names a
# directory that already holds libsock.so and libsock.a.
#
# --zmq-compat also installs PREFIX/lib/libsock-compat/libzmq.so.5 -> libsock, so a program
# already linked against libzmq runs on libsock with
#   LD_LIBRARY_PATH=PREFIX/lib/libsock-compat ./program
# (kept in its own directory so it never shadows a real libzmq by accident).
set -euo pipefail

usage() { echo "usage: $0 PREFIX [--lib-from DIR] [--zmq-compat]" >&2; exit 2; }
[[ $# -ge 1 ]] || usage
prefix=$1
shift
lib_from=""
zmq_compat=0
while [[ $# -gt 0 ]]; do
    case $1 in
        --lib-from) [[ $# -ge 2 ]] || usage; lib_from=$2; shift 2 ;;
        --zmq-compat) zmq_compat=1; shift ;;
        -h|--help) usage ;;
        *) echo "install.sh: unknown argument: $1" >&2; usage ;;
    esac
done

here=$(cd "$(dirname "$0")" && pwd)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$here/../Cargo.toml" | head -n 1)
if [[ -z $lib_from ]]; then
    (cd "$here/.." && cargo build --release -p libsock-bindings)
    target_dir=$(cd "$here/.." && cargo metadata --format-version 1 --no-deps |
        sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
    lib_from="$target_dir/release"
fi
for f in libsock.so libsock.a; do
    [[ -f $lib_from/$f ]] || { echo "install.sh: $lib_from/$f not found" >&2; exit 1; }
done

mkdir -p "$prefix/lib/pkgconfig" "$prefix/include"
prefix=$(cd "$prefix" && pwd)
libdir="$prefix/lib"
install -m 0755 "$lib_from/libsock.so" "$libdir/libsock.so.$version"
ln -sf "libsock.so.$version" "$libdir/libsock.so.0"
ln -sf "libsock.so.0" "$libdir/libsock.so"
install -m 0644 "$lib_from/libsock.a" "$libdir/libsock.a"
install -m 0644 "$here/include/zmq.h" "$here/include/zmq_utils.h" "$prefix/include/"
sed -e "s|@PREFIX@|$prefix|" -e "s|@LIBDIR@|$libdir|" -e "s|@VERSION@|$version|" \
    "$here/libsock.pc.in" >"$libdir/pkgconfig/libsock.pc"
if [[ $zmq_compat -eq 1 ]]; then
    mkdir -p "$libdir/libsock-compat"
    ln -sf "../libsock.so.$version" "$libdir/libsock-compat/libzmq.so.5"
fi
echo "installed libsock $version under $prefix"
