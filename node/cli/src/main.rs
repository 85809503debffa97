//! `arceon-node`: the Arceon node binary. It only wires the node's crates together behind
//! a Substrate-style command line.

mod bench_pallet;
mod benchmark;
mod chain_ops;
mod command;
mod key;
mod snapshot;

fn main() {
    if let Err(error) = command::run() {
        eprintln!("Error: {error:#}");
        std::process::exit(1);
    }
}
