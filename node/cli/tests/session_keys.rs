//! Session keys end to end on four real validators: one validator's node creates fresh
//! session keys (`author_rotateKeys`), its stash registers them from the wallet
//! (`stake set-keys`), and from the next era the node seals blocks with the new Aura key
//! and votes with the new ed25519 GRANDPA key; justifications verify with ed25519 and
//! nothing is signed with the old keys any more.

mod common;
#[path = "common/net.rs"]
mod net;

use std::time::Duration;

use arceon_finality::justification::GrandpaJustification;
use arceon_primitives::keyring::Keyring;
use arceon_primitives::{
    ed25519, from_hex, sr25519, Digest, DigestItem, Header, SessionKeys, H256,
};
use codec::Decode;
use common::Node;
use net::*;
use serde_json::{json, Value};
use sp_core::Pair as _;

fn decode_hex<T: Decode>(value: &Value) -> T {
    let bytes = from_hex(value.as_str().expect("hex string")).expect("hex");
    T::decode(&mut &bytes[..]).expect("SCALE")
}

/// The Aura authorities at block `at`.
fn aura_authorities(node: &Node, at: &Value) -> Vec<sr25519::Public> {
    decode_hex(&node.rpc("state_call", json!(["AuraApi_authorities", "0x", at])))
}

/// The GRANDPA voters and set id in force from the latest change at block `at`.
fn grandpa_set(node: &Node, at: &Value) -> (u64, Vec<ed25519::Public>) {
    let voters: Vec<(ed25519::Public, u64)> = decode_hex(&node.rpc(
        "state_call",
        json!(["GrandpaApi_grandpa_authorities", "0x", at]),
    ));
    let set_id: u64 =
        decode_hex(&node.rpc("state_call", json!(["GrandpaApi_current_set_id", "0x", at])));
    (set_id, voters.into_iter().map(|(id, _)| id).collect())
}

/// Block `n`'s header, rebuilt from its JSON.
fn header_at(node: &Node, n: u32) -> Header {
    let json = node.rpc("chain_getHeader", json!([hash_at(node, n)]));
    let hash = |field: &str| -> H256 {
        let bytes = from_hex(json[field].as_str().expect("hash")).expect("hex");
        H256::from_slice(&bytes)
    };
    let logs = json["digest"]["logs"]
        .as_array()
        .expect("logs")
        .iter()
        .map(decode_hex::<DigestItem>)
        .collect();
    let header = Header {
        parent_hash: hash("parentHash"),
        number: number(&json),
        state_root: hash("stateRoot"),
        extrinsics_root: hash("extrinsicsRoot"),
        digest: Digest { logs },
    };
    assert_eq!(
        format!("{:?}", header.hash()),
        hash_at(node, n).as_str().expect("hash"),
        "header #{n} rebuilt exactly"
    );
    header
}

/// Whether `key` sealed `header`.
fn sealed_by(header: &Header, key: &sr25519::Public) -> bool {
    let (unsealed, seal) = header.split_seal();
    let Some(DigestItem::Seal(_, signature)) = seal else {
        return false;
    };
    let Ok(raw) = <[u8; 64]>::try_from(signature.as_slice()) else {
        return false;
    };
    sr25519::Pair::verify(
        &sr25519::Signature::from_raw(raw),
        unsealed.hash().as_bytes(),
        key,
    )
}

/// The justification `grandpa_proveFinality` gives for block `n` or the first justified
/// block after it.
fn justification_from(node: &Node, n: u32) -> Option<GrandpaJustification> {
    let proof = node.rpc("grandpa_proveFinality", json!([n]));
    if proof.is_null() {
        return None;
    }
    let (_, justification, _): (H256, Vec<u8>, Vec<Header>) = decode_hex(&proof);
    Some(GrandpaJustification::decode_exact(&justification).expect("justification decodes"))
}

#[test]
fn a_validator_rotates_its_session_keys_and_signs_only_with_the_new_ones() {
    let _serial = serial();
    let spec_dir = tempfile::tempdir().expect("temp dir");
    let spec = short_era_spec(spec_dir.path());
    let mut net = Net::new(&spec.display().to_string(), 4, |i| {
        vec![format!("--{}", NAMES[i])]
    });
    net.start_all();
    net.wait("finality", Duration::from_secs(120), |net| {
        finalized(net.node(0)) >= 3
    });
    let old = Keyring::Alice.session_keys();
    let alice = net.node(0);

    // Alice's node creates the keys; the wallet, holding the stash secret, registers them.
    let (ok, out) = wallet(
        alice,
        "//Alice",
        &[
            "stake",
            "set-keys",
            "--until",
            "in-block",
            "--timeout",
            "60",
        ],
    );
    assert!(ok, "set-keys: {out}");
    let hex = out
        .split_whitespace()
        .find(|word| word.starts_with("0x") && word.len() == 2 + 128)
        .unwrap_or_else(|| panic!("the created keys are printed: {out}"));
    let fresh = SessionKeys::from_bytes(&from_hex(hex).expect("hex")).expect("keys");
    assert_ne!(fresh, old);
    assert_eq!(
        alice.rpc("author_hasSessionKeys", json!([hex])),
        json!(true)
    );
    let registered = best(alice);
    eprintln!("RESULT session_keys registered_at={registered} keys={hex}");

    // Keys are private to the node's user.
    let keystore = walk(&net.members[0].base)
        .into_iter()
        .find(|p| p.ends_with("keystore"))
        .expect("a keystore directory");
    {
        use std::os::unix::fs::PermissionsExt as _;
        for entry in std::fs::read_dir(&keystore).expect("keystore") {
            let meta = entry.expect("entry").metadata().expect("metadata");
            assert_eq!(meta.permissions().mode() & 0o777, 0o600, "key file mode");
        }
    }

    // From the next era the new keys author and vote.
    let mut switched = 0;
    net.wait("the new keys in force", Duration::from_secs(90), |net| {
        let node = net.node(0);
        let head = best(node);
        let at = hash_at(node, head);
        if aura_authorities(node, &at).contains(&fresh.aura) {
            switched = head;
            true
        } else {
            false
        }
    });
    // The first block of the era carries the new set; find it.
    let mut change = registered;
    while !aura_authorities(alice, &hash_at(alice, change)).contains(&fresh.aura) {
        change += 1;
    }
    let at = hash_at(alice, change);
    assert!(!aura_authorities(alice, &at).contains(&old.aura));
    let (new_set_id, voters) = grandpa_set(alice, &at);
    assert!(voters.contains(&fresh.grandpa) && !voters.contains(&old.grandpa));
    eprintln!("RESULT session_keys era_block={change} set_id={new_set_id} seen_at={switched}");

    // Blocks keep coming and finality passes the change with the new voters.
    net.wait(
        "a block sealed with the new Aura key, finalized",
        Duration::from_secs(90),
        |net| {
            let node = net.node(0);
            let f = finalized(node);
            f > change + 8
                && ((change + 1)..=f).any(|n| sealed_by(&header_at(node, n), &fresh.aura))
        },
    );
    let mut with_new_vote = None;
    net.wait(
        "a justification carrying Alice's new GRANDPA vote",
        Duration::from_secs(90),
        |net| {
            let node = net.node(0);
            let f = finalized(node);
            for n in (change + 1)..=f {
                if let Some(j) = justification_from(node, n) {
                    if j.commit.target_number > change
                        && j.commit.precommits.iter().any(|p| p.id == fresh.grandpa)
                    {
                        with_new_vote = Some(j);
                        return true;
                    }
                }
            }
            false
        },
    );
    let justification = with_new_vote.expect("found");
    // It verifies as GRANDPA's ed25519 votes against the new set.
    justification
        .verify(
            new_set_id,
            &voters,
            (
                justification.commit.target_hash,
                justification.commit.target_number,
            ),
        )
        .expect("the justification verifies with ed25519");

    // The old keys sign nothing after the change: no block, no vote.
    let last = finalized(alice);
    for n in (change + 1)..=last {
        assert!(
            !sealed_by(&header_at(alice, n), &old.aura),
            "block #{n} sealed with the old Aura key"
        );
        if let Some(j) = justification_from(alice, n) {
            if j.commit.target_number > change {
                assert!(
                    j.commit.precommits.iter().all(|p| p.id != old.grandpa),
                    "a vote by the old GRANDPA key in the justification of #{}",
                    j.commit.target_number
                );
            }
        }
    }
    eprintln!(
        "RESULT session_keys checked_blocks={} finalized={last}",
        last - change
    );
    assert_finalized_agree(&net);
}

/// Every directory under `root`.
fn walk(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path.clone());
                    out.push(path);
                }
            }
        }
    }
    out
}
