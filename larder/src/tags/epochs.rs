//! [`Epochs`]: the order of tag invalidations against the loads that yield tags.
//!
//! A load's tags are known only when it ends, so an invalidation cannot find the load while it
//! runs. Instead each tagged load takes a [`LoadTicket`] when it begins, marked with the
//! current epoch; every `invalidate_tag` moves the epoch on and, while some tagged load is in
//! flight, records the epoch at which it invalidated its tag. A load that ends with a tag
//! invalidated after it began is stale: its callers get its value, the cache does not keep
//! it. Records no load in flight can be stale by are forgotten, so they stay bounded by the
//! tags invalidated while the oldest load in flight has been running.

use std::collections::{BTreeMap, HashMap};

use super::tag::Tag;
use crate::sync::Mutex;

/// The invalidation clock of one cache's tags.
pub(crate) struct Epochs {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Moved on by every invalidation.
    now: u64,
    /// How many tagged loads in flight began at each epoch.
    active: BTreeMap<u64, usize>,
    /// The epoch each tag was last invalidated at, for the tags invalidated since the oldest
    /// tagged load in flight began (and a few older ones, until the next pruning).
    invalidated: HashMap<Tag, u64>,
    /// How many records were kept at the last pruning: the next one waits until there are
    /// twice as many, so that pruning costs O(1) per record, amortised.
    kept: usize,
}

/// A tagged load's mark: when it began. Dropped without [`end`](Self::end) (the load was
/// cancelled, or invalidated by key), it just stops counting as in flight.
pub(crate) struct LoadTicket<'a> {
    epochs: &'a Epochs,
    start: u64,
    ended: bool,
}

impl Epochs {
    pub(crate) fn new() -> Self {
        Self {
            state: Mutex::new(State::default()),
        }
    }

    /// A tagged load begins: it is stale if one of its tags is invalidated from now on.
    pub(crate) fn begin(&self) -> LoadTicket<'_> {
        let mut state = self.state.lock();
        let start = state.now;
        *state.active.entry(start).or_default() += 1;
        LoadTicket {
            epochs: self,
            start,
            ended: false,
        }
    }

    /// `tag` is invalidated: every tagged load in flight that yields it is stale.
    pub(crate) fn invalidate(&self, tag: &str) {
        let mut state = self.state.lock();
        state.now += 1;
        if state.active.is_empty() {
            // No load began before this one: nobody can be stale by it.
            return;
        }
        let now = state.now;
        match state.invalidated.get_mut(tag) {
            Some(epoch) => *epoch = now,
            None => {
                state.invalidated.insert(Tag::from(tag), now);
            }
        }
        if state.invalidated.len() > 2 * state.kept + 16 {
            state.prune();
        }
    }

    /// How many invalidations are recorded; for tests.
    #[cfg(test)]
    pub(crate) fn records(&self) -> usize {
        self.state.lock().invalidated.len()
    }

    /// How many tagged loads are in flight; for tests.
    #[cfg(test)]
    pub(crate) fn in_flight(&self) -> usize {
        self.state.lock().active.values().sum()
    }
}

impl State {
    /// A load that began at `start` is no longer in flight.
    fn release(&mut self, start: u64) {
        if let Some(count) = self.active.get_mut(&start) {
            *count -= 1;
            if *count == 0 {
                self.active.remove(&start);
            }
        }
        if self.active.is_empty() {
            // Loads that begin from now on start at `now`, after every record.
            self.invalidated.clear();
            self.kept = 0;
        } else if self.invalidated.len() > 2 * self.kept + 16 {
            self.prune();
        }
    }

    /// Forgets the invalidations no load in flight began before: none of them can be stale
    /// by those.
    fn prune(&mut self) {
        let oldest = self.active.keys().next().copied().unwrap_or(self.now);
        self.invalidated.retain(|_, epoch| *epoch > oldest);
        self.kept = self.invalidated.len();
    }
}

impl LoadTicket<'_> {
    /// Ends the load: whether it may store its value, that is whether none of `tags` was
    /// invalidated since it began.
    pub(crate) fn end<'t>(mut self, tags: impl IntoIterator<Item = &'t Tag>) -> bool {
        self.ended = true;
        let mut state = self.epochs.state.lock();
        let start = self.start;
        let fresh = tags
            .into_iter()
            .all(|tag| state.invalidated.get(tag).is_none_or(|&at| at <= start));
        state.release(start);
        fresh
    }
}

impl Drop for LoadTicket<'_> {
    fn drop(&mut self) {
        if !self.ended {
            self.epochs.state.lock().release(self.start);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Epochs;
    use crate::Tag;

    #[test]
    fn a_load_is_stale_only_by_its_own_tags_invalidated_after_it_began() {
        let epochs = Epochs::new();
        epochs.invalidate("a"); // before: does not count
        let load = epochs.begin();
        epochs.invalidate("b");
        assert!(load.end(&[Tag::from("a"), Tag::from("c")]));
        let load = epochs.begin();
        epochs.invalidate("b");
        assert!(!load.end(&[Tag::from("c"), Tag::from("b")]));
    }

    #[test]
    fn records_are_forgotten_once_no_load_began_before_them() {
        let epochs = Epochs::new();
        let old = epochs.begin();
        for i in 0..100 {
            epochs.invalidate(&format!("t{i}"));
        }
        assert!(epochs.records() >= 100);
        let young = epochs.begin();
        drop(old); // cancelled
        // Only what `young` may be stale by is kept, after the next pruning.
        for i in 0..200 {
            epochs.invalidate(&format!("u{i}"));
        }
        assert!(epochs.records() <= 200 + 16, "{}", epochs.records());
        assert!(!young.end(&[Tag::from("u3")]));
        assert_eq!(epochs.records(), 0);
        assert_eq!(epochs.in_flight(), 0);
    }

    #[test]
    fn with_no_load_in_flight_nothing_is_recorded() {
        let epochs = Epochs::new();
        for i in 0..1000 {
            epochs.invalidate(&format!("t{i}"));
        }
        assert_eq!(epochs.records(), 0);
        let load = epochs.begin();
        assert!(load.end(&[Tag::from("t1")]));
    }
}
