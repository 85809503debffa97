//! `arceon-node benchmark pallet`: measures the execution time of the balances and system
//! calls on a state of many accounts and prints it next to the weight each call declares,
//! so the declared weights can be checked against this machine.

use std::time::Instant;

use arceon_pallet_balances as balances;
use arceon_pallet_system as system;
use arceon_primitives::{AccountId32, MultiAddress, ARCM};
use arceon_support::{BuildGenesis, Ext, MemoryState, Origin, Weight};

/// Options of `benchmark pallet`.
#[derive(Debug, clap::Args)]
pub struct PalletBenchmark {
    /// Accounts in the state the calls run on.
    #[arg(long, default_value_t = 10_000)]
    pub accounts: u32,
    /// Calls measured per extrinsic kind.
    #[arg(long, default_value_t = 20_000)]
    pub repeat: u32,
}

fn account(i: u32) -> AccountId32 {
    let mut bytes = [0u8; 32];
    bytes[..4].copy_from_slice(&i.to_le_bytes());
    bytes[31] = 0xa5;
    AccountId32::new(bytes)
}

/// Runs `call(i)` `repeat` times in one block-like context; returns picoseconds per call.
fn measure(
    state: &MemoryState,
    repeat: u32,
    mut call: impl FnMut(&mut Ext, u32) -> arceon_support::DispatchResult,
) -> anyhow::Result<u64> {
    let mut ext = Ext::new(state);
    let started = Instant::now();
    for i in 0..repeat {
        ext.transactional(|ext| call(ext, i))
            .map_err(|e| anyhow::anyhow!("benchmark call {i} failed: {e}"))?;
    }
    let elapsed = started.elapsed();
    Ok((elapsed.as_nanos() as u64).saturating_mul(1000) / repeat.max(1) as u64)
}

fn row(name: &str, measured_ps: u64, declared: Weight) {
    println!(
        "{name:<34} measured {:>8.2} us   declared {:>8.2} us   {}",
        measured_ps as f64 / 1e6,
        declared.ref_time as f64 / 1e6,
        if measured_ps <= declared.ref_time {
            "ok"
        } else {
            "UNDER-DECLARED"
        }
    );
}

/// Runs the pallet benchmark.
pub fn run(args: &PalletBenchmark) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.accounts >= 2 && args.repeat >= 1,
        "need 2+ accounts and 1+ repeat"
    );
    let empty = MemoryState::new();
    let mut ext = Ext::new(&empty);
    balances::GenesisConfig {
        balances: (0..args.accounts)
            .map(|i| (account(i), 1_000_000 * ARCM))
            .collect(),
    }
    .build(&mut ext)?;
    let state: MemoryState = ext
        .into_changes()
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
    let n = args.accounts;
    println!(
        "{} calls each on a state of {} accounts (reference time per call)",
        args.repeat, args.accounts
    );
    // Worst case for transfers: the recipient is a new account.
    let fresh = |i: u32| account(n + i);
    let t = measure(&state, args.repeat, |ext, i| {
        balances::Call::TransferAllowDeath {
            dest: MultiAddress::Id(fresh(i)),
            value: ARCM,
        }
        .dispatch(ext, Origin::Signed(account(i % n)))
    })?;
    row(
        "balances.transfer_allow_death",
        t,
        balances::weights::TRANSFER_ALLOW_DEATH,
    );
    let t = measure(&state, args.repeat, |ext, i| {
        balances::Call::TransferKeepAlive {
            dest: MultiAddress::Id(fresh(i)),
            value: ARCM,
        }
        .dispatch(ext, Origin::Signed(account(i % n)))
    })?;
    row(
        "balances.transfer_keep_alive",
        t,
        balances::weights::TRANSFER_KEEP_ALIVE,
    );
    let t = measure(&state, args.repeat, |ext, i| {
        balances::Call::ForceTransfer {
            source: MultiAddress::Id(account(i % n)),
            dest: MultiAddress::Id(fresh(i)),
            value: ARCM,
        }
        .dispatch(ext, Origin::Root)
    })?;
    row(
        "balances.force_transfer",
        t,
        balances::weights::FORCE_TRANSFER,
    );
    let t = measure(&state, args.repeat, |ext, i| {
        balances::Call::ForceSetBalance {
            who: MultiAddress::Id(account(i % n)),
            new_free: 5 * ARCM,
        }
        .dispatch(ext, Origin::Root)
    })?;
    row(
        "balances.force_set_balance",
        t,
        balances::weights::FORCE_SET_BALANCE,
    );
    let remark = vec![7u8; 64];
    let t = measure(&state, args.repeat, |ext, i| {
        system::Call::RemarkWithEvent {
            remark: remark.clone(),
        }
        .dispatch(ext, Origin::Signed(account(i % n)))
    })?;
    row(
        "system.remark_with_event (64 B)",
        t,
        system::weights::remark_with_event(64),
    );
    Ok(())
}
