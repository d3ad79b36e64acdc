//! Driving gdb against a halted boot: the test of `scripts/gdb/lifecycle.py`.

use std::io;
use std::net::TcpListener;
use std::process::Command;

/// A localhost port nobody listens on now, for QEMU's gdb stub.
///
/// # Errors
/// No port could be bound.
pub fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Runs gdb in batch mode: loads the kernel's symbols and the helper, connects
/// to `port` (retrying while QEMU starts), runs `commands` and returns what
/// gdb printed.
///
/// # Errors
/// gdb could not be run.
pub fn batch(port: u16, commands: &[&str]) -> io::Result<String> {
    let script = tempfile::NamedTempFile::new()?;
    let connect = format!(
        "python\nimport time\nfor attempt in range(600):\n    try:\n        \
         gdb.execute('target remote localhost:{port}')\n        break\n    \
         except gdb.error:\n        time.sleep(0.1)\nend\n"
    );
    let mut text = format!(
        "set pagination off\nset confirm off\n{}\n{connect}source {}\n",
        boot::gdb::symbols_command(std::path::Path::new(boot::KERNEL)),
        boot::gdb::helper_script().display()
    );
    for command in commands {
        text.push_str(command);
        text.push('\n');
    }
    std::fs::write(script.path(), text)?;
    let out = Command::new("gdb")
        .args(["-nx", "-batch", "-x"])
        .arg(script.path())
        .output()
        .map_err(|e| io::Error::new(e.kind(), format!("gdb: {e} (apt-get install -y gdb)")))?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

/// The core file a program printed on the console between
/// `coredump-gdb: begin N` and `coredump-gdb: end` (tests/user/coredump.c
/// `gdb`): each line 64 bytes in hex, or `zN` for N zero bytes.
///
/// # Errors
/// The markers are missing, a line does not decode, or the length is not N.
pub fn core_from_console<'a>(lines: impl Iterator<Item = &'a str>) -> Result<Vec<u8>, String> {
    let mut lines = lines.skip_while(|l| !l.starts_with("coredump-gdb: begin "));
    let size: usize = lines
        .next()
        .and_then(|l| l.strip_prefix("coredump-gdb: begin ")?.trim().parse().ok())
        .ok_or("no `coredump-gdb: begin N` line")?;
    let mut core = Vec::with_capacity(size);
    for line in lines.take_while(|l| !l.starts_with("coredump-gdb: end")) {
        let line = line.trim_end();
        if let Some(zeros) = line.strip_prefix('z') {
            let n: usize = zeros.parse().map_err(|_| format!("bad line {line:?}"))?;
            core.resize(core.len() + n, 0);
            continue;
        }
        let bytes = (0..line.len() / 2)
            .map(|i| u8::from_str_radix(line.get(2 * i..2 * i + 2).unwrap_or("?"), 16))
            .collect::<Result<Vec<u8>, _>>()
            .map_err(|_| format!("bad line {line:?}"))?;
        core.extend(bytes);
    }
    match core.len() == size {
        true => Ok(core),
        false => Err(format!("decoded {} bytes of {size}", core.len())),
    }
}

/// What the host's `gdb -batch -ex bt BINARY CORE` prints.
///
/// # Errors
/// gdb could not be run.
pub fn backtrace(binary: &std::path::Path, core: &std::path::Path) -> io::Result<String> {
    let out = Command::new("gdb")
        .args(["-nx", "-batch", "-ex", "bt"])
        .arg(binary)
        .arg(core)
        .output()
        .map_err(|e| io::Error::new(e.kind(), format!("gdb: {e} (apt-get install -y gdb)")))?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}
