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

/// The process's peak virtual memory, in bytes (Linux's `VmPeak`): a 4 GiB allocation shows
/// in it even when its pages are never touched.
#[cfg(target_os = "linux")]
fn peak_virtual_memory() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmPeak:"))
        .expect("VmPeak");
    let kib: u64 = line
        .trim_start_matches("VmPeak:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .expect("a number of kB");
    kib * 1024
}

/// Defect 6: the lz4 size prefix was trusted. A 17-byte value (an envelope, the compressed
/// flag, a prefix claiming 4 GiB, nothing else) allocated 4 GiB on every read, and aborted
/// the process under an address-space limit. It is a `Codec` error, with no large
/// allocation.
#[cfg(feature = "lz4")]
#[test]
fn hostile_lz4_size_prefix_is_a_codec_error_without_allocating() {
    let mut hostile = Postcard.pack(&0u8).expect("encodes");
    hostile.truncate(13);
    hostile[2] = 1; // the first envelope version: 13 bytes of header
    hostile[4] = 1; // compressed
    hostile.extend_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(hostile.len(), 17);
    #[cfg(target_os = "linux")]
    let before = peak_virtual_memory();
    let err = Postcard.unpack::<Vec<u8>>(&hostile).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Codec);
    #[cfg(target_os = "linux")]
    {
        let grown = peak_virtual_memory().saturating_sub(before);
        assert!(grown < 1 << 30, "reading it reserved {grown} bytes");
    }
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct V1 {
    id: u64,
    name: String,
    admin: bool,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct V2 {
    id: u64,
    name: String,
}

fn v1() -> V1 {
    V1 {
        id: 7,
        name: "ada".into(),
        admin: true,
    }
}

/// Defect 12: postcard ignored trailing bytes, so a `V1 { id, name, admin }` read as a
/// `V2 { id, name }`, and `(1u8, 2u8)` as the `u16` 1. Bytes left over after the value are
/// a `Codec` error, for every codec.
#[test]
fn leftover_bytes_after_the_value_are_a_codec_error() {
    let old = Postcard.pack(&v1()).expect("encodes");
    assert_eq!(
        Postcard.unpack::<V2>(&old).map_err(|e| e.kind()),
        Err(ErrorKind::Codec),
        "a V1 read as a V2"
    );
    let pair = Postcard.pack(&(1u8, 2u8)).expect("encodes");
    assert_eq!(
        Postcard.unpack::<u16>(&pair).map_err(|e| e.kind()),
        Err(ErrorKind::Codec),
        "(1u8, 2u8) read as a u16"
    );
    assert_leftovers_refused(Postcard);
    #[cfg(feature = "json")]
    assert_leftovers_refused(larder::codec::Json);
    #[cfg(feature = "msgpack")]
    assert_leftovers_refused(larder::codec::MessagePack);
}

/// One value's encoding followed by another's is not a value of the first's type.
fn assert_leftovers_refused<C: Codec>(codec: C) {
    let mut bytes = codec.encode(&vec![1u8]).expect("encodes");
    bytes.extend(codec.encode(&vec![2u8]).expect("encodes"));
    assert_eq!(
        codec.decode::<Vec<u8>>(&bytes).map_err(|e| e.kind()),
        Err(ErrorKind::Codec),
        "{}",
        C::NAME
    );
}

/// Defect 12: the envelope carried no type identity. A schema tag, written into the envelope
/// and checked on read, tells a changed type even where the format cannot (JSON and
/// MessagePack skip unknown fields, so a `V1` would read as a `V2`).
#[test]
fn a_schema_tag_mismatch_is_a_codec_error() {
    use larder::codec::Envelope;
    let (one, two) = (Envelope::new().schema(1), Envelope::new().schema(2));
    fn check<C: Codec>(codec: C, one: &Envelope, two: &Envelope) {
        let bytes = codec.pack_with(&v1(), one).expect("encodes");
        assert_eq!(codec.unpack_with::<V1>(&bytes, one).expect("decodes"), v1());
        for (reader, what) in [(two, "another schema"), (&Envelope::new(), "no schema")] {
            let err = codec.unpack_with::<V2>(&bytes, reader).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Codec, "{} read with {what}", C::NAME);
        }
        // An untagged value is not read by a tagged reader either.
        let untagged = codec.pack(&v1()).expect("encodes");
        let err = codec.unpack_with::<V1>(&untagged, one).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Codec, "{}", C::NAME);
    }
    check(Postcard, &one, &two);
    #[cfg(feature = "json")]
    check(larder::codec::Json, &one, &two);
    #[cfg(feature = "msgpack")]
    check(larder::codec::MessagePack, &one, &two);
}

/// Values written before the schema tag (envelope version 1, a 13-byte header) still read.
#[test]
fn first_version_envelopes_still_read() {
    let mut old = b"LD\x01\x01\x00".to_vec();
    old.extend_from_slice(&1_700_000_000_000u64.to_le_bytes());
    old.extend(Postcard.encode(&ada()).expect("encodes"));
    assert_eq!(Postcard.unpack::<User>(&old).expect("decodes"), ada());
}

/// The cap on decompressed sizes is a setting, and a legitimately well compressed value
/// (1 MiB of zeros, near lz4's best ratio) stays within the ratio bound.
#[cfg(feature = "lz4")]
#[test]
fn the_decompressed_size_cap_is_a_setting() {
    use larder::codec::Envelope;
    let zeros = vec![0u8; 1 << 20];
    let bytes = Postcard.pack(&zeros).expect("encodes");
    assert_eq!(Postcard.unpack::<Vec<u8>>(&bytes).expect("decodes"), zeros);
    let small = Envelope::new().max_decompressed_len(1 << 10);
    let err = Postcard.unpack_with::<Vec<u8>>(&bytes, &small).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Codec);
}
