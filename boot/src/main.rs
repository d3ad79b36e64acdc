//! The runner: `cargo run -p boot --release -- [OPTIONS]` boots the kernel in
//! QEMU with its serial console on this terminal. See `USAGE`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use boot::{Console, Exit, Firmware, ImageSpec, RunSpec};

const USAGE: &str = "\
Usage: cargo run -p boot --release -- [OPTIONS]

Boots the lifecycle kernel in QEMU; its serial console (COM1) is this terminal.

Options:
  --bios            boot through legacy BIOS (default)
  --uefi            boot through UEFI (OVMF)
  --initrd PATH     initramfs: a directory (packed as a newc cpio archive)
                    or a ready cpio archive, used as is
  --append ARGS     kernel command line, e.g. --append ktest or --append lkdtm=PANIC
  --timeout SECS    stop QEMU after SECS seconds and fail (default: no limit)
  --smp N           number of CPUs (default 1)
  --memory MIB      guest memory in MiB (default 256)
  --icount          count instructions instead of time (QEMU's -icount
                    shift=0): each instruction is 1 ns and one TSC cycle, so
                    `make bench`'s numbers repeat exactly; one host thread
                    for all CPUs
  --cpu MODEL       QEMU CPU model, e.g. max for SMEP, SMAP and UMIP
                    (default: QEMU's qemu64)
  --gdb             start halted and wait for gdb on localhost:1234
  --trace FILE      boot with `trace` and write the lifecycle timeline to FILE
                    as Chrome trace JSON (open it in ui.perfetto.dev), and
                    draw it as an SVG picture beside it (extension .svg)
  --kernel PATH     boot this kernel ELF instead of the one cargo built
  --boot-log        show the bootloader's own log (trace level, on the serial
                    port and the screen); it slows the boot down by seconds
  -h, --help        print this help

Exit status: 0 if the kernel reports success or you quit QEMU with Ctrl-A x,
1 if the run fails in any way (kernel failure, triple fault, timeout, QEMU
error), 2 for bad options. Ctrl-A x quits QEMU and Ctrl-A b sends a break
(QEMU reads stdin; on a terminal it puts it in raw mode).
";

/// Everything the command line chooses.
struct Options {
    image: ImageSpec,
    cmdline: String,
    timeout: Option<Duration>,
    smp: u32,
    memory_mib: u32,
    cpu: Option<String>,
    gdb: bool,
    trace: Option<PathBuf>,
    icount: bool,
}

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("boot: {message}\nTry --help.");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(Exit::Success) => ExitCode::SUCCESS,
        Ok(Exit::Quit) => {
            eprintln!("\n{}", Exit::Quit);
            ExitCode::SUCCESS
        }
        Ok(exit) => {
            eprintln!("boot: {exit}");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("boot: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(options: &Options) -> std::io::Result<Exit> {
    let image = boot::build_image(&options.image)?;
    let mut run = RunSpec::new(image, options.image.firmware);
    run.cmdline.clone_from(&options.cmdline);
    if options.trace.is_some() {
        run.cmdline.push_str(" trace");
    }
    run.timeout = options.timeout;
    run.smp = options.smp;
    run.memory_mib = options.memory_mib;
    run.icount = options.icount;
    run.cpu.clone_from(&options.cpu);
    run.gdb_port = options.gdb.then_some(boot::gdb::DEFAULT_PORT);
    run.console = Console::Interactive;
    if options.gdb {
        print_gdb_help(&options.image.kernel);
    }
    if let Some(path) = &options.trace {
        run.console = Console::Captured { echo: true };
        let outcome = boot::run_qemu(&run)?;
        let events = boot::trace::parse(&outcome.serial);
        std::fs::write(path, boot::trace::chrome_trace(&events))?;
        let picture = path.with_extension("svg");
        std::fs::write(&picture, boot::timeline_svg::svg(&events))?;
        eprintln!(
            "boot: {} trace events written to {} (open it in ui.perfetto.dev); picture: {}",
            events.len(),
            path.display(),
            picture.display()
        );
        return Ok(outcome.exit);
    }
    Ok(boot::run_qemu(&run)?.exit)
}

/// Says how to attach gdb: the command line that loads the kernel's symbols
/// where the bootloader will place them, and the `lx-ps` helper.
fn print_gdb_help(elf: &std::path::Path) {
    let port = boot::gdb::DEFAULT_PORT;
    let args: Vec<String> = boot::gdb::gdb_args(elf, port)
        .into_iter()
        .map(|a| match a.contains(' ') {
            true => format!("'{a}'"),
            false => a,
        })
        .collect();
    eprintln!("gdb: QEMU is halted, waiting for a debugger on localhost:{port}");
    eprintln!("gdb: in another terminal, run:");
    eprintln!("gdb {}", args.join(" "));
    eprintln!(
        "gdb: then e.g. `hbreak kernel::fork::copy_process::copy_process`, `continue`, `lx-ps`"
    );
}

/// Parses the flags; `Ok(None)` means `--help`.
fn parse(mut args: impl Iterator<Item = String>) -> Result<Option<Options>, String> {
    let mut options = Options {
        image: ImageSpec::new(Firmware::Bios),
        cmdline: String::new(),
        timeout: None,
        smp: 1,
        memory_mib: 256,
        cpu: None,
        gdb: false,
        trace: None,
        icount: false,
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--bios" => options.image.firmware = Firmware::Bios,
            "--uefi" => options.image.firmware = Firmware::Uefi,
            "--initrd" => options.image.ramdisk = Some(PathBuf::from(value()?)),
            "--append" => options.cmdline = value()?,
            "--timeout" => options.timeout = Some(Duration::from_secs(number(&flag, &value()?)?)),
            "--smp" => options.smp = number(&flag, &value()?)?,
            "--memory" => options.memory_mib = number(&flag, &value()?)?,
            "--cpu" => options.cpu = Some(value()?),
            "--gdb" => options.gdb = true,
            "--icount" => options.icount = true,
            "--trace" => options.trace = Some(PathBuf::from(value()?)),
            "--kernel" => options.image.kernel = PathBuf::from(value()?),
            "--boot-log" => options.image.boot_log = true,
            "-h" | "--help" => return Ok(None),
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    Ok(Some(options))
}

fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{flag} wants a number, not {value:?}"))
}
