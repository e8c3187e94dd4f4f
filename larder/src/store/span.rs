//! The `tracing` span of a store operation (feature `tracing`), with OpenTelemetry's
//! semantic attribute names: never a key, a value or a URL.

use tracing::field::Empty;
use tracing::{Level, Span};

use super::meter::{Meter, StoreOp};
use crate::error::Error;

/// The span of `op` on `keys` keys of the store `meter` measures, at `DEBUG`: `db.system.name`,
/// `db.operation.name`, `server.address` and `server.port` (a store on one server),
/// `db.operation.batch.size` (multi-key operations), and, once it ends,
/// `db.response.returned_rows` (keys a read found) or `error.type` (the error's kind).
pub(super) fn start(meter: &Meter, op: StoreOp, keys: u64) -> Span {
    let span = tracing::span!(
        Level::DEBUG,
        "larder.store",
        otel.name = op.name(),
        otel.kind = "client",
        db.system.name = meter.system,
        db.operation.name = op.name(),
        server.address = Empty,
        server.port = Empty,
        db.operation.batch.size = Empty,
        db.response.returned_rows = Empty,
        error.type = Empty,
        otel.status_code = Empty,
    );
    if span.is_disabled() {
        return span;
    }
    if let Some((host, port)) = &meter.server {
        span.record("server.address", &**host);
        span.record("server.port", port);
    }
    if matches!(op, StoreOp::GetMany | StoreOp::SetMany) {
        span.record("db.operation.batch.size", keys);
    }
    span
}

/// Records how `op` ended on its span: the keys a read found, or the error's kind.
pub(super) fn finish(span: &Span, op: StoreOp, found: Option<u64>, error: Option<&Error>) {
    if span.is_disabled() {
        return;
    }
    if let Some(error) = error {
        span.record("error.type", error_type(error));
        span.record("otel.status_code", "ERROR");
    } else if let Some(found) = found.filter(|_| matches!(op, StoreOp::Get | StoreOp::GetMany)) {
        span.record("db.response.returned_rows", found);
    }
}

/// An error's kind, as `error.type`: "timeout", "backend", ...
fn error_type(error: &Error) -> &'static str {
    use crate::ErrorKind;
    match error.kind() {
        ErrorKind::Timeout => "timeout",
        ErrorKind::Backend => "backend",
        ErrorKind::Codec => "codec",
        ErrorKind::Config => "config",
        ErrorKind::Closed => "closed",
        _ => "other",
    }
}
