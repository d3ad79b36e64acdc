//! Links the kernel as a static executable at a fixed address in the top
//! 2 GiB (Linux: __START_KERNEL_map), not as the target's default
//! position-independent one: the BIOS loader copies the image a byte at a
//! time, and a PIE carries 86 KB of relocations (`.rela.dyn`) that the
//! loader would copy and then apply.

fn main() {
    for arg in ["--no-pie", "--image-base=0xffffffff80000000"] {
        println!("cargo:rustc-link-arg-bin=kernel={arg}");
    }
}
