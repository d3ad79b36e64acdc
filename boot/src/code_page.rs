//! Takes QEMU's write protection of translated code off the page that holds
//! the BIOS bootloader's stack, through QEMU's gdb stub.
//!
//! The `bootloader` crate's boot sector sets the stack pointer to `0x7c00`,
//! its own address, so the stack of stages 2, 3 and 4 grows down through the
//! page `0x7000..0x8000`, which also holds the boot sector's code and the
//! first bytes of stage 2's. QEMU's TCG write-protects every page it has
//! translated code from, to catch self-modifying code, and takes the
//! protection off only when no translation of that page is left. So every
//! push, call and spilled register of the bootloader took QEMU's slow path
//! for writes to code pages: 2.16 million writes from the boot sector to the
//! kernel's entry (counted with `-trace memory_notdirty_write_access`),
//! most of them one per byte that stage 2 copies above 1 MiB and about 20
//! per pixel that stage 3 draws for its "Third Stage" line, about 80 % of the
//! BIOS boot's time.
//!
//! The runner starts QEMU halted with its gdb stub on a socket of its own,
//! and stops the machine where the bootloader has left the code on that page
//! behind for a long stretch: when stage 2 writes the first byte of stage 3,
//! of stage 4 and of the kernel (after finding each file, whose code is on
//! that page), and when stage 3 starts. There it reads the code on that
//! page and writes the same bytes back. A write by the debugger drops the translations it
//! overlaps, as any write to guest memory must, and with none left QEMU
//! lets writes to the page go straight to memory again. The guest sees no
//! change. Then the runner detaches and the machine runs on alone.
//!
//! The addresses are the crate's memory layout for its BIOS stages
//! (`STAGE_3_DST`, `STAGE_4_DST` and `KERNEL_DST` in its stage 2).

use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The code on the stack's page: the boot sector (`0x7c00..0x7e00`) and
/// the start of stage 2 (from `0x7e00`); the stack grows down from
/// `0x7c00`. One memory packet: QEMU's stub takes packets of up to 4 KiB,
/// a byte as two hex digits.
const CODE: u64 = 0x7c00;
const CODE_LEN: u64 = 0x400;

/// Where the machine stops, in order.
#[derive(Clone, Copy, Debug)]
enum Stop {
    /// The first write to this address.
    Write(u64),
    /// The first instruction at this address.
    Exec(u64),
}

impl Stop {
    /// gdb's packet that sets this stop (`Z2`, a write watchpoint, or `Z1`,
    /// a breakpoint) and the one that clears it.
    fn packet(self, set: char) -> String {
        match self {
            Stop::Write(address) => format!("{set}2,{address:x},1"),
            Stop::Exec(address) => format!("{set}1,{address:x},1"),
        }
    }

    fn insert(self) -> String {
        self.packet('Z')
    }

    fn remove(self) -> String {
        self.packet('z')
    }
}

/// Stage 2 loads stage 3 at 1 MiB, stage 4 at `0x130000` and the kernel at
/// 16 MiB, then jumps to stage 3, which with stage 4 runs no code on the
/// page again.
const STOPS: [Stop; 4] = [
    Stop::Write(0x10_0000),
    Stop::Write(0x13_0000),
    Stop::Write(0x100_0000),
    Stop::Exec(0x10_0000),
];

/// How long QEMU may take to open its end of the socket.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// QEMU's gdb stub on a socket in a directory of its own, for one boot.
pub struct Stub {
    dir: tempfile::TempDir,
}

impl Stub {
    /// A socket path for QEMU to listen on.
    ///
    /// # Errors
    /// The temporary directory could not be made.
    pub fn new() -> io::Result<Self> {
        Ok(Stub {
            dir: tempfile::Builder::new().prefix("lifecycle-gdb").tempdir()?,
        })
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("gdb.sock")
    }

    /// QEMU's arguments: the stub on the socket, and start halted (`-S`)
    /// until [`Stub::spawn`]'s thread lets the machine run.
    pub fn qemu_args(&self) -> Vec<String> {
        let path = self.socket().display().to_string().replace(',', ",,");
        vec![
            "-chardev".into(),
            format!("socket,id=bootgdb,path={path},server=on,wait=off"),
            "-gdb".into(),
            "chardev:bootgdb".into(),
            "-S".into(),
        ]
    }

    /// Connects to the stub QEMU (process `pid`) opened and unprotects the
    /// page at each of [`STOPS`], then detaches. A failure is reported on
    /// stderr; the machine then still runs (detached), only slower.
    pub fn spawn(self, pid: u32) -> JoinHandle<()> {
        thread::spawn(move || {
            let Some(stream) = self.connect(pid) else {
                return;
            };
            let mut remote = match Remote::new(stream) {
                Ok(remote) => remote,
                Err(e) => return eprintln!("boot: gdb stub: {e}"),
            };
            if let Err(e) = remote.run() {
                // The machine may have ended (the socket closed) before
                // the last stop; otherwise let it run on.
                if e.kind() != io::ErrorKind::UnexpectedEof {
                    eprintln!("boot: gdb stub: {e}");
                    let _ = remote.send("D");
                }
            }
        })
    }

    /// Waits for QEMU to listen, giving up when its process is gone.
    fn connect(&self, pid: u32) -> Option<UnixStream> {
        let deadline = Instant::now() + CONNECT_TIMEOUT;
        let alive = PathBuf::from(format!("/proc/{pid}"));
        loop {
            match UnixStream::connect(self.socket()) {
                Ok(stream) => return Some(stream),
                Err(_) if Instant::now() < deadline && alive.exists() => {
                    thread::sleep(Duration::from_millis(1));
                }
                Err(e) => {
                    if alive.exists() {
                        eprintln!("boot: gdb stub: {e}");
                    }
                    return None;
                }
            }
        }
    }
}

/// A client of the gdb remote serial protocol, just enough for [`STOPS`].
struct Remote {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Remote {
    fn new(stream: UnixStream) -> io::Result<Self> {
        Ok(Remote {
            writer: stream.try_clone()?,
            reader: BufReader::new(stream),
        })
    }

    /// Every stop of [`STOPS`], then detach (which lets the machine run).
    /// One packet at a time, each answer acknowledged while the machine is
    /// halted: a byte that reaches QEMU's stub while the machine runs and
    /// no answer awaits its acknowledgement stops the machine.
    fn run(&mut self) -> io::Result<()> {
        self.packet("?")?;
        for stop in STOPS {
            self.expect_ok(&stop.insert())?;
            let reply = self.packet("c")?;
            if !reply.starts_with(['T', 'S']) {
                // W or X: the machine ended.
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, reply));
            }
            self.expect_ok(&stop.remove())?;
            let bytes = self.packet(&format!("m{CODE:x},{CODE_LEN:x}"))?;
            if bytes.len() != 2 * CODE_LEN as usize {
                return Err(io::Error::other(format!("reading {CODE:#x}: {bytes}")));
            }
            // Writing the same bytes back drops QEMU's translations.
            self.expect_ok(&format!("M{CODE:x},{CODE_LEN:x}:{bytes}"))?;
        }
        self.expect_ok("D")
    }

    fn expect_ok(&mut self, body: &str) -> io::Result<()> {
        match self.packet(body)?.as_str() {
            "OK" => Ok(()),
            reply => Err(io::Error::other(format!("{body:.16}: {reply:.32}"))),
        }
    }

    /// Sends one packet and returns the stub's answer (to `c`, the stop
    /// reply, when the machine stops).
    fn packet(&mut self, body: &str) -> io::Result<String> {
        self.send(body)?;
        self.reply()
    }

    fn send(&mut self, body: &str) -> io::Result<()> {
        let sum = body.bytes().fold(0u8, u8::wrapping_add);
        self.writer
            .write_all(format!("${body}#{sum:02x}").as_bytes())
    }

    /// Reads the next packet (skipping the stub's `+` acknowledgements) and
    /// acknowledges it.
    fn reply(&mut self) -> io::Result<String> {
        let mut skipped = Vec::new();
        self.reader.read_until(b'$', &mut skipped)?;
        let mut body = Vec::new();
        self.reader.read_until(b'#', &mut body)?;
        if body.pop() != Some(b'#') {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let mut checksum = [0; 2];
        io::Read::read_exact(&mut self.reader, &mut checksum)?;
        self.writer.write_all(b"+")?;
        String::from_utf8(body).map_err(io::Error::other)
    }
}
