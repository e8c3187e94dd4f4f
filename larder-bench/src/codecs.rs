//! The `codecs` scenario: what a value costs to store and read back through each `Codec`
//! (`pack` then `unpack`: serde encoding plus larder's envelope, and lz4 above 1 KiB when
//! the feature is on), for a small record and a 4 KiB one.

use std::hint::black_box;
use std::time::Instant;

use larder::codec::{Codec, Json, MessagePack, Postcard};
use serde::{Deserialize, Serialize};

use crate::report::{Section, Table, fixed, median};

/// A typical cached record: a user row.
#[derive(Serialize, Deserialize, PartialEq, Debug, Clone)]
struct User {
    id: u64,
    name: String,
    email: String,
    active: bool,
    roles: Vec<String>,
    score: f64,
}

/// A larger value: a rendered page fragment, compressible like most text.
#[derive(Serialize, Deserialize, PartialEq, Debug, Clone)]
struct Page {
    path: String,
    body: String,
    etag: u64,
}

fn user() -> User {
    User {
        id: 42,
        name: "Ada Lovelace".into(),
        email: "ada@example.com".into(),
        active: true,
        roles: vec!["admin".into(), "analyst".into()],
        score: 97.5,
    }
}

fn page() -> Page {
    let body = "<li class=\"item\">larder caches what your service asks for twice</li>\n"
        .repeat(4096 / 70);
    Page {
        path: "/catalog/items?page=3".into(),
        body,
        etag: 0xDEAD_BEEF,
    }
}

const ROUNDS: usize = 200_000;
const REPS: usize = 5;

/// Median nanoseconds per `pack` + `unpack`, and the packed size.
fn measure<C: Codec, T>(codec: &C, value: &T, rounds: usize) -> (f64, usize)
where
    T: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug,
{
    let packed = codec.pack(value).expect("packs");
    let back: T = codec.unpack(&packed).expect("unpacks");
    assert_eq!(&back, value);
    let mut runs = Vec::with_capacity(REPS);
    for _ in 0..REPS {
        let start = Instant::now();
        for _ in 0..rounds {
            let bytes = codec.pack(black_box(value)).expect("packs");
            let back: T = codec.unpack(black_box(&bytes)).expect("unpacks");
            black_box(back);
        }
        runs.push(start.elapsed().as_nanos() as f64 / rounds as f64);
    }
    (median(runs), packed.len())
}

fn row<C: Codec, T>(table: &mut Table, name: &str, codec: &C, value: &T, rounds: usize)
where
    T: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug,
{
    let (ns, size) = measure(codec, value, rounds);
    table.row([name.to_string(), fixed(ns, 0), size.to_string()]);
}

pub(crate) fn run(command: &str) -> Section {
    let mut section = Section::new("codecs", "Codecs: a value's round trip", command);
    section.para(
        "`codec.pack(&value)` then `codec.unpack(&bytes)`: serde encoding, larder's 13-byte \
         envelope (format, version, codec, flags, write time) and, with the `lz4` feature, \
         compression of encodings above 1 KiB. Median of 5 runs; one thread.",
    );
    let (user, page) = (user(), page());
    let mut table = Table::new(["codec, value", "ns per round trip", "bytes stored"]);
    row(
        &mut table,
        "Postcard, user record",
        &Postcard,
        &user,
        ROUNDS,
    );
    row(
        &mut table,
        "MessagePack, user record",
        &MessagePack,
        &user,
        ROUNDS,
    );
    row(&mut table, "Json, user record", &Json, &user, ROUNDS);
    row(
        &mut table,
        "Postcard, 4 KiB page (lz4)",
        &Postcard,
        &page,
        ROUNDS / 10,
    );
    row(
        &mut table,
        "MessagePack, 4 KiB page (lz4)",
        &MessagePack,
        &page,
        ROUNDS / 10,
    );
    row(
        &mut table,
        "Json, 4 KiB page (lz4)",
        &Json,
        &page,
        ROUNDS / 10,
    );
    section.table(&table);
    section
}
