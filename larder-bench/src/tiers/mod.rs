//! The `tiers` scenario (issue 14's benchmark): `larder::tier::Tiered` against a plain `Cache`,
//! against `RedisStore::get` plus decode, against what a user writes by hand (moka in front of
//! the redis crate), and against cachet (an L1 over a fallback tier), on a `redis-server` this
//! scenario starts on a loopback port and stops by pid. Parts, one file each:
//!
//! - `hits.rs`: an L1 hit (1 and 2 threads) against a plain `Cache` hit; an L2 hit (L1 miss)
//!   from 64 tasks against `RedisStore::get` plus decode;
//! - `herd.rs`: 4 processes x 1,000 tasks on one cold key with a 50 ms loader;
//! - `invalidation.rs`: how long after a write's acknowledgement another instance's L1 stops
//!   holding the key, and reads of the old value after a remote write;
//! - `down.rs`: read latency once Redis is stopped (breaker open) against L1 plus loader;
//! - `node.rs`: the child process (`larder-bench tiers-node URL NAMESPACE`), driven over its
//!   stdin and stdout by `procs.rs`; `contenders.rs`: the caches a node runs.
//!
//! The server's port is 17479, or `$LARDER_BENCH_REDIS_PORT`. `--only l1,l2,herd,invalidation,down`
//! runs some of the parts; `--quick` is a smoke run.

mod contenders;
mod down;
mod herd;
mod hits;
mod invalidation;
pub(crate) mod node;
mod procs;

use std::time::Duration;

use crate::report::{Section, fixed, median};
use crate::stores::Server;

/// Rounds of every interleaved measurement; figures are medians over them.
const REPS: usize = 5;

/// How much of the scenario to run: all of it, or a smoke run (`--quick`: 3 rounds, a tenth
/// of the operations).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Size {
    /// Rounds of every interleaved measurement.
    reps: usize,
    /// What the operation counts are divided by.
    div: usize,
}

impl Size {
    pub(crate) fn new(quick: bool) -> Self {
        if quick {
            Self { reps: 3, div: 10 }
        } else {
            Self { reps: REPS, div: 1 }
        }
    }
}

/// The port of this scenario's `redis-server`, unless `$LARDER_BENCH_REDIS_PORT` says another.
const DEFAULT_PORT: u16 = 17479;

/// The scenario's Redis: its server (killed by pid when dropped) and URL.
struct Redis {
    server: Option<Server>,
    url: String,
}

impl Redis {
    /// Starts `redis-server` on the scenario's port; `None` when it is not installed or does
    /// not come up.
    fn start() -> Option<Redis> {
        let port = std::env::var("LARDER_BENCH_REDIS_PORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(DEFAULT_PORT);
        let p = port.to_string();
        let args = [
            "--port",
            &p,
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ];
        let server = Server::start("redis-server", &args, port)?;
        Some(Redis {
            server: Some(server),
            url: format!("redis://127.0.0.1:{port}"),
        })
    }

    /// Kills the server (by its pid) and waits for it to end.
    fn stop(&mut self) {
        self.server = None;
    }
}

/// A namespace of this run's own, so that runs never read each other's keys.
fn namespace() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("tiers{}x{nanos}", std::process::id())
}

/// The tokio runtime of the in-process parts: 2 worker threads, as the stores scenario's.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// The `q`-quantile (0..=1) of `xs`, which it sorts; `None` when empty.
fn quantile(xs: &mut [Duration], q: f64) -> Option<Duration> {
    if xs.is_empty() {
        return None;
    }
    xs.sort_unstable();
    let at = ((xs.len() - 1) as f64 * q).round() as usize;
    Some(xs[at.min(xs.len() - 1)])
}

/// `d` in milliseconds with 2 decimals, or a dash.
fn ms(d: Option<Duration>) -> String {
    d.map_or_else(|| "–".to_string(), |d| fixed(d.as_secs_f64() * 1e3, 2))
}

/// `ours[i] / theirs[i]` per round: its median and its spread (min–max), as `1.02x (0.98–1.05)`.
fn ratio_with_spread(ours: &[f64], theirs: &[f64]) -> (f64, String) {
    let ratios: Vec<f64> = ours.iter().zip(theirs).map(|(o, t)| o / t).collect();
    let mid = median(ratios.clone());
    let lo = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let text = format!("{}x ({}–{})", fixed(mid, 2), fixed(lo, 2), fixed(hi, 2));
    (mid, text)
}

/// "met" or "**not met**".
fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "**not met**" }
}

/// The parts, in the order they run (`--only` picks some).
pub(crate) const PARTS: [&str; 5] = ["l1", "l2", "herd", "invalidation", "down"];

/// Runs the parts named in `only` (all when empty).
pub(crate) fn run(size: Size, only: &[String], command: &str) -> Option<Section> {
    if let Some(unknown) = only.iter().find(|o| !PARTS.contains(&o.as_str())) {
        eprintln!("tiers: no part {unknown:?} (parts: {})", PARTS.join(", "));
        return None;
    }
    let wanted = |part: &str| only.is_empty() || only.iter().any(|o| o == part);
    let Some(mut redis) = Redis::start() else {
        eprintln!("tiers: redis-server is not installed or did not start; skipped");
        return None;
    };
    let mut section = Section::new("tiers", "Tiers: L1 over a shared Redis", command);
    section.para(format!(
        "`larder::tier::Tiered` (an L1 `Cache` over a `RedisStore`) on a `redis-server` \
         started for the run on loopback. Every comparison is measured in {} interleaved \
         rounds (each contender once per round, in turn); a figure is the median over the \
         rounds, and a ratio the median of the ratios within each round, with their spread \
         (min–max) in brackets.",
        size.reps
    ));
    section.para(
        "Baselines: by hand, a `moka::future::Cache` (0.12) in front of the redis crate, with \
         moka's `get_with` and nothing across processes; and the Rust peer with tiers, cachet \
         0.16 (a memory L1 with a fallback tier and stampede protection), whose Redis tier is \
         the benchmark's own `CacheTier` over the redis crate, since cachet ships none and \
         its README leaves that tier to its users. hitbox 0.2 (whose `hitbox-backend` composes \
         an L1 and an L2 under its request/response state machine) was not tried.",
    );
    if wanted("l1") {
        eprintln!("tiers: L1 hits");
        hits::l1(&mut section, size, &redis.url);
    }
    if wanted("l2") {
        eprintln!("tiers: L2 hits");
        hits::l2(&mut section, size, &redis.url);
    }
    if wanted("herd") {
        eprintln!("tiers: herd");
        herd::measure(&mut section, size, &redis.url);
    }
    if wanted("invalidation") {
        eprintln!("tiers: invalidation");
        invalidation::measure(&mut section, size, &redis.url);
    }
    if wanted("down") {
        eprintln!("tiers: Redis stopped");
        down::measure(&mut section, size, &mut redis);
    }
    Some(section)
}

#[cfg(test)]
mod tests {
    use super::*;
    use contenders::Who;

    #[test]
    fn quantile_picks_the_nearest_rank() {
        let mut xs: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        assert_eq!(quantile(&mut xs, 0.5), Some(Duration::from_millis(51)));
        assert_eq!(quantile(&mut xs, 0.99), Some(Duration::from_millis(99)));
        assert_eq!(quantile(&mut xs, 1.0), Some(Duration::from_millis(100)));
        assert_eq!(quantile(&mut [], 0.5), None);
    }

    #[test]
    fn ratio_with_spread_is_the_median_of_the_rounds_ratios() {
        let (mid, text) = ratio_with_spread(&[2.0, 3.0, 4.0], &[1.0, 1.0, 2.0]);
        assert_eq!(mid, 2.0);
        assert_eq!(text, "2.00x (2.00–3.00)");
    }

    #[test]
    fn contender_ids_round_trip() {
        for who in Who::ALL {
            assert_eq!(Who::parse(who.id()), Some(who));
        }
        assert_eq!(Who::parse("nobody"), None);
    }
}
