//! Draws the lifecycle trace as an SVG picture, for people who cannot load
//! ui.perfetto.dev: one row per task, with its lifetime, the slices it ran,
//! the time it spent as a zombie, fork arrows from parent to child and
//! exit arrows from a child to the parent's wait4.

use crate::trace::Event;
use std::collections::BTreeMap;
use std::fmt::Write as _;

const LABEL_WIDTH: f64 = 180.0;
const PLOT_WIDTH: f64 = 960.0;
const ROW: f64 = 20.0;
const TOP: f64 = 50.0;

/// What the picture shows of one task.
#[derive(Default)]
struct Row {
    name: String,
    born: u64,
    exited: Option<u64>,
    reaped: Option<u64>,
    ran: Vec<(u64, u64)>,
    marks: Vec<(u64, String)>,
}

/// Rows by pid, in order of birth, and the arrows between them.
#[derive(Default)]
struct Picture {
    rows: BTreeMap<i64, Row>,
    order: Vec<i64>,
    arrows: Vec<(u64, i64, i64, &'static str)>,
    running: BTreeMap<i64, u64>,
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
                let (prev, next) = (e.num("prev"), e.num("next"));
                if let Some(start) = self.running.remove(&prev) {
                    self.row(prev, start).ran.push((start, e.ts));
                }
                self.running.insert(next, e.ts);
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
    let mut out = header(LABEL_WIDTH + PLOT_WIDTH + 20.0, height, end - start);
    for pid in &picture.order {
        draw_row(&mut out, *pid, &picture.rows[pid], y(*pid), &x, end);
    }
    for (ts, from, to, kind) in &picture.arrows {
        let (x0, y0, y1) = (x(*ts), y(*from) + ROW / 2.0, y(*to) + ROW / 2.0);
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
            ".fork{{stroke:#2a8a2a}}.exit{{stroke:#c03030;stroke-dasharray:3 2}}</style>\n",
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

fn draw_row(out: &mut String, pid: i64, row: &Row, top: f64, x: &dyn Fn(u64) -> f64, end: u64) {
    let mid = top + ROW / 2.0;
    let _ = writeln!(
        out,
        r#"<text x="4" y="{:.1}">{} ({pid})</text>"#,
        mid + 4.0,
        escape(&row.name)
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
    let _ = writeln!(out, "{}", bar("life", row.born, died, ROW - 6.0));
    for (from, to) in &row.ran {
        let _ = writeln!(out, "{}", bar("ran", *from, *to, ROW - 10.0));
    }
    if let Some(exited) = row.exited {
        let _ = writeln!(
            out,
            "{}",
            bar("zombie", exited, row.reaped.unwrap_or(end), ROW - 6.0)
        );
    }
    for (ts, label) in &row.marks {
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" font-size="9">&#9662;{}</text>"#,
            x(*ts),
            top + 6.0,
            escape(label)
        );
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
