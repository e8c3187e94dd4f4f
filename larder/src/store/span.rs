//! The `tracing` span of a store operation (feature `tracing`), with OpenTelemetry's
//! semantic attribute names: never a key, a value or a URL. `meter.rs` says what goes in.

use tracing::field::Empty;
use tracing::{Level, Span};

use crate::error::{Error, ErrorKind};

/// The span, at `DEBUG`, of the operation `op` (its `db.operation.name`) of a store named
/// `system` (`db.system.name`), on `server` (`server.address`, `server.port`) when it has one,
/// over `batch` keys (`db.operation.batch.size`) when it is a multi-key operation.
pub(super) fn start(
    system: &'static str,
    server: Option<(&str, u16)>,
    op: &'static str,
    batch: Option<u64>,
) -> Span {
    let span = tracing::span!(
        Level::DEBUG,
        "larder.store",
        otel.name = op,
        otel.kind = "client",
        db.system.name = system,
        db.operation.name = op,
        server.address = Empty,
        server.port = Empty,
        db.operation.batch.size = batch,
        db.response.returned_rows = Empty,
        error.type = Empty,
        otel.status_code = Empty,
    );
    if let Some((host, port)) = server.filter(|_| !span.is_disabled()) {
        span.record("server.address", host);
        span.record("server.port", port);
    }
    span
}

/// Records how the operation ended: the keys a read found (`db.response.returned_rows`), or
/// its error's kind (`error.type`, and `otel.status_code = "ERROR"`).
pub(super) fn finish(span: &Span, returned_rows: Option<u64>, error: Option<&Error>) {
    if span.is_disabled() {
        return;
    }
    if let Some(error) = error {
        span.record("error.type", error_type(error.kind()));
        span.record("otel.status_code", "ERROR");
    } else if let Some(rows) = returned_rows {
        span.record("db.response.returned_rows", rows);
    }
}

/// An error's kind, as `error.type`.
fn error_type(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Timeout => "timeout",
        ErrorKind::Backend => "backend",
        ErrorKind::Codec => "codec",
        ErrorKind::Config => "config",
        ErrorKind::Closed => "closed",
        ErrorKind::Overloaded => "overloaded",
        _ => "other",
    }
}
