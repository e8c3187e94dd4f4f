//! The parent's side of a node: this binary started again as `larder-bench tiers-node URL
//! NAMESPACE`, one command per line on its stdin, one answer per line on its stdout (see
//! `node.rs`), killed by its pid when dropped.

use std::io::{self, BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Instant;

/// A node process.
pub(super) struct Node {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Drop for Node {
    fn drop(&mut self) {
        // By pid (SIGKILL), then reaped.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Node {
    /// Starts a node on Redis at `url`, keys under `namespace`; returns once it is connected.
    pub(super) fn spawn(url: &str, namespace: &str) -> io::Result<Node> {
        let exe = std::env::current_exe()?;
        let mut child = Command::new(exe)
            .args(["tiers-node", url, namespace])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::other("no pipes to the node"));
        };
        let mut node = Node {
            child,
            stdin,
            stdout: BufReader::new(stdout),
        };
        node.expect("up")?;
        Ok(node)
    }

    /// Sends one command line.
    pub(super) fn send(&mut self, line: &str) -> io::Result<()> {
        writeln!(self.stdin, "{line}")?;
        self.stdin.flush()
    }

    /// The next answer line (an error at end of file: the node died).
    pub(super) fn recv(&mut self) -> io::Result<String> {
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the node ended",
            ));
        }
        Ok(line.trim_end().to_string())
    }

    /// Sends `line` and returns the answer.
    pub(super) fn ask(&mut self, line: &str) -> io::Result<String> {
        self.send(line)?;
        self.recv()
    }

    /// Reads the next answer, which must be `want`.
    pub(super) fn expect(&mut self, want: &str) -> io::Result<()> {
        let got = self.recv()?;
        if got == want {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "the node answered {got:?}, not {want:?}"
            )))
        }
    }

    /// Half a ping's round trip over the pipes: the most a node's answer adds to a time
    /// measured through it.
    pub(super) fn one_way(&mut self) -> io::Result<std::time::Duration> {
        let start = Instant::now();
        self.send("ping")?;
        self.expect("pong")?;
        Ok(start.elapsed() / 2)
    }
}

/// `n` nodes, started one after the other.
pub(super) fn spawn_many(n: usize, url: &str, namespace: &str) -> io::Result<Vec<Node>> {
    (0..n).map(|_| Node::spawn(url, namespace)).collect()
}
