//! The `memory` scenario: bytes each cache allocates per entry beyond the 16 bytes of a `u64`
//! key and a `u64` value, read from the counting global allocator (live bytes).

use crate::peers::{Bench, Kind, Visit, dispatch};
use crate::report::{Section, Table, fixed, thousands};
use crate::workload::mix;

/// The caches of this scenario, in row order.
const KINDS: [Kind; 6] = Kind::HEAD_TO_HEAD;

/// Bytes of a key plus a value.
const PAYLOAD: f64 = 16.0;

/// The most overhead per entry that larder aims for.
const TARGET: f64 = 32.0;

/// Live bytes allocated by the whole process.
fn allocated() -> usize {
    crate::ALLOCATOR.allocated()
}

/// Fills a cache of capacity `n` with `n` entries; returns the bytes it holds and its length.
struct Fill {
    n: u64,
}

impl Visit for Fill {
    type Output = (i64, u64, &'static str);

    fn visit<B: Bench>(self, kind: Kind) -> (i64, u64, &'static str) {
        let before = allocated();
        let cache = B::build(kind, self.n);
        for i in 0..self.n {
            cache.insert(mix(i), i);
        }
        let len = cache.len(); // brings moka and mini-moka up to date first
        let after = allocated();
        let name = cache.name();
        drop(cache);
        (after as i64 - before as i64, len, name)
    }
}

/// Runs the scenario and returns its report section.
pub(crate) fn run(sizes: &[u64], command: &str) -> Section {
    let mut header = vec!["cache".to_string()];
    for &n in sizes {
        header.push(format!("overhead B/entry @ {}", thousands(n)));
        header.push(format!("held @ {}", thousands(n)));
        header.push(format!("B/held entry − 16 @ {}", thousands(n)));
    }
    let mut table = Table::new(header);
    let mut larder_worst = f64::NEG_INFINITY;
    for kind in KINDS {
        let mut row = vec![kind.name().to_string()];
        for &n in sizes {
            let (bytes, len, name) = dispatch(kind, Fill { n });
            let per_entry = bytes as f64 / n as f64 - PAYLOAD;
            let per_held = bytes as f64 / len.max(1) as f64 - PAYLOAD;
            eprintln!(
                "memory: {name:<14} n={n:>9}: {bytes} bytes, {len} held, {per_entry:.1} B/entry overhead"
            );
            if kind == Kind::S3FIFO {
                larder_worst = larder_worst.max(per_entry);
            }
            row.push(fixed(per_entry, 1));
            row.push(thousands(len));
            row.push(fixed(per_held, 1));
        }
        table.row(row);
    }
    let mut section = Section::new("memory", "Memory overhead per entry (u64 -> u64)", command);
    section.para(
        "For each cache and N: the live bytes the process allocated from just before building a \
         cache of capacity N to just after inserting N distinct keys (after moka's \
         `run_pending_tasks` / mini-moka's `sync`), divided by N, minus the 16 bytes of key and \
         value. A counting `#[global_allocator]` (the `cap` crate wrapping \
         `std::alloc::System`) reads the bytes; allocator size-class rounding and headers are \
         not included. \"held\" is the entry count afterwards (a cache may have evicted part \
         of the fill); the last column divides by it instead of N.",
    );
    section.table(&table);
    section.para(format!(
        "**Target: at most {TARGET} bytes of overhead per entry (S3-FIFO): {} (worst {} B).**",
        if larder_worst <= TARGET {
            "met"
        } else {
            "not met"
        },
        fixed(larder_worst, 1)
    ));
    section
}
