//! Reading a watch connection's push messages: Redis's invalidation messages become
//! [`Signal`]s for the sink, and the redis crate's own "disconnected" message becomes a loss.
//!
//! In RESP3, an invalidation is the push `["invalidate", [key, …]]`, and the redis crate hands
//! over the part after the kind: `[[key, …]]`. After `FLUSHALL` or `FLUSHDB` the list is a
//! null instead. Keys are full Redis keys: the namespace and its `:` are cut off, and a key
//! that does not start with them (which broadcast tracking with the namespace as prefix never
//! sends) or whose rest is not UTF-8 (no key of a store's methods can be that) is left out.

use redis::{PushInfo, PushKind, Value};

use super::outbox::Signal;

/// What one push message means for the watch.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Push {
    /// Tell the sink.
    Signal(Signal),
    /// The connection is gone (the redis crate's `Disconnection`).
    Lost,
    /// Nothing for the watch: another kind of push, or keys none of which is the store's.
    Ignored,
}

/// What `info` means, for a store whose keys start with `namespace` (the namespace and its
/// `:`).
pub(super) fn read(info: PushInfo, namespace: &[u8]) -> Push {
    match info.kind {
        PushKind::Invalidate => match info.data.into_iter().next() {
            Some(Value::Array(keys)) => {
                let keys: Vec<String> = keys
                    .into_iter()
                    .filter_map(|key| store_key(key, namespace))
                    .collect();
                if keys.is_empty() {
                    Push::Ignored
                } else {
                    Push::Signal(Signal::Keys(keys))
                }
            }
            Some(Value::Nil) => Push::Signal(Signal::All),
            _ => Push::Ignored,
        },
        PushKind::Disconnection => Push::Lost,
        _ => Push::Ignored,
    }
}

/// A full Redis key as the store's methods take it: without `namespace`.
fn store_key(key: Value, namespace: &[u8]) -> Option<String> {
    let bytes = match key {
        Value::BulkString(bytes) => bytes,
        Value::SimpleString(text) => text.into_bytes(),
        _ => return None,
    };
    let rest = bytes.strip_prefix(namespace)?;
    String::from_utf8(rest.to_vec()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalidate(data: Vec<Value>) -> PushInfo {
        PushInfo {
            kind: PushKind::Invalidate,
            data,
        }
    }

    fn bulk(s: &[u8]) -> Value {
        Value::BulkString(s.to_vec())
    }

    #[test]
    fn keys_lose_the_namespace_and_foreign_or_non_utf8_keys_are_left_out() {
        let info = invalidate(vec![Value::Array(vec![
            bulk(b"ns:v1:a"),
            bulk(b"other:v1:b"),
            bulk(b"ns:\xff"),
            Value::SimpleString("ns:c".into()),
            Value::Int(3),
        ])]);
        assert_eq!(
            read(info, b"ns:"),
            Push::Signal(Signal::Keys(vec!["v1:a".into(), "c".into()]))
        );
    }

    #[test]
    fn a_null_list_is_a_flush_and_nothing_of_ours_is_ignored() {
        assert_eq!(
            read(invalidate(vec![Value::Nil]), b"ns:"),
            Push::Signal(Signal::All)
        );
        let foreign = invalidate(vec![Value::Array(vec![bulk(b"nsx:a")])]);
        assert_eq!(read(foreign, b"ns:"), Push::Ignored);
        assert_eq!(read(invalidate(vec![]), b"ns:"), Push::Ignored);
        assert_eq!(read(invalidate(vec![Value::Int(1)]), b"ns:"), Push::Ignored);
    }

    #[test]
    fn a_disconnection_is_a_loss_and_other_pushes_are_ignored() {
        let lost = PushInfo {
            kind: PushKind::Disconnection,
            data: vec![],
        };
        assert_eq!(read(lost, b"ns:"), Push::Lost);
        let message = PushInfo {
            kind: PushKind::Message,
            data: vec![bulk(b"ch"), bulk(b"hi")],
        };
        assert_eq!(read(message, b"ns:"), Push::Ignored);
    }
}
