//! Invalidation: how long after a write's acknowledgement another instance's L1 stops holding
//! the key, in one process (two tiers on separate connections, one clock: exact) and across
//! two processes (the node reports the drop over its stdout: an upper bound, by one pipe
//! transit); and how many reads return the old value 10 ms after a remote write.

use std::io;
use std::time::{Duration, Instant};

use redis::AsyncCommands;

use super::contenders::{L1_CAPACITY, Tier, Who, connection, tier};
use super::node::POLL;
use super::procs::Node;
use super::{Size, ms, quantile, runtime, verdict};
use crate::report::{Section, Table, fixed, median};

/// Rounds per latency row.
const ROUNDS: usize = 200;
/// How long a round waits for the drop.
const LIMIT: Duration = Duration::from_millis(100);
/// A row stops after this many rounds if none of them saw a drop.
const GIVE_UP_AFTER: usize = 5;
/// Rounds per contender of the stale-read table.
const STALE_ROUNDS: usize = 20;
/// How long a reader's L1 must keep the key before a round's write: a late invalidation of
/// the key's first write comes within it.
pub(super) const SETTLE: Duration = Duration::from_millis(2);
/// When, after a remote write's acknowledgement, the stale-read table reads.
const STALE_AFTER: Duration = Duration::from_millis(10);

/// Who writes the new value.
#[derive(Debug, Clone, Copy)]
enum Writer {
    /// `Tiered::insert` on another instance.
    Tier,
    /// A plain `SET` of the redis crate, as `redis-cli` or a service that is not larder.
    PlainSet,
}

/// The parent's side: a writing tier, a plain connection, the runtime they run on.
struct Parent {
    rt: tokio::runtime::Runtime,
    namespace: String,
    writer: Tier,
    plain: redis::aio::MultiplexedConnection,
}

impl Parent {
    /// Writes the key's new value as `how` says, and returns when it is acknowledged.
    fn write(&mut self, how: Writer, key: &str, value: u64) {
        let redis_key = Who::Tier.redis_key(&self.namespace, key);
        let (writer, plain) = (&self.writer, &mut self.plain);
        self.rt.block_on(async {
            match how {
                Writer::Tier => writer.insert(key.to_string(), value).await,
                Writer::PlainSet => {
                    let _: Result<(), _> = plain.set(redis_key, value.to_string()).await;
                }
            }
        });
    }
}

/// One row's rounds: latencies of the rounds that saw the drop, and how many did not.
#[derive(Debug, Default)]
struct Latencies {
    seen: Vec<Duration>,
    kept: usize,
    /// Rounds whose reader never held the key (an L1 that would not fill), or dropped it
    /// before the round's write.
    missing: usize,
}

impl Latencies {
    fn gave_up(&self) -> bool {
        self.seen.is_empty() && self.kept + self.missing >= GIVE_UP_AFTER
    }
}

/// In one process: `reader`'s L1 holds the key; `how` writes; the time until `reader`'s L1
/// no longer holds it, looked at from a thread of its own every `POLL`.
fn local_round(parent: &mut Parent, reader: &Tier, how: Writer, key: &str, out: &mut Latencies) {
    parent.write(Writer::Tier, key, 1);
    let k = key.to_string();
    let held = parent.rt.block_on(async {
        for _ in 0..20 {
            reader.get(&k).await;
            if reader.l1().contains_key(&k) {
                // A late invalidation of the first write would drop the key during the
                // round: let it come first.
                tokio::time::sleep(SETTLE).await;
                if reader.l1().contains_key(&k) {
                    return true;
                }
            } else {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        false
    });
    if !held {
        out.missing += 1;
        return;
    }
    let watcher = {
        let (reader, key) = (reader.clone(), k);
        std::thread::spawn(move || {
            let start = Instant::now();
            while start.elapsed() < LIMIT + Duration::from_millis(50) {
                if !reader.l1().contains_key(&key) {
                    return Some(Instant::now());
                }
                std::thread::sleep(POLL);
            }
            None
        })
    };
    let writing = Instant::now();
    parent.write(how, key, 2);
    let acked = Instant::now();
    match watcher.join().ok().flatten() {
        // Dropped before this write began: not this write's invalidation.
        Some(gone) if gone < writing => out.missing += 1,
        // Dropped between the write and its acknowledgement counts as no time.
        Some(gone) if gone.saturating_duration_since(acked) <= LIMIT => {
            out.seen.push(gone.saturating_duration_since(acked));
        }
        _ => out.kept += 1,
    }
}

/// Across processes: the node's L1 holds the key; `how` writes in the parent; the time until
/// the node's `dropped` reaches the parent.
fn remote_round(
    parent: &mut Parent,
    node: &mut Node,
    how: Writer,
    key: &str,
    out: &mut Latencies,
) -> io::Result<()> {
    parent.write(Writer::Tier, key, 1);
    let answer = node.ask(&format!("watch tier {key} {}", LIMIT.as_millis()))?;
    if answer != "watching" {
        out.missing += 1;
        return Ok(());
    }
    parent.write(how, key, 2);
    let acked = Instant::now();
    match node.recv()?.as_str() {
        "dropped" => out.seen.push(acked.elapsed()),
        _ => out.kept += 1,
    }
    Ok(())
}

/// A latency row of `table`.
fn row(table: &mut Table, label: &str, mut l: Latencies) -> Option<Duration> {
    let tried = l.seen.len() + l.kept + l.missing;
    let p50 = quantile(&mut l.seen, 0.5);
    let p99 = quantile(&mut l.seen, 0.99);
    let max = l.seen.last().copied();
    let mut dropped = format!("{} of {tried}", l.seen.len());
    if l.missing > 0 {
        dropped.push_str(&format!(" ({} without the key at the write)", l.missing));
    }
    if l.gave_up() {
        dropped.push_str(", gave up");
    }
    table.row([label.to_string(), dropped, ms(p50), ms(p99), ms(max)]);
    if l.seen.len() == tried { p99 } else { None }
}

pub(super) fn measure(section: &mut Section, size: Size, url: &str) {
    let rounds = ROUNDS / size.div;
    let stale_rounds = STALE_ROUNDS / size.div.min(4);
    let namespace = super::namespace();
    let rt = runtime();
    let built = rt.block_on(async {
        let writer = tier(url, &namespace, false, L1_CAPACITY).await?;
        let reader = tier(url, &namespace, false, L1_CAPACITY).await?;
        let plain = connection(url).await?;
        Ok::<_, String>((writer, reader, plain))
    });
    let (writer, reader, plain) = match built {
        Ok(built) => built,
        Err(e) => {
            eprintln!("tiers: invalidation skipped: {e}");
            return;
        }
    };
    let mut node = match Node::spawn(url, &namespace) {
        Ok(node) => node,
        Err(e) => {
            eprintln!("tiers: invalidation skipped: starting the node: {e}");
            return;
        }
    };
    let mut parent = Parent {
        rt,
        namespace,
        writer,
        plain,
    };
    let rows = [
        (
            "one process: `Tiered::insert` → another instance's L1",
            false,
            Writer::Tier,
        ),
        (
            "one process: plain `SET` (redis crate) → an instance's L1",
            false,
            Writer::PlainSet,
        ),
        (
            "two processes: `Tiered::insert` → the node's L1",
            true,
            Writer::Tier,
        ),
        (
            "two processes: plain `SET` (redis crate) → the node's L1",
            true,
            Writer::PlainSet,
        ),
    ];
    let mut results: Vec<Latencies> = rows.iter().map(|_| Latencies::default()).collect();
    // Interleaved: round i of every row, then round i + 1.
    for i in 0..rounds {
        for (r, &(_, remote, how)) in rows.iter().enumerate() {
            let out = &mut results[r];
            if out.gave_up() {
                continue;
            }
            let key = format!("inv{r}x{i}");
            if remote {
                if let Err(e) = remote_round(&mut parent, &mut node, how, &key, out) {
                    eprintln!("tiers: invalidation skipped: the node: {e}");
                    return;
                }
            } else {
                local_round(&mut parent, &reader, how, &key, out);
            }
        }
    }
    let one_way = median(
        (0..50)
            .filter_map(|_| node.one_way().ok())
            .map(|d| d.as_secs_f64() * 1e3)
            .collect(),
    );
    let mut table = Table::new([
        "invalidation, from the write's acknowledgement",
        "L1 dropped the key",
        "p50 (ms)",
        "p99 (ms)",
        "max (ms)",
    ]);
    let mut worst: Option<Duration> = Some(Duration::ZERO);
    for ((label, _, _), l) in rows.iter().zip(results) {
        let p99 = row(&mut table, label, l);
        worst = match (worst, p99) {
            (Some(w), Some(p)) => Some(w.max(p)),
            _ => None,
        };
    }
    let stale = stale_reads(&mut parent, &mut node, stale_rounds);
    section.para(format!(
        "**Invalidation.** A reader's L1 holds a key; a writer overwrites it; the clock runs \
         from the write's acknowledgement until the reader's L1 no longer holds the key, \
         looked at every {} µs (plus the OS's rounding of that sleep) for at most {} ms; {rounds} \
         rounds per row, interleaved, a fresh key each, a row given up after {GIVE_UP_AFTER} \
         rounds without a drop. In one process, the writer and the reader are two `Tiered` on \
         connections of their own, and one clock times both ends: exact. Across two \
         processes, the node reports the drop on its stdout and the parent reads the time \
         when that line arrives: an upper bound, by one pipe transit ({} ms median, half a \
         ping's round trip).",
        POLL.as_micros(),
        LIMIT.as_millis(),
        fixed(one_way, 3)
    ));
    section.table(&table);
    section.para(format!(
        "**Goal: invalidation p99 at most 5 ms on loopback.** {}.",
        match worst {
            Some(p99) => format!(
                "{} (worst row's p99 {} ms)",
                verdict(p99 <= Duration::from_millis(5)),
                fixed(p99.as_secs_f64() * 1e3, 2)
            ),
            None => format!(
                "{}: some rounds never saw the drop within {} ms",
                verdict(false),
                LIMIT.as_millis()
            ),
        }
    ));
    match stale {
        Ok(table) => {
            section.para(format!(
                "**Stale reads after a remote write.** The node reads a key (its L1 fills); the \
                 parent overwrites it (a `Tiered::insert` for the tier; a `SET` of the new \
                 value, what another instance of the same cache writes, for the others); {} ms \
                 after the acknowledgement the node reads it again. {stale_rounds} rounds per \
                 contender, interleaved. The hand-written cache and cachet have no L1 TTL \
                 here: their old value stays until the L1 TTL a user would set.",
                STALE_AFTER.as_millis()
            ));
            section.table(&table);
        }
        Err(e) => eprintln!("tiers: stale reads skipped: the node: {e}"),
    }
}

/// The stale-read table: for each contender, reads of the old value after a remote write.
fn stale_reads(parent: &mut Parent, node: &mut Node, rounds: usize) -> io::Result<Table> {
    let whos = [Who::Tier, Who::Handmade, Who::Cachet];
    let mut stale = [0usize; 3];
    let mut other = [0usize; 3];
    for i in 0..rounds {
        for (w, &who) in whos.iter().enumerate() {
            let key = format!("stale{i}{}", who.id());
            write_as(parent, who, &key, 1);
            if node.ask(&format!("read {} {key}", who.id()))? != "value 1" {
                other[w] += 1;
                continue;
            }
            write_as(parent, who, &key, 2);
            std::thread::sleep(STALE_AFTER);
            match node.ask(&format!("read {} {key}", who.id()))?.as_str() {
                "value 1" => stale[w] += 1,
                "value 2" => {}
                _ => other[w] += 1,
            }
        }
    }
    let mut table = Table::new([
        "contender",
        "stale reads 10 ms after a remote write",
        "rounds that went wrong",
    ]);
    for (w, who) in whos.iter().enumerate() {
        table.row([
            who.label().to_string(),
            format!("{} of {rounds}", stale[w]),
            other[w].to_string(),
        ]);
    }
    Ok(table)
}

/// Writes `value` under `key` as `who` keeps it: through the parent's tier, or a plain `SET`
/// of the 8 bytes the others store.
fn write_as(parent: &mut Parent, who: Who, key: &str, value: u64) {
    match who {
        Who::Tier | Who::Lease => parent.write(Writer::Tier, key, value),
        Who::Handmade | Who::Cachet => {
            let redis_key = who.redis_key(&parent.namespace, key);
            let plain = &mut parent.plain;
            parent.rt.block_on(async {
                let _: Result<(), _> = plain
                    .pset_ex(redis_key, value.to_le_bytes().as_slice(), 60_000)
                    .await;
            });
        }
    }
}
