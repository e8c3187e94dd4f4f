//! Model-based property tests: random operation sequences applied both to a `Cache` and to a
//! plain reference model, checked against each other after every step.
//!
//! The exact policies (LRU, LFU, FIFO) get a reference implementation each, and the cache's
//! contents, lookups and counters must equal the model's exactly. S3-FIFO is checked for the
//! bound, expiry and value invariants only. Caches get random capacities, weighers, default
//! TTLs and times to idle; the model's expiry rule is `now >= stored_at + ttl` or
//! `now >= last_access + time_to_idle`. Key space and capacities are small, so every cache
//! has one shard and its eviction order is exact cache-wide.
//!
//! `PROPTEST_CASES` overrides the number of cases per test.

use std::collections::BTreeMap;
use std::time::Duration;

use larder::{Cache, Clock, MockClock, Policy, Ttl};
use proptest::prelude::*;

const KEYS: u8 = 16;
/// Values are `step * 8 + weight`, so each insert's value is unique and carries its weight.
const WEIGHT_MOD: u32 = 8;

#[derive(Debug, Clone, Copy)]
enum TtlChoice {
    Default,
    Never,
    Millis(u64),
}

#[derive(Debug, Clone)]
enum Op {
    Insert {
        key: u8,
        weight: u32,
        ttl: TtlChoice,
    },
    Get(u8),
    Remove(u8),
    Clear,
    InvalidateIf {
        modulus: u8,
        rest: u8,
    },
    Advance(u64),
    ContainsKey(u8),
}

#[derive(Debug, Clone)]
struct Config {
    policy: Policy,
    capacity: u64,
    weighted: bool,
    default_ttl_ms: Option<u64>,
    time_to_idle_ms: Option<u64>,
}

fn ttl_choice() -> impl Strategy<Value = TtlChoice> {
    prop_oneof![
        3 => Just(TtlChoice::Default),
        1 => Just(TtlChoice::Never),
        1 => Just(TtlChoice::Millis(0)),
        3 => (1..40u64).prop_map(TtlChoice::Millis),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0..KEYS, 0..6u32, ttl_choice())
            .prop_map(|(key, weight, ttl)| Op::Insert { key, weight, ttl }),
        8 => (0..KEYS).prop_map(Op::Get),
        2 => (0..KEYS).prop_map(Op::Remove),
        1 => Just(Op::Clear),
        1 => (1..4u8)
            .prop_flat_map(|m| (Just(m), 0..m))
            .prop_map(|(modulus, rest)| Op::InvalidateIf { modulus, rest }),
        3 => (0..25u64).prop_map(Op::Advance),
        2 => (0..KEYS).prop_map(Op::ContainsKey),
    ]
}

fn config(policy: Policy) -> impl Strategy<Value = Config> {
    (
        0..8u64,
        any::<bool>(),
        prop_oneof![Just(None), (0..30u64).prop_map(Some)],
        prop_oneof![3 => Just(None), 1 => (1..30u64).prop_map(Some)],
    )
        .prop_map(
            move |(capacity, weighted, default_ttl_ms, time_to_idle_ms)| Config {
                policy,
                capacity,
                weighted,
                default_ttl_ms,
                time_to_idle_ms,
            },
        )
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300)
}

const MS: u64 = 1_000_000;

#[derive(Debug, Clone)]
struct Slot {
    value: u32,
    weight: u64,
    /// Nanoseconds on the mock clock; `None`: never.
    expires_at: Option<u64>,
    /// Last read or write, for time-to-idle.
    accessed_at: u64,
    /// LFU's use count.
    uses: u64,
    /// The position in the policy's order: last use (LRU, LFU ties) or last write (FIFO).
    stamp: u64,
}

/// A reference cache: eviction by brute-force minimum over the entries, so its correctness is
/// easy to see. `exact` is false for S3-FIFO, whose victims it does not predict: it then
/// never evicts, and only tells which value a key may hold.
#[derive(Debug)]
struct Model {
    policy: Policy,
    exact: bool,
    capacity: u64,
    default_ttl: Option<u64>,
    time_to_idle: Option<u64>,
    now: u64,
    clock_stamp: u64,
    entries: BTreeMap<u8, Slot>,
    hits: u64,
    misses: u64,
    evictions: u64,
}

impl Model {
    fn new(cfg: &Config) -> Self {
        Self {
            policy: cfg.policy,
            exact: cfg.policy != Policy::S3Fifo,
            capacity: cfg.capacity,
            default_ttl: cfg.default_ttl_ms.map(|m| m * MS),
            time_to_idle: cfg.time_to_idle_ms.map(|m| m * MS),
            now: 0,
            clock_stamp: 0,
            entries: BTreeMap::new(),
            hits: 0,
            misses: 0,
            evictions: 0,
        }
    }

    fn stamp(&mut self) -> u64 {
        self.clock_stamp += 1;
        self.clock_stamp
    }

    /// Expired entries are invisible, whenever the cache reclaims them. An entry expires when
    /// `now >= stored_at + ttl`, or `now >= last_access + time_to_idle`.
    fn purge(&mut self) {
        let now = self.now;
        let tti = self.time_to_idle;
        self.entries.retain(|_, s| {
            s.expires_at.is_none_or(|at| now < at)
                && tti.is_none_or(|tti| now < s.accessed_at + tti)
        });
    }

    fn weight(&self) -> u64 {
        self.entries.values().map(|s| s.weight).sum()
    }

    /// Evicts by the policy, never `pinned`: a re-insert is not its own victim.
    fn evict_one(&mut self, pinned: Option<u8>) {
        let candidates = self.entries.iter().filter(|(k, _)| Some(**k) != pinned);
        let victim = match self.policy {
            Policy::Lfu => candidates
                .min_by_key(|(_, s)| (s.uses, s.stamp))
                .map(|(k, _)| *k),
            _ => candidates.min_by_key(|(_, s)| s.stamp).map(|(k, _)| *k),
        };
        let victim = victim.expect("over capacity with no entry");
        self.entries.remove(&victim);
        self.evictions += 1;
    }

    fn insert(&mut self, key: u8, value: u32, weight: u64, ttl: TtlChoice) {
        self.purge();
        let ttl = match ttl {
            TtlChoice::Default => self.default_ttl,
            TtlChoice::Never => None,
            TtlChoice::Millis(m) => Some(m * MS),
        };
        if ttl == Some(0) {
            self.entries.remove(&key);
            return;
        }
        if self.capacity == 0 || weight > self.capacity {
            self.entries.remove(&key);
            self.evictions += 1; // the rejected value is reported as a Size eviction
            return;
        }
        let expires_at = ttl.map(|t| self.now + t);
        let stamp = self.stamp();
        if let Some(slot) = self.entries.get_mut(&key) {
            slot.value = value;
            slot.weight = weight;
            slot.expires_at = expires_at;
            slot.accessed_at = self.now;
            slot.uses += 1;
            slot.stamp = stamp; // LRU, LFU and FIFO all move a re-inserted key to the back
            if self.exact {
                while self.weight() > self.capacity {
                    self.evict_one(Some(key));
                }
            }
        } else {
            if self.exact {
                while !self.entries.is_empty() && self.weight() + weight > self.capacity {
                    self.evict_one(None);
                }
            }
            self.entries.insert(
                key,
                Slot {
                    value,
                    weight,
                    expires_at,
                    accessed_at: self.now,
                    uses: 1,
                    stamp,
                },
            );
        }
    }

    fn get(&mut self, key: u8) -> Option<u32> {
        self.purge();
        let stamp = self.stamp();
        let (policy, now) = (self.policy, self.now);
        match self.entries.get_mut(&key) {
            Some(slot) => {
                self.hits += 1;
                slot.accessed_at = now;
                if matches!(policy, Policy::Lru | Policy::Lfu) {
                    slot.uses += 1;
                    slot.stamp = stamp;
                }
                Some(slot.value)
            }
            None => {
                self.misses += 1;
                None
            }
        }
    }

    fn live(&mut self) -> Vec<(u8, u32)> {
        self.purge();
        self.entries.iter().map(|(k, s)| (*k, s.value)).collect()
    }
}

struct Harness {
    cfg: Config,
    cache: Cache<u8, u32>,
    mock: MockClock,
    model: Model,
    step: u32,
    gets: u64,
}

impl Harness {
    fn new(cfg: Config) -> Self {
        let (clock, mock) = Clock::mock();
        let mut builder = Cache::builder()
            .max_capacity(cfg.capacity)
            .policy(cfg.policy)
            .clock(clock);
        if cfg.weighted {
            builder = builder.weigher(|_k: &u8, v: &u32| v % WEIGHT_MOD);
        }
        if let Some(ms) = cfg.default_ttl_ms {
            builder = builder.time_to_live(Duration::from_millis(ms));
        }
        if let Some(ms) = cfg.time_to_idle_ms {
            builder = builder.time_to_idle(Duration::from_millis(ms));
        }
        Self {
            model: Model::new(&cfg),
            cache: builder.build(),
            mock,
            cfg,
            step: 0,
            gets: 0,
        }
    }

    fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        self.step += 1;
        match *op {
            Op::Insert { key, weight, ttl } => {
                let weight = if self.cfg.weighted { weight } else { 1 };
                let value = self.step * WEIGHT_MOD + weight % WEIGHT_MOD;
                match ttl {
                    TtlChoice::Default => self.cache.insert(key, value),
                    TtlChoice::Never => self.cache.insert_with_ttl(key, value, Ttl::Never),
                    TtlChoice::Millis(m) => {
                        self.cache
                            .insert_with_ttl(key, value, Duration::from_millis(m));
                    }
                }
                // The cache counts a weight of 0 as 1.
                self.model.insert(key, value, u64::from(weight.max(1)), ttl);
            }
            Op::Get(key) => {
                self.gets += 1;
                let got = self.cache.get(&key);
                let expected = self.model.get(key);
                if self.model.exact {
                    prop_assert_eq!(got, expected, "get({})", key);
                } else if let Some(v) = got {
                    // S3-FIFO may have evicted it, but never returns a stale or expired value.
                    prop_assert_eq!(Some(v), expected, "get({}) returned a dead value", key);
                }
            }
            Op::Remove(key) => {
                let got = self.cache.remove(&key);
                self.model.purge();
                let expected = self.model.entries.remove(&key).map(|s| s.value);
                if self.model.exact {
                    prop_assert_eq!(got, expected, "remove({})", key);
                } else if got.is_some() {
                    prop_assert_eq!(got, expected, "remove({}) returned a dead value", key);
                }
            }
            Op::Clear => {
                self.cache.clear();
                self.model.entries.clear();
            }
            Op::InvalidateIf { modulus, rest } => {
                self.cache.invalidate_if(|k, _| k % modulus == rest);
                self.model.entries.retain(|k, _| k % modulus != rest);
            }
            Op::Advance(ms) => {
                self.mock.advance(Duration::from_millis(ms));
                self.model.now += ms * MS;
            }
            Op::ContainsKey(key) => {
                let got = self.cache.contains_key(&key);
                self.model.purge();
                let expected = self.model.entries.contains_key(&key);
                if self.model.exact {
                    prop_assert_eq!(got, expected, "contains_key({})", key);
                } else if got {
                    prop_assert!(expected, "contains_key({}) saw a dead entry", key);
                }
            }
        }
        self.check()
    }

    /// The invariants that hold after every step.
    fn check(&mut self) -> Result<(), TestCaseError> {
        // A weight of 0 counts as 1.
        let weight_of = |v: u32| {
            if self.cfg.weighted {
                u64::from(v % WEIGHT_MOD).max(1)
            } else {
                1
            }
        };
        let mut actual: Vec<(u8, u32)> = self.cache.iter().collect();
        actual.sort_unstable();
        let len = self.cache.len();
        let weighted = self.cache.weighted_size();
        let stats = self.cache.stats();

        prop_assert!(
            weighted <= self.cfg.capacity,
            "weight {} over capacity",
            weighted
        );
        prop_assert_eq!(len, actual.len(), "len() against iter()");
        let iter_weight: u64 = actual.iter().map(|&(_, v)| weight_of(v)).sum();
        prop_assert_eq!(weighted, iter_weight, "weighted_size() against iter()");
        prop_assert_eq!(stats.size, len as u64);
        prop_assert_eq!(stats.weighted_size, weighted);
        prop_assert_eq!(stats.hits + stats.misses, self.gets);

        let live = self.model.live();
        if self.model.exact {
            prop_assert_eq!(&actual, &live, "contents");
            prop_assert_eq!(stats.hits, self.model.hits, "hits");
            prop_assert_eq!(stats.misses, self.model.misses, "misses");
            prop_assert_eq!(stats.evictions, self.model.evictions, "evictions");
        } else {
            // Every entry the cache holds is live in the model, with the last value written.
            for entry in &actual {
                prop_assert!(live.contains(entry), "{:?} is stale or expired", entry);
            }
        }
        Ok(())
    }
}

fn run(cfg: Config, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut h = Harness::new(cfg);
    for op in ops {
        h.apply(op)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn lru_matches_its_model(cfg in config(Policy::Lru), ops in prop::collection::vec(op(), 0..80)) {
        run(cfg, &ops)?;
    }

    #[test]
    fn lfu_matches_its_model(cfg in config(Policy::Lfu), ops in prop::collection::vec(op(), 0..80)) {
        run(cfg, &ops)?;
    }

    #[test]
    fn fifo_matches_its_model(cfg in config(Policy::Fifo), ops in prop::collection::vec(op(), 0..80)) {
        run(cfg, &ops)?;
    }

    #[test]
    fn s3fifo_keeps_its_invariants(
        cfg in config(Policy::S3Fifo),
        ops in prop::collection::vec(op(), 0..80),
    ) {
        run(cfg, &ops)?;
    }
}
