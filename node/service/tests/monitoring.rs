//! The shipped Grafana dashboard and Prometheus alert rules (node/monitoring/) name only
//! metrics the node exports: every metric in their expressions must be in the exposition
//! of a node's metrics after one of each kind of observation.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use arceon_service::Metrics;

fn monitoring(file: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../monitoring")
        .join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The names in the metrics' text exposition (`name{labels} value` lines).
fn exported() -> BTreeSet<String> {
    let metrics = Metrics::new();
    metrics.set_heights(10, 8);
    metrics.set_network(3, false);
    metrics.set_finality(0, 7);
    metrics.set_pool(arceon_txpool::PoolStatus::default());
    metrics.observe_pool(arceon_txpool::PoolEvent::Submitted {
        source: arceon_txpool::TransactionSource::External,
        count: 2,
        accepted: 1,
        validation: 0.001,
    });
    metrics.observe_pool(arceon_txpool::PoolEvent::Maintained {
        revalidated: 1,
        revalidation: 0.001,
        total: 0.002,
    });
    metrics.observe_import(Duration::from_millis(30));
    metrics.note_authored();
    metrics.observe_lane_receipt(0, Duration::from_millis(3));
    metrics.observe_lane_batch(0, 4, Some(Duration::from_millis(5)));
    metrics.set_lane_pending(0, 2);
    metrics
        .rpc_calls
        .with_label_values(&["system_health"])
        .inc();
    metrics
        .render()
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            line.split(['{', ' '])
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

/// Every `arceon_*` or `substrate_*` identifier in `text`.
fn referenced(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &text[i..];
        let starts_word = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if starts_word && (rest.starts_with("arceon_") || rest.starts_with("substrate_")) {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            names.insert(rest[..end].to_string());
            i += end;
        } else {
            i += 1;
        }
    }
    names
}

fn expressions(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("expr" | "query", serde_json::Value::String(expr)) => out.push(expr.clone()),
                    _ => expressions(value, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|item| expressions(item, out)),
        _ => {}
    }
}

#[test]
fn the_dashboard_charts_only_metrics_the_node_exports() {
    let exported = exported();
    let dashboard: serde_json::Value =
        serde_json::from_str(&monitoring("grafana-dashboard.json")).expect("dashboard JSON");
    let mut exprs = Vec::new();
    expressions(&dashboard, &mut exprs);
    assert!(exprs.len() >= 10, "{exprs:?}");
    let names: BTreeSet<String> = exprs.iter().flat_map(|e| referenced(e)).collect();
    let missing: Vec<_> = names.difference(&exported).collect();
    assert!(missing.is_empty(), "charted but not exported: {missing:?}");
    for needed in [
        "substrate_block_height",
        "substrate_sub_libp2p_peers_count",
        "arceon_block_import_seconds_bucket",
        "arceon_txpool_ready",
        "arceon_fastlane_receipt_seconds_bucket",
    ] {
        assert!(names.contains(needed), "the dashboard charts {needed}");
    }
}

#[test]
fn the_alert_rules_watch_only_metrics_the_node_exports() {
    let exported = exported();
    let rules = monitoring("alerts.yml");
    let exprs: Vec<&str> = rules
        .lines()
        .filter_map(|line| line.trim().strip_prefix("expr:"))
        .collect();
    assert!(exprs.len() >= 4, "{exprs:?}");
    let names: BTreeSet<String> = exprs.iter().flat_map(|e| referenced(e)).collect();
    let missing: Vec<_> = names.difference(&exported).collect();
    assert!(
        missing.is_empty(),
        "alerted on but not exported: {missing:?}"
    );
    for alert in [
        "ArceonFinalityStalled",
        "ArceonNoPeers",
        "ArceonNotAuthoring",
    ] {
        assert!(rules.contains(&format!("alert: {alert}")), "{alert}");
    }
}
