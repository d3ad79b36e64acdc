#!/usr/bin/env bash
# Installs what `make run` and `make test` need, if it is missing: the Rust
# toolchain pinned in rust-toolchain.toml, and QEMU, OVMF, musl-gcc, a static
# busybox, cpio and gdb from Debian packages. Quiet and quick when all is there;
# runs `apt-get update` only when a package has to be installed.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(qemu-system-x86 ovmf musl-tools busybox-static cpio gdb)

# RUSTUP_AUTO_INSTALL=0 is set on the project's machines, so the pinned
# toolchain is installed here, explicitly, from rust-toolchain.toml.
setup_toolchain() {
    if ! command -v rustup >/dev/null; then
        echo "setup: rustup not found; install rustup, then run make again" >&2
        exit 1
    fi
    local channel installed
    channel=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
    installed=$(rustup component list --toolchain "$channel" --installed 2>/dev/null || true)
    for component in rust-src llvm-tools clippy rustfmt rust-std-x86_64-unknown-none; do
        if ! grep -q "^$component" <<<"$installed"; then
            echo "setup: installing Rust $channel (rust-toolchain.toml)"
            rustup toolchain install --no-self-update
            return
        fi
    done
}

setup_packages() {
    local missing=()
    if ! command -v dpkg >/dev/null; then
        command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86_64)
        [[ -f /usr/share/ovmf/OVMF.fd ]] || missing+=(/usr/share/ovmf/OVMF.fd)
        command -v musl-gcc >/dev/null || missing+=(musl-gcc)
        command -v busybox >/dev/null || missing+=(busybox)
        command -v cpio >/dev/null || missing+=(cpio)
        command -v gdb >/dev/null || missing+=(gdb)
        if ((${#missing[@]})); then
            echo "setup: missing ${missing[*]}; on Debian: apt-get install -y ${packages[*]}" >&2
            exit 1
        fi
        return
    fi
    for package in "${packages[@]}"; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
    ((${#missing[@]})) || return 0
    if [[ $(id -u) != 0 ]]; then
        echo "setup: missing packages; run: sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    echo "setup: installing ${missing[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# The bootloader crate's build script compiles its BIOS and UEFI stages
# with nested cargo runs that print nothing for minutes; say so when none of
# its stages has been built yet in target/.
say_if_cold_build() {
    if ! compgen -G "target/release/build/bootloader/*/out/bin/bootloader-x86_64-bios-boot-sector" >/dev/null; then
        echo "setup: building the bootloader (first build only, about 3 minutes, silent)..."
    fi
}

setup_toolchain
setup_packages
say_if_cold_build
