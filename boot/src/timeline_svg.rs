//! Draws the lifecycle trace as an SVG picture, for people who cannot load
//! ui.perfetto.dev: one row per task, with its lifetime, the slices it ran,
//! the time it spent as a zombie, fork arrows from parent to child and
//! exit arrows from a child to the parent's wait4.

use crate::trace::Event;
use std::collections::BTreeMap;
use std::fmt::Write as _;

const LABEL_WIDTH: f64 = 180.0;
const PLOT_WIDTH: f64 = 960.0;
/// Room right of the plot for the last tick's label.
const WIDTH: f64 = LABEL_WIDTH + PLOT_WIDTH + 30.0;
/// A row: a band for the marks' labels, then the bars.
const ROW: f64 = 30.0;
const MARK_BAND: f64 = 11.0;
const BAR: f64 = 14.0;
const BAR_MID: f64 = MARK_BAND + 2.0 + BAR / 2.0;
const TOP: f64 = 56.0;
const FONT: f64 = 11.0;
const MARK_FONT: f64 = 9.0;
/// A monospace character's advance, in ems (at most 0.6 in common fonts).
const CHAR_EM: f64 = 0.62;
const GAP: f64 = 4.0;

/// A slice a task ran: from, to, and its vruntime at both ends (fair tasks).
type Slice = (u64, u64, Option<(i64, i64)>);

/// What the picture shows of one task.
#[derive(Default)]
struct Row {
    name: String,
    born: u64,
    exited: Option<u64>,
    reaped: Option<u64>,
    ran: Vec<Slice>,
    marks: Vec<(u64, String)>,
}

/// Rows by pid, in order of birth, and the arrows between them.
#[derive(Default)]
struct Picture {
    rows: BTreeMap<i64, Row>,
    order: Vec<i64>,
    arrows: Vec<(u64, i64, i64, &'static str)>,
    /// (pid, cpu) -> since when, with its vruntime then; every CPU's idle
    /// task is pid 0.
    running: BTreeMap<(i64, i64), (u64, Option<i64>)>,
}

impl Picture {
    fn row(&mut self, pid: i64, ts: u64) -> &mut Row {
        if !self.rows.contains_key(&pid) {
            self.order.push(pid);
        }
        self.rows.entry(pid).or_insert_with(|| Row {
            born: ts,
            ..Row::default()
        })
    }

    fn add(&mut self, e: &Event) {
        let comm = e.fields.get("comm").cloned().unwrap_or_default();
        match e.name.as_str() {
            "sched_process_fork" => {
                let (parent, child) = (e.num("parent"), e.num("child"));
                self.row(parent, e.ts);
                let child_comm = e.fields.get("child_comm").unwrap_or(&comm);
                self.row(child, e.ts).name.clone_from(child_comm);
                self.arrows.push((e.ts, parent, child, "fork"));
            }
            "sched_switch" => {
                let (prev, next, cpu) = (e.num("prev"), e.num("next"), e.num("cpu"));
                let vruntime = |key: &str| e.fields.get(key).and_then(|v| v.parse().ok());
                if let Some((start, from)) = self.running.remove(&(prev, cpu)) {
                    let v = from.zip(vruntime("prev_vruntime"));
                    self.row(prev, start).ran.push((start, e.ts, v));
                }
                self.running
                    .insert((next, cpu), (e.ts, vruntime("next_vruntime")));
            }
            "sched_process_exit" => self.row(e.num("pid"), e.ts).exited = Some(e.ts),
            "sched_process_wait" => {
                let pid = e.num("pid");
                self.row(pid, e.ts).reaped = Some(e.ts);
                self.arrows.push((e.ts, pid, e.num("parent"), "exit"));
            }
            "sched_process_free" => {
                let row = self.row(e.num("pid"), e.ts);
                row.reaped = row.reaped.or(Some(e.ts));
            }
            "sched_process_exec" => {
                let row = self.row(e.num("pid"), e.ts);
                row.name.clone_from(&comm);
                row.marks.push((e.ts, format!("exec {comm}")));
            }
            "reparent" => {
                let label = format!("to {}", e.num("reaper"));
                self.row(e.num("pid"), e.ts).marks.push((e.ts, label));
            }
            _ => {}
        }
    }
}

/// The SVG picture of `events`.
pub fn svg(events: &[Event]) -> String {
    let mut picture = Picture::default();
    picture.row(0, 0).name = "swapper/0".into();
    events.iter().for_each(|e| picture.add(e));
    let start = events.first().map_or(0, |e| e.ts);
    let end = events.last().map_or(1, |e| e.ts).max(start + 1);
    let x = |ts: u64| {
        LABEL_WIDTH + (ts.saturating_sub(start)) as f64 * PLOT_WIDTH / (end - start) as f64
    };
    let y = |pid: i64| TOP + picture.order.iter().position(|p| *p == pid).unwrap_or(0) as f64 * ROW;
    let height = TOP + picture.order.len() as f64 * ROW + 10.0;
    let mut out = header(WIDTH, height, end - start);
    time_axis(&mut out, end - start, height);
    for pid in &picture.order {
        draw_row(&mut out, *pid, &picture.rows[pid], y(*pid), &x, end);
    }
    for (ts, from, to, kind) in &picture.arrows {
        let (x0, y0, y1) = (x(*ts), y(*from) + BAR_MID, y(*to) + BAR_MID);
        let _ = writeln!(
            out,
            r#"<line class="{kind}" x1="{x0:.1}" y1="{y0:.1}" x2="{x0:.1}" y2="{y1:.1}" marker-end="url(#head)"/>"#
        );
    }
    out.push_str("</svg>\n");
    out
}

fn header(width: f64, height: f64, span_us: u64) -> String {
    format!(
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" font-family="monospace" font-size="11">"#,
            "\n<style>.life{{fill:#e4e8f4}}.ran{{fill:#3b6fd0}}.zombie{{fill:#e8a0a0}}",
            ".fork{{stroke:#2a8a2a}}.exit{{stroke:#c03030;stroke-dasharray:3 2}}.grid{{stroke:#ddd}}</style>\n",
            r##"<defs><marker id="head" markerWidth="6" markerHeight="6" refX="5" refY="3" orient="auto"><path d="M0,0 L6,3 L0,6 z" fill="#555"/></marker></defs>"##,
            "\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
            r#"<text x="10" y="16">lifecycle timeline, {ms:.1} ms: lifetime (light), running (blue), zombie (red), fork (green arrow), exit to wait4 (red dashed)</text>"#,
            "\n"
        ),
        w = width,
        h = height,
        ms = span_us as f64 / 1000.0
    )
}

/// The time axis above the rows: a tick and a label every 1, 2 or 5 times
/// a power of ten milliseconds, about ten of them, and a faint grid line
/// down through the rows.
fn time_axis(out: &mut String, span_us: u64, height: f64) {
    let step = tick_step(span_us);
    let axis = TOP - 6.0;
    let _ = writeln!(
        out,
        r#"<line class="grid" x1="{LABEL_WIDTH}" y1="{axis}" x2="{:.1}" y2="{axis}"/>"#,
        LABEL_WIDTH + PLOT_WIDTH
    );
    for tick in (0..=span_us).step_by(step as usize) {
        let x = LABEL_WIDTH + tick as f64 * PLOT_WIDTH / span_us as f64;
        let _ = writeln!(
            out,
            r#"<line class="grid" x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}"/>"#,
            axis - 3.0,
            height - 10.0
        );
        let _ = writeln!(
            out,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{} ms</text>"#,
            axis - 5.0,
            tick as f64 / 1000.0
        );
    }
}

/// The tick spacing in µs: 1, 2 or 5 times a power of ten, giving at most
/// ten intervals over `span_us`.
fn tick_step(span_us: u64) -> u64 {
    let mut unit = 1;
    loop {
        for m in [1, 2, 5] {
            if span_us / (m * unit) <= 10 {
                return m * unit;
            }
        }
        unit *= 10;
    }
}

fn draw_row(out: &mut String, pid: i64, row: &Row, top: f64, x: &dyn Fn(u64) -> f64, end: u64) {
    let mid = top + BAR_MID;
    let _ = writeln!(
        out,
        r#"<text x="4" y="{:.1}">{}</text>"#,
        mid + 4.0,
        escape(&row_label(&row.name, pid))
    );
    let died = row.exited.unwrap_or(end);
    let bar = |class: &str, from: u64, to: u64, h: f64| {
        let (x0, x1) = (x(from), x(to));
        format!(
            r#"<rect class="{class}" x="{x0:.1}" y="{:.1}" width="{:.1}" height="{h:.1}"/>"#,
            mid - h / 2.0,
            (x1 - x0).max(0.5)
        )
    };
    let _ = writeln!(out, "{}", bar("life", row.born, died, BAR));
    for (from, to, vruntime) in &row.ran {
        let rect = bar("ran", *from, *to, BAR - 4.0);
        match vruntime {
            // Hovering over a slice shows how far the task's virtual clock moved.
            Some((v0, v1)) => {
                let ms = |v: i64| v as f64 / 1e6;
                let title = format!("vruntime {:.3} -> {:.3} ms", ms(*v0), ms(*v1));
                let _ = writeln!(
                    out,
                    "{}><title>{title}</title></rect>",
                    rect.trim_end_matches("/>")
                );
            }
            None => {
                let _ = writeln!(out, "{rect}");
            }
        }
    }
    if let Some(exited) = row.exited {
        let _ = writeln!(
            out,
            "{}",
            bar("zombie", exited, row.reaped.unwrap_or(end), BAR)
        );
    }
    let marks: Vec<(f64, String)> = row
        .marks
        .iter()
        .map(|(ts, label)| (x(*ts), format!("\u{25be}{label}")))
        .collect();
    for (left, label) in place_marks(&marks) {
        let _ = writeln!(
            out,
            r#"<text x="{left:.1}" y="{:.1}" font-size="{MARK_FONT}">{}</text>"#,
            top + MARK_BAND - 2.0,
            escape(&label).replace('\u{25be}', "&#9662;")
        );
    }
}

/// The row's label, `name (pid)`, with the name cut short to fit the label
/// column.
fn row_label(name: &str, pid: i64) -> String {
    let suffix = format!(" ({pid})");
    let room = ((LABEL_WIDTH - 8.0) / (FONT * CHAR_EM)) as usize - suffix.chars().count();
    let name = match name.chars().count() > room {
        true => name.chars().take(room - 1).chain(['~']).collect(),
        false => name.to_string(),
    };
    name + &suffix
}

/// Where each mark's label starts: at its time, but moved right past the
/// label before it and left to end inside the picture, so that labels in
/// the band above the bars neither overlap each other nor run off the edge.
fn place_marks(marks: &[(f64, String)]) -> Vec<(f64, String)> {
    let width = |label: &String| label.chars().count() as f64 * MARK_FONT * CHAR_EM;
    let mut placed: Vec<(f64, String)> = Vec::new();
    for (at, label) in marks {
        let after = placed.last().map_or(0.0, |(l, p)| l + width(p) + GAP);
        placed.push((at.max(after) - MARK_FONT * CHAR_EM / 2.0, label.clone()));
    }
    let mut limit = WIDTH - GAP;
    for (left, label) in placed.iter_mut().rev() {
        *left = left.min(limit - width(label)).max(LABEL_WIDTH);
        limit = *left - GAP;
    }
    placed
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
