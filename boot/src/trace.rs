//! Turns the kernel's `trace:` lines (booted with `trace`) into a Chrome
//! Trace Event file, which ui.perfetto.dev (or chrome://tracing) opens as
//! one track per task: its lifetime, the slices it ran, fork arrows from
//! parent to child and exit arrows from child to the parent's wait4; and,
//! in a second group, one track per CPU: which task each CPU ran when.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One parsed `trace:` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Microseconds since boot.
    pub ts: u64,
    /// The Linux tracepoint name, e.g. `sched_process_fork`.
    pub name: String,
    /// `key=value` fields.
    pub fields: BTreeMap<String, String>,
}

impl Event {
    /// A numeric field, or 0.
    pub fn num(&self, key: &str) -> i64 {
        self.fields
            .get(key)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

/// The events in a boot's serial output, in order.
pub fn parse(serial: &str) -> Vec<Event> {
    serial
        .lines()
        .filter_map(|line| line.trim_end_matches('\r').strip_prefix("trace: "))
        .filter_map(|rest| {
            let mut words = rest.split_whitespace();
            let ts = words.next()?.parse().ok()?;
            let name = words.next()?.to_string();
            let fields = words
                .filter_map(|w| w.split_once('='))
                .map(|(k, v)| (k.into(), v.into()))
                .collect();
            Some(Event { ts, name, fields })
        })
        .collect()
}

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The trace being built: the JSON events so far and what is needed to
/// pair later events with earlier ones.
struct Timeline {
    out: Vec<String>,
    names: BTreeMap<i64, String>,
    born: BTreeMap<i64, u64>,
    /// (pid, cpu) -> when the task started running there and its vruntime
    /// then (fair tasks); keyed by the CPU too, since every CPU's idle task
    /// is pid 0.
    running: BTreeMap<(i64, i64), (u64, Option<i64>)>,
    /// cpu -> (the task it runs, since when).
    on_cpu: BTreeMap<i64, (i64, u64)>,
    flows: u64,
}

/// The Chrome `pid` of the CPU tracks (the tasks' tracks are under 1).
const CPUS: u32 = 2;

impl Timeline {
    fn push(&mut self, ph: &str, name: &str, tid: i64, ts: u64, extra: &str) {
        self.push_in(1, ph, name, tid, ts, extra);
    }

    fn push_in(&mut self, group: u32, ph: &str, name: &str, tid: i64, ts: u64, extra: &str) {
        self.out.push(format!(
            "{{\"ph\":\"{ph}\",\"name\":{},\"pid\":{group},\"tid\":{tid},\"ts\":{ts}{extra}}}",
            json_str(name)
        ));
    }

    /// An arrow from the parent's track to the child's, and the child's birth.
    fn fork(&mut self, e: &Event, comm: String) {
        let (parent, child) = (e.num("parent"), e.num("child"));
        self.born.insert(child, e.ts);
        self.flows += 1;
        let id = self.flows;
        self.push(
            "s",
            "fork",
            parent,
            e.ts,
            &format!(",\"cat\":\"fork\",\"id\":{id}"),
        );
        self.push(
            "f",
            "fork",
            child,
            e.ts,
            &format!(",\"cat\":\"fork\",\"id\":{id},\"bp\":\"e\""),
        );
        self.names.entry(child).or_insert(comm);
    }

    /// Closes the running slice of `prev` and opens one for `next`, on the
    /// tasks' tracks and on the track of the CPU that switched.
    fn switch(&mut self, e: &Event) {
        let (prev, next, cpu) = (e.num("prev"), e.num("next"), e.num("cpu"));
        if let Some((start, from)) = self.running.remove(&(prev, cpu)) {
            let args = match (from, e.fields.get("prev_vruntime")) {
                (Some(from), Some(to)) => {
                    format!(",\"args\":{{\"vruntime_ns\":{from},\"vruntime_end_ns\":{to}}}")
                }
                _ => String::new(),
            };
            self.push(
                "X",
                "running",
                prev,
                start,
                &format!(",\"dur\":{}{args}", e.ts - start),
            );
        }
        let vruntime = e.fields.get("next_vruntime").and_then(|v| v.parse().ok());
        self.running.insert((next, cpu), (e.ts, vruntime));
        self.cpu_slice(cpu, e.ts);
        self.on_cpu.insert(cpu, (next, e.ts));
    }

    /// Ends the slice of whatever `cpu` ran until `end`, on its track.
    fn cpu_slice(&mut self, cpu: i64, end: u64) {
        if let Some((pid, start)) = self.on_cpu.remove(&cpu) {
            let name = match pid {
                0 => format!("swapper/{cpu}"),
                pid => format!("{} ({pid})", self.names.get(&pid).map_or("?", |n| n)),
            };
            let extra = format!(",\"dur\":{},\"args\":{{\"pid\":{pid}}}", end - start);
            self.push_in(CPUS, "X", &name, cpu, start, &extra);
        }
    }

    /// The task's whole lifetime as one slice, and an arrow to its reaper.
    fn exit(&mut self, e: &Event, comm: String) {
        let pid = e.num("pid");
        self.names.insert(pid, comm);
        let start = self.born.remove(&pid).unwrap_or(0);
        let extra = format!(
            ",\"dur\":{},\"args\":{{\"exit_code\":{}}}",
            e.ts - start,
            e.num("code")
        );
        self.push("X", "lifetime", pid, start, &extra);
        self.push(
            "s",
            "exit",
            pid,
            e.ts,
            &format!(",\"cat\":\"exit\",\"id\":\"x{pid}\""),
        );
    }

    fn wait(&mut self, e: &Event) {
        let extra = format!(
            ",\"cat\":\"exit\",\"id\":\"x{}\",\"bp\":\"e\"",
            e.num("pid")
        );
        self.push("f", "exit", e.num("parent"), e.ts, &extra);
    }

    fn instant(&mut self, e: &Event, comm: &str) {
        let pid = e.num("pid");
        let label = match e.name.as_str() {
            "sched_process_exec" => {
                self.names.insert(pid, comm.into());
                format!("exec {comm}")
            }
            "reparent" => format!("reparent to {}", e.num("reaper")),
            name => name.to_string(),
        };
        self.push("i", &label, pid, e.ts, ",\"s\":\"t\"");
    }

    /// Tasks still alive at the end, and a name for every track.
    fn finish(mut self, end: u64) -> String {
        let cpus: Vec<i64> = self.on_cpu.keys().copied().collect();
        for &cpu in &cpus {
            self.cpu_slice(cpu, end);
            self.out.push(format!(
                "{{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":{CPUS},\"tid\":{cpu},\"args\":{{\"name\":\"CPU {cpu}\"}}}}"
            ));
        }
        self.out.push(format!(
            "{{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":{CPUS},\"args\":{{\"name\":\"CPUs\"}}}}"
        ));
        self.out.push(
            "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":1,\"args\":{\"name\":\"tasks\"}}"
                .into(),
        );
        for (pid, start) in std::mem::take(&mut self.born) {
            self.push(
                "X",
                "lifetime",
                pid,
                start,
                &format!(",\"dur\":{}", end - start),
            );
        }
        for (tid, name) in &self.names {
            self.out.push(format!(
                "{{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":1,\"tid\":{tid},\"args\":{{\"name\":{}}}}}",
                json_str(&format!("{name} ({tid})"))
            ));
        }
        format!(
            "{{\"traceEvents\":[\n{}\n],\"displayTimeUnit\":\"ms\"}}\n",
            self.out.join(",\n")
        )
    }
}

/// The Chrome Trace Event JSON for `events`.
pub fn chrome_trace(events: &[Event]) -> String {
    let mut timeline = Timeline {
        out: Vec::new(),
        names: BTreeMap::from([(0, "swapper/0".into())]),
        born: BTreeMap::new(),
        running: BTreeMap::from([((0, 0), (0, None))]),
        on_cpu: BTreeMap::from([(0, (0, 0))]),
        flows: 0,
    };
    for e in events {
        let comm = e.fields.get("comm").cloned().unwrap_or_default();
        match e.name.as_str() {
            "sched_process_fork" => {
                let child_comm = e.fields.get("child_comm").cloned();
                timeline.fork(e, child_comm.unwrap_or(comm));
            }
            "sched_switch" => timeline.switch(e),
            "sched_process_exit" => timeline.exit(e, comm),
            "sched_process_wait" => timeline.wait(e),
            _ => timeline.instant(e, &comm),
        }
    }
    timeline.finish(events.last().map_or(0, |e| e.ts))
}
