//! Memcached: `MemcachedStore` gets against the plain async-memcached client's per-key gets
//! and its `get_multi` in batches of 100 (each task on a connection of its own: the plain
//! client's best case).

use std::sync::Arc;

use async_memcached::AsciiProtocol;
use larder::Ttl;
use larder::store::{MemcachedStore, Store};

use super::{
    KEYS, REPS, Ratios, Rounds, Server, TASKS, VALUE, batched_tasks, best_with_64_in_flight, key,
    many_tasks, runtime, store_gets, target_note,
};
use crate::report::{Section, Table};

const PORT: u16 = 17311;

/// The plain clients, one per task.
type Clients = Arc<Vec<tokio::sync::Mutex<async_memcached::Client>>>;

/// One multi-get of a task.
type Read = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// One plain client per task (a client needs `&mut` for every call).
async fn clients(n: usize) -> Clients {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let client = async_memcached::Client::new(format!("tcp://127.0.0.1:{PORT}"))
            .await
            .expect("connects");
        out.push(tokio::sync::Mutex::new(client));
    }
    Arc::new(out)
}

/// Multi-gets of the keys a task is given, on that task's own connection.
fn get_multi(clients: &Clients) -> impl Fn(usize, Vec<String>) -> Read + Clone + Send + 'static {
    let clients = Arc::clone(clients);
    move |task, keys| {
        let clients = Arc::clone(&clients);
        Box::pin(async move {
            let full: Vec<String> = keys.iter().map(|k| format!("plain:{k}")).collect();
            let mut c = clients[task].lock().await;
            let v = c.get_multi(&full).await.expect("get_multi");
            assert_eq!(v.len(), full.len());
        })
    }
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
    let (ours, plain, sequential, multi, ceiling) = runtime().block_on(async {
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
        let (mut ours, mut plain, mut sequential, mut multi, mut ceiling_runs) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..REPS {
            ours.push(store_gets(&store).await);
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
            sequential.push(batched_tasks(1, 100, get_multi(&plain_clients)).await);
            multi.push(batched_tasks(TASKS, 100, get_multi(&plain_clients)).await);
            ceiling_runs.push(best_with_64_in_flight(get_multi(&plain_clients)).await);
        }
        (Rounds::new(ours), plain, sequential, multi, ceiling_runs)
    });
    let mut table = Table::new(["Memcached client", "M gets/s", "MemcachedStore / it"]);
    ours.ours_row(
        &mut table,
        "larder `MemcachedStore::get` (coalesced into multi-gets)",
    );
    ours.row(
        &mut table,
        "async-memcached, per-key get, 64 connections",
        &plain,
    );
    ours.row(
        &mut table,
        "async-memcached, `get_multi` in batches of 100, one at a time (keys/s)",
        &sequential,
    );
    ours.row(
        &mut table,
        "async-memcached, `get_multi` in batches of 100 from 64 tasks (keys/s)",
        &multi,
    );
    ours.row(
        &mut table,
        "async-memcached, `get_multi` with 64 keys in flight (best of 1x64, 2x32, 4x16, 8x8; \
         keys/s)",
        &ceiling,
    );
    section.table(&table);
    let ratios = Ratios {
        per_key: ours.ratio(&plain),
        sequential: ours.ratio(&sequential),
        concurrent: ours.ratio(&multi),
        ceiling: ours.ratio(&ceiling),
    };
    section.para(target_note(
        "MemcachedStore",
        "gets",
        "`get_multi`",
        &ratios,
    ));
    true
}
