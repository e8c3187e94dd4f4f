//! The herd: 4 node processes x 1,000 tasks ask at once for one cold key whose loader takes
//! 50 ms; loader calls in total, and wall time.

use std::io;
use std::time::{Duration, Instant};

use super::contenders::{LEASE, Who};
use super::procs::{Node, spawn_many};
use super::{Size, verdict};
use crate::report::{Section, Table, fixed, median};

const NODES: usize = 4;
const TASKS: usize = 1_000;
const LOADER: Duration = Duration::from_millis(50);

/// What one herd of one contender did, over all nodes.
#[derive(Debug, Default, Clone, Copy)]
struct Round {
    /// Loader calls, all nodes together.
    calls: u64,
    /// From the parent's first `go` to the last node's `done`, read by the parent.
    wall: Duration,
    /// The longest of the nodes' own walls (release to last answer).
    node_wall: Duration,
    /// Answers that were errors.
    errors: u64,
    /// Loads that waited on another process's lease.
    lease_waits: u64,
}

/// One herd of `who` on `key`: every node's tasks wait at their starting lines, then are
/// released together.
fn herd_once(nodes: &mut [Node], who: Who, key: &str) -> io::Result<Round> {
    let command = format!("herd {} {key} {TASKS} {}", who.id(), LOADER.as_millis());
    for node in nodes.iter_mut() {
        node.send(&command)?;
    }
    for node in nodes.iter_mut() {
        node.expect("ready")?;
    }
    let start = Instant::now();
    for node in nodes.iter_mut() {
        node.send("go")?;
    }
    let mut round = Round::default();
    for node in nodes.iter_mut() {
        let line = node.recv()?;
        let fields: Vec<u64> = line
            .strip_prefix("done ")
            .map(|rest| rest.split(' ').filter_map(|f| f.parse().ok()).collect())
            .unwrap_or_default();
        let [calls, wall_us, errors, lease_waits] = fields[..] else {
            return Err(io::Error::other(format!("the node answered {line:?}")));
        };
        round.calls += calls;
        round.node_wall = round.node_wall.max(Duration::from_micros(wall_us));
        round.errors += errors;
        round.lease_waits += lease_waits;
    }
    round.wall = start.elapsed();
    Ok(round)
}

pub(super) fn measure(section: &mut Section, size: Size, url: &str) {
    let namespace = super::namespace();
    let mut nodes = match spawn_many(NODES, url, &namespace) {
        Ok(nodes) => nodes,
        Err(e) => {
            eprintln!("tiers: herd skipped: starting the nodes: {e}");
            return;
        }
    };
    let mut rounds: Vec<(Who, Vec<Round>)> = Who::ALL.iter().map(|&w| (w, Vec::new())).collect();
    for rep in 0..size.reps {
        for (who, runs) in &mut rounds {
            let key = format!("herd{rep}{}", who.id());
            match herd_once(&mut nodes, *who, &key) {
                Ok(round) => runs.push(round),
                Err(e) => {
                    eprintln!("tiers: herd skipped: {}: {e}", who.id());
                    return;
                }
            }
        }
        eprintln!("  tiers: herd, round {}/{}", rep + 1, size.reps);
    }
    let one_way = median(
        (0..20)
            .filter_map(|_| nodes[0].one_way().ok())
            .map(|d| d.as_secs_f64() * 1e3)
            .collect(),
    );
    drop(nodes);

    let loader_ms = LOADER.as_secs_f64() * 1e3;
    let mut table = Table::new([
        "herd, 4 processes x 1,000 tasks",
        "loader calls (median; max)",
        "wall (ms)",
        "wall - loader (ms)",
        "slowest node's own wall (ms)",
        "errors",
        "lease waits",
    ]);
    let mut notes = Vec::new();
    for (who, runs) in &rounds {
        let calls: Vec<f64> = runs.iter().map(|r| r.calls as f64).collect();
        let max_calls = runs.iter().map(|r| r.calls).max().unwrap_or(0);
        let wall = median(runs.iter().map(|r| r.wall.as_secs_f64() * 1e3).collect());
        let node_wall = median(
            runs.iter()
                .map(|r| r.node_wall.as_secs_f64() * 1e3)
                .collect(),
        );
        let errors: u64 = runs.iter().map(|r| r.errors).sum();
        let waits: u64 = runs.iter().map(|r| r.lease_waits).sum();
        table.row([
            who.label().to_string(),
            format!("{}; {max_calls}", fixed(median(calls), 0)),
            fixed(wall, 1),
            fixed(wall - loader_ms, 1),
            fixed(node_wall, 1),
            errors.to_string(),
            waits.to_string(),
        ]);
        match who {
            Who::Lease => {
                let ok = max_calls == 1 && wall <= loader_ms + 10.0;
                notes.push(format!(
                    "**Target, with the lease: 1 loader call in total and wall time at most the \
                     loader plus 10 ms.** {} (at most {max_calls} calls; {} ms).{}",
                    verdict(ok),
                    fixed(wall, 1),
                    if waits == 0 {
                        " No process ever waited on a lease: the lease did not act in this \
                         build (in `Tiered`'s load path it is compiled out until \
                         `Store::lease` lands)."
                    } else {
                        ""
                    }
                ));
            }
            Who::Tier => notes.push(format!(
                "**Target, without the lease: at most 4 loader calls.** {} (at most \
                 {max_calls}).",
                verdict(max_calls <= NODES as u64)
            )),
            Who::Handmade | Who::Cachet => {}
        }
    }
    section.para(format!(
        "**Herd.** {NODES} processes (this binary started again as nodes, each on a \
         current-thread runtime with its own connections) x {TASKS} tasks ask each contender \
         at once for one cold key whose loader takes {} ms; a fresh key per contender and \
         round. The tasks are spawned first and wait at a starting line; the parent releases \
         all nodes, and its wall clock runs from its first release to the last node's answer, \
         so it includes the pipes (one way: {} ms median). Each task awaits its contender's \
         own future, boxed (an enum over the contenders would give every task the largest \
         one's size, copied at each spawn). The lease is {} ms; a waiter looks for the value \
         when the tier's watch reports a write under its prefix, and at least every 5 ms.",
        LOADER.as_millis(),
        fixed(one_way, 3),
        LEASE.as_millis()
    ));
    section.table(&table);
    for note in notes {
        section.para(note);
    }
}
