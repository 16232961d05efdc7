//! Gives the shared library the soname `libsock.so.0`, so programs linked against it record
//! that name (the install script provides the `libsock.so.0` and `libsock.so` links).

fn main() {
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if target_os == "linux" || target_os.ends_with("bsd") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libsock.so.0");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
