//! The dependency rules of ARCHITECTURE.md, read from `cargo metadata` (normal
//! dependencies only; tests may use anything):
//! - pallets never depend on the runtime, the chain spec or node and client crates;
//! - the storage, network and pool crates know nothing of the runtime or pallets;
//! - node and RPC crates reach pallets only through the runtime's facade. The crates that
//!   still name pallet crates are listed in `PALLET_DEBTS` (issue 17): a new pallet
//!   dependency fails this test, and so does a listed one that is gone (the list only
//!   shrinks).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Node and RPC crates that still depend on pallet crates, and on which.
const PALLET_DEBTS: &[(&str, &[&str])] = &[
    ("arceon-fastlane", &["areas", "fastlane"]),
    ("arceon-service", &["areas", "fastlane"]),
    (
        "arceon-rpc",
        &[
            "areas",
            "balances",
            "fastlane",
            "npcs",
            "players",
            "staking",
            "structures",
            "system",
        ],
    ),
    (
        "arceon-wallet",
        &[
            "areas",
            "balances",
            "fastlane",
            "npcs",
            "players",
            "staking",
            "structures",
            "system",
        ],
    ),
    (
        "arceon-node",
        &[
            "areas",
            "balances",
            "fastlane",
            "npcs",
            "players",
            "staking",
            "structures",
            "system",
        ],
    ),
    (
        "arceon-loadgen",
        &["areas", "balances", "fastlane", "players"],
    ),
];

/// Each workspace crate's path (relative to the workspace) and its normal dependencies
/// among the workspace's crates.
fn workspace() -> BTreeMap<String, (String, BTreeSet<String>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(&root)
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    let root = root.canonicalize().expect("workspace root");
    let packages = metadata["packages"].as_array().expect("packages");
    let names: BTreeSet<String> = packages
        .iter()
        .map(|p| p["name"].as_str().expect("name").to_string())
        .collect();
    packages
        .iter()
        .map(|p| {
            let manifest = Path::new(p["manifest_path"].as_str().expect("manifest"));
            let dir = manifest
                .parent()
                .and_then(|d| d.strip_prefix(&root).ok())
                .map(|d| d.display().to_string())
                .unwrap_or_default();
            let deps = p["dependencies"]
                .as_array()
                .expect("dependencies")
                .iter()
                .filter(|d| d["kind"].is_null())
                .map(|d| d["name"].as_str().expect("dependency name").to_string())
                .filter(|name| names.contains(name))
                .collect();
            (p["name"].as_str().expect("name").to_string(), (dir, deps))
        })
        .collect()
}

fn pallets_of(deps: &BTreeSet<String>) -> BTreeSet<String> {
    deps.iter()
        .filter_map(|d| d.strip_prefix("arceon-pallet-"))
        .map(str::to_string)
        .collect()
}

#[test]
fn node_and_rpc_crates_add_no_pallet_dependencies() {
    let crates = workspace();
    let debts: BTreeMap<&str, BTreeSet<String>> = PALLET_DEBTS
        .iter()
        .map(|(name, pallets)| (*name, pallets.iter().map(|p| p.to_string()).collect()))
        .collect();
    let mut broken = Vec::new();
    for (name, (dir, deps)) in &crates {
        if !(dir.starts_with("node") || dir.starts_with("rpc")) {
            continue;
        }
        let pallets = pallets_of(deps);
        let allowed = debts.get(name.as_str()).cloned().unwrap_or_default();
        for new in pallets.difference(&allowed) {
            broken.push(format!(
                "{name} ({dir}) depends on arceon-pallet-{new}: use the runtime's facade \
                 (arceon_runtime::offchain and friends)"
            ));
        }
        for paid in allowed.difference(&pallets) {
            broken.push(format!(
                "{name} no longer depends on arceon-pallet-{paid}: remove it from PALLET_DEBTS"
            ));
        }
    }
    for name in debts.keys() {
        if !crates.contains_key(*name) {
            broken.push(format!(
                "PALLET_DEBTS names {name}, which is not in the workspace"
            ));
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

/// Whether a crate in `dir` may not depend on `dep`.
fn forbidden(crates: &BTreeMap<String, (String, BTreeSet<String>)>, dir: &str, dep: &str) -> bool {
    let node_or_rpc = crates
        .get(dep)
        .is_some_and(|(dir, _)| dir.starts_with("node") || dir.starts_with("rpc"));
    let runtime_level = dep == "arceon-runtime" || dep == "arceon-chain-spec";
    if dir.starts_with("pallets/") && dir != "pallets/support" {
        // Pallets use support, primitives and other pallets only.
        return runtime_level || node_or_rpc;
    }
    let lowest = ["node/db", "node/network", "node/txpool", "pallets/support"].contains(&dir)
        || dir.starts_with("primitives")
        || dir.starts_with("runtime/");
    lowest && (runtime_level || node_or_rpc || dep.starts_with("arceon-pallet-"))
}

#[test]
fn lower_layers_do_not_import_upward() {
    let crates = workspace();
    let mut broken = Vec::new();
    for (name, (dir, deps)) in &crates {
        for dep in deps.iter().filter(|d| forbidden(&crates, dir, d)) {
            broken.push(format!("{name} ({dir}) must not depend on {dep}"));
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}
