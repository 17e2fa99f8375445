//! Enables the AVX-512 kernels only on compilers where
//! `#[target_feature(enable = "avx512f")]` is stable (Rust 1.89+); older
//! compilers (down to the crate's rust-version) use the AVX2 kernels.

use std::process::Command;

fn main() {
    println!("cargo:rustc-check-cfg=cfg(focal_avx512)");
    println!("cargo:rerun-if-changed=build.rs");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let minor = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|v| v.split('.').nth(1).and_then(|m| m.parse::<u32>().ok()));
    if minor.is_some_and(|m| m >= 89) {
        println!("cargo:rustc-cfg=focal_avx512");
    }
}
