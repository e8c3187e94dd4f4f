//! Eviction under the size cap: expired entries first, then approximately the least recently
//! used, from a pool of candidates as Redis keeps one.

use std::ops::Bound;

use redb::ReadableTable;

use super::tables::{NsKey, NsKeyRef, backend};
use super::writer::Writer;
use crate::error::Error;
use crate::sync::Mutex;

/// Entries each eviction adds to the candidate pool, in key order from where the last stopped.
const SAMPLE: usize = 16;
/// Candidates kept between evictions: the least recently used seen so far.
const POOL: usize = 16;

/// The size cap, and where eviction under it is.
pub(super) struct SizeCap {
    /// The most bytes the entries may take ([`entry_size`](super::tables::entry_size)).
    pub(super) max_bytes: Option<u64>,
    /// Where the last sample ended, and the candidates.
    eviction: Mutex<Eviction>,
}

impl SizeCap {
    pub(super) fn new(max_bytes: Option<u64>) -> Self {
        Self {
            max_bytes,
            eviction: Mutex::new(Eviction::default()),
        }
    }
}

/// Where eviction is: the hand (the key the last sample ended at; the next starts after it)
/// and the pool of candidates (namespace, key), the least recently used seen so far.
#[derive(Default)]
struct Eviction {
    hand: Option<NsKey>,
    pool: Vec<NsKey>,
}

impl Writer<'_> {
    /// Evicts until the values fit `cap`: expired entries first, then approximately the
    /// least recently used (see [`pick_victim`](Self::pick_victim)).
    pub(super) fn make_room(&mut self, cap: &SizeCap, now: u64) -> Result<(), Error> {
        let Some(max_bytes) = cap.max_bytes else {
            return Ok(());
        };
        while self.bytes > max_bytes && self.remove_expired(now, SAMPLE)? > 0 {}
        while self.bytes > max_bytes {
            let Some((ns, key)) = self.pick_victim(cap)? else {
                // Nothing left to evict: the count was wrong, and is now right.
                self.bytes = 0;
                break;
            };
            self.remove(&ns, &key)?;
        }
        Ok(())
    }

    /// An entry to evict: the least recently used of the pool, once the next [`SAMPLE`]
    /// entries after the hand (wrapping around) have joined it. As in Redis's eviction pool,
    /// candidates carry over, so a sample of only recent entries does not force a recent
    /// one out; and as the hand goes round, every entry is looked at once per `n / SAMPLE`
    /// evictions. Stamps are read afresh each time (a candidate may have been read since).
    fn pick_victim(&mut self, cap: &SizeCap) -> Result<Option<NsKey>, Error> {
        let mut eviction = cap.eviction.lock();
        let Eviction { hand, pool } = &mut *eviction;
        let mut sample = Vec::with_capacity(SAMPLE);
        let from = match &*hand {
            Some((ns, key)) => Bound::Excluded((ns.as_slice(), key.as_slice())),
            None => Bound::Unbounded,
        };
        self.take_keys((from, Bound::Unbounded), &mut sample)?;
        if let Some((ns, key)) = &*hand
            && sample.len() < SAMPLE
        {
            let until = Bound::Included((ns.as_slice(), key.as_slice()));
            self.take_keys((Bound::Unbounded, until), &mut sample)?;
        }
        if let Some(last) = sample.last() {
            *hand = Some(last.clone());
        }
        // Candidates removed since they were pooled go (their recency, forgotten, would put
        // them first); then the least recent of the rest is the victim. The sample is taken
        // from the whole table, so the pool is empty only when the table is.
        let mut live = Vec::with_capacity(pool.len() + sample.len());
        for candidate in pool.drain(..).chain(sample) {
            if !live.contains(&candidate) && self.contains(&candidate.0, &candidate.1)? {
                live.push(candidate);
            }
        }
        self.recency.order(&mut live);
        live.truncate(POOL);
        let victim = (!live.is_empty()).then(|| live.remove(0));
        *pool = live;
        Ok(victim)
    }

    fn take_keys(
        &self,
        range: (Bound<NsKeyRef<'_>>, Bound<NsKeyRef<'_>>),
        into: &mut Vec<NsKey>,
    ) -> Result<(), Error> {
        let want = SAMPLE - into.len();
        for item in self.entries.range(range).map_err(backend)?.take(want) {
            let (key, _) = item.map_err(backend)?;
            let (ns, key) = key.value();
            into.push((ns.to_vec(), key.to_vec()));
        }
        Ok(())
    }
}
