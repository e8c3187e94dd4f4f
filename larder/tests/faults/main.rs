//! The fault suite: the remote stores and the disk store driven through faults of the
//! network (the proxy in `proxy.rs`: latency, pause, black hole, cut) and of their servers
//! (`SIGSTOP`/`SIGCONT`, `SIGKILL` and restart; for the disk store, held blocking threads and
//! a reopened file), each test on servers of its own on loopback ports. The properties:
//!
//! - every operation returns within its timeout (200 ms) plus a margin (1 s, generous against
//!   a busy machine's scheduling; the actual worst is printed);
//! - no caller ever gets another key's value;
//! - nothing acknowledged is lost across a restart of a persistent configuration (Redis with
//!   `appendfsync always`; the disk store's file);
//! - once a fault is healed, the store answers again within 5 s;
//!
//! and, in `tests/faults_memory.rs` (a process of its own, so that its resident memory is
//! its alone), memory stays bounded under floods of absent keys and abandoned callers.
//!
//! The scenario (`scenario.rs`) and the targets are shared with `larder-bench chaos`, which
//! runs them larger (docs/RELIABILITY.md).

#![cfg(all(feature = "redis", feature = "memcached", feature = "disk"))]
#![allow(clippy::unwrap_used)] // a failed operation fails the test

mod disk_target;
mod memcached_target;
mod proxy;
mod proxy_tests;
mod redis_black_hole;
mod redis_target;
mod remote_target;
mod scenario;
mod server;
#[cfg(feature = "tier")]
mod tier_black_hole;

use std::time::Duration;

use disk_target::DiskTarget;
use memcached_target::MemcachedTarget;
use redis_target::RedisTarget;
use scenario::{Fault, Report, SERVER_FAULTS, Size};
use server::missing;

/// Every store's timeout in the suite.
const TIMEOUT: Duration = Duration::from_millis(200);
/// How far past its timeout an operation may end: scheduling noise on two busy cores, not a
/// performance claim.
const MARGIN: Duration = Duration::from_secs(1);

/// Prints what a scenario saw (`cargo test -- --nocapture` shows it) and checks the
/// properties every store keeps: no hang, every operation within its timeout plus the
/// margin, no wrong answer, nothing acknowledged lost, answers again once healed.
fn check(store: &str, report: &Report) {
    check_answers(store, report);
    assert!(
        report.unrecovered.is_empty(),
        "{store}: no answer within {:?} of healing {:?}",
        scenario::RECOVERY,
        report.unrecovered
    );
}

/// [`check`] but for recovery.
fn check_answers(store: &str, report: &Report) {
    eprintln!(
        "{store}: {} ops ({} failed), faults {:?}, max latency {:?} (timeout {:?}), \
         {} wrong, {} acked, lost {:?}, peak RSS {} MiB, recovered within {:?}, not after {:?}",
        report.ops,
        report.failed,
        report.faults,
        report.max_latency,
        report.timeout,
        report.wrong,
        report.acked,
        report.lost,
        report.peak_rss >> 20,
        report.recovery,
        report.unrecovered
    );
    assert_eq!(report.hung, 0, "{store}: operations hung: {report:?}");
    assert!(
        report.max_latency < report.timeout + MARGIN,
        "{store}: an operation took {:?}, past its {:?} timeout plus {MARGIN:?}",
        report.max_latency,
        report.timeout
    );
    assert_eq!(report.wrong, 0, "{store}: answers with another key's value");
    assert_eq!(
        report.lost.unwrap_or(0),
        0,
        "{store}: acknowledged writes lost"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_keeps_timeouts_answers_and_acknowledged_writes_through_server_faults() {
    let Some(mut target) = RedisTarget::start(TIMEOUT).await else {
        return missing("redis-server");
    };
    let report = scenario::run(&mut target, SERVER_FAULTS, Size::GATE).await;
    check("Redis", &report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_keeps_timeouts_answers_and_acknowledged_writes_through_a_black_hole() {
    let Some(mut target) = RedisTarget::start(TIMEOUT).await else {
        return missing("redis-server");
    };
    let report = scenario::run(&mut target, &[Fault::BlackHole], Size::GATE).await;
    check("Redis", &report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memcached_keeps_timeouts_and_answers_through_server_faults() {
    let Some(mut target) = MemcachedTarget::start(TIMEOUT).await else {
        return missing("memcached");
    };
    let report = scenario::run(&mut target, SERVER_FAULTS, Size::GATE).await;
    check("Memcached", &report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memcached_keeps_timeouts_and_answers_through_a_black_hole() {
    let Some(mut target) = MemcachedTarget::start(TIMEOUT).await else {
        return missing("memcached");
    };
    let report = scenario::run(&mut target, &[Fault::BlackHole], Size::GATE).await;
    check("Memcached", &report);
}

/// Two blocking threads, both held during a stall: every disk operation queues behind them.
#[test]
fn disk_keeps_timeouts_answers_and_acknowledged_writes_through_stalls_and_reopens() {
    let report = scenario::runtime().block_on(async {
        let mut target = DiskTarget::start(TIMEOUT, 2).await;
        scenario::run(&mut target, &[Fault::Stall, Fault::Restart], Size::GATE).await
    });
    check("disk", &report);
}
