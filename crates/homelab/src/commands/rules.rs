//! `homelab rules [--explain RULE]`: the built-in platform rules and their documentation.

use super::{Global, EXIT_OK, EXIT_USAGE};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  homelab rules\n  homelab rules --explain image/latest-tag\n  homelab rules --format json"
)]
pub struct Args {
    /// Print one rule's documentation (what it checks, why, an example, the fix).
    #[arg(long, value_name = "RULE")]
    pub explain: Option<String>,
    /// Output format of the list.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    pub format: String,
}

pub fn run(args: Args, _global: &Global) -> anyhow::Result<u8> {
    if let Some(id) = args.explain {
        if homelab_rules::find(&id).is_none() {
            if let Some(stage) = crate::stage_rules::find(&id) {
                println!("{}", stage.doc.trim_end());
                println!("\nseverity: {}", stage.severity);
                return Ok(EXIT_OK);
            }
        }
        let Some(rule) = homelab_rules::find(&id) else {
            let known: Vec<_> = homelab_rules::all().iter().map(|r| r.id()).collect();
            eprintln!(
                "error: no rule `{id}`; `homelab rules` lists them ({})",
                known.join(", ")
            );
            return Ok(EXIT_USAGE);
        };
        println!("{}", homelab_rules::documentation(rule).trim_end());
        println!("\nseverity: {}", rule.severity());
        return Ok(EXIT_OK);
    }
    let rules = homelab_rules::all();
    if args.format == "json" {
        let list: Vec<_> = rules
            .iter()
            .map(|r| {
                serde_json::json!({
                    "id": r.id(),
                    "severity": r.severity(),
                    "summary": r.summary(),
                    "documentation": homelab_rules::documentation(*r),
                })
            })
            .collect();
        let stages: Vec<_> = crate::stage_rules::all()
            .map(|r| {
                serde_json::json!({
                    "id": r.id,
                    "severity": r.severity,
                    "summary": r.summary,
                    "documentation": r.doc,
                })
            })
            .collect();
        let all: Vec<_> = list.into_iter().chain(stages).collect();
        println!("{}", serde_json::to_string_pretty(&all)?);
    } else {
        let width = rules.iter().map(|r| r.id().len()).max().unwrap_or(0);
        for r in &rules {
            println!(
                "{:width$}  {:7}  {}",
                r.id(),
                r.severity().as_str(),
                r.summary()
            );
        }
        println!("\nStages (yaml, schema, the repository's own Kyverno policies, configuration):");
        for r in crate::stage_rules::all() {
            println!("{:width$}  {:7}  {}", r.id, r.severity.as_str(), r.summary);
        }
        println!(
            "\n{} platform rules; `homelab rules --explain RULE` for one rule's documentation",
            rules.len()
        );
    }
    Ok(EXIT_OK)
}
