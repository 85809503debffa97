//! `arceon-lane-sim`: runs the seeded lane simulation ([`arceon_fastlane::sim`]).
//!
//! `arceon-lane-sim --seeds N [--from S] [--duration-ms D]` runs seeds `S..S+N` and prints
//! a summary, or the first failing seed and what it broke (exit status 1);
//! `arceon-lane-sim --seed S [--duration-ms D]` replays one seed and prints its report.
//! Built with the `broken-rules` feature, `--broken-rule new-primary-ignores-reports`
//! breaks a rule of the view change on purpose, to see how soon the seeds catch it.

use std::process::ExitCode;
use std::time::Instant;

use arceon_fastlane::sim::{self, BrokenRuleSwitch};

fn value(args: &[String], name: &str) -> Result<Option<u64>, String> {
    match args.iter().position(|arg| arg == name) {
        None => Ok(None),
        Some(at) => args
            .get(at + 1)
            .and_then(|text| text.parse().ok())
            .map(Some)
            .ok_or_else(|| format!("{name} needs a number")),
    }
}

#[cfg(feature = "broken-rules")]
fn broken(args: &[String]) -> Result<Option<BrokenRuleSwitch>, String> {
    match args.iter().position(|arg| arg == "--broken-rule") {
        None => Ok(None),
        Some(at) => match args.get(at + 1).map(String::as_str) {
            Some("new-primary-ignores-reports") => Ok(Some(BrokenRuleSwitch(
                arceon_fastlane::BrokenRule::NewPrimaryIgnoresReports,
            ))),
            _ => Err("--broken-rule takes new-primary-ignores-reports".into()),
        },
    }
}

#[cfg(not(feature = "broken-rules"))]
fn broken(args: &[String]) -> Result<Option<BrokenRuleSwitch>, String> {
    if args.iter().any(|arg| arg == "--broken-rule") {
        return Err("--broken-rule needs a simulator built with --features broken-rules".into());
    }
    Ok(None)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = (|| {
        Ok::<_, String>((
            value(&args, "--seeds")?,
            value(&args, "--from")?.unwrap_or(0),
            value(&args, "--seed")?,
            value(&args, "--duration-ms")?.unwrap_or(3_000),
            broken(&args)?,
        ))
    })();
    let (seeds, from, seed, duration, broken) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("error: {e}\nusage: arceon-lane-sim --seeds N [--from S] [--duration-ms D] | --seed S [--duration-ms D]");
            return ExitCode::from(2);
        }
    };
    if let Some(seed) = seed {
        let report = sim::run_with(seed, duration, broken);
        println!(
            "seed {seed}: faults {:?}",
            sim::Faults::from_seed(seed, duration)
        );
        println!("{report:#?}");
        return if report.violations.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    let seeds = seeds.unwrap_or(100);
    let started = Instant::now();
    let mut total = sim::Report::default();
    for seed in from..from + seeds {
        let report = sim::run_with(seed, duration, broken);
        if !report.violations.is_empty() {
            println!(
                "FAILED seed {seed} after {} seeds and {:.1} s (replay: arceon-lane-sim --seed {seed} --duration-ms {duration})",
                seed - from + 1,
                started.elapsed().as_secs_f64()
            );
            for violation in &report.violations {
                println!("  {violation}");
            }
            return ExitCode::FAILURE;
        }
        total.simulated_ms += report.simulated_ms;
        total.receipted += report.receipted;
        total.crashes += report.crashes;
        total.primary_crashes += report.primary_crashes;
        total.views += report.views;
        total.delivered += report.delivered;
        total.equivocations += report.equivocations;
        total.handovers += report.handovers;
        total.unsealed_starts += report.unsealed_starts;
        if (seed - from + 1) % 1_000 == 0 {
            eprintln!(
                "{} seeds passed ({:.0?})",
                seed - from + 1,
                started.elapsed()
            );
        }
    }
    println!(
        "RESULT seeds={seeds} passed={seeds} simulated_s={} receipts={} crashes={} primary_crashes={} view_changes={} equivocations={} handovers={} unsealed_starts={} messages={} wall_s={:.1}",
        total.simulated_ms / 1_000,
        total.receipted,
        total.crashes,
        total.primary_crashes,
        total.views,
        total.equivocations,
        total.handovers,
        total.unsealed_starts,
        total.delivered,
        started.elapsed().as_secs_f64()
    );
    ExitCode::SUCCESS
}
