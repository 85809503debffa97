//! `arceon-loadgen`: the benchmarks' chain specs and load generators: the fast-lane
//! benchmark (`spec`, `run`; `scripts/bench-fastlane.sh`) and the JSON-RPC submit
//! benchmark (`transfers-spec`, `transfers`; `scripts/bench-rpc-submit.sh`).
//!
//! - `spec` writes a chain spec: the local testnet's validators with a grid of areas, the
//!   players `//player/<i>` placed across them (one crowded area holding many of them,
//!   and a few standing next to a border so they can walk across it), every player
//!   joined to the fast lanes at genesis.
//! - `run` plays those players against running nodes: many WebSocket connections spread
//!   over the nodes, an open-loop Poisson stream of signed lane actions at each rate of a
//!   sweep, area subscriptions with an interest radius on the connections, and afterwards
//!   a check against the finalized chain that every receipted action is in a block with
//!   the receipted outcome. It prints one `RESULT` line per rate and the ceiling.
//! - `transfers-spec` writes a chain spec (dev, local or any) with the accounts
//!   `//player/<i>` endowed.
//! - `transfers` submits pre-signed transfers between those accounts with
//!   `author_submitAndWatchExtrinsic` over many WebSocket connections, an open-loop
//!   Poisson stream at each rate of a sweep, and times each from its scheduled send to
//!   `inBlock` and `finalized`; it prints one `RESULT` line per rate and the ceiling (see
//!   the `transfers` module).
//!
//! Invariants of `run`: a player has at most one action in flight and sends at most one
//! per `--min-interval-ms` (from its previous send and from its previous batch's lane
//! time); latencies are measured from the Poisson schedule, not from when the generator
//! got around to sending (no coordinated omission).

mod chain;
mod keys;
mod run;
mod spec;
mod stats;
mod transfers;

use clap::{Parser, Subcommand};

/// The fast-lane benchmark's spec writer and load generator.
#[derive(Debug, Parser)]
#[command(name = "arceon-loadgen", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a chain spec with players spread over a grid of areas.
    Spec(spec::SpecArgs),
    /// Play the spec's players against running nodes and print RESULT lines.
    Run(run::RunArgs),
    /// Write a chain spec with the accounts `//player/<i>` endowed.
    TransfersSpec(transfers::TransfersSpecArgs),
    /// Submit signed transfers over JSON-RPC and print RESULT lines.
    Transfers(transfers::TransfersArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Spec(args) => spec::write(&args),
        Command::Run(args) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(args.threads)
                .enable_all()
                .build()?;
            runtime.block_on(run::run(args))
        }
        Command::TransfersSpec(args) => transfers::write_spec(&args),
        Command::Transfers(args) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(args.threads)
                .enable_all()
                .build()?;
            runtime.block_on(transfers::run(args))
        }
    }
}
