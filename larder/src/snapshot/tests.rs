//! The format's invariants: a header reads back as written, any single bit flipped anywhere
//! in a file is refused, and records round-trip with their TTLs.

use std::time::Duration;

use super::format::{BodyHasher, HEADER_LEN, Header, Record, decode, encode_record};
use crate::ErrorKind;

/// A whole snapshot file of `records`, saved at `saved_at`.
fn file_of(records: &[Record<u32, String>], saved_at: Duration) -> Vec<u8> {
    let mut body = Vec::new();
    for (key, value, remaining) in records {
        encode_record(&mut body, key, value, *remaining).unwrap();
    }
    let mut checksum = BodyHasher::new();
    checksum.update(&body);
    let header = Header {
        saved_at,
        entries: records.len() as u64,
        body_len: body.len() as u64,
        body_checksum: checksum.digest(),
    };
    let mut file = header.to_bytes().to_vec();
    file.extend_from_slice(&body);
    file
}

fn records() -> Vec<Record<u32, String>> {
    vec![
        (1, "one".to_string(), Some(1_500_000_000)),
        (2, String::new(), None),
        (u32::MAX, "ü".repeat(300), Some(u64::MAX - 1)),
    ]
}

#[test]
fn records_read_back_with_their_ttls_and_the_save_time() {
    let saved_at = Duration::new(1_700_000_000, 123_456_789);
    let file = file_of(&records(), saved_at);
    let (header, read) = decode::<u32, String>(&file).unwrap();
    assert_eq!(header.saved_at, saved_at);
    assert_eq!(header.entries, 3);
    assert_eq!(header.body_len as usize, file.len() - HEADER_LEN);
    assert_eq!(read, records());
}

#[test]
fn an_empty_snapshot_is_just_a_header() {
    let file = file_of(&[], Duration::ZERO);
    assert_eq!(file.len(), HEADER_LEN);
    let (header, read) = decode::<u32, String>(&file).unwrap();
    assert_eq!((header.entries, read.len()), (0, 0));
}

#[test]
fn every_single_bit_flip_is_refused() {
    let file = file_of(&records(), Duration::from_secs(1_700_000_000));
    for byte in 0..file.len() {
        for bit in 0..8 {
            let mut bad = file.clone();
            bad[byte] ^= 1 << bit;
            let err = decode::<u32, String>(&bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Codec, "byte {byte} bit {bit}: {err}");
        }
    }
}

#[test]
fn a_count_that_disagrees_with_the_body_is_refused() {
    let mut body = Vec::new();
    encode_record(&mut body, &1u32, &"a".to_string(), None).unwrap();
    let mut checksum = BodyHasher::new();
    checksum.update(&body);
    for (entries, says) in [(2, "does not decode"), (0, "4 bytes after its 0 records")] {
        let header = Header {
            saved_at: Duration::ZERO,
            entries,
            body_len: body.len() as u64,
            body_checksum: checksum.digest(),
        };
        let mut file = header.to_bytes().to_vec();
        file.extend_from_slice(&body);
        let err = decode::<u32, String>(&file).unwrap_err();
        assert!(err.to_string().contains(says), "{err}");
    }
}

#[test]
fn errors_never_quote_the_file() {
    let file = b"\x89LDSNAP\nsecret-token-in-a-file-that-is-too-short";
    let err = decode::<u32, String>(file).unwrap_err();
    assert!(!err.to_string().contains("secret"), "{err}");
    assert!(!format!("{err:?}").contains("secret"), "{err:?}");
}
