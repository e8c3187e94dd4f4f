//! Model-based property test of the promise tiers make across instances: random operations on
//! two `Tiered` instances, A and B, in one process over one shared store, checked after every
//! step against a model of what each instance may answer.
//!
//! # The model
//!
//! - `l2`: what the store holds for each key, a value and its tag (an entry whose tag was
//!   invalidated reads as absent, so the model drops it).
//! - `l1[i]`: the copy instance `i` last put in its L1 (by its own write, or by a read that
//!   filled it). The instance may serve it until an invalidation reaches it; when one reaches
//!   it is not modelled (a store without a watch, like `MemoryStore`, sends none; Redis
//!   delivers them asynchronously), so each read may find the copy there or gone.
//!
//! So a read of `k` on `i` returns either `i`'s copy or the current value (L2's; for
//! `get_with` on a miss in both, the loader's fresh value), and only those. Values are unique,
//! which makes this say: a read never returns a value that was never written, nor one older
//! than the instance's own copy; after the current value has been read, `i` keeps it as its
//! copy; and an instance's own write is read back by itself (its copy and the current value
//! are then the same) until another instance writes the key.
//!
//! Writes by the instance itself are exact: `insert` sets both its copy and L2, `remove`
//! drops both (and returns its copy, or `None` if an invalidation had dropped it),
//! `invalidate_tag` drops L2's entries with the tag and its own copies with it, `clear` drops
//! every entry of L2 and every copy of its own. That invalidations are delivered at all is
//! checked across processes by `tier_processes.rs`.
//!
//! Two stores: `MemoryStore` always; the Redis at `LARDER_REDIS_URL` when set (skipped
//! otherwise, and a failure in CI), in a namespace of its own per case. `PROPTEST_CASES`
//! overrides the number of cases.

#![cfg(feature = "tier")]
#![allow(clippy::unwrap_used)] // a failed setup fails the test

mod conformance;

use std::collections::BTreeMap;

use larder::Cache;
use larder::store::{MemoryStore, Store};
use larder::tier::Tiered;
use proptest::prelude::*;

const KEYS: u8 = 4;
const TAGS: u8 = 2;

#[derive(Debug, Clone)]
enum Op {
    /// `insert` (or `insert_with_tags` with one tag) of a fresh value.
    Insert {
        on: usize,
        key: u8,
        tag: Option<u8>,
    },
    Remove {
        on: usize,
        key: u8,
    },
    Get {
        on: usize,
        key: u8,
    },
    /// `get_with` whose loader returns a fresh value.
    GetWith {
        on: usize,
        key: u8,
    },
    InvalidateTag {
        on: usize,
        tag: u8,
    },
    Clear {
        on: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let on = 0..2usize;
    let key = 0..KEYS;
    prop_oneof![
        4 => (on.clone(), key.clone(), prop::option::of(0..TAGS))
            .prop_map(|(on, key, tag)| Op::Insert { on, key, tag }),
        2 => (on.clone(), key.clone()).prop_map(|(on, key)| Op::Remove { on, key }),
        5 => (on.clone(), key.clone()).prop_map(|(on, key)| Op::Get { on, key }),
        4 => (on.clone(), key).prop_map(|(on, key)| Op::GetWith { on, key }),
        1 => (on.clone(), 0..TAGS).prop_map(|(on, tag)| Op::InvalidateTag { on, tag }),
        1 => on.prop_map(|on| Op::Clear { on }),
    ]
}

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// A value as L2 or an L1 holds it: the value and the tag it was written with.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    value: String,
    tag: Option<u8>,
}

#[derive(Debug, Default)]
struct Model {
    l2: BTreeMap<u8, Entry>,
    l1: [BTreeMap<u8, Entry>; 2],
}

impl Model {
    /// Checks `read` of `key` on `on` against its copy and `current` (what L2 answers, or
    /// the loader), and records what `on` holds now.
    fn read(
        &mut self,
        on: usize,
        key: u8,
        read: Option<String>,
        current: Option<Entry>,
    ) -> Result<(), TestCaseError> {
        let copy = self.l1[on].get(&key).cloned();
        let from_copy = copy.is_some() && read == copy.as_ref().map(|e| e.value.clone());
        let from_current = read == current.as_ref().map(|e| e.value.clone());
        prop_assert!(
            from_copy || from_current,
            "instance {on} read {key} = {read:?}: neither its L1 copy {copy:?} nor the current \
             value {current:?}"
        );
        if !from_copy {
            // Its copy (if any) was invalidated: it now holds the current value, if any.
            match current {
                Some(entry) => self.l1[on].insert(key, entry),
                None => self.l1[on].remove(&key),
            };
        }
        Ok(())
    }
}

/// Two instances over one store, and the model.
struct Harness {
    tiers: [Tiered<u8, String>; 2],
    model: Model,
    /// The next fresh value's number.
    next: u32,
}

impl Harness {
    fn new<S: Store + Clone>(store: S) -> Self {
        let tier = || Tiered::builder(Cache::new(1_000), store.clone()).build();
        Self {
            tiers: [tier(), tier()],
            model: Model::default(),
            next: 0,
        }
    }

    fn fresh(&mut self) -> String {
        self.next += 1;
        format!("v{}", self.next)
    }

    async fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        // A value no write has used yet, for an insert or a loader.
        let fresh = self.fresh();
        let model = &mut self.model;
        match *op {
            Op::Insert { on, key, tag } => {
                let value = fresh;
                let tier = &self.tiers[on];
                match tag {
                    Some(tag) => {
                        tier.insert_with_tags(key, value.clone(), [format!("t{tag}")])
                            .await;
                    }
                    None => tier.insert(key, value.clone()).await,
                }
                let entry = Entry { value, tag };
                model.l2.insert(key, entry.clone());
                model.l1[on].insert(key, entry);
            }
            Op::Remove { on, key } => {
                let removed = self.tiers[on].remove(&key).await;
                let copy = model.l1[on].remove(&key).map(|e| e.value);
                prop_assert!(
                    removed.is_none() || removed == copy,
                    "remove {key} on {on} returned {removed:?}, its L1 copy was {copy:?}"
                );
                model.l2.remove(&key);
            }
            Op::Get { on, key } => {
                let read = self.tiers[on].get(&key).await;
                let current = model.l2.get(&key).cloned();
                model.read(on, key, read, current)?;
            }
            Op::GetWith { on, key } => {
                let init = {
                    let loaded = fresh.clone();
                    async move { loaded }
                };
                let read = self.tiers[on].get_with(key, init).await;
                let current = match model.l2.get(&key) {
                    Some(entry) => entry.clone(),
                    None => Entry {
                        value: fresh,
                        tag: None,
                    },
                };
                let loaded = !model.l2.contains_key(&key) && read == current.value;
                model.read(on, key, Some(read), Some(current.clone()))?;
                if loaded {
                    model.l2.insert(key, current); // written through to L2
                }
            }
            Op::InvalidateTag { on, tag } => {
                self.tiers[on].invalidate_tag(&format!("t{tag}")).await;
                model.l2.retain(|_, e| e.tag != Some(tag));
                model.l1[on].retain(|_, e| e.tag != Some(tag));
            }
            Op::Clear { on } => {
                self.tiers[on].clear().await;
                model.l2.clear();
                model.l1[on].clear();
            }
        }
        Ok(())
    }
}

/// Runs `ops` on two instances over `store`, checking each step.
async fn run<S: Store + Clone>(store: S, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut harness = Harness::new(store);
    for (step, op) in ops.iter().enumerate() {
        harness
            .apply(op)
            .await
            .map_err(|e| TestCaseError::fail(format!("step {step} ({op:?}): {e}")))?;
    }
    Ok(())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(256), ..ProptestConfig::default() })]

    #[test]
    fn two_instances_over_a_memory_store_keep_the_promise(
        ops in prop::collection::vec(op(), 1..40),
    ) {
        runtime().block_on(run(MemoryStore::new("props"), &ops))?;
    }
}

#[cfg(feature = "redis")]
proptest! {
    #![proptest_config(ProptestConfig { cases: cases(64), ..ProptestConfig::default() })]

    #[test]
    fn two_instances_over_redis_keep_the_promise(ops in prop::collection::vec(op(), 1..40)) {
        let Some(url) = conformance::service("LARDER_REDIS_URL") else {
            return Ok(());
        };
        runtime().block_on(async {
            let ns = conformance::unique("tier-props");
            let store = larder::store::RedisStore::connect(&url, &ns).await.unwrap();
            let checked = run(store.clone(), &ops).await;
            store.clear().await.unwrap(); // leave the shared server as it was
            checked
        })?;
    }
}
