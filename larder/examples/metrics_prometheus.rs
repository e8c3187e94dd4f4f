//! A cache's metrics served for Prometheus by `metrics-exporter-prometheus`'s HTTP listener,
//! on a loopback port.
//!
//! ```text
//! cargo run -p larder --features metrics --example metrics_prometheus -- [PORT]
//! curl http://127.0.0.1:PORT/metrics
//! ```
//!
//! Without a port, the system picks a free one; the first line printed says which. The cache
//! is driven with a mix of loads and hits until the process is stopped, and its counters are
//! published every second. `tests/metrics_prometheus.rs` runs `serve` in-process and scrapes
//! it.

use std::error::Error;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::time::Duration;

use larder::Cache;
use larder::metrics::MetricsPublisher;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};

/// The buckets of `larder_load_duration_seconds`, in seconds: a load is a database or an HTTP
/// call.
const LOAD_BUCKETS: &[f64] = &[0.000_1, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0];

/// `127.0.0.1:port`, or, without a port, a free loopback port the system picked. (It is
/// released before the exporter binds it: another program could take it in between.)
pub(crate) fn loopback(port: Option<u16>) -> std::io::Result<SocketAddr> {
    match port {
        Some(port) => Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, port))),
        None => TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr(),
    }
}

/// Installs the Prometheus recorder as the process's `metrics` recorder, with its HTTP
/// listener on `addr` (serving `/metrics`) as a task of the current tokio runtime.
pub(crate) fn serve(addr: SocketAddr) -> Result<(), Box<dyn Error + Send + Sync>> {
    let (recorder, exporter) = PrometheusBuilder::new()
        .with_http_listener(addr)
        .set_buckets_for_metric(
            Matcher::Full("larder_load_duration_seconds".into()),
            LOAD_BUCKETS,
        )?
        .build()?;
    metrics::set_global_recorder(recorder)
        .map_err(|_| "a metrics recorder is installed already")?;
    tokio::spawn(exporter);
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error + Send + Sync>> {
    let port = std::env::args().nth(1).map(|p| p.parse()).transpose()?;
    let addr = loopback(port)?;
    serve(addr)?;
    println!("serving metrics on http://{addr}/metrics");

    let users: Cache<u64, String> = Cache::builder()
        .name("users")
        .max_capacity(50)
        .time_to_live(Duration::from_secs(30))
        .build();
    let publisher = MetricsPublisher::new();
    publisher.register(users.clone());
    let _publishing = publisher.publish_every(Duration::from_secs(1))?;

    // Some traffic: 100 ids, so the 50-entry cache loads and evicts as well as it hits.
    let mut round: u64 = 0;
    loop {
        for i in 0..200 {
            let id = (round * 7 + i * 13) % 100;
            users
                .get_with(id, async move {
                    tokio::time::sleep(Duration::from_millis(2)).await; // the database
                    format!("user {id}")
                })
                .await;
        }
        round += 1;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
