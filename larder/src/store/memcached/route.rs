//! Which server owns a key: rendezvous (highest-random-weight) hashing; and a batch of keys
//! located and grouped by server.
//!
//! Each server's weight for a key is `xxh3_64(key, seed = xxh3_64(address))`; the heaviest
//! server owns the key. XXH3 is a specified, frozen algorithm (not std's per-process
//! `RandomState`), so every process, on every Rust version, given the same addresses in any
//! order, picks the same server. Adding or removing a server moves only the keys it gains or
//! loses.

use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

use super::key;

/// The servers, as seeds of their weights.
#[derive(Debug)]
pub(super) struct Ring {
    seeds: Vec<u64>,
}

impl Ring {
    /// A ring over `addresses` (as spelled: two processes must spell them alike).
    pub(super) fn new<S: AsRef<str>>(addresses: &[S]) -> Self {
        Self {
            seeds: addresses
                .iter()
                .map(|a| xxh3_64(a.as_ref().as_bytes()))
                .collect(),
        }
    }

    /// The index (in the addresses given to [`Ring::new`]) of the server owning `key`.
    pub(super) fn owner(&self, key: &str) -> usize {
        if self.seeds.len() < 2 {
            return 0;
        }
        // A tie of weights (2^-64) goes to the larger seed, so it too is order-free.
        self.seeds
            .iter()
            .enumerate()
            .max_by_key(|&(_, &seed)| (xxh3_64_with_seed(key.as_bytes(), seed), seed))
            .map_or(0, |(i, _)| i)
    }

    /// The server and Memcached key of each of `keys` (the caller's) in `namespace` at
    /// `generation`, in order.
    pub(super) fn locate(
        &self,
        namespace: &str,
        generation: u64,
        keys: &[&str],
    ) -> Vec<(usize, String)> {
        keys.iter()
            .map(|k| {
                let full = key::encode(namespace, generation, k);
                (self.owner(&full), full)
            })
            .collect()
    }

    /// `located`'s positions grouped by server: `(server, positions)` for each server
    /// owning some.
    pub(super) fn by_server(&self, located: &[(usize, String)]) -> Vec<(usize, Vec<usize>)> {
        let mut groups = vec![Vec::new(); self.seeds.len()];
        for (i, (server, _)) in located.iter().enumerate() {
            if let Some(group) = groups.get_mut(*server) {
                group.push(i);
            }
        }
        groups
            .into_iter()
            .enumerate()
            .filter(|(_, positions)| !positions.is_empty())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const THREE: [&str; 3] = ["10.0.0.1:11211", "10.0.0.2:11211", "10.0.0.3:11211"];

    fn keys() -> impl Iterator<Item = String> {
        (0..3_000).map(|i| format!("ns:1:key{i}"))
    }

    #[test]
    fn pinned_owners_do_not_change_across_versions() {
        // Recorded once: a change here would send every deployed key to another server.
        let ring = Ring::new(&THREE);
        let owners: Vec<usize> = (0..12)
            .map(|i| ring.owner(&format!("ns:1:key{i}")))
            .collect();
        assert_eq!(owners, PINNED);
    }

    const PINNED: [usize; 12] = [0, 2, 2, 2, 0, 2, 2, 1, 0, 0, 1, 0];

    #[test]
    fn the_hash_is_xxh3() {
        // The reference XXH3-64 of empty input (xxHash's own test vector).
        assert_eq!(xxh3_64(b""), 0x2D06_8005_38D3_94C2);
    }

    #[test]
    fn the_order_of_the_addresses_does_not_matter() {
        let ring = Ring::new(&THREE);
        let reversed = [THREE[2], THREE[1], THREE[0]];
        let other = Ring::new(&reversed);
        for key in keys() {
            assert_eq!(THREE[ring.owner(&key)], reversed[other.owner(&key)]);
        }
    }

    #[test]
    fn keys_spread_evenly() {
        let ring = Ring::new(&THREE);
        let mut counts = [0usize; 3];
        for key in keys() {
            counts[ring.owner(&key)] += 1;
        }
        for count in counts {
            assert!((850..=1_150).contains(&count), "{counts:?}");
        }
    }

    #[test]
    fn removing_a_server_moves_only_its_keys() {
        let ring = Ring::new(&THREE);
        let two = Ring::new(&THREE[..2]);
        for key in keys() {
            let before = ring.owner(&key);
            if before < 2 {
                assert_eq!(two.owner(&key), before, "{key} moved");
            }
        }
    }

    #[test]
    fn one_server_owns_everything() {
        let ring = Ring::new(&["127.0.0.1:11211"]);
        assert!(keys().all(|k| ring.owner(&k) == 0));
    }
}
