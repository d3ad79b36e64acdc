//! Booting a disk image in QEMU (TCG, never KVM) and judging how the run ended.
//!
//! The kernel ends a run by writing to the isa-debug-exit port: 0x10 for
//! success, 0x11 for failure. QEMU then exits with `(value << 1) | 1`, so 33 or
//! 35. With `-no-reboot` a triple fault ends QEMU with status 0, which counts
//! as a failure like any status other than 33, unless it follows the line
//! QEMU prints when the user quits with Ctrl-A x ([`Exit::Quit`]).

use std::fmt;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::{Firmware, Image};

/// The emulator binary, looked up in `PATH`.
pub const QEMU: &str = "qemu-system-x86_64";

/// UEFI firmware for QEMU (Debian's `ovmf` package): code and variables in one
/// file, loaded with `-bios` so that no writable variable store is needed.
pub const OVMF: &str = "/usr/share/ovmf/OVMF.fd";

const INSTALL: &str = "apt-get install -y qemu-system-x86 ovmf";

/// The arguments every boot gets; see the module comment for the exit
/// device. `-nodefaults` leaves out what the firmware would otherwise probe
/// for nothing: the network card (and its PXE option ROM), the CD-ROM, the
/// floppy drive, the parallel port and the VGA card; the serial port and
/// the disk are added by [`command`].
///
/// The machine is the i440FX PC of QEMU 7.0. From 7.1 on, a PC whose CPU
/// is AMD's (QEMU's default `qemu64` is) reserves the HyperTransport hole
/// below 1 TiB in the e820 map, and the bootloader maps physical memory up
/// to the highest address in that map with 2 MiB pages: half a million
/// mappings (73 ms of an idle boot, more under load). Without the hole it
/// maps 4 GiB.
#[rustfmt::skip]
const QEMU_ARGS: &[&str] = &[
    "-machine", "pc-i440fx-7.0",
    "-nodefaults",
    "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
    "-no-reboot",
    "-display", "none",
];

const SUCCESS: i32 = 33;
const FAILURE: i32 = 35;

/// Where COM1 goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Console {
    /// QEMU reads this process's stdin (a terminal, which it puts in raw
    /// mode), with the serial port and the monitor multiplexed on it
    /// (Ctrl-A x quits, Ctrl-A b sends a break); the output is copied to
    /// stdout, and only its last bytes are kept, in [`Outcome::serial`], to
    /// tell a user's Ctrl-A x from a reset.
    Interactive,
    /// Serial output is captured into [`Outcome::serial`], and copied to
    /// stdout as it arrives if `echo` is set. QEMU reads the keys typed by
    /// [`RunSpec::input`] (and Ctrl-T if the run times out).
    Captured {
        /// Also stream the output to this process's stdout.
        echo: bool,
    },
}

/// How to run QEMU.
#[derive(Clone, Debug)]
pub struct RunSpec {
    /// A disk image from [`crate::build_image`].
    pub image: PathBuf,
    /// The initramfs archive to hand the kernel, as the fw_cfg file
    /// `opt/lifecycle/initrd`.
    pub initrd: Option<PathBuf>,
    /// Must match the firmware the image was built for.
    pub firmware: Firmware,
    /// Kernel command line, handed over as the fw_cfg file `opt/lifecycle/cmdline`.
    pub cmdline: String,
    /// Kill QEMU after this long; `None` waits forever.
    pub timeout: Option<Duration>,
    /// Number of CPUs.
    pub smp: u32,
    /// Guest memory in MiB.
    pub memory_mib: u32,
    /// Count instructions instead of time (`-icount shift=0`): the guest
    /// clock advances 1 ns an instruction, so cycle counts repeat exactly.
    pub icount: bool,
    /// The CPU model (`-cpu MODEL`, e.g. `max` for every feature TCG
    /// emulates); `None` leaves QEMU's default, `qemu64`.
    pub cpu: Option<String>,
    /// Start halted with a gdb stub on this localhost port (`-gdb tcp::PORT -S`).
    pub gdb_port: Option<u16>,
    /// Where the serial console goes.
    pub console: Console,
    /// Keystrokes for a captured console, typed in order ([`Typing`]).
    pub input: Vec<Typing>,
}

/// One step of typing on a captured console: once the output shows
/// `marker` (searched after the previous step's marker), type `keys`.
/// Meanwhile, unless `poll` is empty, type it every [`POLL_EVERY`]: a key
/// that makes the kernel report its state (Ctrl-T), for a marker that
/// only such a report shows.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Typing {
    /// What the output must show first.
    pub marker: String,
    /// Typed repeatedly while waiting for the marker.
    pub poll: Vec<u8>,
    /// Typed once the marker is there.
    pub keys: Vec<u8>,
}

/// How often a [`Typing`] step types its `poll` keys.
pub const POLL_EVERY: Duration = Duration::from_millis(250);

impl RunSpec {
    /// One CPU of QEMU's default model, 256 MiB, empty command line, no
    /// timeout, output captured silently.
    pub fn new(image: Image, firmware: Firmware) -> Self {
        RunSpec {
            image: image.disk,
            initrd: image.initrd,
            firmware,
            cmdline: String::new(),
            timeout: None,
            smp: 1,
            memory_mib: 256,
            icount: false,
            cpu: None,
            gdb_port: None,
            console: Console::Captured { echo: false },
            input: Vec::new(),
        }
    }
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The kernel wrote 0x10 to the exit port.
    Success,
    /// The kernel wrote 0x11 to the exit port.
    Failure,
    /// QEMU exited with status 0: under `-no-reboot`, a triple fault or a reset.
    Reset,
    /// The user quit QEMU with Ctrl-A x (status 0 after QEMU's
    /// "QEMU: Terminated" line; [`Console::Interactive`] only).
    Quit,
    /// The run took longer than the timeout and QEMU was killed.
    Timeout(Duration),
    /// QEMU exited some other way (bad arguments, killed by a signal).
    Qemu(ExitStatus),
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exit::Success => write!(f, "kernel reported success (QEMU exit status {SUCCESS})"),
            Exit::Failure => write!(f, "kernel reported failure (QEMU exit status {FAILURE})"),
            Exit::Reset => write!(f, "triple fault or reset (QEMU exit status 0)"),
            Exit::Quit => write!(f, "QEMU: terminated by the user (Ctrl-A x)"),
            Exit::Timeout(after) => write!(f, "timeout after {} s", after.as_secs_f64()),
            Exit::Qemu(status) => write!(f, "QEMU ended unexpectedly: {status}"),
        }
    }
}

/// The result of [`run_qemu`].
#[derive(Clone, Debug)]
pub struct Outcome {
    /// How the run ended.
    pub exit: Exit,
    /// Everything the kernel wrote to COM1 (its last bytes for [`Console::Interactive`]).
    pub serial: String,
    /// Wall-clock time from starting QEMU to its end.
    pub elapsed: Duration,
    /// When each line of `serial` was read, from QEMU's start (its `\n`
    /// arrived; captured runs only, empty for [`Console::Interactive`]).
    pub line_times: Vec<Duration>,
}

impl Outcome {
    /// The serial output as lines, without `\r`.
    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.serial.lines().map(|line| line.trim_end_matches('\r'))
    }
}

/// Boots `spec.image` in QEMU and waits for it to end or time out.
///
/// # Errors
/// QEMU or OVMF is missing (the message names the install command), or QEMU
/// could not be started or waited for.
pub fn run_qemu(spec: &RunSpec) -> io::Result<Outcome> {
    if spec.firmware == Firmware::Uefi && !Path::new(OVMF).is_file() {
        let message = format!("{OVMF} not found: {INSTALL}");
        return Err(io::Error::new(io::ErrorKind::NotFound, message));
    }
    let cmdline = tempfile::NamedTempFile::new()?;
    std::fs::write(cmdline.path(), &spec.cmdline)?;
    let mut qemu = command(spec, cmdline.path());
    // See crate::code_page; the user's own debugger (--gdb) takes the stub.
    let stub = (spec.firmware == Firmware::Bios && spec.gdb_port.is_none())
        .then(crate::code_page::Stub::new)
        .transpose()?;
    if let Some(stub) = &stub {
        qemu.args(stub.qemu_args());
    }
    let echo = spec.console != Console::Captured { echo: false };
    let keep = match spec.console {
        Console::Interactive => INTERACTIVE_TAIL,
        Console::Captured { .. } => usize::MAX,
    };

    let start = Instant::now();
    let mut child = qemu.spawn().map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => io::Error::new(e.kind(), format!("{QEMU} not found: {INSTALL}")),
        _ => io::Error::new(e.kind(), format!("starting {QEMU}: {e}")),
    })?;
    let stub = stub.map(|stub| stub.spawn(child.id()));
    // What the typing thread searches for its markers.
    let seen = (!spec.input.is_empty()).then(|| Arc::new(Mutex::new(Vec::new())));
    let reader = child.stdout.take().map(|out| {
        let seen = seen.clone();
        thread::spawn(move || read_serial(out, echo, keep, seen.as_deref(), start))
    });
    let stdin = Arc::new(Mutex::new(child.stdin.take()));
    if let Some(seen) = seen {
        let (stdin, input) = (Arc::clone(&stdin), spec.input.clone());
        thread::spawn(move || type_input(&stdin, &input, &seen));
    }
    let graceful = spec.console == Console::Interactive;
    let status = wait(&mut child, spec.timeout, graceful, &stdin)?;
    let elapsed = start.elapsed();
    if let Some(stub) = stub {
        let _ = stub.join();
    }
    let (serial, line_times) = match reader {
        Some(reader) => reader.join().unwrap_or_default(),
        None => (Vec::new(), Vec::new()),
    };
    let serial = String::from_utf8_lossy(&serial).into_owned();
    let exit = match (status, spec.timeout) {
        (Some(status), _) => match decode(status) {
            Exit::Reset if graceful && quit_by_user(&serial) => Exit::Quit,
            exit => exit,
        },
        (None, timeout) => Exit::Timeout(timeout.unwrap_or_default()),
    };
    Ok(Outcome {
        exit,
        serial,
        elapsed,
        line_times,
    })
}

/// The QEMU command line for `spec`, reading the kernel command line from `cmdline`.
fn command(spec: &RunSpec, cmdline: &Path) -> Command {
    let mut qemu = Command::new(QEMU);
    qemu.args(QEMU_ARGS);
    qemu.arg("-drive").arg(format!(
        "if=virtio,format=raw,snapshot=on,file={}",
        escape(&spec.image)
    ));
    qemu.arg("-fw_cfg").arg(format!(
        "name=opt/lifecycle/cmdline,file={}",
        escape(cmdline)
    ));
    if let Some(initrd) = &spec.initrd {
        qemu.arg("-fw_cfg")
            .arg(format!("name=opt/lifecycle/initrd,file={}", escape(initrd)));
    }
    qemu.arg("-m").arg(format!("{}M", spec.memory_mib));
    qemu.arg("-smp").arg(spec.smp.to_string());
    if spec.icount {
        // Instruction counting needs all CPUs on one host thread.
        qemu.args(["-icount", "shift=0"]);
    } else if spec.smp > 1 {
        // One host thread per CPU, so that the CPUs really run at the same time.
        qemu.args(["-accel", "tcg,thread=multi"]);
    }
    if let Some(model) = &spec.cpu {
        qemu.arg("-cpu").arg(model);
    }
    match spec.firmware {
        // The bootloader's BIOS stage sets a VESA mode, which needs a VGA
        // card; under UEFI it takes a framebuffer only if there is one.
        Firmware::Bios => qemu.args(["-vga", "std"]),
        Firmware::Uefi => qemu.args(["-bios", OVMF]),
    };
    if let Some(port) = spec.gdb_port {
        qemu.arg("-gdb")
            .arg(format!("tcp:127.0.0.1:{port}"))
            .arg("-S");
    }
    match spec.console {
        Console::Interactive => qemu.args(["-serial", "mon:stdio"]).stdout(Stdio::piped()),
        Console::Captured { .. } => qemu
            .args(["-serial", "stdio"])
            // Piped even with nothing to type: a run that times out gets Ctrl-T.
            .stdin(Stdio::piped())
            .stdout(Stdio::piped()),
    };
    qemu
}

fn decode(status: ExitStatus) -> Exit {
    match status.code() {
        Some(SUCCESS) => Exit::Success,
        Some(FAILURE) => Exit::Failure,
        Some(0) => Exit::Reset,
        _ => Exit::Qemu(status),
    }
}

/// The line QEMU's multiplexer prints on Ctrl-A x before it exits with 0.
const QEMU_TERMINATED: &str = "QEMU: Terminated";

/// Output bytes an interactive run keeps: enough to find [`QEMU_TERMINATED`].
const INTERACTIVE_TAIL: usize = 4096;

/// Guest output that may still follow QEMU's answer to Ctrl-A x: what a
/// CPU wrote to the serial port while the multiplexer printed it (CI saw
/// "(x86_64QEMU: Terminated\n)", the banner's last byte after it).
const AFTER_TERMINATED_SLACK: usize = 64;

/// Whether the run's output ends with QEMU's own answer to Ctrl-A x, give
/// or take the few bytes the guest wrote at the same moment.
fn quit_by_user(serial: &str) -> bool {
    serial
        .trim_end()
        .rsplit_once(QEMU_TERMINATED)
        .is_some_and(|(_, after)| after.len() <= AFTER_TERMINATED_SLACK)
}

/// Collects COM1 output until QEMU closes its end (the last `keep` bytes
/// or a little more), copying it to stdout if `echo`; with all of it kept,
/// also when each line arrived (since `start`).
fn read_serial(
    mut out: ChildStdout,
    echo: bool,
    keep: usize,
    seen: Option<&Mutex<Vec<u8>>>,
    start: Instant,
) -> (Vec<u8>, Vec<Duration>) {
    let mut serial = Vec::new();
    let mut line_times = Vec::new();
    let mut chunk = [0; 4096];
    while let Ok(n @ 1..) = out.read(&mut chunk) {
        serial.extend_from_slice(&chunk[..n]);
        if keep == usize::MAX {
            let now = start.elapsed();
            line_times.extend(chunk[..n].iter().filter(|&&b| b == b'\n').map(|_| now));
        }
        if serial.len() > keep.saturating_mul(2) {
            serial.drain(..serial.len() - keep);
        }
        if let Some(Ok(mut seen)) = seen.map(|seen| seen.lock()) {
            seen.extend_from_slice(&chunk[..n]);
        }
        if echo {
            let mut stdout = io::stdout().lock();
            let _ = stdout.write_all(&chunk[..n]).and_then(|()| stdout.flush());
        }
    }
    (serial, line_times)
}

/// Types each step's keys once its marker has appeared in the serial
/// output, typing its poll keys meanwhile.
fn type_input(stdin: &Mutex<Option<ChildStdin>>, input: &[Typing], seen: &Mutex<Vec<u8>>) {
    let mut from = 0;
    let type_keys = |bytes: &[u8]| type_into(stdin, bytes);
    for step in input {
        let mut next_poll = Instant::now();
        loop {
            let found = seen.lock().ok().and_then(|seen| {
                let text = String::from_utf8_lossy(&seen[from.min(seen.len())..]).into_owned();
                text.find(step.marker.as_str())
                    .map(|at| from + at + step.marker.len())
            });
            if let Some(end) = found {
                from = end;
                break;
            }
            if !step.poll.is_empty() && Instant::now() >= next_poll {
                if type_keys(&step.poll).is_err() {
                    return;
                }
                next_poll = Instant::now() + POLL_EVERY;
            }
            thread::sleep(Duration::from_millis(50));
        }
        if type_keys(&step.keys).is_err() {
            return;
        }
    }
}

/// Writes `bytes` to QEMU's stdin (the serial port), if it has one.
fn type_into(stdin: &Mutex<Option<ChildStdin>>, bytes: &[u8]) -> io::Result<()> {
    let mut stdin = stdin
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match stdin.as_mut() {
        Some(stdin) => stdin.write_all(bytes).and_then(|()| stdin.flush()),
        None => Err(io::ErrorKind::BrokenPipe.into()),
    }
}

/// Ctrl-T: the kernel prints its task list and process tree (kernel/src/sysrq.rs).
const SHOW_STATE_KEY: u8 = 0x14;

/// How long a run that timed out is given to print its task list.
const SHOW_STATE_WAIT: Duration = Duration::from_secs(3);

/// Waits for QEMU to exit; returns `None` if it had to be stopped at the
/// timeout. A captured run is first sent Ctrl-T, so that its output ends
/// with what every task was doing when it hung.
fn wait(
    child: &mut Child,
    timeout: Option<Duration>,
    graceful: bool,
    stdin: &Mutex<Option<ChildStdin>>,
) -> io::Result<Option<ExitStatus>> {
    let Some(timeout) = timeout else {
        return child.wait().map(Some);
    };
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        thread::sleep(Duration::from_millis(50));
    }
    if graceful {
        terminate(child)?;
    } else if type_into(stdin, &[SHOW_STATE_KEY]).is_ok() {
        thread::sleep(SHOW_STATE_WAIT);
    }
    child.kill()?;
    child.wait()?;
    Ok(None)
}

/// Sends QEMU SIGTERM, which lets it restore the terminal it put in raw
/// mode, and gives it two seconds to exit.
fn terminate(child: &mut Child) -> io::Result<()> {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    for _ in 0..40 {
        if child.try_wait()?.is_some() {
            break;
        }
        thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// Escapes a path for a QEMU option list, where `,` separates options.
fn escape(path: &Path) -> String {
    path.display().to_string().replace(',', ",,")
}
