# make run    boot the kernel in QEMU (BIOS) with the serial console here: the
#             guided tour runs as /init, then a busybox shell. INITRAMFS=dir
#             boots another initramfs, ARGS="..." passes runner flags, e.g.
#             make run ARGS="--uefi --append ktest"; Ctrl-A x quits.
# make test   the whole suite: in-kernel tests and boot scenarios.
# make bench  the kernel micro-benchmarks, then the user-space benchmark.
# make trace  run the tour with the lifecycle timeline on; writes lifecycle.trace.json
#             (for ui.perfetto.dev) and lifecycle.trace.svg (a picture of it).
# make gdb    boot halted, waiting for gdb on localhost:1234; prints the gdb
#             command (symbols and the lx-ps helper, scripts/gdb/lifecycle.py).
# Each first runs scripts/setup.sh, which installs what is missing.

CARGO ?= cargo
TOUR := target/initramfs
INITRAMFS ?= $(TOUR)
ARGS ?=
RUNNER = $(CARGO) run -p boot --release --
RUN_ARGS = --initrd $(INITRAMFS) $(ARGS)

# The bootloader crate's build script runs `cargo install` for its stages; with
# CARGO_TARGET_DIR set, that nested cargo waits forever on the outer one's lock.
unexport CARGO_TARGET_DIR

.PHONY: setup run test bench trace gdb $(TOUR)

setup:
	@scripts/setup.sh

$(TOUR): setup
	@scripts/initramfs.sh $(TOUR)

run: setup $(if $(filter $(TOUR),$(INITRAMFS)),$(TOUR))
	$(RUNNER) $(RUN_ARGS)

test: setup
	$(CARGO) test -p tests --release

bench: setup $(TOUR)
	$(RUNNER) --append bench --timeout 600
	$(RUNNER) --initrd $(TOUR) --append "init=/bin/bench" --timeout 900

trace: setup $(TOUR)
	$(RUNNER) --initrd $(TOUR) --append "--no-shell" --timeout 300 --trace lifecycle.trace.json

gdb: setup $(if $(filter $(TOUR),$(INITRAMFS)),$(TOUR))
	$(RUNNER) --gdb $(RUN_ARGS)
