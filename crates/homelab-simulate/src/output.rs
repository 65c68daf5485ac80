//! The simulation as text (a timeline per wave), JSON and a Mermaid flowchart of the waves.

use crate::{ApplicationState, Simulation};
use serde_json::{json, Value};
use std::fmt::Write;

impl Simulation {
    /// A timeline: each wave with what becomes Healthy, the stalls with their causes at
    /// file:line, then the assumptions and the verdict.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let first = self.first_stall().map(|s| s.wave);
        for wave in &self.waves {
            let state = if !wave.stalls.is_empty() {
                "STALLS"
            } else if first.is_some_and(|f| wave.wave > f) {
                "not reached (an earlier wave stalls)"
            } else {
                "Healthy"
            };
            // A NetworkPolicy that cuts a flow is itself applied and Healthy: counted once.
            let stalled: std::collections::BTreeSet<&str> = wave
                .stalls
                .iter()
                .map(|s| s.object.as_str())
                .filter(|o| !wave.healthy.iter().any(|h| h == o))
                .collect();
            let _ = writeln!(
                out,
                "wave {:>3}: {state}: {} of {} objects Healthy",
                wave.wave,
                wave.healthy.len(),
                wave.healthy.len() + stalled.len()
            );
            for app in self.applications_of(wave.wave) {
                let _ = writeln!(out, "  {}", app_line(app));
            }
            for s in &wave.stalls {
                let _ = writeln!(out, "  stall[{}] {}: {}", s.class, s.object, s.cause);
                let _ = writeln!(out, "    --> {}:{}:{}", s.at.file, s.at.line, s.at.column);
            }
        }
        if !self.warnings.is_empty() {
            let _ = writeln!(out, "\nwarnings (the rollout goes on):");
            for w in &self.warnings {
                let _ = writeln!(out, "  - {w}");
            }
        }
        if !self.assumptions.is_empty() {
            let _ = writeln!(out, "\nassumptions (not knowable offline):");
            for a in &self.assumptions {
                let _ = writeln!(out, "  - {a}");
            }
        }
        match self.first_stall() {
            None => {
                let _ = writeln!(
                    out,
                    "\nconverges: every wave becomes Healthy ({} waves)",
                    self.waves.len()
                );
            }
            Some(s) => {
                let n = self.stalls().count();
                let _ = writeln!(
                    out,
                    "\ndoes not converge: wave {} stalls first ({n} stall(s) in all)",
                    s.wave
                );
            }
        }
        out
    }

    /// The child Applications created (or never created) in a wave of their parent.
    fn applications_of(&self, wave: i64) -> impl Iterator<Item = &ApplicationState> {
        self.applications
            .iter()
            .filter(move |a| a.parent.is_some() && a.wave == wave)
    }

    pub fn to_json(&self) -> Value {
        let app = |a: &ApplicationState| {
            json!({
                "name": a.name,
                "parent": a.parent,
                "wave": a.wave,
                "created": a.created,
                "status": {"sync": {"status": a.sync}, "health": {"status": a.health}},
                "cause": a.cause,
            })
        };
        json!({
            "converges": self.converges(),
            "first_stall_wave": self.first_stall().map(|s| s.wave),
            "assesses_application_health": self.assesses_applications,
            "applications": self.applications.iter().map(app).collect::<Vec<_>>(),
            "waves": self.waves.iter().map(|w| json!({
                "wave": w.wave,
                "healthy": w.healthy,
                "applications": self.applications_of(w.wave).map(app).collect::<Vec<_>>(),
                "stalls": w.stalls.iter().map(|s| json!({
                    "object": s.object,
                    "class": s.class,
                    "cause": s.cause,
                    "file": s.at.file,
                    "line": s.at.line,
                    "column": s.at.column,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "assumptions": self.assumptions,
            "warnings": self.warnings,
            "placements": self.placements.iter().map(|(w, nodes)| json!({"workload": w, "nodes": nodes})).collect::<Vec<_>>(),
        })
    }

    /// A Graphviz (dot) digraph: the waves in order, each with its object count, and its
    /// stalls hanging off it in red.
    pub fn to_dot(&self) -> String {
        let quote = |text: &str| {
            let mut q = String::with_capacity(text.len() + 2);
            q.push('"');
            for c in text.chars() {
                match c {
                    '"' | '\\' => {
                        q.push('\\');
                        q.push(c);
                    }
                    '\n' | '\r' => q.push(' '),
                    c => q.push(c),
                }
            }
            q.push('"');
            q
        };
        let mut out = String::from("digraph rollout {\n  rankdir=LR;\n  node [shape=box];\n");
        for (i, w) in self.waves.iter().enumerate() {
            let status = if w.stalls.is_empty() {
                "Healthy".to_string()
            } else {
                format!("{} stall(s)", w.stalls.len())
            };
            let color = if w.stalls.is_empty() {
                "palegreen"
            } else {
                "mistyrose"
            };
            let _ = writeln!(
                out,
                "  w{i} [label={}, style=filled, fillcolor={color}];",
                quote(&format!(
                    "wave {}: {} objects, {status}",
                    w.wave,
                    w.healthy.len() + w.stalls.len()
                ))
            );
            if i > 0 {
                let _ = writeln!(out, "  w{} -> w{i};", i - 1);
            }
            for (j, a) in self.applications_of(w.wave).enumerate() {
                let color = if a.health == "Healthy" {
                    "darkgreen"
                } else {
                    "red"
                };
                let _ = writeln!(
                    out,
                    "  a{i}_{j} [label={}, shape=ellipse, color={color}];\n  w{i} -> a{i}_{j} [arrowhead=none];",
                    quote(&app_line(a))
                );
            }
            for (j, s) in w.stalls.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "  s{i}_{j} [label={}, color=red, tooltip={}];\n  w{i} -> s{i}_{j} [style=dashed, color=red];",
                    quote(&format!("{}: {} at {}:{}", s.object, s.class, s.at.file, s.at.line)),
                    quote(&s.cause)
                );
            }
        }
        out.push_str("}\n");
        out
    }

    /// A Mermaid flowchart: the waves in order, each with its object count and stalls.
    pub fn to_mermaid(&self) -> String {
        let mut out = String::from("flowchart LR\n");
        for (i, w) in self.waves.iter().enumerate() {
            let status = if w.stalls.is_empty() {
                "Healthy".to_string()
            } else {
                format!("{} stall(s)", w.stalls.len())
            };
            let _ = writeln!(
                out,
                "  w{i}[\"wave {}: {} objects, {status}\"]",
                w.wave,
                w.healthy.len() + w.stalls.len()
            );
            if i > 0 {
                let _ = writeln!(out, "  w{} --> w{i}", i - 1);
            }
            for (j, a) in self.applications_of(w.wave).enumerate() {
                let text = app_line(a).replace('"', "'");
                let _ = writeln!(out, "  w{i} --- a{i}_{j}([\"{text}\"])");
                if a.health != "Healthy" {
                    let _ = writeln!(out, "  style a{i}_{j} fill:#fdd");
                }
            }
            for (j, s) in w.stalls.iter().enumerate() {
                let text = format!("{}: {}", s.object, s.class).replace('"', "'");
                let _ = writeln!(out, "  w{i} -.-> s{i}_{j}[\"{text}\"]");
                let _ = writeln!(out, "  style s{i}_{j} fill:#fdd");
            }
        }
        out
    }
}

/// `Application X: Synced, Healthy`, or why it does not exist.
fn app_line(a: &ApplicationState) -> String {
    if a.created {
        format!("Application {}: {}, {}", a.name, a.sync, a.health)
    } else {
        format!(
            "Application {}: never created ({}, {}): its parent's sync stops before its wave",
            a.name, a.sync, a.health
        )
    }
}
