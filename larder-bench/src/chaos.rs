//! The `chaos` scenario: the fault suite's scenarios (larder/tests/faults/), larger, on
//! servers this scenario starts on loopback ports and stops by pid. For each store, the
//! faults of its server (latency, pause, `SIGSTOP`, cut, restart; for the disk store, held
//! blocking threads and a reopened file) twice over, a black hole on a fresh server, and the
//! memory floods; a table per store of what it saw. The section goes to docs/RELIABILITY.md.
//!
//! The fault proxy, the servers, the scenario and the targets are the test suite's own
//! files, included by path, so the figures and the gate's checks come from the same code.

use std::time::Duration;

#[path = "../../larder/tests/faults/disk_target.rs"]
mod disk_target;
#[path = "../../larder/tests/faults/flood.rs"]
mod flood;
#[path = "../../larder/tests/faults/memcached_target.rs"]
mod memcached_target;
#[path = "../../larder/tests/faults/proxy.rs"]
mod proxy;
#[path = "../../larder/tests/faults/redis_target.rs"]
mod redis_target;
#[path = "../../larder/tests/faults/remote_target.rs"]
mod remote_target;
#[path = "../../larder/tests/faults/scenario.rs"]
mod scenario;
#[path = "../../larder/tests/faults/server.rs"]
mod server;

use flood::{FloodReport, FloodSize};
use remote_target::{RemoteStore, RemoteTarget};
use scenario::{Fault, Report, SERVER_FAULTS, Size};

use crate::report::{Section, Table, thousands};

/// Every store's timeout, as in the gate's fault tests.
const TIMEOUT: Duration = Duration::from_millis(200);

/// Twice the gate's rounds, ten times its keys, and long bursts after each healing.
const SIZE: Size = Size {
    keys: 10_000,
    tasks: 64,
    ops_during: 1_024,
    ops_after: 16_384,
    rounds: 2,
};

/// The black hole's run: shorter bursts after healing, because Redis never answers again
/// (each of those operations takes the whole timeout).
const BLACK_HOLE_SIZE: Size = Size {
    ops_after: 2_048,
    rounds: 1,
    ..SIZE
};

const FLOOD: FloodSize = FloodSize {
    absent: 500_000,
    abandoned: 50_000,
    capacity: 10_000,
};

/// What one store went through: its scenario runs, by label, and its floods.
struct Outcome {
    store: &'static str,
    runs: Vec<(&'static str, Report)>,
    flood: FloodReport,
}

pub(crate) fn run(command: &str) -> Section {
    let outcomes: Vec<Outcome> = scenario::runtime().block_on(async {
        let mut outcomes = Vec::new();
        eprintln!("chaos: Redis");
        match redis().await {
            Some(o) => outcomes.push(o),
            None => eprintln!("chaos: redis-server is not installed; Redis skipped"),
        }
        eprintln!("chaos: Memcached");
        match memcached().await {
            Some(o) => outcomes.push(o),
            None => eprintln!("chaos: memcached is not installed; Memcached skipped"),
        }
        eprintln!("chaos: disk");
        outcomes.push(disk().await);
        outcomes
    });
    let mut section = Section::new("chaos", "Faults: every store under chaos", command);
    section.para(format!(
        "Each store with a {TIMEOUT:?} timeout, on a server of its own (reached through the \
         fault proxy) or a file of its own. Server faults: {} keys preloaded, then each of \
         latency ({}x the timeout per chunk), pause, `SIGSTOP`, cut and restart (`SIGKILL`, \
         then started again) injected {} times; while each fault is on, {} operations from {} \
         tasks (gets, 3-key `get_many`s, sets of new keys), then it is healed and {} more run. \
         The black hole runs on a fresh server, once, with {} operations after healing. Floods: \
         a `Cache` (capacity {}, `negative_ttl`) in front of the store, asked for {} absent \
         keys, then {} callers that give up after 1-4 ms while the store hangs (`SIGSTOP`, or \
         the disk store's blocking threads held). Peak RSS is the whole process's, read at the \
         end of each burst and flood stage, so a later store's figure includes what earlier \
         ones left.",
        SIZE.keys,
        1.5,
        SIZE.rounds,
        thousands(SIZE.ops_during as u64),
        SIZE.tasks,
        thousands(SIZE.ops_after as u64),
        thousands(BLACK_HOLE_SIZE.ops_after as u64),
        thousands(FLOOD.capacity),
        thousands(FLOOD.absent as u64),
        thousands(FLOOD.abandoned as u64),
    ));
    for outcome in &outcomes {
        section.para(format!("**{}**", outcome.store));
        section.table(&table(outcome));
    }
    section.para(verdict(&outcomes));
    section
}

async fn redis() -> Option<Outcome> {
    let start = async || redis_target::RedisTarget::start(TIMEOUT).await;
    remote("RedisStore (redis-server, appendfsync always)", start).await
}

async fn memcached() -> Option<Outcome> {
    let start = async || memcached_target::MemcachedTarget::start(TIMEOUT).await;
    remote("MemcachedStore (memcached)", start).await
}

/// A server store's runs: its server's faults and floods, then a black hole on a fresh
/// server (`start`s each); `None` when its server is not installed.
async fn remote<S: RemoteStore>(
    store: &'static str,
    start: impl AsyncFn() -> Option<RemoteTarget<S>>,
) -> Option<Outcome> {
    let mut target = start().await?;
    let faults = scenario::run(&mut target, SERVER_FAULTS, SIZE).await;
    let flood = flood::flood(&mut target, FLOOD, Fault::Freeze).await;
    drop(target);
    let mut target = start().await?;
    let hole = scenario::run(&mut target, &[Fault::BlackHole], BLACK_HOLE_SIZE).await;
    Some(Outcome {
        store,
        runs: vec![("server faults", faults), ("black hole", hole)],
        flood,
    })
}

async fn disk() -> Outcome {
    let mut target = disk_target::DiskTarget::start(TIMEOUT, 2).await;
    let faults = scenario::run(&mut target, &[Fault::Stall, Fault::Restart], SIZE).await;
    let flood = flood::flood(&mut target, FLOOD, Fault::Stall).await;
    Outcome {
        store: "DiskStore (redb file)",
        runs: vec![("stalls and reopens", faults)],
        flood,
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / f64::from(1 << 20))
}

fn table(outcome: &Outcome) -> Table {
    let mut table = Table::new([
        "run",
        "ops tried",
        "faults injected",
        "ops failed",
        "max latency over the timeout",
        "wrong answers",
        "lost acknowledged writes",
        "answers again after healing",
        "peak RSS (MiB)",
    ]);
    for (label, r) in &outcome.runs {
        let faults: Vec<String> = r
            .faults
            .iter()
            .map(|(f, n)| format!("{} x{n}", f.name()))
            .collect();
        let lost = match r.lost {
            Some(n) => format!("{n} of {}", thousands(r.acked)),
            None => "n/a (not persistent)".to_string(),
        };
        let recovered = if r.unrecovered.is_empty() {
            format!("yes, within {} ms", r.recovery.as_millis())
        } else {
            let never: Vec<&str> = r.unrecovered.iter().map(|f| f.name()).collect();
            format!("**no**, not after {} (5 s)", never.join(", "))
        };
        table.row([
            label.to_string(),
            thousands(r.ops),
            faults.join(", "),
            thousands(r.failed),
            format!("{} ms", r.over_timeout().as_millis()),
            thousands(r.wrong),
            lost,
            recovered,
            mib(r.peak_rss),
        ]);
    }
    let f = &outcome.flood;
    table.row([
        "floods".to_string(),
        thousands(f.absent + f.abandoned),
        format!("{} abandoned callers", thousands(f.abandoned)),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        format!(
            "{} (RSS {} → {})",
            mib(f.peak_rss),
            mib(f.rss_before),
            mib(f.rss_after)
        ),
    ]);
    table
}

/// What the tables say of each property, generated with them.
fn verdict(outcomes: &[Outcome]) -> String {
    let runs = || {
        outcomes
            .iter()
            .flat_map(|o| o.runs.iter().map(move |(_, r)| (o, r)))
    };
    let hung: u64 = runs().map(|(_, r)| r.hung).sum();
    let worst = runs()
        .map(|(_, r)| r.over_timeout())
        .max()
        .unwrap_or_default();
    let wrong: u64 = runs().map(|(_, r)| r.wrong).sum();
    let lost: u64 = runs().filter_map(|(_, r)| r.lost).sum();
    let unrecovered: Vec<String> = runs()
        .filter(|(_, r)| !r.unrecovered.is_empty())
        .map(|(o, r)| {
            let faults: Vec<&str> = r.unrecovered.iter().map(|f| f.name()).collect();
            format!("{} after {}", o.store, faults.join(", "))
        })
        .collect();
    let growth = outcomes.iter().map(|o| o.flood.growth()).max().unwrap_or(0);
    let ok = |yes: bool| if yes { "held" } else { "**violated**" };
    format!(
        "Timeouts: {} ({hung} operations hung; the slowest ended {} ms past its timeout). \
         Wrong answers: {} ({wrong}). Acknowledged writes lost across restarts: {} ({lost}). \
         Memory under floods: {} (at most {} MiB of growth in a store's floods). Answers \
         again after healing: {}.",
        ok(hung == 0 && worst < Duration::from_secs(1)),
        worst.as_millis(),
        ok(wrong == 0),
        ok(lost == 0),
        ok(growth < 64 << 20),
        mib(growth),
        if unrecovered.is_empty() {
            "held".to_string()
        } else {
            format!("**violated**: {}", unrecovered.join("; "))
        },
    )
}
