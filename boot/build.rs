//! Gives the crate an `OUT_DIR`: run-time disk images are cached there (see `image.rs`).
//!
//! The images are not made here. `bootloader` as a build-dependency as well as a
//! normal one (needed for ramdisk images at run time) builds its five bootloader
//! stages twice, which doubled the cold `cargo build -p boot --release` (4 → 8.5 min).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
}
