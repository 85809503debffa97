//! `arceon-lane-sim`: runs the seeded lane simulation ([`arceon_fastlane::sim`]).
//!
//! `arceon-lane-sim --seeds N [--from S] [--duration-ms D]` runs seeds `S..S+N` and prints
//! a summary, or the first failing seed and what it broke (exit status 1);
//! `arceon-lane-sim --seed S [--duration-ms D]` replays one seed and prints its report.

use std::process::ExitCode;
use std::time::Instant;

use arceon_fastlane::sim;

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

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = (|| {
        Ok::<_, String>((
            value(&args, "--seeds")?,
            value(&args, "--from")?.unwrap_or(0),
            value(&args, "--seed")?,
            value(&args, "--duration-ms")?.unwrap_or(3_000),
        ))
    })();
    let (seeds, from, seed, duration) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("error: {e}\nusage: arceon-lane-sim --seeds N [--from S] [--duration-ms D] | --seed S [--duration-ms D]");
            return ExitCode::from(2);
        }
    };
    if let Some(seed) = seed {
        let report = sim::run(seed, duration);
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
    let (mut simulated, mut receipted, mut crashes, mut messages) = (0u64, 0u64, 0u64, 0u64);
    for seed in from..from + seeds {
        let report = sim::run(seed, duration);
        if !report.violations.is_empty() {
            println!("FAILED seed {seed} (replay: arceon-lane-sim --seed {seed} --duration-ms {duration})");
            for violation in &report.violations {
                println!("  {violation}");
            }
            return ExitCode::FAILURE;
        }
        simulated += report.simulated_ms;
        receipted += report.receipted;
        crashes += report.crashes;
        messages += report.delivered;
        if (seed - from + 1) % 1_000 == 0 {
            eprintln!(
                "{} seeds passed ({:.0?})",
                seed - from + 1,
                started.elapsed()
            );
        }
    }
    println!(
        "RESULT seeds={seeds} passed={seeds} simulated_s={} receipts={receipted} crashes={crashes} messages={messages} wall_s={:.1}",
        simulated / 1_000,
        started.elapsed().as_secs_f64()
    );
    ExitCode::SUCCESS
}
