# make run    boot the kernel in QEMU (BIOS) with the serial console here;
#             INITRAMFS=dir adds an initramfs, ARGS="..." passes runner flags,
#             e.g. make run ARGS="--uefi --append ktest"; Ctrl-A x quits.
# make test   the whole suite: in-kernel tests and boot scenarios.
# make gdb    boot halted, waiting for gdb on localhost:1234.
# Each first runs scripts/setup.sh, which installs what is missing.

CARGO ?= cargo
INITRAMFS ?=
ARGS ?=
RUNNER = $(CARGO) run -p boot --release --
RUN_ARGS = $(if $(INITRAMFS),--initrd $(INITRAMFS)) $(ARGS)

# The bootloader crate's build script runs `cargo install` for its stages; with
# CARGO_TARGET_DIR set, that nested cargo waits forever on the outer one's lock.
unexport CARGO_TARGET_DIR

.PHONY: setup run test gdb

setup:
	@scripts/setup.sh

run: setup
	$(RUNNER) $(RUN_ARGS)

test: setup
	$(CARGO) test -p tests --release

gdb: setup
	$(RUNNER) --gdb $(RUN_ARGS)
