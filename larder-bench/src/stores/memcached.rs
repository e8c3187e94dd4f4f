//! Memcached: `MemcachedStore` gets against the plain async-memcached client's per-key gets
//! and its `get_multi` in batches of 100 (each task on a connection of its own: the plain
//! client's best case).

use std::sync::Arc;

use async_memcached::AsciiProtocol;
use larder::{MemcachedStore, Store, Ttl};

use super::{KEYS, REPS, Server, TASKS, VALUE, batched_tasks, key, many_tasks, runtime};
use crate::report::{Section, Table, fixed, median};

const PORT: u16 = 17311;

/// One plain client per task (a client needs `&mut` for every call).
async fn clients(n: usize) -> Arc<Vec<tokio::sync::Mutex<async_memcached::Client>>> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let client = async_memcached::Client::new(format!("tcp://127.0.0.1:{PORT}"))
            .await
            .expect("connects");
        out.push(tokio::sync::Mutex::new(client));
    }
    Arc::new(out)
}

/// Adds the Memcached table to `section`; false when there is no `memcached`.
pub(super) fn measure(section: &mut Section) -> bool {
    let port = PORT.to_string();
    let args = [
        "-l",
        "127.0.0.1",
        "-p",
        &port,
        "-U",
        "0",
        "-m",
        "256",
        "-u",
        "root",
    ];
    let Some(_server) = Server::start("memcached", &args, PORT) else {
        eprintln!("stores: memcached is not installed (scripts/services.sh installs it); skipped");
        return false;
    };
    let (ours, plain, multi) = runtime().block_on(async {
        let addr = format!("127.0.0.1:{PORT}");
        let store = Arc::new(
            MemcachedStore::connect(&[addr.as_str()], "bench")
                .await
                .expect("connects"),
        );
        let value = vec![0x5A; VALUE];
        let plain_clients = clients(TASKS).await;
        for i in 0..KEYS {
            store.set(&key(i), &value, Ttl::Never).await.expect("set");
            let mut c = plain_clients[0].lock().await;
            c.set(format!("plain:{}", key(i)), &value[..], None, None)
                .await
                .expect("set");
        }
        let (mut ours, mut plain, mut multi) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..REPS {
            let s = Arc::clone(&store);
            ours.push(
                many_tasks(move |k| {
                    let s = Arc::clone(&s);
                    async move {
                        let v = s.get(&k).await.expect("get");
                        assert!(v.is_some());
                    }
                })
                .await,
            );
            // Per-key gets: each of the 64 tasks on its own connection.
            let cs = Arc::clone(&plain_clients);
            let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            plain.push(
                many_tasks(move |k| {
                    let cs = Arc::clone(&cs);
                    // Tasks take turns through the clients; with 64 clients and 64 tasks a
                    // client is almost never contended.
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % cs.len();
                    async move {
                        let mut c = cs[i].lock().await;
                        let v = c.get(format!("plain:{k}")).await.expect("get");
                        assert!(v.is_some());
                    }
                })
                .await,
            );
            let cs = Arc::clone(&plain_clients);
            multi.push(
                batched_tasks(TASKS, 100, move |task, keys| {
                    let cs = Arc::clone(&cs);
                    async move {
                        let full: Vec<String> = keys.iter().map(|k| format!("plain:{k}")).collect();
                        let mut c = cs[task].lock().await;
                        let v = c.get_multi(&full).await.expect("get_multi");
                        assert_eq!(v.len(), full.len());
                    }
                })
                .await,
            );
        }
        (median(ours), median(plain), median(multi))
    });
    let mut table = Table::new(["Memcached client", "M gets/s", "MemcachedStore / it"]);
    table.row([
        "larder `MemcachedStore::get` (coalesced into multi-gets)".to_string(),
        fixed(ours, 3),
        "1.00x".to_string(),
    ]);
    table.row([
        "async-memcached, per-key get, 64 connections".to_string(),
        fixed(plain, 3),
        format!("{}x", fixed(ours / plain, 2)),
    ]);
    table.row([
        "async-memcached, `get_multi` in batches of 100 from 64 tasks (keys/s)".to_string(),
        fixed(multi, 3),
        format!("{}x", fixed(ours / multi, 2)),
    ]);
    section.table(&table);
    section.para(format!(
        "**Target: MemcachedStore at least 1.5x the per-key gets and at least 80% of \
         `get_multi`.** {:.2}x ({}) and {:.0}% ({}).",
        ours / plain,
        if ours >= 1.5 * plain {
            "met"
        } else {
            "not met"
        },
        100.0 * ours / multi,
        if ours >= 0.8 * multi {
            "met"
        } else {
            "not met"
        },
    ));
    true
}
