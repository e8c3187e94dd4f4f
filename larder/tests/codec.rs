//! Codecs and their envelope: every codec round-trips, and bytes a codec did not write (a
//! foreign value, another codec's, a newer larder's, a corrupt one) are a `Codec` error,
//! never a panic or a wrong value.
#![cfg(feature = "codec")]

use larder::codec::{Codec, Postcard};
use larder::store::{MemoryStore, Store, TypedStore};
use larder::{ErrorKind, Ttl};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct User {
    id: u64,
    name: String,
    tags: Vec<String>,
}

fn ada() -> User {
    User {
        id: 42,
        name: "Ada".into(),
        tags: vec!["admin".into()],
    }
}

fn round_trips<C: Codec>(codec: C) {
    let bytes = codec.pack(&ada()).expect("encodes");
    assert_eq!(codec.unpack::<User>(&bytes).expect("decodes"), ada());
    let big = vec![7u8; 100_000];
    let bytes = codec.pack(&big).expect("encodes");
    assert_eq!(codec.unpack::<Vec<u8>>(&bytes).expect("decodes"), big);
}

#[test]
fn postcard_round_trips() {
    round_trips(Postcard);
}

#[cfg(feature = "json")]
#[test]
fn json_round_trips() {
    round_trips(larder::codec::Json);
}

#[cfg(feature = "msgpack")]
#[test]
fn msgpack_round_trips() {
    round_trips(larder::codec::MessagePack);
}

#[test]
fn bytes_it_did_not_write_are_codec_errors() {
    let good = Postcard.pack(&ada()).expect("encodes");
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("foreign", b"{\"id\":42}".to_vec()),
        ("truncated header", good[..5].to_vec()),
        ("truncated body", good[..good.len() - 3].to_vec()),
    ];
    let mut newer = good.clone();
    newer[2] = 9;
    cases.push(("newer envelope", newer));
    let mut other_codec = good.clone();
    other_codec[3] = 2;
    cases.push(("another codec", other_codec));
    let mut compressed_garbage = good;
    compressed_garbage[4] = 1;
    cases.push(("bad compression", compressed_garbage));
    for (what, bytes) in cases {
        let err = Postcard.unpack::<User>(&bytes).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Codec, "{what}");
    }
    // A value of another type is not misread as this one.
    let number = Postcard.pack(&u8::MAX).expect("encodes");
    assert_eq!(
        Postcard.unpack::<User>(&number).unwrap_err().kind(),
        ErrorKind::Codec
    );
}

#[cfg(feature = "lz4")]
#[test]
fn large_values_are_compressed() {
    let big = vec![0u8; 100_000];
    let bytes = Postcard.pack(&big).expect("encodes");
    assert!(bytes.len() < 10_000, "{} bytes", bytes.len());
    assert_eq!(bytes[4] & 1, 1, "the compressed flag");
}

#[tokio::test]
async fn a_typed_store_keeps_values() {
    let users = TypedStore::new(MemoryStore::new("users"));
    users.set("42", &ada(), Ttl::Never).await.expect("set");
    assert_eq!(users.get::<User>("42").await.expect("get"), Some(ada()));
    assert_eq!(users.get::<User>("7").await.expect("get"), None);
    // Bytes written around the typed layer are reported, not misread.
    users
        .store()
        .set("raw", b"not an envelope", Ttl::Never)
        .await
        .expect("set");
    let err = users.get::<User>("raw").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Codec);
}
