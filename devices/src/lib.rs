//! Devices: proxies and command-line tools built on libsock's public API.
