//! Tells the crate where two things are:
//! - `OUT_DIR`, where run-time disk images are cached (see `image.rs`);
//! - `LLVM_OBJCOPY`, the pinned toolchain's llvm-objcopy (the `llvm-tools`
//!   component in rust-toolchain.toml), which strips debug info from the
//!   kernel before it goes into an image: the BIOS loader reads the whole ELF
//!   through real-mode disk calls, and a 9 MiB ELF takes 6 s of a 8 s boot.
//!
//! The images are not made here. `bootloader` as a build-dependency as well as a
//! normal one (needed for ramdisk images at run time) builds its five bootloader
//! stages twice, which doubled the cold `cargo build -p boot --release` (4 → 8.5 min).

use std::path::PathBuf;
use std::process::Command;
use std::{env, str};

fn main() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .expect("rustc --print sysroot");
    let sysroot = str::from_utf8(&sysroot.stdout)
        .expect("sysroot is UTF-8")
        .trim();
    let host = env::var("HOST").expect("cargo sets HOST for build scripts");
    let objcopy: PathBuf = [sysroot, "lib", "rustlib", &host, "bin", "llvm-objcopy"]
        .iter()
        .collect();
    println!("cargo:rustc-env=LLVM_OBJCOPY={}", objcopy.display());
    println!("cargo:rerun-if-changed=build.rs");
}
