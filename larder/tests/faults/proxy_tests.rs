//! The proxy's own tests, against a loopback echo server: it forwards, pauses, black-holes,
//! cuts and delays as it says. Every wait is bounded.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::proxy::Proxy;

/// A server that echoes every byte back, on a free loopback port.
async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut read, mut write) = socket.split();
                let _ = tokio::io::copy(&mut read, &mut write).await;
            });
        }
    });
    address
}

async fn proxied() -> (Proxy, TcpStream) {
    let proxy = Proxy::start(echo_server().await).await.unwrap();
    let client = TcpStream::connect(proxy.address()).await.unwrap();
    (proxy, client)
}

/// Reads exactly `n` bytes within `within`; `None` if they did not all come.
async fn read_n(client: &mut TcpStream, n: usize, within: Duration) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; n];
    tokio::time::timeout(within, client.read_exact(&mut buf))
        .await
        .ok()?
        .ok()?;
    Some(buf)
}

const SOON: Duration = Duration::from_secs(5);
/// How long "nothing comes back" is watched for: on loopback an echo takes microseconds.
const QUIET: Duration = Duration::from_millis(300);

#[tokio::test]
async fn proxy_forwards_both_ways() {
    let (proxy, mut client) = proxied().await;
    client.write_all(b"hello").await.unwrap();
    assert_eq!(read_n(&mut client, 5, SOON).await.unwrap(), b"hello");
    let big: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
    client.write_all(&big).await.unwrap();
    assert_eq!(read_n(&mut client, big.len(), SOON).await.unwrap(), big);
    assert_eq!(proxy.open_connections(), 1);
}

#[tokio::test]
async fn proxy_pause_holds_bytes_until_it_forwards_again() {
    let (proxy, mut client) = proxied().await;
    proxy.pause();
    client.write_all(b"held").await.unwrap();
    assert_eq!(read_n(&mut client, 4, QUIET).await, None, "paused");
    proxy.forward();
    assert_eq!(read_n(&mut client, 4, SOON).await.unwrap(), b"held");
    assert_eq!(proxy.open_connections(), 1, "the pause closed nothing");
}

#[tokio::test]
async fn proxy_black_hole_drops_bytes_and_keeps_the_connection_dead() {
    let (proxy, mut client) = proxied().await;
    proxy.black_hole();
    client.write_all(b"lost").await.unwrap();
    assert_eq!(read_n(&mut client, 4, QUIET).await, None, "black-holed");
    proxy.forward();
    // A stream that lost bytes cannot go on: the connection stays silent, but open.
    client.write_all(b"gone").await.unwrap();
    assert_eq!(read_n(&mut client, 1, QUIET).await, None, "dead for good");
    assert_eq!(proxy.open_connections(), 1, "the black hole closed nothing");
    // New connections are forwarded.
    let mut fresh = TcpStream::connect(proxy.address()).await.unwrap();
    fresh.write_all(b"new").await.unwrap();
    assert_eq!(read_n(&mut fresh, 3, SOON).await.unwrap(), b"new");
}

#[tokio::test]
async fn proxy_cut_closes_the_open_connections_and_serves_new_ones() {
    let (proxy, mut client) = proxied().await;
    let mut other = TcpStream::connect(proxy.address()).await.unwrap();
    client.write_all(b"x").await.unwrap();
    assert_eq!(read_n(&mut client, 1, SOON).await.unwrap(), b"x");
    proxy.cut();
    for stream in [&mut client, &mut other] {
        let mut buf = [0u8; 1];
        let read = tokio::time::timeout(SOON, stream.read(&mut buf)).await;
        assert!(
            matches!(read, Ok(Ok(0) | Err(_))),
            "closed by the cut: {read:?}"
        );
    }
    let mut fresh = TcpStream::connect(proxy.address()).await.unwrap();
    fresh.write_all(b"y").await.unwrap();
    assert_eq!(read_n(&mut fresh, 1, SOON).await.unwrap(), b"y");
}

#[tokio::test]
async fn proxy_latency_delays_each_chunk_and_each_connection() {
    let (proxy, mut client) = proxied().await;
    proxy.set_latency(Duration::from_millis(100));
    let started = Instant::now();
    client.write_all(b"slow").await.unwrap();
    assert_eq!(read_n(&mut client, 4, SOON).await.unwrap(), b"slow");
    // There and back: two chunks, each delayed.
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "{:?}",
        started.elapsed()
    );
    proxy.set_latency(Duration::ZERO);
    proxy.set_connect_latency(Duration::from_millis(200));
    let started = Instant::now();
    let mut late = TcpStream::connect(proxy.address()).await.unwrap();
    late.write_all(b"z").await.unwrap();
    assert_eq!(read_n(&mut late, 1, SOON).await.unwrap(), b"z");
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "{:?}",
        started.elapsed()
    );
}
