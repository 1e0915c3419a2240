//! The slow-connection flood, in a test binary of its own so that its thousands of sockets do
//! not slow the other system tests: one client holding connections open must stop neither a
//! purchase nor the gateway, and the gateway must close what it holds.

// The stack's helpers are shared with the system tests, which use more of them.
#[allow(dead_code)]
#[path = "../system/helpers.rs"]
mod helpers;
#[allow(dead_code)]
#[path = "../system/proxy.rs"]
mod proxy;

use std::time::{Duration, Instant};

use nfip_kit::db::Backend;
use nfip_kit::serve::Limits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{KEY, Stack, order};

/// Opens `count` connections to `addr` that never finish a request: half send nothing, half
/// send the start of a request head and stop.
async fn hold(addr: std::net::SocketAddr, count: usize) -> Vec<TcpStream> {
    let mut held = Vec::with_capacity(count);
    for n in 0..count {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        if n % 2 == 1 {
            stream
                .write_all(b"POST /purchase HTTP/1.1\r\nhost: nfip\r\nx-api-key: ")
                .await
                .unwrap();
        }
        held.push(stream);
    }
    held
}

/// Sends a request head one byte every 200 ms until the gateway closes the connection (how
/// long that took) or `limit` passes (`None`).
async fn drip(addr: std::net::SocketAddr, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let head = b"POST /purchase HTTP/1.1\r\nhost: nfip\r\nx-filler: ";
    let mut pace = tokio::time::interval(Duration::from_millis(200));
    let mut buffer = [0u8; 512];
    for byte in head.iter().chain(std::iter::repeat(&b'a')) {
        if started.elapsed() > limit {
            return None;
        }
        tokio::select! {
            read = stream.read(&mut buffer) => {
                // Closed (EOF or reset), or the 408 it answers before closing.
                if matches!(read, Ok(0) | Err(_)) || buffer.starts_with(b"HTTP/1.1 408") {
                    return Some(started.elapsed());
                }
            }
            _ = pace.tick() => {
                if stream.write_all(std::slice::from_ref(byte)).await.is_err() {
                    return Some(started.elapsed());
                }
            }
        }
    }
    None
}

/// How many connections to hold: 4,000, or fewer where the open-file limit is lower (each is
/// two descriptors in this process, which also serves them).
fn flood_size() -> usize {
    // SAFETY: getrlimit with a valid resource and a pointer to a local struct.
    let limit = unsafe {
        let mut limit = std::mem::zeroed::<libc::rlimit>();
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        limit.rlim_max as usize
    };
    4_000.min(limit.saturating_sub(2_000) / 2)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_idle_and_slow_connections_neither_stop_a_purchase_nor_stay_open() {
    let header_timeout = Duration::from_secs(2);
    let limits = Limits {
        header_timeout,
        body_timeout: Duration::from_secs(1),
        ..Limits::default()
    };
    let stack = Stack::start_with(Backend::Sqlite, limits).await;
    assert_eq!(
        stack.purchase(&order("33139"), None).await.status(),
        201,
        "warm"
    );
    let count = flood_size();
    assert!(
        count >= 2_000,
        "the machine allows too few open files for the test"
    );
    let mut held = hold(stack.gateway.addr, count).await;
    // And a client whose body never arrives in full.
    let mut short = TcpStream::connect(stack.gateway.addr).await.unwrap();
    short
        .write_all(
            format!(
                "POST /purchase HTTP/1.1\r\nhost: nfip\r\nx-api-key: {KEY}\r\n\
                 content-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"zip"
            )
            .as_bytes(),
        )
        .await
        .unwrap();

    // And clients that drip a byte of their request head every 200 ms, forever if let.
    let drips: Vec<_> = (0..50)
        .map(|_| tokio::spawn(drip(stack.gateway.addr, Duration::from_secs(10))))
        .collect();

    // Purchases go on as usual.
    let mut took = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        assert_eq!(stack.purchase(&order("33139"), None).await.status(), 201);
        took.push(started.elapsed());
    }
    took.sort();
    assert!(
        took[2] < Duration::from_millis(50),
        "with {count} connections held, a purchase took {took:?}"
    );

    // The short body is answered 408, and every held connection is closed by the gateway.
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(5), short.read_to_string(&mut answer))
        .await
        .expect("the gateway answers the short body")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    // A drip does not keep a connection: the head has one deadline, however it trickles in.
    for drip in drips {
        let lasted = drip
            .await
            .unwrap()
            .expect("the gateway closed a dripping connection");
        assert!(
            lasted < header_timeout + Duration::from_secs(2),
            "a drip lasted {lasted:?}"
        );
    }
    let deadline = Instant::now() + header_timeout + Duration::from_secs(10);
    for stream in &mut held {
        let mut buffer = [0u8; 512];
        let left = deadline.saturating_duration_since(Instant::now());
        let read = tokio::time::timeout(left, stream.read(&mut buffer))
            .await
            .expect("a held connection is closed within the header timeout");
        // EOF (or a 408 the server sent before closing), or a reset: closed either way.
        if let Ok(n) = read {
            assert!(n == 0 || buffer.starts_with(b"HTTP/1.1 408"), "{n}");
        }
    }
    stack.stop().await;
}
