//! The whole suite: `cargo test -p tests --release` (or `make test`).
//! Pass words to run only the scenarios whose names contain one:
//! `cargo test -p tests --release -- lkdtm::`.
//!
//! To add a scenario, add a row to `SCENARIOS`: a name that states the
//! behaviour, and a function that boots with `ctx.boot(&Boot::bios("..."))`
//! and checks the outcome with `expect_exit` / `expect_line`. A user program
//! (`tests/user/name.c`, printing `test name::check ... ok` lines) joins the
//! user tier by adding its name to `USER_PROGRAMS`.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, ExitCode};

use tests::{
    Boot, Ctx, Exit, Failure, Scenario, cpus, docs, expect_exit, expect_line, expect_lines, ktest,
    user,
};

#[rustfmt::skip]
const SCENARIOS: &[Scenario] = &[
    ("boot::bios_boot_runs_every_kernel_test_to_the_summary", bios_runs_kernel_tests),
    ("boot::uefi_boot_prints_the_same_banner_as_bios", uefi_banner_matches_bios),
    ("boot::uefi_boot_on_cpu_max_enables_smep_smap_umip", uefi_on_cpu_max),
    ("initrd::kernel_boots_with_a_packed_directory_as_ramdisk", boots_with_initrd),
    ("initrd::busybox_init_script_runs_and_powers_off", busybox_init_runs),
    ("initrd::gnu_cpio_unpacks_the_packed_directory_unchanged", cpio_tool_unpacks_initrd),
    ("lkdtm::null_dereference_is_reported_as_a_page_fault_and_fails", null_dereference),
    ("lkdtm::stack_exhaustion_is_reported_as_a_double_fault_and_fails", stack_exhaustion),
    ("lkdtm::panic_fails_the_run_with_the_panic_line", panic),
    ("lkdtm::a_kernel_read_of_user_memory_under_smap_is_an_oops", access_userspace),
    ("lkdtm::kernel_execution_of_a_user_page_under_smep_is_an_oops", exec_userspace),
    ("runner::hung_kernel_times_out_and_fails", hung_kernel_times_out),
    ("runner::ctrl_a_x_quits_qemu_and_the_runner_exits_0", ctrl_a_x_quits),
    ("runner::the_bootloader_log_shows_only_with_boot_log", boot_log_only_when_asked),
    ("user::init_runs_every_program_to_its_summary", user_tier),
    ("protection::cpu_max_enables_smep_smap_umip_and_every_user_program_passes", protection_on_cpu_max),
    ("proc::a_fork_bomb_in_its_own_group_ends_with_one_group_kill", |ctx| user::record_user_tests(ctx, &["forkbomb_kill"])),
    ("exec::dynamically_linked_programs_run_under_musl_and_glibc_loaders", |ctx| user::record_user_tests(ctx, &["dynlink_musl", "dynlink_glibc"])),
    ("oom::the_oom_killer_ends_the_biggest_process_and_logs_it", oom_killer),
    ("oom::a_fork_that_finds_no_free_page_kills_the_biggest_process", oom_fork),
    ("oom::areas_flooding_the_kernel_heap_are_refused_and_the_kernel_serves_on", |ctx| user::record_user_tests(ctx, &["vma_flood"])),
    ("fuzz::random_system_calls_neither_crash_hang_nor_leak_a_page", |ctx| user::record_user_tests_on(ctx, "user", FUZZ, |boot| boot.timeout(240)).map(drop)),
    ("init::an_exiting_init_is_reported_and_fails_the_run", init_exit_is_reported),
    ("tour::the_guided_tour_runs_every_step_to_the_end", tour_runs),
    ("shell::busybox_ash_runs_programs_pipelines_and_substitutions", busybox_shell),
    ("shell::ctrl_c_ends_the_foreground_sleep_and_the_shell_survives", ctrl_c_in_the_shell),
    ("shell::each_demo_runs_on_its_own_with_its_argument", demos_in_the_shell),
    ("shell::busybox_top_shows_a_busy_loop_taking_the_cpu", busybox_top),
    ("shell::ctrl_d_ends_a_line_and_on_an_empty_line_ends_cat_s_input", ctrl_d_in_the_shell),
    ("shell::busybox_dmesg_shows_the_boot_log", dmesg_in_the_shell),
    ("shell::time_of_a_busy_loop_shows_its_user_time", time_in_the_shell),
    ("shell::ps_top_free_and_pstree_read_proc_and_proc_files_answer_as_linux", proc_in_the_shell),
    ("shell::chmod_x_makes_a_script_runnable_and_mkfifo_carries_a_line", chmod_x_and_mkfifo_in_the_shell),
    ("shell::unshare_u_gives_a_shell_its_own_host_name_and_nsenter_joins_it", namespaces_in_the_shell),
    ("shell::ctrl_z_stops_the_job_and_jobs_bg_fg_and_ctrl_c_follow_it", job_control_in_the_shell),
    ("shell::the_exit_of_the_controlling_process_sends_sighup_to_the_foreground_group", hangup_on_leader_exit),
    ("time::the_realtime_clock_starts_from_the_cmos_rtc_at_the_host_s_time", realtime_from_the_rtc),
    ("tour::exit_at_the_shell_prompt_powers_off_cleanly", exit_at_the_shell_prompt),
    ("trace::the_tour_timeline_has_a_fork_and_an_exit_per_process", tour_trace),
    ("trace::the_timeline_picture_has_a_row_and_a_fork_arrow_per_task", tour_picture),
    ("trace::a_new_thread_is_credited_to_the_thread_that_called_clone", trace_thread_parent),
    ("gdb::lx_ps_lists_the_tasks_at_a_breakpoint_in_do_exit", gdb_lists_tasks),
    ("gdb::the_host_gdb_shows_the_crashing_function_in_a_core_file_from_the_vm", gdb_reads_a_core_file),
    ("docs::every_linux_function_in_a_doc_comment_is_in_the_readme_map", concept_map_is_complete),
    ("docs::the_map_check_fails_when_a_function_is_missing", concept_map_check_can_fail),
    ("kflushd::the_shell_starts_kflushd_through_proc_sys_and_stops_it_and_it_is_reaped", kflushd_from_the_shell),
    ("sysrq::ctrl_g_shows_the_interrupted_task_as_current_and_reports_the_sleeping_call", irq_context_demo),
    ("clock::sleep_2_takes_2_s_of_host_time_while_four_busy_loops_load_the_host", clock_under_load),
    ("smp::two_cpus_come_online_and_take_ticks_and_ipis", |ctx| smp_boot(ctx, Boot::bios("ktest=smp::").smp(2), 2)),
    ("smp::four_cpus_on_uefi_and_cpu_max_come_online_and_take_ticks_and_ipis", |ctx| smp_boot(ctx, Boot::uefi("ktest=smp::").cpu("max").smp(4), 4)),
    ("smp::every_kernel_test_passes_on_4_cpus", kernel_tests_on_4_cpus),
    ("smp::the_race_tests_pass_on_2_cpus", races_on_2_cpus),
    ("smp::cpuinfo_stat_nproc_top_and_ctrl_t_show_every_cpu", cpus_in_the_shell),
    ("trace::the_timeline_has_a_track_per_cpu_and_no_task_on_two_at_once", tour_cpu_tracks),
    ("trace::the_timeline_shows_the_vruntime_of_each_fair_task_growing_as_it_runs", tour_vruntime),
    ("nice::ps_shows_a_reniced_process_ni_and_top_its_n_or_lt_and_stat_pr_is_20_plus_nice", reniced_in_ps_and_top),
    ("smp::on_4_cpus_affinity_holds_and_4_busy_processes_each_get_80_percent_of_a_cpu", |ctx| {
        user::record_user_tests_on(ctx, "smp4", &["affinity:4", "balance:4", "signal_kick"], |boot| boot.smp(4)).map(drop)
    }),
    ("tlb::threads_on_two_cpus_never_use_a_translation_that_fork_munmap_or_mprotect_changed", |ctx| user::record_user_tests_on(ctx, "smp2", &["tlb_shootdown:1000:300", "lazy_tlb"], |boot| boot.smp(2).timeout(300)).map(drop)),
    ("tlb::threads_on_four_cpus_never_use_a_translation_that_fork_munmap_or_mprotect_changed", |ctx| user::record_user_tests_on(ctx, "smp4", &["tlb_shootdown:1000:300"], |boot| boot.smp(4).timeout(300)).map(drop)),
    ("smp::the_core_scheduler_tests_pass_on_2_cpus_with_lockdep", |ctx| {
        let run = ctx.boot(&Boot::bios("lockdep ktest=sched::core").smp(cpus(2)))?;
        ktest::record_kernel_tests_as(ctx, "smp2::kernel", &run)
    }),
];

/// The test programs in `tests/user/` that `init` runs, in this order (the
/// other `.c` files there are `init` itself and helpers the programs exec).
#[rustfmt::skip]
const USER_PROGRAMS: &[&str] = &[
    "fork_basic", "cow", "cow_exit", "exit_status", "zombie", "orphan", "subreaper",
    "exec", "efault", "vfork", "threads", "thread_cycles", "clone_raw", "clone_flags",
    "clone3", "exit_group", "sigaction", "stress", "pstree_check", "rust_fork", "pidfd", "exec_thread", "files", "cputime", "sigkill_latency", "pipes",
    "proc_answers", "rlimits", "elf_hostile", "exec_hostile", "mmap_edges", "mmap_reuse", "elf_fuzz", "fs_edges",
    "syslog", "restart", "futex_ops", "sleep_state", "itimer", "rusage", "rlimit_cpu", "sigabi",
    "sigqueue", "posix_timers",
    "pidfd_signal", "signalfd", "select", "sigchld_exec", "cpuclock",
    "procfs", "dev_fcntl",
    "file_mmap", "tmpfs_full", "exec_shares_text",
    "fsmeta", "fsnames", "fsexec",
    "sysv_shm",
    "rmap_race", "maps_paths",
    "uts_ipc_ns",
    "pidns",
    "creds",
    "perms",
    "proc_cmdline", "sysv_shm_proc", "posix_timers_lazy",
    "affinity", "balance",
    "tlb_shootdown:100:30",
    "siginfo",
    "jobctl",
    "ptrace_basic", "ptrace_events", "ptrace_exit", "ptrace_gstop", "ptrace_poke_text",
    "jobctl_orphan", "ptrace_protnone", "ptrace_attach_stopped", "ptrace_sysstops", "ptrace_access",
    "ptrace_clone",
    "sched_rt", "sched_policy",
    "nice", "sched_fair",
    "proc_exe",
    "coredump", "core_pipe", "coredump_busy",
    "sigconf", "timeconf", "fdconf", "fileconf", "epoll",
    "conform_clone", "conform_exec", "conform_wait", "conform_waitid", "conform_ids", "conform_prctl", "conform_proc",
    "conform_kill", "conform_exit", "conform_pgrp", "conform_proc_fields", "conform_procfd", "conform_sig",
    "exit_signal_stop", "fsbase_fork",
    "eventfd", "timerfd",
];

/// The SMP race tests: the user tier runs them after `USER_PROGRAMS` on one
/// CPU, the protection rerun on 4, `smp::the_race_tests_pass_on_2_cpus` on 2.
#[rustfmt::skip]
const RACE_PROGRAMS: &[&str] = &[
    "race_wait", "race_orphans", "race_exit", "race_vfork", "race_dethread",
    "race_fault_flush",
];

/// The fuzzers in their own boot, a bounded amount: `sys_fuzz SEED N`
/// (`make fuzz` runs any seed for as long as asked).
const FUZZ: &[&str] = &["sys_fuzz:1:200"];

/// Scenarios that repeat a one-CPU run on several CPUs: with the
/// multi-CPU runs off ([`tests::smp_runs`]) they would boot one CPU and
/// repeat the user tier's or the kernel tests' run, so they are left out.
const SMP_RERUNS: &[&str] = &[
    "smp::every_kernel_test_passes_on_4_cpus",
    "smp::the_race_tests_pass_on_2_cpus",
];

fn main() -> ExitCode {
    let scenarios: Vec<Scenario> = SCENARIOS
        .iter()
        .copied()
        .filter(|(name, _)| tests::smp_runs() || !SMP_RERUNS.contains(name))
        .collect();
    tests::main(&scenarios)
}

const BANNER: &str = "Booting lifecycle";

/// tests/user/oom.c exhausts memory, so it gets a boot of its own; the
/// kernel must log each kill in Linux's words.
fn oom_killer(ctx: &Ctx) -> Result<(), Failure> {
    let run = user::record_user_tests_on(ctx, "user", &["oom"], |boot| boot)?;
    expect_line(&run, "Out of memory: Killed process")
}

/// tests/user/oom_fork.c fills memory and forks, in a boot of its own: the
/// pages for the child come through the OOM killer, which logs its kill.
fn oom_fork(ctx: &Ctx) -> Result<(), Failure> {
    let run = user::record_user_tests_on(ctx, "user", &["oom_fork"], |boot| boot)?;
    expect_line(&run, "Out of memory: Killed process")
}

/// The limit of a boot running every user program: they took 118 s before
/// the race tests (each at most 24 s) joined them.
const USER_TIER_TIMEOUT: u64 = 300;

/// The user tier: every program of `USER_PROGRAMS` and the race tests on one CPU.
fn user_tier(ctx: &Ctx) -> Result<(), Failure> {
    let programs = [USER_PROGRAMS, RACE_PROGRAMS].concat();
    user::record_user_tests_on(ctx, "user", &programs, |boot| {
        boot.smp(1).timeout(USER_TIER_TIMEOUT)
    })
    .map(drop)
}

/// The race programs with their parties on two CPUs.
fn races_on_2_cpus(ctx: &Ctx) -> Result<(), Failure> {
    user::record_user_tests_on(ctx, "smp2", RACE_PROGRAMS, |boot| {
        boot.smp(cpus(2)).timeout(USER_TIER_TIMEOUT)
    })
    .map(drop)
}

/// A boot with `n` CPUs: the log says each was brought up, in Linux's
/// words, and the in-kernel SMP tests (every CPU online in its own idle
/// task, ticking, taking call-function and reschedule IPIs) all pass.
fn smp_boot(ctx: &Ctx, boot: Boot, n: usize) -> Result<(), Failure> {
    let run = ctx.boot(&boot)?;
    let mut lines = vec![
        "smp: Bringing up secondary CPUs ...".to_string(),
        "x86: Booting SMP configuration:".to_string(),
    ];
    lines
        .extend((1..n).map(|cpu| format!("smpboot: Booting Node 0 Processor {cpu} APIC {cpu:#x}")));
    lines.push(format!("smp: Brought up 1 node, {n} CPUs"));
    lines.push(format!("smpboot: Total of {n} processors activated"));
    expect_lines(&run, &lines.iter().map(String::as_str).collect::<Vec<_>>())?;
    let report = ktest::parse(&run);
    match report.summary {
        Some((passed, 0)) if passed >= 6 => expect_exit(&run, Exit::Success),
        summary => Err(Failure::of(
            &run,
            format!("smp:: kernel tests: {summary:?} (passed, failed)"),
        )),
    }
}

fn bios_runs_kernel_tests(ctx: &Ctx) -> Result<(), Failure> {
    let run = ctx.boot(&Boot::bios("ktest").smp(1))?;
    ktest::record_kernel_tests(ctx, &run)
}

/// The kernel tests again with 4 CPUs (while the multi-CPU runs are off,
/// the same boot as `bios_runs_kernel_tests`, shared).
fn kernel_tests_on_4_cpus(ctx: &Ctx) -> Result<(), Failure> {
    let run = ctx.boot(&Boot::bios("ktest").smp(cpus(4)))?;
    ktest::record_kernel_tests_as(ctx, "smp4::kernel", &run)
}

fn uefi_banner_matches_bios(ctx: &Ctx) -> Result<(), Failure> {
    let uefi = ctx.boot(&Boot::uefi("ktest=init::"))?;
    let bios = ctx.boot(&Boot::bios("ktest").smp(1))?;
    expect_exit(&uefi, Exit::Success)?;
    let banner = |run: &tests::Outcome| {
        run.lines()
            .find(|l| l.starts_with(BANNER))
            .map(str::to_owned)
    };
    match (banner(&uefi), banner(&bios)) {
        (Some(u), Some(b)) if u == b => Ok(()),
        (u, b) => Err(Failure::of(
            &uefi,
            format!("banner under UEFI: {u:?}\nbanner under BIOS: {b:?}"),
        )),
    }
}

/// `-cpu max` under OVMF too: the firmware and the bootloader run on the
/// richer CPU, and the kernel turns its protections on.
fn uefi_on_cpu_max(ctx: &Ctx) -> Result<(), Failure> {
    let run = ctx.boot(&Boot::uefi("ktest=init::").cpu("max"))?;
    expect_line(&run, "x86/cpu: SMEP SMAP UMIP PGE enabled")?;
    expect_exit(&run, Exit::Success)
}

fn boots_with_initrd(ctx: &Ctx) -> Result<(), Failure> {
    let root = sample_tree()?;
    let run = ctx.boot(&Boot::bios("ktest=init::").initrd(root.path()))?;
    expect_line(&run, BANNER)?;
    expect_exit(&run, Exit::Success)
}

/// A shell script as /init, run by the static busybox: the whole path from
/// the packer through fw_cfg to exec in the kernel.
fn busybox_init_runs(ctx: &Ctx) -> Result<(), Failure> {
    let root = tempfile::tempdir()?;
    user::add_busybox(root.path())?;
    let init = root.path().join("init");
    fs::write(
        &init,
        "#!/bin/sh\necho init says hello\nexec /bin/busybox poweroff -f\n",
    )?;
    fs::set_permissions(&init, fs::Permissions::from_mode(0o755))?;
    let run = ctx.boot(&Boot::bios("").initrd(root.path()))?;
    expect_line(&run, "init says hello")?;
    expect_exit(&run, Exit::Success)
}

/// Writes an executable `/init` shell script (run by busybox) into `root`.
fn init_script(root: &Path, script: &str) -> std::io::Result<()> {
    user::add_busybox(root)?;
    let init = root.join("init");
    fs::write(&init, script)?;
    fs::set_permissions(&init, fs::Permissions::from_mode(0o755))
}

/// When pid 1 exits the kernel says so, as Linux does, and the run fails.
fn init_exit_is_reported(ctx: &Ctx) -> Result<(), Failure> {
    let root = tempfile::tempdir()?;
    init_script(root.path(), "#!/bin/sh\nexit 3\n")?;
    let run = ctx.boot(&Boot::bios("").initrd(root.path()))?;
    expect_line(
        &run,
        "Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000300",
    )?;
    expect_exit(&run, Exit::Failure)
}

/// The demos the tour runs, each also a shell command in `make run`.
const DEMOS: &[&str] = &[
    "cowdemo",
    "zombie",
    "orphan",
    "vforkdemo",
    "threads",
    "pidns",
    "trace",
];

/// An initramfs with the tour as /init, its demos, and busybox's echo.
/// Built once per run, so that scenarios booting it with the same command
/// line and input share one boot.
fn tour_initramfs() -> std::io::Result<&'static Path> {
    static ROOT: std::sync::OnceLock<Result<tempfile::TempDir, String>> =
        std::sync::OnceLock::new();
    let build = || -> std::io::Result<tempfile::TempDir> {
        let root = tempfile::tempdir()?;
        user::add_busybox(root.path())?;
        std::os::unix::fs::symlink("busybox", root.path().join("bin/echo"))?;
        user::compile_demo("tour", &root.path().join("init"))?;
        for demo in DEMOS {
            user::compile_demo(demo, &root.path().join("bin").join(demo))?;
        }
        Ok(root)
    };
    match ROOT.get_or_init(|| build().map_err(|e| e.to_string())) {
        Ok(root) => Ok(root.path()),
        Err(e) => Err(std::io::Error::other(e.clone())),
    }
}

/// The tour `make run` starts with, non-interactively: every step prints its line.
fn tour_runs(ctx: &Ctx) -> Result<(), Failure> {
    let root = tour_initramfs()?;
    let run = ctx.boot(&Boot::bios("--no-shell").initrd(root))?;
    expect_lines(
        &run,
        &[
            "tour: this is /init, pid 1",
            "cowdemo: the child wrote 16 pages: do_wp_page() copied 16 pages",
            "in the parent, whose pages still hold 1",
            "tour: hello from the new program, same pid",
            "/bin/echo exited with 0",
            "before wait4 its state is Z",
            "finish_task_switch() freed its 32 kB stack (put_task_stack())",
            "release_task() freed it, state now -",
            "now has ppid 1 (find_new_reaper())",
            "tour: init (pid 1) reaped orphan",
            "(mm_release() completed vfork_done)",
            "threads: 2 threads incremented one counter to 2000",
            "pidns: inside, the init's getpid() is 1 and getppid() is 0",
            "now has ppid 1, the namespace's init (find_new_reaper() -> child_reaper)",
            "pidns: inside, /proc (what ps reads) lists only the namespace: 1 2 3 4 (4 tasks)",
            "from outside: the init died of signal 9",
            "pidns: 4 of 4 namespace members are gone",
            "execve(\"/bin/busybox\", [\"/bin/busybox\", \"sh\", \"-c\"",
            "wait4(-1, &status, ",
            "exit_group(0) = ?",
            "and the shell as real_parent; the shell exited with 0",
            "tour: kthreadd is in state S",
            "tour: done",
        ],
    )?;
    expect_exit(&run, Exit::Success)
}

/// The tour booted with `trace`: the Chrome trace is valid JSON; each
/// process created has one fork and (unless still alive) one exit; whoever
/// reaped a child is its fork parent or the reaper it was handed to.
fn tour_trace(ctx: &Ctx) -> Result<(), Failure> {
    let root = tour_initramfs()?;
    let run = ctx.boot(&Boot::bios("--no-shell trace").initrd(root))?;
    expect_exit(&run, Exit::Success)?;
    let events = boot::trace::parse(&run.serial);
    let json: serde_json::Value = serde_json::from_str(&boot::trace::chrome_trace(&events))
        .map_err(|e| Failure::of(&run, format!("the trace is not valid JSON: {e}")))?;
    let count = |name: &str, key: &str, pid: i64| {
        events
            .iter()
            .filter(|e| e.name == name && e.num(key) == pid)
            .count()
    };
    let mut problems = Vec::new();
    let forks: Vec<_> = events
        .iter()
        .filter(|e| e.name == "sched_process_fork")
        .collect();
    for fork in &forks {
        let (parent, child) = (fork.num("parent"), fork.num("child"));
        if count("sched_process_fork", "child", child) != 1 {
            problems.push(format!("pid {child} has more than one fork event"));
        }
        // kthreadd's children here are the per-CPU migration/N, which live on.
        if child > 2 && parent != 2 && count("sched_process_exit", "pid", child) != 1 {
            problems.push(format!("pid {child} has no single exit event"));
        }
        let reapers: Vec<i64> = events
            .iter()
            .filter(|e| e.name == "reparent" && e.num("pid") == child)
            .map(|e| e.num("reaper"))
            .collect();
        for wait in events
            .iter()
            .filter(|e| e.name == "sched_process_wait" && e.num("pid") == child)
        {
            if wait.num("parent") != parent && !reapers.contains(&wait.num("parent")) {
                problems.push(format!(
                    "pid {child} forked by {parent} was reaped by {}",
                    wait.num("parent")
                ));
            }
        }
    }
    let flows = json["traceEvents"].as_array().map_or(0, |a| {
        a.iter()
            .filter(|e| e["cat"] == "fork" && e["ph"] == "f")
            .count()
    });
    if forks.len() < 8 || flows != forks.len() {
        problems.push(format!("{} fork events, {flows} fork arrows", forks.len()));
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(Failure::of(&run, problems.join("\n"))),
    }
}

/// The same trace: each fork's parent is the task running when it was
/// recorded (the caller of clone, as Linux's sched_process_fork says), also
/// for the threads of `threads`, whose parent is its main thread, not init.
fn trace_thread_parent(ctx: &Ctx) -> Result<(), Failure> {
    let root = tour_initramfs()?;
    let run = ctx.boot(&Boot::bios("--no-shell trace").initrd(root))?;
    let events = boot::trace::parse(&run.serial);
    // What each CPU runs: a fork is recorded on the CPU of its caller.
    let mut running = std::collections::HashMap::new();
    let mut problems = Vec::new();
    let mut threads_made_by_threads = 0;
    let mut exec_name = std::collections::HashMap::new();
    for e in &events {
        let on_cpu = running.get(&e.num("cpu")).copied().unwrap_or(0);
        match e.name.as_str() {
            "sched_switch" => {
                running.insert(e.num("cpu"), e.num("next"));
            }
            "sched_process_exec" => {
                exec_name.insert(e.num("pid"), e.fields["comm"].clone());
            }
            "sched_process_fork" if e.num("parent") != on_cpu => problems.push(format!(
                "pid {} credited to {} while {on_cpu} ran on CPU {}",
                e.num("child"),
                e.num("parent"),
                e.num("cpu")
            )),
            "sched_process_fork"
                if exec_name.get(&e.num("parent")).map(String::as_str) == Some("threads") =>
            {
                threads_made_by_threads += 1;
            }
            _ => {}
        }
    }
    if threads_made_by_threads < 2 {
        problems.push(format!(
            "{threads_made_by_threads} tasks credited to the threads program (want its 2 threads)"
        ));
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(Failure::of(&run, problems.join("\n"))),
    }
}

/// The SVG picture of the same trace: a labelled row for each task (with
/// the name it was forked or exec'ed with) and a fork arrow per fork.
fn tour_picture(ctx: &Ctx) -> Result<(), Failure> {
    let root = tour_initramfs()?;
    let run = ctx.boot(&Boot::bios("--no-shell trace").initrd(root))?;
    let events = boot::trace::parse(&run.serial);
    let svg = boot::timeline_svg::svg(&events);
    let forks: Vec<i64> = events
        .iter()
        .filter(|e| e.name == "sched_process_fork")
        .map(|e| e.num("child"))
        .collect();
    let rows = svg.matches(r#"<text x="4""#).count();
    let arrows = svg.matches(r#"<line class="fork""#).count();
    let mut problems = Vec::new();
    if rows != forks.len() + 1 || arrows != forks.len() || !svg.ends_with("</svg>\n") {
        problems.push(format!(
            "{} forks: {rows} rows (want one more, for swapper/0), {arrows} fork arrows",
            forks.len()
        ));
    }
    problems.extend(labels_clear_of_bars_and_edges(&svg));
    for label in [
        "kthreadd (2)",
        "cowdemo (",
        "threads (",
        "&#9662;exec zombie",
    ] {
        if !svg.contains(label) {
            problems.push(format!("no {label:?} in the picture"));
        }
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(Failure::of(&run, problems.join("\n"))),
    }
}

/// The same trace's per-CPU tracks (`tests::smp::check_cpu_tracks`): one
/// for each CPU that ran tasks, slices that never overlap on a CPU, and no
/// task on two CPUs at once.
fn tour_cpu_tracks(ctx: &Ctx) -> Result<(), Failure> {
    let root = tour_initramfs()?;
    let boot = Boot::bios("--no-shell trace").initrd(root);
    let run = ctx.boot(&boot)?;
    let events = boot::trace::parse(&run.serial);
    let json: serde_json::Value = serde_json::from_str(&boot::trace::chrome_trace(&events))
        .map_err(|e| Failure::of(&run, format!("the trace is not valid JSON: {e}")))?;
    tests::smp::check_cpu_tracks(&json, boot.smp).map_err(|why| Failure::of(&run, why))
}

/// The same trace's running slices of fair tasks carry the task's vruntime
/// at both ends (the idle task's carry none); the virtual clock moves only
/// forwards while a task runs, and for most slices it moves.
fn tour_vruntime(ctx: &Ctx) -> Result<(), Failure> {
    let root = tour_initramfs()?;
    let run = ctx.boot(&Boot::bios("--no-shell trace").initrd(root))?;
    let events = boot::trace::parse(&run.serial);
    let json: serde_json::Value = serde_json::from_str(&boot::trace::chrome_trace(&events))
        .map_err(|e| Failure::of(&run, format!("the trace is not valid JSON: {e}")))?;
    let slices: Vec<&serde_json::Value> = json["traceEvents"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|e| e["name"] == "running" && e["pid"] == 1)
                .collect()
        })
        .unwrap_or_default();
    let with = |e: &&serde_json::Value| {
        e["args"]["vruntime_ns"]
            .as_i64()
            .zip(e["args"]["vruntime_end_ns"].as_i64())
    };
    let fair: Vec<(i64, i64)> = slices.iter().filter_map(with).collect();
    let idle_with = slices
        .iter()
        .filter(|e| e["tid"] == 0)
        .filter_map(with)
        .count();
    let back = fair.iter().filter(|(a, b)| b < a).count();
    let moved = fair.iter().filter(|(a, b)| b > a).count();
    if fair.len() < 20 || idle_with != 0 || back != 0 || moved * 2 < fair.len() {
        return Err(Failure::of(
            &run,
            format!(
                "{} running slices, {} with a vruntime ({idle_with} of the idle task's), \
             {back} going back, {moved} moving forwards",
                slices.len(),
                fair.len()
            ),
        ));
    }
    Ok(())
}

/// What a user sees of the CPUs (`tests::smp::CPUS_SCRIPT`): nproc and
/// /proc/cpuinfo count them, /proc/stat has a line per CPU whose user time
/// grows while a busy loop runs on each, top shows them all busy, and
/// Ctrl-T lists the loops on every CPU.
fn cpus_in_the_shell(ctx: &Ctx) -> Result<(), Failure> {
    let root = tempfile::tempdir()?;
    init_script(root.path(), tests::smp::CPUS_SCRIPT)?;
    let boot = Boot::bios("")
        .initrd(root.path())
        .type_after("ctrl-t now", b"\x14")
        .timeout(60);
    let run = ctx.boot(&boot)?;
    expect_exit(&run, Exit::Success)?;
    tests::smp::check_cpus_run(&run, boot.smp)
}

/// Every text of the picture lies inside it and clear of every bar, with
/// a monospace character taken as 0.62 em wide and a line as 1 em high.
fn labels_clear_of_bars_and_edges(svg: &str) -> Vec<String> {
    let attr = |line: &str, name: &str| -> f64 {
        line.split(&format!(" {name}=\""))
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN)
    };
    let width = attr(svg.lines().next().unwrap_or(""), "width");
    let bars: Vec<[f64; 4]> = svg
        .lines()
        .filter(|l| l.starts_with("<rect class="))
        .map(|l| {
            let (x, y) = (attr(l, "x"), attr(l, "y"));
            [x, x + attr(l, "width"), y, y + attr(l, "height")]
        })
        .collect();
    let mut problems = Vec::new();
    for line in svg.lines().filter(|l| l.starts_with("<text")) {
        let text = line
            .split('>')
            .nth(1)
            .unwrap_or("")
            .trim_end_matches("</text");
        let chars = text
            .replace("&#9662;", "v")
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .chars()
            .count();
        let size = if line.contains("font-size=") {
            attr(line, "font-size")
        } else {
            11.0
        };
        let w = chars as f64 * size * 0.62;
        let (x, y) = (attr(line, "x"), attr(line, "y"));
        let left = match () {
            _ if line.contains(r#"text-anchor="middle""#) => x - w / 2.0,
            _ if line.contains(r#"text-anchor="end""#) => x - w,
            _ => x,
        };
        let (top, bottom) = (y - size * 0.8, y + size * 0.2);
        if left < 0.0 || left + w > width {
            problems.push(format!(
                "{text:?} runs off the picture ({left:.1}..{:.1} of {width})",
                left + w
            ));
        }
        if let Some(bar) = bars
            .iter()
            .find(|[x0, x1, y0, y1]| left < *x1 && left + w > *x0 && top < *y1 && bottom > *y0)
        {
            problems.push(format!("{text:?} overlaps the bar at {bar:?}"));
        }
    }
    problems
}

/// tests/user/coredump.c `gdb` crashes a child in the VM and prints the
/// core file on the console; decoded on the host, the host's gdb opens it
/// with the same program and `bt` names the crashing function.
fn gdb_reads_a_core_file(ctx: &Ctx) -> Result<(), Failure> {
    let root = ctx.user().root()?;
    let run = ctx.boot(&Boot::bios("init=/bin/init coredump:gdb").initrd(root))?;
    let core = tests::gdb::core_from_console(run.lines()).map_err(|why| Failure::of(&run, why))?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("core");
    fs::write(&path, core)?;
    let output = tests::gdb::backtrace(&root.join("bin").join("coredump"), &path)?;
    let frame0 = output.lines().find(|l| l.starts_with("#0 "));
    match frame0.is_some_and(|l| l.contains(" in crashing_function_for_gdb ")) {
        true => Ok(()),
        false => Err(Failure::new(format!(
            "gdb -batch -ex bt printed:\n{output}"
        ))),
    }
}

/// The tour halted for gdb: at the first do_exit, the helper's `lx-ps` lists
/// swapper/0, init and kthreadd with their pids, and the exiting task running,
/// each on one of the boot's CPUs;
/// after gdb detaches, the tour runs on to the end.
fn gdb_lists_tasks(ctx: &Ctx) -> Result<(), Failure> {
    let root = tour_initramfs()?;
    let port = tests::gdb::free_port()?;
    let halted = Boot::bios("--no-shell").initrd(root).halted_for_gdb(port);
    let commands = [
        "hbreak kernel::exit::do_exit",
        "continue",
        "lx-ps",
        "detach",
    ];
    let (output, run) = std::thread::scope(|s| {
        let qemu = s.spawn(|| ctx.boot(&halted));
        let output = tests::gdb::batch(port, &commands);
        (output, qemu.join().expect("the boot thread ends"))
    });
    let (output, run) = (output?, run?);
    expect_exit(&run, Exit::Success)?;
    let rows: Vec<(i64, &str, u32, &str)> = output
        .lines()
        .filter(|l| l.starts_with("0x"))
        .filter_map(|l| match l.split_whitespace().collect::<Vec<_>>()[..] {
            [_, pid, _, state, cpu, comm] => {
                Some((pid.parse().ok()?, state, cpu.parse().ok()?, comm))
            }
            _ => None,
        })
        .collect();
    let on_a_cpu = rows.len() > 3 && rows.iter().all(|&(_, _, cpu, _)| cpu < halted.smp);
    let has = |pid: i64, state: &str, comm: &str| {
        rows.iter().any(|&(p, s, _, c)| {
            p == pid && (state.is_empty() || s == state) && (comm.is_empty() || c == comm)
        })
    };
    let exiting = rows.iter().any(|&(p, s, _, _)| p > 2 && s == "R");
    let listed = has(0, "R", "swapper/0") && has(1, "", "init") && has(2, "S", "kthreadd");
    match listed && exiting && on_a_cpu {
        true => Ok(()),
        false => Err(Failure::new(format!("gdb printed:\n{output}"))),
    }
}

/// BusyBox ash as init: a program with arguments, a pipeline, `$(...)`, `$?`,
/// a background job that `ps` lists and `kill -9` ends with status 137.
fn busybox_shell(ctx: &Ctx) -> Result<(), Failure> {
    let root = tempfile::tempdir()?;
    init_script(
        root.path(),
        concat!(
            "#!/bin/sh\n",
            "/bin/busybox echo args: one two\n",
            "/bin/busybox echo piped | /bin/busybox tr a-z A-Z\n",
            "echo \"subst: $(/bin/busybox echo inner)\"\n",
            "/bin/busybox false; echo \"status: $?\"\n",
            "/bin/busybox sleep 30 &\n",
            "bg=$!\n",
            "/bin/busybox ps | /bin/busybox grep -q \"^ *$bg \" && echo \"ps lists $bg\"\n",
            "kill -9 $bg; wait $bg; echo \"wait: $?\"\n",
            "exec /bin/busybox poweroff -f\n",
        ),
    )?;
    let run = ctx.boot(&Boot::bios("").initrd(root.path()))?;
    expect_lines(
        &run,
        &[
            "args: one two",
            "PIPED",
            "subst: inner",
            "status: 1",
            "ps lists ",
            "wait: 137",
        ],
    )?;
    expect_exit(&run, Exit::Success)
}

/// The tools that read /proc keep working from the shell, and /proc's
/// files answer there as they do on Linux: ps, top, free and our pstree;
/// `ls /proc` lists self; maps names the stack and another process's text
/// (what pmap shows; Debian's busybox has no pmap applet); writing hostname renames
/// the machine; task/ lists a process's thread; fd/ links name the file.
fn proc_in_the_shell(ctx: &Ctx) -> Result<(), Failure> {
    let root = user::initramfs(&["pstree"])?;
    init_script(
        root.path(),
        concat!(
            "#!/bin/sh\n",
            "B=/bin/busybox\n",
            "$B sleep 30 &\n",
            "s=$!\n",
            "$B ps | $B grep -q \"^ *$s .*sleep 30\" && echo \"ps lists the sleeper\"\n",
            "$B top -b -n 1 | $B grep -q '^Load average: ' && echo 'top shows the load average'\n",
            "$B free | $B grep -q '^Swap: *0 *0 *0' && echo 'free shows no swap'\n",
            "$B ls /proc | $B grep -qx self && echo 'ls /proc lists self'\n",
            "$B grep -q '\\[stack\\]$' /proc/self/maps && echo 'maps names the stack'\n",
            "$B grep -q 'r-xp .* /bin/busybox$' /proc/$s/maps && echo 'maps names the sleeper text by its file'\n",
            "echo shellhost > /proc/sys/kernel/hostname; echo \"hostname: $($B hostname)\"\n",
            "echo \"tasks of the sleeper: $($B ls /proc/$s/task)\" | $B sed \"s/$s/its pid/\"\n",
            "echo \"fd 2: $($B readlink /proc/self/fd/2)\"\n",
            "/bin/pstree\n",
            "kill $s\n",
            "exec $B poweroff -f\n",
        ),
    )?;
    let run = ctx.boot(&Boot::bios("").initrd(root.path()))?;
    expect_lines(
        &run,
        &[
            "ps lists the sleeper",
            "top shows the load average",
            "free shows no swap",
            "ls /proc lists self",
            "maps names the stack",
            "maps names the sleeper text by its file",
            "hostname: shellhost",
            "tasks of the sleeper: its pid",
            "fd 2: /dev/console",
            "| |-busybox(",
        ],
    )?;
    expect_exit(&run, Exit::Success)
}

/// BusyBox's unshare and nsenter as a learner uses them: `unshare -u`
/// gives a shell a UTS namespace of its own (a new `uts:[N]`) whose host
/// name the machine does not see, and `nsenter -u` (setns on
/// `/proc/<pid>/ns/uts`) joins it.
fn namespaces_in_the_shell(ctx: &Ctx) -> Result<(), Failure> {
    let root = tempfile::tempdir()?;
    init_script(
        root.path(),
        concat!(
            "#!/bin/sh\n",
            "B=/bin/busybox\n",
            "echo \"outside: $($B hostname) $($B readlink /proc/self/ns/uts)\"\n",
            "$B unshare -u /bin/sh -c 'B=/bin/busybox; $B hostname inside; ",
            "echo \"inside: $($B hostname) $($B readlink /proc/self/ns/uts)\"; $B sleep 3' &\n",
            "$B sleep 1\n",
            "echo \"nsenter: $($B nsenter -t $! -u $B hostname)\"\n",
            "echo \"outside again: $($B hostname)\"\n",
            "exec $B poweroff -f\n",
        ),
    )?;
    let run = ctx.boot(&Boot::bios("").initrd(root.path()))?;
    expect_lines(
        &run,
        &[
            "outside: lifecycle uts:[4026531838]",
            "inside: inside uts:[4026531840]",
            "nsenter: inside",
            "outside again: lifecycle",
        ],
    )?;
    expect_exit(&run, Exit::Success)
}

/// The demos as a learner runs them in the shell: with an argument, the
/// zombie stays long enough for `ps` to show it, and the orphan for `pstree`
/// to draw it under init.
fn demos_in_the_shell(ctx: &Ctx) -> Result<(), Failure> {
    let root = user::initramfs(&["pstree"])?;
    init_script(
        root.path(),
        concat!(
            "#!/bin/sh\n",
            "export PATH=/bin\n",
            "cowdemo 3\n",
            "zombie 2 &\n",
            "busybox sleep 1\n",
            "busybox ps -o pid,ppid,stat,comm | busybox grep ' Z '\n",
            "orphan 2 &\n",
            "busybox sleep 1\n",
            "pstree 1\n",
            "wait\n",
            "threads 4\n",
            "vforkdemo 50\n",
            "exec busybox poweroff -f\n",
        ),
    )?;
    for demo in DEMOS {
        user::compile_demo(demo, &root.path().join("bin").join(demo))?;
    }
    let run = ctx.boot(&Boot::bios("").initrd(root.path()))?;
    expect_lines(
        &run,
        &[
            "cowdemo: the child wrote 3 pages: do_wp_page() copied 3 pages",
            "init(1)", // pid 1 is no kernel thread: no [brackets]
            " Z    zombie",
            "|-orphan(",
            "threads: 4 threads incremented one counter to 4000",
        ],
    )?;
    // The child sleeps 50 ms before it exits, so vfork cannot return sooner;
    // how much later depends on the host's load (no upper bound here).
    let after = "vforkdemo: vfork returned after ";
    let waited = run.lines().find_map(|l| {
        l.strip_prefix(after)?
            .split_once(" ms")?
            .0
            .parse::<u64>()
            .ok()
    });
    if !waited.is_some_and(|ms| ms >= 50) {
        return Err(Failure::of(
            &run,
            "vforkdemo's vfork did not wait for its child's 50 ms",
        ));
    }
    expect_exit(&run, Exit::Success)
}

/// BusyBox `top` in batch mode, from /proc/stat, /proc/loadavg and each
/// /proc/<pid>/stat: a busy loop takes nearly all of the CPU, in user mode.
/// `time` of a busy shell loop: BusyBox's time reads the child's user time
/// from wait4's rusage, which must be most of the real time it took.
fn time_in_the_shell(ctx: &Ctx) -> Result<(), Failure> {
    let root = tempfile::tempdir()?;
    init_script(
        root.path(),
        concat!(
            "#!/bin/sh\n",
            "/bin/busybox time /bin/busybox sh -c 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done'\n",
            "exec /bin/busybox poweroff -f\n",
        ),
    )?;
    let run = ctx.boot(&Boot::bios("").initrd(root.path()))?;
    expect_exit(&run, Exit::Success)?;
    // "real\t0m 1.23s": minutes and seconds.
    let seconds = |name: &str| -> Option<f64> {
        let line = run.lines().find(|l| l.starts_with(name))?;
        let (m, s) = line[name.len()..].trim().split_once('m')?;
        Some(m.parse::<f64>().ok()? * 60.0 + s.trim().trim_end_matches('s').parse::<f64>().ok()?)
    };
    match (seconds("real"), seconds("user")) {
        (Some(real), Some(user)) if real > 0.2 && user >= real / 2.0 => Ok(()),
        _ => Err(Failure::of(
            &run,
            "time printed no user time near the real time",
        )),
    }
}

/// QEMU's CMOS RTC keeps the host's UTC time, and the kernel reads it at
/// boot: `date +%s` in the guest is the host's time, within a minute.
fn realtime_from_the_rtc(ctx: &Ctx) -> Result<(), Failure> {
    let root = tempfile::tempdir()?;
    init_script(
        root.path(),
        "#!/bin/sh\necho \"date: $(/bin/busybox date +%s)\"\nexec /bin/busybox poweroff -f\n",
    )?;
    let host = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    };
    let before = host();
    let run = ctx.boot(&Boot::bios("").initrd(root.path()))?;
    let after = host();
    expect_exit(&run, Exit::Success)?;
    let guest = run
        .lines()
        .find_map(|l| l.strip_prefix("date: ")?.trim().parse::<u64>().ok());
    match guest {
        Some(t) if t + 60 >= before && t <= after + 60 => Ok(()),
        _ => Err(Failure::of(
            &run,
            format!("the guest's date is not the host's ({before}..{after})"),
        )),
    }
}

fn busybox_top(ctx: &Ctx) -> Result<(), Failure> {
    let root = tempfile::tempdir()?;
    init_script(
        root.path(),
        concat!(
            "#!/bin/sh\n",
            "/bin/busybox sh -c 'while :; do :; done' &\n",
            "/bin/busybox sleep 1\n",
            "/bin/busybox top -b -n 2 -d 1\n",
            "exec /bin/busybox poweroff -f\n",
        ),
    )?;
    // One CPU: one loop is then all of the machine's CPU time (the smp::
    // scenario runs a loop per CPU).
    let run = ctx.boot(&Boot::bios("").initrd(root.path()).smp(1))?;
    expect_exit(&run, Exit::Success)?;
    expect_line(&run, "Load average: ")?;
    let percent = |line: &str, after: &str| -> Option<u32> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let at = words.iter().position(|w| *w == after)?;
        words
            .get(at.checked_sub(1)?)?
            .trim_end_matches('%')
            .parse()
            .ok()
    };
    let last = |pick: &dyn Fn(&str) -> Option<u32>| run.lines().filter_map(pick).last();
    let usr = last(&|l| l.starts_with("CPU:").then(|| percent(l, "usr")).flatten());
    let busy = last(&|l| {
        l.ends_with("while :; do :; done")
            .then(|| {
                l.split_whitespace()
                    .nth(6)?
                    .trim_end_matches('%')
                    .parse()
                    .ok()
            })
            .flatten()
    });
    match (usr, busy) {
        (Some(usr), Some(busy)) if usr >= 90 && busy >= 90 => Ok(()),
        _ => Err(Failure::of(
            &run,
            format!("CPU usr {usr:?}%, the busy loop {busy:?}%: both should be >= 90"),
        )),
    }
}

/// Every `/// Linux: name()` of the kernel appears in the README's map.
fn concept_map_is_complete(_: &Ctx) -> Result<(), Failure> {
    let functions = docs::linux_functions(Path::new(docs::KERNEL_SRC))?;
    let missing = docs::missing_from_map(&fs::read_to_string(docs::README)?, &functions);
    if functions.len() < 100 || !missing.is_empty() {
        let why = format!(
            "{} functions found; missing from the README map (run scripts/concept-map.sh):\n{}",
            functions.len(),
            missing.join("\n")
        );
        return Err(Failure::new(why));
    }
    Ok(())
}

/// The same check, on a README whose map lost the row for copy_process().
fn concept_map_check_can_fail(_: &Ctx) -> Result<(), Failure> {
    let functions = docs::linux_functions(Path::new(docs::KERNEL_SRC))?;
    let readme = fs::read_to_string(docs::README)?;
    let damaged: String = readme
        .lines()
        .filter(|l| !l.starts_with("| `copy_process()`"))
        .map(|l| format!("{l}\n"))
        .collect();
    match docs::missing_from_map(&damaged, &functions)
        .iter()
        .any(|m| m.starts_with("copy_process()"))
    {
        true => Ok(()),
        false => Err(Failure::new(
            "removing copy_process() from the map went unnoticed",
        )),
    }
}

/// Interactive ash on the console: Ctrl-C (SIGINT to the terminal's
/// foreground process group) ends `sleep`, and the shell carries on.
fn ctrl_c_in_the_shell(ctx: &Ctx) -> Result<(), Failure> {
    let root = tempfile::tempdir()?;
    init_script(
        root.path(),
        "#!/bin/sh\necho shell-ready\nexec /bin/sh -i\n",
    )?;
    // ash asks the terminal where the cursor is (ESC [6n); answer like one.
    // ash asks the terminal where the cursor is (ESC [6n) before each
    // prompt; answer like a terminal, then type the next line.
    const ASKS: &str = "\x1b[6n";
    let boot = Boot::bios("")
        .initrd(root.path())
        .type_after(ASKS, b"\x1b[1;1Recho sta''rted; sleep 30\r")
        .type_after("started\r\n", b"\x03")
        .type_after(ASKS, b"\x1b[1;1Recho after-ctrl-c:$?\r")
        .type_after(ASKS, b"\x1b[1;1R/bin/busybox poweroff -f\r")
        .timeout(60);
    let run = ctx.boot(&boot)?;
    // A sleep that failed at once (BusyBox runs it by /proc/self/exe)
    // still read 130 when the Ctrl-C came before the failure.
    if run.serial.contains("sleep: not found") {
        return Err(Failure::of(&run, "the shell could not run sleep"));
    }
    expect_line(&run, "after-ctrl-c:130")?;
    expect_exit(&run, Exit::Success)
}

/// Job control at an interactive ash that has the console as its
/// controlling terminal (`setsid -c`), as the issue put it: `sleep 100`,
/// Ctrl-Z stops it (SIGTSTP to its group) and `jobs` shows it Stopped,
/// `bg` continues it in the background (Running), `fg` brings it back
/// (tcsetpgrp, SIGCONT) and Ctrl-C ends it: `$?` is 130. `ps` shows the
/// kernel's state of the sleep (T, then not T) beside the shell's book.
/// A foreground `sleep` prints nothing, so Ctrl-Z and Ctrl-C wait until
/// the kernel's Ctrl-T listing says its group is the terminal's
/// foreground (the shell's child sets that before it execs sleep); typed
/// earlier, the key would signal the shell, which ignores it. A background `cat` is
/// stopped by SIGTTIN, and under `stty tostop` a background writer by
/// SIGTTOU.
fn job_control_in_the_shell(ctx: &Ctx) -> Result<(), Failure> {
    let root = tempfile::tempdir()?;
    init_script(
        root.path(),
        "#!/bin/sh\n/bin/busybox setsid -c /bin/sh -i\n/bin/busybox poweroff -f\n",
    )?;
    // ash asks the terminal where the cursor is (ESC [6n) before each
    // prompt; answer like a terminal, then type the next line.
    const ASKS: &str = "\x1b[6n";
    const CTRL_T: &[u8] = b"\x14";
    const SLEEP_IN_FOREGROUND: &str = "foreground: sleep (";
    const JOBS_AND_STATE: &[u8] = b"\x1b[1;1Rjobs; /bin/busybox ps -o stat,args | /bin/busybox awk '/sl[e]ep 100/ {print \"sleep-is-\" ($1 ~ /T/ ? \"stopped\" : \"not-stopped\")}'\r";
    let boot = Boot::bios("")
        .initrd(root.path())
        .type_after(ASKS, b"\x1b[1;1Rsleep 100\r")
        .type_after_polling(CTRL_T, SLEEP_IN_FOREGROUND, b"\x1a")
        .type_after(ASKS, JOBS_AND_STATE)
        .type_after(ASKS, b"\x1b[1;1Rbg\r")
        .type_after(ASKS, JOBS_AND_STATE)
        .type_after(ASKS, b"\x1b[1;1Rfg\r")
        .type_after_polling(CTRL_T, SLEEP_IN_FOREGROUND, b"\x03")
        .type_after(ASKS, b"\x1b[1;1Recho after-f''g:$?\r")
        .type_after(
            ASKS,
            b"\x1b[1;1R/bin/busybox cat & /bin/busybox sleep 1; jobs\r",
        )
        .type_after(
            ASKS,
            b"\x1b[1;1R/bin/busybox stty tostop; (echo wr''ote) & /bin/busybox sleep 1; jobs\r",
        )
        .type_after(ASKS, b"\x1b[1;1R/bin/busybox poweroff -f\r")
        .timeout(90);
    let run = ctx.boot(&boot)?;
    expect_lines(
        &run,
        &[
            "Stopped                    sleep 100",
            "sleep-is-stopped",
            "Running                    sleep 100",
            "sleep-is-not-stopped",
            "after-fg:130",
            "Stopped (tty input)",
            "Stopped (tty output)",
        ],
    )?;
    expect_exit(&run, Exit::Success)
}

/// The session leader that owns the console (`setsid -c`) exits, and its
/// terminal's foreground process group gets SIGHUP (disassociate_ctty):
/// a non-interactive shell leaves its background child in its own group,
/// which is the foreground one, and that child's HUP trap runs.
fn hangup_on_leader_exit(ctx: &Ctx) -> Result<(), Failure> {
    let root = tempfile::tempdir()?;
    init_script(
        root.path(),
        r#"#!/bin/sh
/bin/busybox setsid -c /bin/sh -c '/bin/sh -c "trap \"echo hup-in-the-fore''ground-group\" HUP; /bin/busybox sleep 2; /bin/busybox sleep 2" & /bin/busybox sleep 1'
/bin/busybox sleep 4
/bin/busybox poweroff -f
"#,
    )?;
    let run = ctx.boot(&Boot::bios("").initrd(root.path()).timeout(60))?;
    expect_line(&run, "hup-in-the-foreground-group")?;
    expect_exit(&run, Exit::Success)
}

/// The tour as `make run` starts it, then a user at the shell: `cat` ended
/// by Ctrl-D, `dmesg`, and `exit`. The shell scenarios below share the boot.
fn tour_then_shell(root: &Path) -> Boot {
    // ash asks the terminal where the cursor is (ESC [6n) before each
    // prompt; answer like a terminal, then type the next line.
    const ASKS: &str = "\x1b[6n";
    Boot::bios("")
        .initrd(root)
        .type_after(ASKS, b"\x1b[1;1Recho cat-star''ts; busybox cat > /tmp/y\r")
        .type_after("cat-starts\r\n", b"line one\rpartial\x04\x04")
        .type_after(ASKS, b"\x1b[1;1Recho \"[$(busybox tr '\\n' '|' < /tmp/y)]\"\r")
        .type_after(
            ASKS,
            b"\x1b[1;1Rbusybox dmesg | busybox grep -q '] Booting lifecycle' && echo dmesg-has-the-ban''ner\r",
        )
        .type_after(ASKS, b"\x1b[1;1Rbusybox dmesg | busybox head -n 3\r")
        .type_after(ASKS, b"\x1b[1;1Rexit\r")
        .timeout(120)
}

/// Ctrl-D in canonical mode: mid-line it hands over the line without
/// itself; on an empty line read() returns 0, so `cat > /tmp/y` ends with
/// the file holding what was typed.
/// The shell over the file-metadata calls: `chmod +x` makes a `#!` script
/// runnable by its path, and a line written into a named pipe made with
/// `mkfifo` comes out of the `cat` reading it in the background (each
/// open waits for the other side, as Linux's fifo_open).
fn chmod_x_and_mkfifo_in_the_shell(ctx: &Ctx) -> Result<(), Failure> {
    let root = tempfile::tempdir()?;
    init_script(
        root.path(),
        concat!(
            "#!/bin/sh\n",
            "printf '#!/bin/sh\\necho \"script ran with $1\"\\n' > /tmp/s.sh\n",
            "/tmp/s.sh before 2>/dev/null || echo \"not runnable before chmod\"\n",
            "/bin/busybox chmod +x /tmp/s.sh; /tmp/s.sh arg\n",
            "/bin/busybox mkfifo /tmp/f; /bin/busybox cat /tmp/f & echo hi through the fifo > /tmp/f\n",
            "wait; echo \"cat done\"\n",
            "exec /bin/busybox poweroff -f\n",
        ),
    )?;
    let run = ctx.boot(&Boot::bios("").initrd(root.path()))?;
    expect_lines(
        &run,
        &[
            "not runnable before chmod",
            "script ran with arg",
            "hi through the fifo",
            "cat done",
        ],
    )?;
    expect_exit(&run, Exit::Success)
}

fn ctrl_d_in_the_shell(ctx: &Ctx) -> Result<(), Failure> {
    let run = ctx.boot(&tour_then_shell(tour_initramfs()?))?;
    expect_line(&run, "[line one|partial]")
}

/// busybox `dmesg` reads the kernel log with syslog(2): the boot banner
/// and the timestamped lines after it.
fn dmesg_in_the_shell(ctx: &Ctx) -> Result<(), Failure> {
    let run = ctx.boot(&tour_then_shell(tour_initramfs()?))?;
    expect_line(&run, "dmesg-has-the-banner")?;
    let lines: Vec<&str> = run.lines().collect();
    let asked = lines
        .iter()
        .position(|l| l.ends_with("dmesg | busybox head -n 3"));
    match asked.and_then(|at| lines.get(at + 1)) {
        Some(first) if first.contains("] Booting lifecycle") => Ok(()),
        other => Err(Failure::of(
            &run,
            format!("dmesg began with {other:?}, not the banner"),
        )),
    }
}

/// `exit` at the prompt ends the shell, not init: the tour (pid 1) sees its
/// child go and powers off cleanly, instead of the kernel's "Attempted to
/// kill init!" panic.
fn exit_at_the_shell_prompt(ctx: &Ctx) -> Result<(), Failure> {
    let run = ctx.boot(&tour_then_shell(tour_initramfs()?))?;
    if run.lines().any(|l| l.contains("Attempted to kill init")) {
        return Err(Failure::of(&run, "init was killed"));
    }
    expect_line(&run, "tour: the shell exited; init powers off")?;
    expect_exit(&run, Exit::Success)
}

fn null_dereference(ctx: &Ctx) -> Result<(), Failure> {
    let lines = [
        "EXCEPTION: PAGE FAULT (vector 14)",
        "CR2=0x0000000000000000",
    ];
    crash(ctx, "ACCESS_NULL", &lines)
}

fn stack_exhaustion(ctx: &Ctx) -> Result<(), Failure> {
    let lines = [
        "EXCEPTION: DOUBLE FAULT (vector 8)",
        "kernel stack overflow",
    ];
    crash(ctx, "EXHAUST_STACK", &lines)
}

fn panic(ctx: &Ctx) -> Result<(), Failure> {
    crash(ctx, "PANIC", &["Kernel panic - not syncing:"])
}

fn access_userspace(ctx: &Ctx) -> Result<(), Failure> {
    let lines = [
        "lkdtm: attempting bad read at",
        "BUG: unable to handle page fault",
        "access=kernel read, protection violation",
    ];
    crash_on(ctx, Boot::bios("lkdtm=ACCESS_USERSPACE").cpu("max"), &lines)
}

fn exec_userspace(ctx: &Ctx) -> Result<(), Failure> {
    let lines = [
        "lkdtm: attempting bad execution at",
        "unable to execute userspace code (SMEP?)",
        "access=kernel instruction fetch, protection violation",
    ];
    crash_on(ctx, Boot::bios("lkdtm=EXEC_USERSPACE").cpu("max"), &lines)
}

/// Boots with `lkdtm=<trigger>` and expects the run to fail with each of `lines`.
fn crash(ctx: &Ctx, trigger: &str, lines: &[&str]) -> Result<(), Failure> {
    crash_on(ctx, Boot::bios(&format!("lkdtm={trigger}")), lines)
}

/// Boots as `boot` says and expects the run to fail with each of `lines`.
fn crash_on(ctx: &Ctx, boot: Boot, lines: &[&str]) -> Result<(), Failure> {
    let run = ctx.boot(&boot)?;
    for line in lines {
        expect_line(&run, line)?;
    }
    expect_exit(&run, Exit::Failure)
}

/// Runs the real runner binary, so its exit status and message are checked too.
/// The runner keeps the bootloader quiet (it logs errors only), so the
/// kernel's banner is the first line of a BIOS boot; `--boot-log` brings the
/// bootloader's own log back in front of it.
fn boot_log_only_when_asked(_: &Ctx) -> Result<(), Failure> {
    let first_lines = |extra: &[&str]| -> Result<(Vec<String>, String), Failure> {
        let runner = Command::new(env!("CARGO_BIN_FILE_BOOT"))
            .args(["--append", "ktest=init::", "--timeout", "60"])
            .args(extra)
            .output()?;
        let stdout = String::from_utf8_lossy(&runner.stdout).into_owned();
        let lines = stdout.lines().take_while(|l| !l.starts_with(BANNER));
        Ok((lines.map(str::to_owned).collect(), stdout))
    };
    let (quiet, quiet_out) = first_lines(&[])?;
    let (logged, logged_out) = first_lines(&["--boot-log"])?;
    let bootloader = |lines: &[String]| lines.iter().any(|l| l.starts_with("INFO : BIOS boot"));
    if !quiet.is_empty() || !quiet_out.contains(BANNER) {
        let got = format!("before the banner: {quiet:?}\nstdout: {quiet_out}");
        return Err(Failure::new(format!("expected the banner first\n{got}")));
    }
    if !bootloader(&logged) || !logged_out.contains(BANNER) {
        let got = format!("stdout with --boot-log: {logged_out}");
        return Err(Failure::new(format!(
            "expected `INFO : BIOS boot` before the banner\n{got}"
        )));
    }
    Ok(())
}

fn hung_kernel_times_out(_: &Ctx) -> Result<(), Failure> {
    // Long enough for the first boot of a fresh clone (the runner writes the
    // disk image first) on a loaded host: 8 s was not, once, at load 9.
    const TIMEOUT: &str = "20";
    let runner = Command::new(env!("CARGO_BIN_FILE_BOOT"))
        .args(["--append", "lkdtm=SOFTLOCKUP", "--timeout", TIMEOUT])
        .output()?;
    let stdout = String::from_utf8_lossy(&runner.stdout);
    let stderr = String::from_utf8_lossy(&runner.stderr);
    let timed_out = format!("timeout after {TIMEOUT} s");
    if runner.status.success() || !stderr.contains(&timed_out) || !stdout.contains(BANNER) {
        let expected = format!("expected a booted kernel, then `{timed_out}` and failure");
        let got = format!(
            "runner {}\nstderr: {stderr}\nstdout: {stdout}",
            runner.status
        );
        return Err(Failure::new(format!("{expected}\n{got}")));
    }
    Ok(())
}

/// A user who quits with Ctrl-A x: the runner (QEMU's monitor multiplexed
/// on its stdin) says so and exits 0, not "triple fault or reset".
fn ctrl_a_x_quits(_: &Ctx) -> Result<(), Failure> {
    use std::io::{Read, Write};
    let mut runner = Command::new(env!("CARGO_BIN_FILE_BOOT"))
        .args(["--append", "lkdtm=SOFTLOCKUP", "--timeout", "60"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let (mut stdin, mut stdout) = (runner.stdin.take(), runner.stdout.take());
    let mut seen = Vec::new();
    let mut chunk = [0; 4096];
    while !String::from_utf8_lossy(&seen).contains(BANNER) {
        match stdout.as_mut().map(|out| out.read(&mut chunk)) {
            Some(Ok(n @ 1..)) => seen.extend_from_slice(&chunk[..n]),
            _ => break,
        }
    }
    if let Some(stdin) = stdin.as_mut() {
        stdin.write_all(b"\x01x")?;
    }
    drop(stdin);
    if let Some(out) = stdout.as_mut() {
        out.read_to_end(&mut seen)?;
    }
    let runner = runner.wait_with_output()?;
    let stderr = String::from_utf8_lossy(&runner.stderr);
    if !runner.status.success() || !stderr.contains("QEMU: terminated by the user") {
        let got = format!(
            "runner {}\nstderr: {stderr}\nstdout: {}",
            runner.status,
            String::from_utf8_lossy(&seen)
        );
        return Err(Failure::new(format!(
            "expected exit status 0 and `QEMU: terminated by the user`\n{got}"
        )));
    }
    Ok(())
}

/// Our cpio writer against an independent reader: GNU cpio unpacks the
/// archive into the same tree.
fn cpio_tool_unpacks_initrd(_: &Ctx) -> Result<(), Failure> {
    let (root, work) = (sample_tree()?, tempfile::tempdir()?);
    let archive = work.path().join("initrd.cpio");
    fs::write(&archive, boot::cpio::pack_dir(root.path())?)?;
    let unpacked = work.path().join("unpacked");
    fs::create_dir(&unpacked)?;
    let cpio = Command::new("cpio")
        .args(["-i", "--make-directories", "--quiet", "-F"])
        .arg(&archive)
        .current_dir(&unpacked)
        .status()?;
    let (want, got) = (listing(root.path())?, listing(&unpacked)?);
    if !cpio.success() || want != got {
        let why = format!("cpio {cpio}\npacked tree:\n{want}\nunpacked tree:\n{got}");
        return Err(Failure::new(why));
    }
    Ok(())
}

/// `ls -lR` without times: names, types, modes, sizes and link targets.
fn listing(dir: &Path) -> std::io::Result<String> {
    let ls = Command::new("ls")
        .args(["-lR", "--time-style=+"])
        .current_dir(dir)
        .output()?;
    Ok(String::from_utf8_lossy(&ls.stdout).into_owned())
}

/// A small tree with each kind of entry the packer supports.
fn sample_tree() -> std::io::Result<tempfile::TempDir> {
    let root = tempfile::tempdir()?;
    fs::create_dir_all(root.path().join("etc/empty"))?;
    fs::write(root.path().join("etc/motd"), "hello from the initrd\n")?;
    fs::create_dir(root.path().join("bin"))?;
    fs::copy("/bin/true", root.path().join("bin/true"))?;
    std::os::unix::fs::symlink("true", root.path().join("bin/false-friend"))?;
    Ok(root)
}

/// protection.c and every user program again under `-cpu max` (SMEP, SMAP,
/// UMIP): any kernel access to user memory outside the stac/clac of
/// mm/uaccess.rs would be an oops there. With 4 CPUs (while the multi-CPU
/// runs are on): this is the user tier's run at `--smp 4`.
fn protection_on_cpu_max(ctx: &Ctx) -> Result<(), Failure> {
    let programs = [USER_PROGRAMS, RACE_PROGRAMS, &["protection"]].concat();
    let run = user::record_user_tests_on(ctx, "protection", &programs, |boot| {
        boot.cpu("max").smp(cpus(4)).timeout(USER_TIER_TIMEOUT)
    })?;
    expect_line(&run, "x86/cpu: SMEP SMAP UMIP PGE enabled")
}

/// The shell side of `reniced_in_ps_and_top`.
const RENICE_SCRIPT: &str = concat!(
    "#!/bin/sh\n",
    "export PATH=/bin\n",
    "busybox ln -s busybox /bin/sleep\n",
    "sleep 30 &\n",
    "p=$!\n",
    "sleep 30 &\n",
    "q=$!\n",
    "busybox renice -n 7 -p $p\n",
    "busybox renice -n -5 -p $q\n",
    "echo \"pids: $p $q\"\n",
    "busybox ps -o pid,nice,comm\n",
    "busybox top -b -n 1\n",
    "busybox awk '{print \"stat\", $1, \"PR\", $18, \"NI\", $19}' /proc/$p/stat /proc/$q/stat\n",
    "kill $p $q\n",
    "exec busybox poweroff -f\n",
);

/// Two sleepers reniced to 7 and -5, seen as on Linux (the same script
/// there prints the same): BusyBox `ps -o pid,nice,comm` shows NI 7 and
/// -5; BusyBox `top -b -n 1` (Debian's build has no PR or NI column) marks
/// them `SN` and `S<`; /proc/<pid>/stat fields 18 and 19, which procps
/// top shows as PR and NI, are 20 + nice and nice.
fn reniced_in_ps_and_top(ctx: &Ctx) -> Result<(), Failure> {
    let root = tempfile::tempdir()?;
    init_script(root.path(), RENICE_SCRIPT)?;
    let run = ctx.boot(&Boot::bios("").initrd(root.path()))?;
    expect_exit(&run, Exit::Success)?;
    let pids: Vec<String> = run
        .lines()
        .find_map(|l| {
            l.split("pids: ")
                .nth(1)
                .map(|p| p.split_whitespace().map(String::from).collect())
        })
        .unwrap_or_default();
    let [p, q] = pids.as_slice() else {
        return Err(Failure::of(&run, "no `pids:` line"));
    };
    let has = |words: &[&str]| {
        run.lines()
            .any(|l| l.split_whitespace().eq(words.iter().copied()))
    };
    // top's PID, PPID, USER (a number here: no /etc/passwd) and STAT.
    let top_stat = |pid: &str, stat: &str| {
        run.lines().any(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            w.len() > 4 && w[0] == pid && w[1] == "1" && w[3] == stat && l.contains("sleep 30")
        })
    };
    let wanted: [(&str, bool); 7] = [
        ("ps header PID NI COMMAND", has(&["PID", "NI", "COMMAND"])),
        ("ps: nice 7", has(&[p, "7", "sleep"])),
        ("ps: nice -5", has(&[q, "-5", "sleep"])),
        ("top: SN", top_stat(p, "SN")),
        ("top: S<", top_stat(q, "S<")),
        ("stat: PR 27 NI 7", has(&["stat", p, "PR", "27", "NI", "7"])),
        (
            "stat: PR 15 NI -5",
            has(&["stat", q, "PR", "15", "NI", "-5"]),
        ),
    ];
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|(_, ok)| !ok)
        .map(|(what, _)| *what)
        .collect();
    if !missing.is_empty() {
        return Err(Failure::of(
            &run,
            format!("missing: {}", missing.join(", ")),
        ));
    }
    Ok(())
}

/// The shell side of `kflushd_from_the_shell`.
const KFLUSHD_SCRIPT: &str = concat!(
    "#!/bin/sh\n",
    "export PATH=/bin\n",
    "knob=/proc/sys/vm/kflushd_centisecs\n",
    "echo \"knob: $(busybox cat $knob)\"\n",
    "echo 10 > $knob\n",
    "echo \"knob: $(busybox cat $knob)\"\n",
    "busybox ps | busybox grep '\\[kflushd\\]'\n",
    "pid=$(busybox pidof kflushd)\n",
    "busybox sleep 1\n",
    "echo 0 > $knob\n",
    // kthread_stop() returns once the thread has passed exit_mm(); it
    // releases itself just after, on its own CPU: give it up to a second.
    "n=0; while [ -d /proc/$pid ] && [ $n -lt 100 ]; do busybox usleep 10000; n=$((n+1)); done\n",
    "[ -d /proc/$pid ] || echo \"kflushd $pid: no /proc entry\"\n",
    "busybox ps | busybox grep -c '\\[kflushd\\]'\n",
    "echo 12x > $knob || echo 'knob: 12x refused'\n",
    "echo -1 > $knob || echo 'knob: -1 refused'\n",
    "echo \"knob: $(busybox cat $knob)\"\n",
    "exec busybox poweroff -f\n",
);

/// kflushd from the shell: writing its interval to
/// /proc/sys/vm/kflushd_centisecs starts it, `ps` shows `[kflushd]`, 0
/// stops it (kthread_stop returns its count of flushes) and its /proc
/// directory is gone within a second, since kthreadd's children reap
/// themselves (kthread_stop, as Linux's, returns when the thread has
/// passed exit_mm, before it releases itself); bad values
/// are refused with EINVAL, as proc_dointvec_minmax does.
fn kflushd_from_the_shell(ctx: &Ctx) -> Result<(), Failure> {
    let root = tempfile::tempdir()?;
    init_script(root.path(), KFLUSHD_SCRIPT)?;
    let run = ctx.boot(&Boot::bios("trace").initrd(root.path()))?;
    expect_exit(&run, Exit::Success)?;
    expect_lines(
        &run,
        &[
            "knob: 0",
            "kflushd: started as pid ",
            "knob: 10",
            " [kflushd]",
            ": no /proc entry",
            "knob: 12x refused",
            "knob: -1 refused",
        ],
    )?;
    let pid = |line: &str, before: &str| -> Option<u32> {
        let word = line.split(before).nth(1)?.split_whitespace().next()?;
        word.trim_end_matches([',', ':']).parse().ok()
    };
    let started = run.lines().find_map(|l| pid(l, "kflushd: started as pid "));
    let stopped = run.lines().find_map(|l| pid(l, "kflushd: pid "));
    let gone = run
        .lines()
        .find_map(|l| pid(l, "kflushd ").filter(|_| l.ends_with("no /proc entry")));
    let flushes = run.lines().find_map(|l| pid(l, "kthread_stop() returned "));
    let count_after = run
        .lines()
        .skip_while(|l| !l.contains("no /proc entry"))
        .nth(1);
    let (forked, exited) = kflushd_in_the_timeline(&run.serial, started, flushes);
    match (started, stopped, gone, flushes, count_after) {
        (Some(a), Some(b), Some(c), Some(n), Some("0"))
            if a == b && b == c && n >= 2 && forked && exited =>
        {
            Ok(())
        }
        found => Err(Failure::of(
            &run,
            format!(
                "want one pid started, stopped and gone, at least 2 flushes in 1 s, no [kflushd] after, \
                 a fork by kthreadd and an exit with the count in the trace (fork {forked}, exit {exited}); got {found:?}"
            ),
        )),
    }
}

/// Whether the trace has kthreadd's fork of kflushd (pid `started`) and
/// its exit with the count of flushes as its code.
fn kflushd_in_the_timeline(
    serial: &str,
    started: Option<u32>,
    flushes: Option<u32>,
) -> (bool, bool) {
    let events = boot::trace::parse(serial);
    let event = |name: &str, pred: &dyn Fn(&boot::trace::Event) -> bool| {
        events.iter().any(|e| e.name == name && pred(e))
    };
    let kflushd = started.map_or(-1, i64::from);
    let forked = event("sched_process_fork", &|e| {
        e.num("parent") == 2 && e.num("child") == kflushd
    });
    let exited = event("sched_process_exit", &|e| {
        e.num("pid") == kflushd && Some(e.num("code")) == flushes.map(i64::from)
    });
    (forked, exited)
}

/// The interrupt-context demo: with a busy loop running, Ctrl-G on the
/// console makes the next timer interrupt print `current`, which is the busy
/// loop it interrupted, and its wait_for_completion() call is reported as
/// Linux's might_sleep() reports it.
fn irq_context_demo(ctx: &Ctx) -> Result<(), Failure> {
    let root = tempfile::tempdir()?;
    init_script(
        root.path(),
        concat!(
            "#!/bin/sh\n",
            "/bin/busybox mkdir -p /proc\n",
            "/bin/busybox mount -t proc proc /proc\n",
            // The loop names itself once pid 1 sleeps (state S) waiting for
            // `sleep 10`, so that it is the only task left to interrupt.
            // Counting to 3000 instead outlasted `sleep 3` at load 9.
            "/bin/busybox sh -c 'until /bin/busybox grep -q \"^1 (.*) S \" /proc/1/stat; do :; done; ",
            "echo \"busy loop: pid $$\"; while :; do :; done' &\n",
            "/bin/busybox sleep 10\n",
            "exec /bin/busybox poweroff -f\n",
        ),
    )?;
    // One CPU, so that the next tick is sure to interrupt the loop.
    let boot = Boot::bios("")
        .initrd(root.path())
        .type_after("busy loop: pid", b"\x07")
        .timeout(60)
        .smp(1);
    let run = ctx.boot(&boot)?;
    expect_exit(&run, Exit::Success)?;
    expect_lines(
        &run,
        &[
            "sysrq: in the timer interrupt: in_interrupt(): 1, in_task(): 0, preempt_count: 0x10000",
            "BUG: sleeping function called from invalid context at kernel/src/sched/completion.rs:",
            "in_atomic(): 1, irqs_disabled(): 1, non_block: 0, pid: ",
            "preempt_count: 10000, expected: 0",
        ],
    )?;
    let after = |before: &str| {
        run.lines()
            .find_map(|l| Some(l.split(before).nth(1)?.trim().to_owned()))
    };
    let busy = after("busy loop: pid ");
    let current = after("sysrq: current is pid ");
    match (&busy, &current) {
        (Some(pid), Some(cur)) if cur.starts_with(&format!("{pid} (")) => Ok(()),
        _ => Err(Failure::of(
            &run,
            format!("current in the interrupt was {current:?}, the busy loop is pid {busy:?}"),
        )),
    }
}

/// Busy loops on the host (`sh -c 'while :; do :; done'`), killed when
/// dropped, so also when the scenario fails.
struct HostLoad(Vec<std::process::Child>);

impl HostLoad {
    fn start(n: usize) -> std::io::Result<Self> {
        let mut load = HostLoad(Vec::new());
        for _ in 0..n {
            let busy = Command::new("sh")
                .args(["-c", "while :; do :; done"])
                .spawn()?;
            load.0.push(busy);
        }
        Ok(load)
    }
}

impl Drop for HostLoad {
    fn drop(&mut self) {
        for busy in &mut self.0 {
            let _ = busy.kill();
            let _ = busy.wait();
        }
    }
}

/// The host time between the lines holding `from` and `to`.
fn host_time_between(
    run: &std::sync::Arc<tests::Outcome>,
    from: &str,
    to: &str,
) -> Result<f64, Failure> {
    let at = |marker: &str| {
        run.lines()
            .position(|line| line == marker)
            .and_then(|i| run.line_times.get(i))
            .ok_or_else(|| Failure::of(run, format!("no line {marker:?}")))
    };
    Ok((*at(to)? - *at(from)?).as_secs_f64())
}

/// The TSC calibrated while four busy loops load the host still measures
/// time: `sleep 2` in the guest takes 2 s of host wall time within 5 %.
/// The host times when the marker lines arrive include starting `sleep` and
/// the console's latency; a `sleep 0` between the same kind of markers
/// measures that, and is subtracted. The load can delay any one of them,
/// so the overhead is the least of three such measurements (a delay only
/// ever adds time, and one taken as overhead would shorten the sleep).
fn clock_under_load(ctx: &Ctx) -> Result<(), Failure> {
    let root = tempfile::tempdir()?;
    init_script(
        root.path(),
        concat!(
            "#!/bin/sh\n",
            "echo clock-a\n",
            "/bin/busybox sleep 0\n",
            "echo clock-b\n",
            "/bin/busybox sleep 0\n",
            "echo clock-c\n",
            "/bin/busybox sleep 0\n",
            "echo clock-d\n",
            "/bin/busybox sleep 2\n",
            "echo clock-e\n",
            "exec /bin/busybox poweroff -f\n",
        ),
    )?;
    let _load = HostLoad::start(4)?;
    let run = ctx.boot(&Boot::bios("").initrd(root.path()).timeout(120))?;
    expect_line(&run, "tsc: Detected ")?;
    let overhead = [
        ("clock-a", "clock-b"),
        ("clock-b", "clock-c"),
        ("clock-c", "clock-d"),
    ]
    .into_iter()
    .map(|(from, to)| host_time_between(&run, from, to))
    .collect::<Result<Vec<f64>, Failure>>()?
    .into_iter()
    .fold(f64::INFINITY, f64::min);
    let slept = host_time_between(&run, "clock-d", "clock-e")? - overhead;
    println!("clock: sleep 2 took {slept:.3} s of host time ({overhead:.3} s overhead subtracted)");
    if (slept - 2.0).abs() > 0.1 {
        return Err(Failure::of(
            &run,
            format!("sleep 2 took {slept:.3} s of host time"),
        ));
    }
    expect_exit(&run, Exit::Success)
}
