//! Host side of lifecycle: makes bootable disk images of the kernel and boots
//! them in QEMU. The runner (`src/main.rs`) and the test suite (`tests/`) both
//! use it:
//!
//! ```no_run
//! use boot::{Firmware, ImageSpec, RunSpec, build_image, run_qemu};
//!
//! let image = build_image(&ImageSpec::new(Firmware::Bios))?;
//! let mut run = RunSpec::new(image, Firmware::Bios);
//! run.cmdline = "ktest".into();
//! let outcome = run_qemu(&run)?;
//! println!("{}", outcome.exit);
//! # Ok::<(), std::io::Error>(())
//! ```

mod code_page;
pub mod cpio;
pub mod gdb;
mod image;
mod qemu;
pub mod timeline_svg;
pub mod trace;

pub use image::{Firmware, Image, ImageSpec, KERNEL, build_image};
pub use qemu::{Console, Exit, OVMF, Outcome, POLL_EVERY, QEMU, RunSpec, Typing, run_qemu};
