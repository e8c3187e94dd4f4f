//! A node: the child process of the herd and of the cross-process invalidation, started as
//! `larder-bench tiers-node URL NAMESPACE` (not in the usage: the scenario starts it). It
//! builds every contender over its own connections to Redis, prints `up`, then answers one
//! line per command line on its stdin, until its stdin closes:
//!
//! - `herd WHO KEY TASKS LOADER_MS`: spawns TASKS tasks that will all ask WHO for KEY with a
//!   loader of LOADER_MS, prints `ready` once they wait at the starting line, releases them on
//!   the next line (`go`), and prints `done CALLS WALL_US ERRORS LEASE_WAITS` (loader calls,
//!   microseconds from the release to the last answer, answers that were errors, and lease
//!   waits);
//! - `watch WHO KEY LIMIT_MS`: reads KEY (filling L1 from L2), prints `watching` once L1 holds
//!   it (else `missing`, or `unsupported` for a contender whose L1 cannot be looked at), then
//!   `dropped` as soon as L1 no longer holds it, or `kept` after LIMIT_MS;
//! - `read WHO KEY`: `value N`, `none` or `error MESSAGE`;
//! - `ping`: `pong`.

use std::io::BufRead;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedReceiver;

use super::contenders::{Contender, Who};

/// How often a watch looks at L1: the resolution of the invalidation latencies (the OS
/// rounds a sleep this short up to some tens of microseconds).
pub(super) const POLL: Duration = Duration::from_micros(20);

/// The node's main: `args` are URL and NAMESPACE.
pub(crate) fn main(args: &[String]) -> ExitCode {
    let [url, namespace] = args else {
        eprintln!("usage: larder-bench tiers-node URL NAMESPACE");
        return ExitCode::from(2);
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tiers-node: no runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (lines, mut commands) = tokio::sync::mpsc::unbounded_channel();
    // Blocking stdin, read on a thread of its own; its end closes the channel.
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    rt.block_on(async {
        let mut contenders = Vec::new();
        for who in Who::ALL {
            match Contender::connect(who, url, namespace).await {
                Ok(c) => contenders.push((who, c)),
                Err(e) => {
                    eprintln!("tiers-node: {}: {e}", who.id());
                    return ExitCode::FAILURE;
                }
            }
        }
        println!("up");
        while let Some(line) = commands.recv().await {
            let words: Vec<&str> = line.split_whitespace().collect();
            let contender = |id: &str| {
                let who = Who::parse(id)?;
                contenders
                    .iter()
                    .find(|(w, _)| *w == who)
                    .map(|(_, c)| c.clone())
            };
            let answer = match words.as_slice() {
                ["ping"] => "pong".to_string(),
                ["herd", who, key, tasks, loader_ms] => match (
                    contender(who),
                    tasks.parse::<usize>(),
                    loader_ms.parse::<u64>(),
                ) {
                    (Some(c), Ok(tasks), Ok(ms)) => {
                        let loader = Duration::from_millis(ms);
                        herd(c, key.to_string(), tasks, loader, &mut commands).await
                    }
                    _ => format!("error bad command {line:?}"),
                },
                ["watch", who, key, limit_ms] => match (contender(who), limit_ms.parse::<u64>()) {
                    (Some(c), Ok(ms)) => watch(c, key, Duration::from_millis(ms)).await,
                    _ => format!("error bad command {line:?}"),
                },
                ["read", who, key] => match contender(who) {
                    Some(c) => match c.read(key).await {
                        Ok(Some(v)) => format!("value {v}"),
                        Ok(None) => "none".to_string(),
                        Err(e) => format!("error {e}"),
                    },
                    None => format!("error bad command {line:?}"),
                },
                _ => format!("error bad command {line:?}"),
            };
            println!("{answer}");
        }
        ExitCode::SUCCESS
    })
}

/// The herd command: `tasks` tasks on `key`, released together by the next command line.
async fn herd(
    contender: Contender,
    key: String,
    tasks: usize,
    loader: Duration,
    commands: &mut UnboundedReceiver<String>,
) -> String {
    let calls = Arc::new(AtomicU64::new(0));
    let waiting = Arc::new(AtomicUsize::new(0));
    let (release, start_line) = tokio::sync::watch::channel(false);
    let lease_waits = contender.lease_waits();
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let (contender, key) = (contender.clone(), key.clone());
            let (calls, waiting, mut start_line) =
                (calls.clone(), waiting.clone(), start_line.clone());
            tokio::spawn(async move {
                waiting.fetch_add(1, Ordering::Relaxed);
                let _ = start_line.wait_for(|&go| go).await;
                let load = async move {
                    calls.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(loader).await;
                    42
                };
                contender.get_with(key, load).await
            })
        })
        .collect();
    while waiting.load(Ordering::Relaxed) < tasks {
        tokio::task::yield_now().await;
    }
    println!("ready");
    if commands.recv().await.is_none() {
        return "error stdin closed".to_string();
    }
    let start = Instant::now();
    let _ = release.send(true);
    let mut errors = 0;
    for handle in handles {
        if !matches!(handle.await, Ok(Ok(42))) {
            errors += 1;
        }
    }
    let wall = start.elapsed().as_micros();
    format!(
        "done {} {wall} {errors} {}",
        calls.load(Ordering::Relaxed),
        contender.lease_waits() - lease_waits
    )
}

/// The watch command: fills L1 with `key`, then looks at L1 until the key is gone.
async fn watch(contender: Contender, key: &str, limit: Duration) -> String {
    // An invalidation of the parent's own write of the key may still be on its way, and keep
    // the first read's value out of L1: read again, a bounded number of times.
    let mut held = false;
    for _ in 0..20 {
        if let Err(e) = contender.read(key).await {
            return format!("error {e}");
        }
        match contender.l1_has(key) {
            None => return "unsupported".to_string(),
            Some(true) => {
                // A late invalidation of the parent's first write would drop the key during
                // the watch: let it come first.
                tokio::time::sleep(super::invalidation::SETTLE).await;
                if contender.l1_has(key) == Some(true) {
                    held = true;
                    break;
                }
            }
            Some(false) => tokio::time::sleep(Duration::from_millis(1)).await,
        }
    }
    if !held {
        return "missing".to_string();
    }
    let (seen, gone) = tokio::sync::oneshot::channel();
    let key = key.to_string();
    // A thread of its own, so that the runtime stays free to take in invalidations.
    std::thread::spawn(move || {
        let start = Instant::now();
        let dropped = loop {
            if contender.l1_has(&key) == Some(false) {
                break true;
            }
            if start.elapsed() > limit {
                break false;
            }
            std::thread::sleep(POLL);
        };
        let _ = seen.send(dropped);
    });
    println!("watching");
    match gone.await {
        Ok(true) => "dropped".to_string(),
        _ => "kept".to_string(),
    }
}
