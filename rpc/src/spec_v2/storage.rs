//! Storage items of `chainHead_v1_storage` and `archive_v1_storage`: parsing the items a
//! client asks for, answering one item (value, hash, closest descendant Merkle value) and
//! one page of a descendants query.
//!
//! Invariants: a page holds at most the items and value bytes its caller allows; a query
//! lists at most [`MAX_STORAGE_ITEMS_PER_CALL`] items; malformed items are refused before
//! anything runs.

use std::collections::VecDeque;

use arceon_primitives::{blake2_256, to_hex, H256};
use arceon_state::{NodeStore, TrieState};
use jsonrpsee::types::ErrorObjectOwned;
use serde_json::{json, Value};

use super::chain_head::MAX_STORAGE_ITEMS_PER_CALL;
use crate::json::{invalid_params, parse_bytes};

/// The kinds of `chainHead_v1_storage` / `archive_v1_storage` items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QueryKind {
    Value,
    Hash,
    ClosestDescendantMerkleValue,
    DescendantsValues,
    DescendantsHashes,
}

/// One storage item asked for.
#[derive(Debug, Clone)]
pub(crate) struct StorageQuery {
    pub key: Vec<u8>,
    pub kind: QueryKind,
    /// Where a descendants query resumes: strictly after this key.
    pub start_after: Option<Vec<u8>>,
}

/// Parses a storage `items` array (shared with `archive_v1_storage`).
pub(crate) fn parse_queries(
    items: &Value,
    with_pagination: bool,
) -> Result<Vec<StorageQuery>, ErrorObjectOwned> {
    let Some(items) = items.as_array() else {
        return Err(invalid_params("items must be an array"));
    };
    if items.len() > MAX_STORAGE_ITEMS_PER_CALL {
        return Err(invalid_params(format!(
            "at most {MAX_STORAGE_ITEMS_PER_CALL} storage items per call"
        )));
    }
    items
        .iter()
        .map(|item| {
            let key = item["key"]
                .as_str()
                .ok_or_else(|| invalid_params("a storage item needs a hex `key`"))?;
            let key = parse_bytes(key)?;
            let kind = match item["type"].as_str() {
                Some("value") => QueryKind::Value,
                Some("hash") => QueryKind::Hash,
                Some("closestDescendantMerkleValue") => QueryKind::ClosestDescendantMerkleValue,
                Some("descendantsValues") => QueryKind::DescendantsValues,
                Some("descendantsHashes") => QueryKind::DescendantsHashes,
                _ => {
                    return Err(invalid_params(
                        "a storage item's `type` is one of value, hash, closestDescendantMerkleValue, descendantsValues, descendantsHashes",
                    ))
                }
            };
            let start_after = match &item["paginationStartKey"] {
                Value::Null => None,
                Value::String(s) if with_pagination => Some(parse_bytes(s)?),
                _ => return Err(invalid_params("unexpected paginationStartKey")),
            };
            Ok(StorageQuery {
                key,
                kind,
                start_after,
            })
        })
        .collect()
}

/// The answer to a single-key query, if the key has one.
pub(crate) fn single_item<S: NodeStore>(
    state: &TrieState<S>,
    query: &StorageQuery,
) -> Result<Option<Value>, arceon_state::StateError> {
    let key = to_hex(&query.key);
    Ok(match query.kind {
        QueryKind::Value => state
            .get(&query.key)?
            .map(|v| json!({ "key": key, "value": to_hex(&v) })),
        QueryKind::Hash => state
            .get(&query.key)?
            .map(|v| json!({ "key": key, "hash": H256(blake2_256(&v)) })),
        QueryKind::ClosestDescendantMerkleValue => state
            .closest_descendant_merkle_value(&query.key)?
            .map(|m| json!({ "key": key, "closestDescendantMerkleValue": to_hex(&m) })),
        QueryKind::DescendantsValues | QueryKind::DescendantsHashes => None,
    })
}

/// Reads the next page of descendants queries from the front of `queries`: at most
/// `max_items` items and about `max_bytes` of values; a query leaves the queue once it
/// has given all its items, else remembers where it stopped.
pub(crate) fn descendants_page<S: NodeStore>(
    state: &TrieState<S>,
    queries: &mut VecDeque<StorageQuery>,
    max_items: usize,
    max_bytes: usize,
) -> Result<Vec<Value>, arceon_state::StateError> {
    let mut items = Vec::new();
    let mut bytes = 0usize;
    while let Some(query) = queries.front_mut() {
        let room = max_items.saturating_sub(items.len());
        if room == 0 || bytes >= max_bytes {
            break;
        }
        let pairs = state.pairs_with_prefix(&query.key, query.start_after.as_deref(), room)?;
        let exhausted = pairs.len() < room;
        let mut taken_all = true;
        for (key, value) in pairs {
            if bytes >= max_bytes {
                taken_all = false;
                break;
            }
            bytes += value.len();
            let item = if query.kind == QueryKind::DescendantsHashes {
                json!({ "key": to_hex(&key), "hash": H256(blake2_256(&value)) })
            } else {
                json!({ "key": to_hex(&key), "value": to_hex(&value) })
            };
            items.push(item);
            query.start_after = Some(key);
        }
        if exhausted && taken_all {
            queries.pop_front();
        }
    }
    Ok(items)
}

/// Splits the items into those answered at once and the descendants queries, which are
/// answered page by page.
pub(crate) fn split_descendants(
    queries: Vec<StorageQuery>,
) -> (Vec<StorageQuery>, Vec<StorageQuery>) {
    queries.into_iter().partition(|q| {
        !matches!(
            q.kind,
            QueryKind::DescendantsValues | QueryKind::DescendantsHashes
        )
    })
}

/// Answers the single items on a blocking thread (trie reads); the error says why not.
pub(crate) async fn single_items<S: NodeStore + Send + Sync + 'static>(
    state: TrieState<S>,
    singles: Vec<StorageQuery>,
) -> Result<Vec<Value>, String> {
    let read = tokio::task::spawn_blocking(move || {
        singles
            .iter()
            .filter_map(|q| single_item(&state, q).transpose())
            .collect::<Result<Vec<Value>, _>>()
    })
    .await;
    match read {
        Ok(Ok(items)) => Ok(items),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}
