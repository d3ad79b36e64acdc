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
