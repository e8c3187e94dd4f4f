//! Redis: `RedisStore` gets against the plain redis crate's per-key GETs, `MGET` in batches
//! of 100, `MGET` limited to the 64 keys in flight that 64 single-key callers can have, and
//! `redis-benchmark -P 16`.

use std::process::Command;
use std::sync::Arc;

use larder::Ttl;
use larder::store::{RedisStore, Store};

use super::{
    KEYS, REPS, Ratios, Rounds, Server, TASKS, VALUE, batched_tasks, best_with_64_in_flight, key,
    many_tasks, runtime, store_gets, target_note,
};
use crate::report::{Section, Table, fixed, median};

const PORT: u16 = 17379;

/// `redis-benchmark -P 16 -t get`: its GET requests per second, in millions.
fn redis_benchmark() -> Option<f64> {
    let out = Command::new("redis-benchmark")
        .args(["-p", &PORT.to_string(), "-h", "127.0.0.1"])
        .args(["-P", "16", "-t", "get", "-n", "1000000", "-c", "64", "-q"])
        .output()
        .ok()?;
    // "GET: 912408.75 requests per second, p50=..."
    let text = String::from_utf8_lossy(&out.stdout);
    // Progress is redrawn with carriage returns: the result is after the last one.
    let line = text
        .lines()
        .filter_map(|l| l.rsplit('\r').next())
        .rev()
        .find(|l| l.starts_with("GET") && l.contains("requests per second"))?;
    let number = line.split_whitespace().nth(1)?;
    number.parse::<f64>().ok().map(|n| n / 1e6)
}

/// Adds the Redis table to `section`; false when there is no `redis-server`.
pub(super) fn measure(section: &mut Section) -> bool {
    let port = PORT.to_string();
    let args = [
        "--port",
        &port,
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ];
    let Some(_server) = Server::start("redis-server", &args, PORT) else {
        eprintln!(
            "stores: redis-server is not installed (scripts/services.sh installs it); skipped"
        );
        return false;
    };
    let url = format!("redis://127.0.0.1:{PORT}");
    let (ours, plain, sequential, mget, ceiling) = runtime().block_on(async {
        let store = Arc::new(RedisStore::connect(&url, "bench").await.expect("connects"));
        let value = vec![0x5A; VALUE];
        for i in 0..KEYS {
            store.set(&key(i), &value, Ttl::Never).await.expect("set");
        }
        let client = redis::Client::open(url.as_str()).expect("a URL");
        let conn = client
            .get_multiplexed_async_connection()
            .await
            .expect("connects");
        let mget = |conn: redis::aio::MultiplexedConnection| {
            move |_task: usize, keys: Vec<String>| {
                let mut c = conn.clone();
                async move {
                    let full: Vec<String> = keys.iter().map(|k| format!("bench:{k}")).collect();
                    let v: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
                        .arg(&full)
                        .query_async(&mut c)
                        .await
                        .expect("MGET");
                    assert_eq!(v.len(), full.len());
                }
            }
        };
        let (mut ours, mut plain, mut sequential, mut batched, mut ceiling_runs) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..REPS {
            ours.push(store_gets(&store).await);
            let c = conn.clone();
            plain.push(
                many_tasks(move |k| {
                    let mut c = c.clone();
                    async move {
                        let v: Option<Vec<u8>> = redis::cmd("GET")
                            .arg(format!("bench:{k}"))
                            .query_async(&mut c)
                            .await
                            .expect("GET");
                        assert!(v.is_some());
                    }
                })
                .await,
            );
            sequential.push(batched_tasks(1, 100, mget(conn.clone())).await);
            batched.push(batched_tasks(TASKS, 100, mget(conn.clone())).await);
            ceiling_runs.push(best_with_64_in_flight(mget(conn.clone())).await);
        }
        (Rounds::new(ours), plain, sequential, batched, ceiling_runs)
    });
    let pipelined = redis_benchmark();
    let mut table = Table::new(["Redis client", "M gets/s", "RedisStore / it"]);
    ours.ours_row(
        &mut table,
        "larder `RedisStore::get` (coalesced into MGETs)",
    );
    ours.row(
        &mut table,
        "redis crate, per-key GET, one multiplexed connection",
        &plain,
    );
    ours.row(
        &mut table,
        "redis crate, MGET in batches of 100, one at a time (keys/s)",
        &sequential,
    );
    ours.row(
        &mut table,
        "redis crate, MGET in batches of 100 from 64 tasks (keys/s)",
        &mget,
    );
    ours.row(
        &mut table,
        "redis crate, MGET with 64 keys in flight (best of 1x64, 2x32, 4x16, 8x8; keys/s)",
        &ceiling,
    );
    if let Some(p) = pipelined {
        // Measured once, after the rounds: against the median of ours.
        let ours = median(ours.ours.clone());
        table.row([
            "`redis-benchmark -P 16 -t get` (once, after the rounds)".to_string(),
            fixed(p, 3),
            format!("{}x", fixed(ours / p, 2)),
        ]);
    }
    section.table(&table);
    let ratios = Ratios {
        per_key: ours.ratio(&plain),
        sequential: ours.ratio(&sequential),
        concurrent: ours.ratio(&mget),
        ceiling: ours.ratio(&ceiling),
    };
    section.para(target_note("RedisStore", "GETs", "MGET", &ratios));
    true
}
