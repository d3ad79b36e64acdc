# make run    boot the kernel in QEMU (BIOS) with the serial console here: the
#             guided tour runs as /init, then a busybox shell. INITRAMFS=dir
#             boots another initramfs, ARGS="..." passes runner flags, e.g.
#             make run ARGS="--uefi --append ktest" KTEST=1 (KTEST=1: the
#             kernel with its in-kernel tests, left out by default); SMP=n
#             CPUs (default 2); Ctrl-A x quits.
# make test   the lint gate (make lint), then the whole suite: in-kernel
#             tests and boot scenarios, JOBS=n QEMUs at a time (default: the
#             number of CPUs; the suite reads it as LIFECYCLE_JOBS). SMP=0
#             turns the multi-CPU boots off, SMP=1 on (LIFECYCLE_SMP; the
#             default is SMP_RUNS in tests/src/lib.rs). TIMES=1 prints
#             where the time went: each scenario, boot and program.
# make lint   clippy with warnings denied on every crate, rustdoc (private
#             items too) with warnings denied, rustfmt --check.
# make doc    the kernel's rustdoc with private items, so that copy_process's
#             steps and every helper show; prints where index.html is.
# make fuzz   the system-call fuzzer for as long as asked: SEED=s (default: the
#             time) N=batches (default 1000); fails with the seed and batch
#             of a panic, hang, leaked page or surviving process. FIRST=k N=1
#             V=v replays batch k alone, printing each call; CPUS=n boots on
#             n CPUs (scripts/fuzz.sh).
# make stress the SMP race tests (tests/user/race_*.c) for longer than make
#             test runs them, a boot per program and CPU count, lockdep on:
#             SECS=s seconds a program (default 60), on CPUS="1 2 4" CPUs,
#             SEED=s (default: the time), PROGS="race_wait ..." (default:
#             all), PRESSURE=1 (memory runs out meanwhile, again and
#             again), LOCK=file to flock around each boot (scripts/stress.sh).
# make bench  the kernel micro-benchmarks (a kernel built with the bench
#             feature) and the user-space benchmark, each on 1 CPU and on 4
#             (--smp 4), then both on 1 CPU under --icount (instructions:
#             1 ns = 1 instruction, the same on every run), then the boot
#             time of make run's kernel: runner start to /init's first line,
#             median of 5 boots, BIOS and UEFI (scripts/boot-time.sh).
# make trace  run the tour with the lifecycle timeline on; writes lifecycle.trace.json
#             (for ui.perfetto.dev) and lifecycle.trace.svg (a picture of it).
# make gdb    boot halted, waiting for gdb on localhost:1234; prints the gdb
#             command (symbols and the lx-ps helper, scripts/gdb/lifecycle.py).
# Each first runs scripts/setup.sh, which installs what is missing.

CARGO ?= cargo
TOUR := target/initramfs
INITRAMFS ?= $(TOUR)
ARGS ?=
# KTEST=1 builds the kernel with its in-kernel tests (the ktest feature).
KTEST ?=
RUNNER = $(CARGO) run -p boot --release $(if $(KTEST),--features ktest) --
# The kernel with its micro-benchmarks (the bench feature), for `--append bench`.
BENCH_RUNNER = $(CARGO) run -p boot --release --features bench --
# CPUs for make run and make gdb (SMP=1 for one).
SMP ?= 2
RUN_ARGS = --smp $(SMP) --initrd $(INITRAMFS) $(ARGS)

# The bootloader crate's build script runs `cargo install` for its stages; with
# CARGO_TARGET_DIR set, that nested cargo waits forever on the outer one's lock.
unexport CARGO_TARGET_DIR

.PHONY: setup run test lint doc fuzz stress bench trace gdb $(TOUR)

setup:
	@scripts/setup.sh

$(TOUR): setup
	@scripts/initramfs.sh $(TOUR)

run: setup $(if $(filter $(TOUR),$(INITRAMFS)),$(TOUR))
	$(RUNNER) $(RUN_ARGS)

JOBS ?=
SMP ?=
TIMES ?=
test: setup lint
	$(if $(JOBS),LIFECYCLE_JOBS=$(JOBS)) $(if $(SMP),LIFECYCLE_SMP=$(SMP)) \
		$(if $(TIMES),LIFECYCLE_TIMES=$(TIMES)) \
		$(CARGO) test -p tests --release

# The kernel has its own invocation: its target is forced in its manifest.
lint: setup
	$(CARGO) clippy -q -p kernel --release -- -D warnings
	$(CARGO) clippy -q -p kernel --release --features ktest,bench -- -D warnings
	$(CARGO) clippy -q -p boot -p tests --release --all-targets -- -D warnings
	cd tests/user/rust && CARGO_TARGET_DIR=../../../target/user-rust \
		$(CARGO) clippy -q --release -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc -q -p kernel --no-deps --document-private-items
	$(CARGO) fmt --all --check
	cd tests/user/rust && $(CARGO) fmt --check

doc: setup
	$(CARGO) doc -p kernel --no-deps --document-private-items
	@echo "open target/x86_64-unknown-none/doc/kernel/index.html"

SEED ?= $(shell date +%s)
N ?= 1000
FIRST ?= 0
V ?=
fuzz: setup
	scripts/fuzz.sh $(SEED) $(N) $(FIRST) $(V)

SECS ?= 60
CPUS ?= 1 2 4
stress: setup
	scripts/stress.sh $(SECS) $(SEED) $(CPUS)

bench: setup $(TOUR)
	$(BENCH_RUNNER) --append bench --timeout 600
	$(BENCH_RUNNER) --append bench --timeout 600 --smp 4
	$(RUNNER) --initrd $(TOUR) --append "init=/bin/bench" --timeout 900
	$(RUNNER) --initrd $(TOUR) --append "init=/bin/bench" --timeout 900 --smp 4
	$(BENCH_RUNNER) --append bench --timeout 600 --icount
	$(RUNNER) --initrd $(TOUR) --append "init=/bin/bench lifecycle" --timeout 600 --icount
	scripts/boot-time.sh $(TOUR)

trace: setup $(TOUR)
	$(RUNNER) --initrd $(TOUR) --append "--no-shell" --timeout 300 --trace lifecycle.trace.json

gdb: setup $(if $(filter $(TOUR),$(INITRAMFS)),$(TOUR))
	$(RUNNER) --gdb $(RUN_ARGS)
