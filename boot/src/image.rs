//! Bootable disk images: the `bootloader` crate wraps the kernel ELF into a
//! BIOS (MBR) or UEFI (GPT) disk; the initramfs travels beside it.
//!
//! Made for a fast boot: the time from QEMU's start to the kernel is mostly
//! firmware and bootloader. The bootloader's BIOS stage 2 copies what it loads
//! into place a byte at a time (about a second per MiB under emulation), so
//! the kernel goes in without its symbols and debug info, and the initramfs
//! does not go through the bootloader at all: the runner hands it to the
//! kernel as a fw_cfg file, which the kernel reads by DMA
//! (kernel/src/arch/x86/fw_cfg.rs). The bootloader's log, at trace level to
//! the serial port and drawn a pixel at a time into the framebuffer, is kept
//! to errors on the serial port unless [`ImageSpec::boot_log`] asks for all.
//!
//! Disk images and packed initramfs directories are cached by content in
//! this crate's `OUT_DIR` under `target/`: a second boot of the same kernel
//! reuses the image. The cache keeps the `KEEP_FILES` most recently used
//! files and deletes older ones.

use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::{Hash, Hasher};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use bootloader::BootConfig;
use bootloader_boot_config::LevelFilter;

use crate::cpio;

/// The kernel ELF that cargo built for this crate (the artifact dependency in
/// `boot/Cargo.toml`). It doubles as the symbol file for gdb.
pub const KERNEL: &str = env!("CARGO_BIN_FILE_KERNEL_kernel");

/// How images are made, as part of the cache key: change it when the recipe
/// changes. The version is the one pinned exactly in `boot/Cargo.toml`.
const RECIPE: &str = "bootloader 0.11.17, kernel --strip-all, boot.json, no ramdisk";

const KEEP_FILES: usize = 16;

/// From the `llvm-tools` component of the pinned toolchain (found by build.rs).
const LLVM_OBJCOPY: &str = env!("LLVM_OBJCOPY");

/// The firmware that starts the bootloader.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Firmware {
    /// Legacy BIOS (SeaBIOS in QEMU), booting from an MBR disk.
    Bios,
    /// UEFI (OVMF in QEMU), booting from a GPT disk.
    Uefi,
}

impl Firmware {
    fn name(self) -> &'static str {
        match self {
            Firmware::Bios => "bios",
            Firmware::Uefi => "uefi",
        }
    }
}

/// What goes into a disk image.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ImageSpec {
    /// BIOS or UEFI disk layout.
    pub firmware: Firmware,
    /// The kernel ELF; [`KERNEL`] unless overridden.
    pub kernel: PathBuf,
    /// The initramfs: a directory (packed into a `newc` cpio archive) or a
    /// ready archive file, used as is. It goes beside the disk, not on it.
    pub ramdisk: Option<PathBuf>,
    /// The bootloader's own log (at trace level, on the serial port and the
    /// framebuffer) instead of its errors alone; slows the boot down.
    pub boot_log: bool,
}

impl ImageSpec {
    /// The cargo-built kernel, no ramdisk.
    pub fn new(firmware: Firmware) -> Self {
        ImageSpec {
            firmware,
            kernel: PathBuf::from(KERNEL),
            ramdisk: None,
            boot_log: false,
        }
    }
}

/// What QEMU boots: the disk and the initramfs archive to hand over with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// The disk image: bootloader and kernel.
    pub disk: PathBuf,
    /// The initramfs as a `newc` cpio archive, if the spec has one.
    pub initrd: Option<PathBuf>,
}

/// Makes the disk image for `spec` and packs its initramfs, or finds them in
/// the cache.
///
/// # Errors
/// Reading the kernel or ramdisk, packing a ramdisk directory, or writing the
/// image failed; the error names the file.
pub fn build_image(spec: &ImageSpec) -> io::Result<Image> {
    let cache = Path::new(env!("OUT_DIR")).join("images");
    fs::create_dir_all(&cache).map_err(|e| context(&cache, e))?;
    let initrd = match &spec.ramdisk {
        Some(dir) if dir.is_dir() => Some(pack_initrd(dir, &cache)?),
        Some(file) => Some(file.clone()),
        None => None,
    };
    let disk = build_disk(spec, &cache)?;
    prune(&cache);
    Ok(Image { disk, initrd })
}

/// The disk image for `spec`: made, or found in the cache.
fn build_disk(spec: &ImageSpec, cache: &Path) -> io::Result<PathBuf> {
    let kernel = loaded_parts(&spec.kernel).map_err(|e| context(&spec.kernel, e))?;
    let key = cache_key(&(RECIPE, spec.firmware, spec.boot_log, &kernel));
    let image = cache.join(format!("{key:016x}-{}.img", spec.firmware.name()));
    if image.is_file() {
        touch(&image);
        return Ok(image);
    }
    // The bootloader crate takes the kernel as a file. The image is written
    // under a temporary name and renamed, so a concurrent boot never sees
    // half of it.
    let kernel_file = strip(&spec.kernel, cache)?;
    let partial = tempfile::Builder::new()
        .suffix(".part")
        .tempfile_in(cache)?;
    create_disk_image(spec, kernel_file.path(), partial.path()).map_err(|e| context(&image, e))?;
    partial
        .persist(&image)
        .map_err(|e| context(&image, e.error))?;
    Ok(image)
}

/// Packs the directory `dir` into a cpio archive in the cache, or finds the
/// same archive there.
fn pack_initrd(dir: &Path, cache: &Path) -> io::Result<PathBuf> {
    let archive = cpio::pack_dir(dir).map_err(|e| context(dir, e))?;
    let path = cache.join(format!("{:016x}.cpio", cache_key(&archive)));
    if path.is_file() {
        touch(&path);
        return Ok(path);
    }
    let mut partial = tempfile::Builder::new()
        .suffix(".part")
        .tempfile_in(cache)?;
    io::Write::write_all(&mut partial, &archive)?;
    partial
        .persist(&path)
        .map_err(|e| context(&path, e.error))?;
    Ok(path)
}

/// Runs the `bootloader` crate's image builder for `spec.firmware`.
fn create_disk_image(spec: &ImageSpec, kernel: &Path, out: &Path) -> io::Result<()> {
    let config = boot_config(spec.boot_log);
    let made = match spec.firmware {
        Firmware::Bios => bootloader::BiosBoot::new(kernel)
            .set_boot_config(&config)
            .create_disk_image(out),
        Firmware::Uefi => bootloader::UefiBoot::new(kernel)
            .set_boot_config(&config)
            .create_disk_image(out),
    };
    made.map_err(|e| io::Error::other(format!("{e:#}")))
}

/// The bootloader's run-time settings (its `boot.json`). Without `boot_log`
/// it reports only errors, and only on the serial port, so that a failing
/// boot still says why; the framebuffer stays untouched.
fn boot_config(boot_log: bool) -> BootConfig {
    let mut config = BootConfig::default();
    config.frame_buffer_logging = boot_log;
    config.serial_logging = true;
    config.log_level = match boot_log {
        true => LevelFilter::Trace,
        false => LevelFilter::Error,
    };
    config
}

fn cache_key(what: &impl Hash) -> u64 {
    let mut hasher = DefaultHasher::new();
    what.hash(&mut hasher);
    hasher.finish()
}

/// Deletes all but the `KEEP_FILES` most recently used images and archives.
/// Best effort: a failure here costs disk space, not correctness.
fn prune(cache: &Path) {
    let Ok(entries) = fs::read_dir(cache) else {
        return;
    };
    let mut images: Vec<(SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            let ext = e.path().extension().map(|ext| ext.to_os_string());
            ext.is_some_and(|ext| ext == "img" || ext == "cpio")
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    images.sort_by_key(|(used, _)| std::cmp::Reverse(*used));
    for (_, old) in images.into_iter().skip(KEEP_FILES) {
        let _ = fs::remove_file(old);
    }
}

/// Copies the kernel without its debug info and symbol table, which the
/// image does not need (gdb reads the original ELF, whose load addresses are
/// the same) and which the BIOS loader would copy a byte at a time.
fn strip(kernel: &Path, dir: &Path) -> io::Result<tempfile::NamedTempFile> {
    let stripped = tempfile::Builder::new().suffix(".elf").tempfile_in(dir)?;
    let status = Command::new(LLVM_OBJCOPY)
        .arg("--strip-all")
        .arg(kernel)
        .arg(stripped.path())
        .status()
        .map_err(|e| io::Error::new(e.kind(), format!("{LLVM_OBJCOPY}: {e}")))?;
    match status.success() {
        true => Ok(stripped),
        false => Err(io::Error::other(format!(
            "{LLVM_OBJCOPY} failed on {}",
            kernel.display()
        ))),
    }
}

/// Marks `image` as just used, for `prune`.
fn touch(image: &Path) {
    let _ = fs::File::options()
        .append(true)
        .open(image)
        .and_then(|f| f.set_modified(SystemTime::now()));
}

/// What of the kernel ELF goes into an image: its header, its program
/// headers and the bytes of its loadable segments, so that the cache key
/// stands for the image without reading the debug info, 15 times larger
/// (reading and hashing all of it took 30 to 60 ms of every boot). A file
/// that is not a 64-bit ELF counts whole.
fn loaded_parts(path: &Path) -> io::Result<Vec<u8>> {
    let mut file = fs::File::open(path)?;
    let mut header = [0; 64];
    if file.read_exact(&mut header).is_err() || header[..5] != *b"\x7fELF\x02" {
        return fs::read(path);
    }
    let phoff = u64::from_le_bytes(field(&header, 0x20)?);
    let phentsize = u64::from(u16::from_le_bytes(field(&header, 0x36)?));
    let phnum = u64::from(u16::from_le_bytes(field(&header, 0x38)?));
    let mut parts = header.to_vec();
    let phdrs = read_at(&mut file, phoff, phentsize.checked_mul(phnum))?;
    for phdr in phdrs.chunks_exact(usize::try_from(phentsize).map_err(bad_elf)?) {
        const PT_LOAD: u32 = 1;
        if u32::from_le_bytes(field(phdr, 0)?) == PT_LOAD {
            let offset = u64::from_le_bytes(field(phdr, 0x08)?);
            let filesz = u64::from_le_bytes(field(phdr, 0x20)?);
            parts.extend_from_slice(&read_at(&mut file, offset, Some(filesz))?);
        }
    }
    parts.extend_from_slice(&phdrs);
    Ok(parts)
}

/// `len` bytes of `file` from `offset`.
fn read_at(file: &mut fs::File, offset: u64, len: Option<u64>) -> io::Result<Vec<u8>> {
    let len = len.ok_or_else(|| bad_elf("size overflows"))?;
    let mut bytes = vec![0; usize::try_from(len).map_err(bad_elf)?];
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(&mut bytes)?;
    Ok(bytes)
}

/// The `N` bytes at `at` in an ELF structure.
fn field<const N: usize>(bytes: &[u8], at: usize) -> io::Result<[u8; N]> {
    bytes
        .get(at..at + N)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| bad_elf("truncated header"))
}

fn bad_elf(why: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("bad ELF: {why}"))
}

fn context(path: &Path, error: io::Error) -> io::Error {
    io::Error::new(error.kind(), format!("{}: {error}", path.display()))
}
