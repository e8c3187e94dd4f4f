//! A pool of connections to one memcached server.
//!
//! async-memcached's `Client` is one connection that needs `&mut` for each operation, so each
//! operation takes a connection out of the pool and puts it back when done. At most
//! [`MAX_CONNECTIONS`] are open per server; an operation waits for one within its timeout.
//!
//! A connection that broke is dropped, and the next operation opens a new one, so a restarted
//! server is used again. A connection cut short by a cancelled or timed-out operation is
//! closed by the client itself (its reply would be read as the next one's) and dropped too.
//! A network failure also drops the pool's idle connections to that server: they most likely
//! broke with it (a restart), and the next operation should not be the one to find out.

use std::fmt;

use async_memcached::{Client, Error as McError, ErrorKind as McKind, Status};
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::error::{Error, ErrorKind};
use crate::sync::Mutex;

/// The most connections open to one server at once.
pub(super) const MAX_CONNECTIONS: usize = 16;

/// The connections to one server.
pub(super) struct Pool {
    /// The address as given (`host:port`): errors and `Debug` show it (it is not secret).
    address: String,
    /// What async-memcached connects to (`tcp://host:port`).
    dsn: String,
    idle: Mutex<Idle>,
    permits: Semaphore,
}

#[derive(Default)]
struct Idle {
    clients: Vec<Client>,
    /// Bumped when the server failed: connections opened before are not taken back.
    epoch: u64,
    /// The store was closed: no connection is taken back.
    closed: bool,
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.address, f)
    }
}

impl Pool {
    /// A pool for the server at `address` (`host:port`, or a `tcp://` / `unix://` URL),
    /// opening no connection yet.
    pub(super) fn new(address: &str) -> Self {
        let dsn = if address.contains("://") {
            address.to_string()
        } else {
            format!("tcp://{address}")
        };
        Self {
            address: address.to_string(),
            dsn,
            idle: Mutex::new(Idle::default()),
            permits: Semaphore::new(MAX_CONNECTIONS),
        }
    }

    pub(super) fn address(&self) -> &str {
        &self.address
    }

    /// A connection: an idle one, or a new one.
    ///
    /// # Cancel safety
    ///
    /// Cancelling it leaves the pool as it was (a connection being opened is dropped).
    pub(super) async fn conn(&self) -> Result<Conn<'_>, Error> {
        let permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| Error::new(ErrorKind::Closed, "the store was closed"))?;
        let (idle, epoch) = {
            let mut idle = self.idle.lock();
            (idle.clients.pop(), idle.epoch)
        };
        let client = match idle {
            Some(client) => client,
            None => Client::new(&self.dsn)
                .await
                .map_err(|e| self.error(e, true))?,
        };
        Ok(Conn {
            pool: self,
            client: Some(client),
            epoch,
            broken: false,
            _permit: permit,
        })
    }

    /// Closes the pool: its idle connections now, those in use when they are put back; no
    /// connection is opened or handed out any more.
    pub(super) fn close(&self) {
        self.permits.close();
        let mut idle = self.idle.lock();
        idle.closed = true;
        idle.clients.clear();
    }

    /// Forgets every idle connection: the server failed.
    fn failed(&self, epoch: u64) {
        let mut idle = self.idle.lock();
        if idle.epoch == epoch {
            idle.epoch += 1;
            idle.clients.clear();
        }
    }

    /// Our error for async-memcached's `error`, naming this server (never a key or a value).
    fn error(&self, error: McError, connecting: bool) -> Error {
        let address = &self.address;
        let (kind, message) = match &error {
            McError::Connect(io) if io.kind() == std::io::ErrorKind::InvalidInput => (
                ErrorKind::Config,
                format!("not a Memcached server address (host:port): {address}"),
            ),
            McError::Connect(_) => (
                ErrorKind::Backend,
                format!("cannot connect to Memcached at {address}"),
            ),
            _ if connecting => (
                ErrorKind::Backend,
                format!("cannot connect to Memcached at {address}"),
            ),
            McError::Protocol(Status::Error(McKind::Server(reason)))
                if reason.contains("too large") =>
            {
                (
                    ErrorKind::Backend,
                    format!(
                        "the value is larger than the item size limit of Memcached at {address} \
                         (its -I setting)"
                    ),
                )
            }
            McError::Protocol(Status::Error(McKind::Server(reason)))
                if reason.contains("out of memory") =>
            {
                (
                    ErrorKind::Backend,
                    format!("Memcached at {address} is out of memory"),
                )
            }
            _ => (ErrorKind::Backend, format!("Memcached at {address} failed")),
        };
        Error::with_source(kind, message, error)
    }
}

/// A connection taken from a [`Pool`]; dropping it puts it back if it is still sound.
pub(super) struct Conn<'a> {
    pool: &'a Pool,
    client: Option<Client>,
    epoch: u64,
    /// A network failure happened on it.
    broken: bool,
    _permit: SemaphorePermit<'a>,
}

impl Conn<'_> {
    /// The server's address, for errors.
    pub(super) fn address(&self) -> &str {
        &self.pool.address
    }

    /// The connection (always there until it is put back: the error cannot happen).
    pub(super) fn client(&mut self) -> Result<&mut Client, Error> {
        self.client
            .as_mut()
            .ok_or_else(|| Error::new(ErrorKind::Backend, "the connection was put back"))
    }

    /// Our error for a failed operation; a network failure also marks the connection (and
    /// the pool's idle ones) broken.
    pub(super) fn fail(&mut self, error: McError) -> Error {
        if matches!(
            error,
            McError::Io(_) | McError::Connect(_) | McError::ConnectionClosed
        ) {
            self.broken = true;
        }
        self.pool.error(error, false)
    }

    /// Our error for a reply that does not fit the request.
    pub(super) fn unexpected(&mut self, what: &str) -> Error {
        self.broken = true;
        Error::new(
            ErrorKind::Backend,
            format!(
                "unexpected reply from Memcached at {}: {what}",
                self.pool.address
            ),
        )
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        if self.broken {
            self.pool.failed(self.epoch);
            return;
        }
        let Some(client) = self.client.take() else {
            return;
        };
        if client.is_closed() {
            return; // cut short (cancelled): dropped
        }
        let mut idle = self.pool.idle.lock();
        if idle.epoch == self.epoch && !idle.closed {
            idle.clients.push(client);
        }
    }
}
