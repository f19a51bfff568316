// Gives the shared library a SONAME, so an installed libwsprune.so.X.Y.Z is
// found by programs linked against libwsprune.so.<major> (see `make install`).
fn main() {
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libwsprune.so.{major}");
    println!("cargo:rerun-if-changed=build.rs");
}
