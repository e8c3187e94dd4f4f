//! Memory stays bounded under a flood of absent keys and of abandoned callers, for a `Cache`
//! in front of each store: 100,000 `optionally_get_with`s of keys the store does not have
//! (with `negative_ttl`, so each absence is kept, within the capacity), then 10,000 callers
//! that give up after 1-4 ms while the store hangs (a `SIGSTOP`ped server, held blocking
//! threads). A test binary of its own, with one test, so that the resident memory it reads
//! is its own.

#![cfg(all(feature = "redis", feature = "memcached", feature = "disk"))]
#![allow(clippy::unwrap_used)] // a failed operation fails the test

#[path = "faults/disk_target.rs"]
mod disk_target;
#[path = "faults/flood.rs"]
mod flood;
#[path = "faults/memcached_target.rs"]
mod memcached_target;
#[path = "faults/proxy.rs"]
mod proxy;
#[path = "faults/redis_target.rs"]
mod redis_target;
#[path = "faults/remote_target.rs"]
mod remote_target;
#[path = "faults/scenario.rs"]
mod scenario;
#[path = "faults/server.rs"]
mod server;

use std::time::Duration;

use flood::{FloodReport, FloodSize, flood};
use scenario::Fault;

const TIMEOUT: Duration = Duration::from_millis(200);
/// Far above what a bounded cache of 10,000 entries and its kept absences take, far below
/// what 110,000 unbounded ones would.
const BOUND: u64 = 64 << 20;

fn check(store: &str, report: &FloodReport) {
    eprintln!(
        "{store}: {} absent, {} abandoned, RSS {} -> {} KiB (peak {} KiB), {} cached",
        report.absent,
        report.abandoned,
        report.rss_before >> 10,
        report.rss_after >> 10,
        report.peak_rss >> 10,
        report.cached
    );
    assert!(
        report.growth() < BOUND,
        "{store}: resident memory grew by {} MiB",
        report.growth() >> 20
    );
    assert_eq!(report.cached, 0, "{store}: nothing was there to cache");
}

#[test]
fn memory_stays_bounded_under_absent_key_floods_and_abandoned_callers() {
    // Two blocking threads, for the disk store's stall.
    scenario::runtime().block_on(async {
        let size = FloodSize::GATE;
        match redis_target::RedisTarget::start(TIMEOUT).await {
            Some(mut target) => check("Redis", &flood(&mut target, size, Fault::Freeze).await),
            None => server::missing("redis-server"),
        }
        match memcached_target::MemcachedTarget::start(TIMEOUT).await {
            Some(mut target) => {
                check("Memcached", &flood(&mut target, size, Fault::Freeze).await);
            }
            None => server::missing("memcached"),
        }
        let mut target = disk_target::DiskTarget::start(TIMEOUT, 2).await;
        check("disk", &flood(&mut target, size, Fault::Stall).await);
    });
}
