//! A server process of the fault suite's own (`redis-server`, `memcached`) on a loopback
//! port: started, frozen (`SIGSTOP`), thawed (`SIGCONT`), killed and started again, always by
//! its pid, never by name. Killed when dropped.
//!
//! Shared by the fault tests, the Redis and Memcached store tests and `larder-bench chaos`
//! (included by path). It waits until the server answers (a restarted Redis loads its
//! append-only file before it does) and does so without blocking the runtime, since the
//! proxy's tasks run on it. [`redis()`] and [`memcached()`] start the usual command lines.

#![allow(dead_code)] // each user drives its own part

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How to ask a server whether it is ready: a request, and how ready answers start.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Probe {
    pub(crate) request: &'static [u8],
    pub(crate) ready: &'static [&'static [u8]],
}

/// `PING` → `+PONG`, or `-NOAUTH` from a server that wants a password (a Redis still
/// loading its data answers `-LOADING`).
pub(crate) const REDIS: Probe = Probe {
    request: b"PING\r\n",
    ready: &[b"+PONG", b"-NOAUTH"],
};

/// `version` → `VERSION …`.
pub(crate) const MEMCACHED: Probe = Probe {
    request: b"version\r\n",
    ready: &[b"VERSION"],
};

/// A redis-server on `127.0.0.1:port` (`None`: not installed), with `extra` arguments. With
/// `dir`, it persists every write before answering (`--appendonly yes --appendfsync always`)
/// in that directory; without, it keeps nothing.
pub(crate) async fn redis(port: u16, dir: Option<&Scratch>, extra: &[&str]) -> Option<Server> {
    let mut args: Vec<String> = ["--port", &port.to_string(), "--bind", "127.0.0.1"]
        .iter()
        .chain(extra)
        .map(|a| a.to_string())
        .collect();
    if let Some(dir) = dir {
        args.extend(["--appendonly", "yes", "--appendfsync", "always"].map(String::from));
        args.extend(["--dir".to_string(), dir.path().display().to_string()]);
    }
    args.extend(["--save", ""].map(String::from));
    Server::start("redis-server", args, port, REDIS).await
}

/// A memcached on `127.0.0.1:port` with `megabytes` of memory, no UDP, run as root
/// (`None`: not installed), with `extra` options after those.
pub(crate) async fn memcached(port: u16, megabytes: u32, extra: &[&str]) -> Option<Server> {
    let (port_arg, memory) = (port.to_string(), megabytes.to_string());
    let args = [
        "-l",
        "127.0.0.1",
        "-p",
        &port_arg,
        "-U",
        "0",
        "-m",
        &memory,
        "-u",
        "root",
    ]
    .iter()
    .chain(extra)
    .map(|a| a.to_string())
    .collect();
    Server::start("memcached", args, port, MEMCACHED).await
}

#[derive(Debug)]
pub(crate) struct Server {
    pub(crate) port: u16,
    program: &'static str,
    args: Vec<String>,
    probe: Probe,
    child: Option<Child>,
    frozen: bool,
}

impl Server {
    /// Starts `program args…` (which must listen on `port`) and waits until it answers
    /// `probe`; `None` when the program cannot be run (not installed).
    pub(crate) async fn start(
        program: &'static str,
        args: Vec<String>,
        port: u16,
        probe: Probe,
    ) -> Option<Self> {
        let mut server = Self {
            port,
            program,
            args,
            probe,
            child: None,
            frozen: false,
        };
        server.spawn().await.then_some(server)
    }

    /// `127.0.0.1:port`.
    pub(crate) fn address(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The running process's id.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Starts the process (again) and waits until it answers; false if it cannot be run.
    /// Panics if it runs but does not answer within 10 s (a broken setup, not a fault).
    pub(crate) async fn spawn(&mut self) -> bool {
        let Ok(child) = Command::new(self.program)
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        else {
            return false;
        };
        self.child = Some(child);
        self.frozen = false;
        // A setup wait, bounded: 200 tries 50 ms apart.
        for _ in 0..200 {
            if self.answers().await {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "{} does not answer on port {} after 10 s",
            self.program, self.port
        );
    }

    /// Whether the server answers its probe now (within 1 s).
    async fn answers(&self) -> bool {
        let probe = async {
            let mut stream = tokio::net::TcpStream::connect(self.address()).await.ok()?;
            stream.write_all(self.probe.request).await.ok()?;
            let mut answer = vec![0u8; 64];
            let n = stream.read(&mut answer).await.ok()?;
            let answer = &answer[..n];
            Some(
                self.probe
                    .ready
                    .iter()
                    .any(|ready| answer.starts_with(ready)),
            )
        };
        matches!(
            tokio::time::timeout(Duration::from_secs(1), probe).await,
            Ok(Some(true))
        )
    }

    /// Sends `signal` (`-STOP`, `-CONT`) to the process, by pid.
    fn signal(&self, signal: &str) {
        let pid = self.pid().expect("the server runs");
        let status = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .expect("runs kill");
        assert!(status.success(), "kill {signal} {pid}: {status}");
    }

    /// `SIGSTOP`: the process stops; the kernel still accepts connections and buffers bytes
    /// for it, so clients see a server that is up and silent.
    pub(crate) fn freeze(&mut self) {
        self.signal("-STOP");
        self.frozen = true;
    }

    /// `SIGCONT`: it answers everything it was sent while frozen.
    pub(crate) fn thaw(&mut self) {
        self.signal("-CONT");
        self.frozen = false;
    }

    /// Kills the process (`SIGKILL`: a crash, nothing flushed on the way out), if it runs.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill(); // a frozen process dies of SIGKILL too
            let _ = child.wait();
        }
        self.frozen = false;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A server program that is not installed: a skip outside CI, a failure in it (as the
/// other store tests treat a missing server).
pub(crate) fn missing(program: &str) {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{program} is not installed: scripts/services.sh installs it");
    }
    eprintln!("SKIPPED: {program} is not installed");
}

/// A loopback port nothing listens on now.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// A directory of its own under the system's temp dir, removed when dropped (a Redis
/// server's append-only file, a disk store's file).
#[derive(Debug)]
pub(crate) struct Scratch(std::path::PathBuf);

impl Scratch {
    pub(crate) fn new(prefix: &str) -> Self {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("{prefix}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create a scratch dir");
        Self(dir)
    }

    pub(crate) fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
