//! `increment` on memcached: signed decimal counters, as the other stores keep them, whose TTL
//! an increment leaves alone.
//!
//! Memcached's own arithmetic (`ma`) is atomic and keeps the item's TTL, but it knows only
//! unsigned numbers (it wraps past 2^64 and stops a decrement at 0). So:
//!
//! - adding `by >= 0` to a counter that is not negative is one `ma`. A sum past `i64::MAX` is
//!   taken back (by adding the two's complement, which wraps to the value before) and fails;
//! - anything else (a decrement, a negative counter, a value that is not a number) reads the
//!   counter with its CAS token and writes the sum back only if nothing changed meanwhile,
//!   again on a lost race. A write has to give the TTL anew: it gives the seconds left as
//!   read, so a write that spans a tick of the server's clock keeps the counter up to a
//!   second longer;
//! - a missing counter is created (`add`, only if still missing) with the store's default
//!   TTL.
//!
//! Compare-and-set alone would not do: under steady load some write spans nearly every tick,
//! and a counter with a TTL (a rate limit's window) would never expire.
//!
//! An overflowing `ma` and its take-back are two commands, and between them the counter is
//! past `i64::MAX`. The caller going away there (its timeout, or its future dropped, as
//! early as right after the first command is sent) must not leave it so: later increments
//! would find no counter, only a number past i64. So `ops.rs` runs each increment in a task
//! that the caller awaits but cannot cancel once it has its connection. The other way, a
//! read first and a conditional `ma` (`C<cas>`) that never writes an overflow, was not
//! taken: it turns every increment of a hot counter into a compare-and-set loop, where
//! concurrent callers lose rounds to each other and can fail after 64; one `ma` never
//! loses. What is left: a server or network failure between the two commands (the answer to
//! the first lost, or the take-back unsent) can still leave the counter past `i64::MAX`,
//! which then reads as not a counter until it is set again.

use super::pool::Conn;
use super::ttl;
use super::wire::Sum;
use crate::error::{Error, ErrorKind};
use crate::store::parse_counter;

/// How many rounds (a lost compare-and-set, or a counter created meanwhile) an `increment`
/// tries before giving up.
const MAX_ATTEMPTS: usize = 64;

/// What one round made of the counter.
enum Step {
    /// Its new value.
    Added(i64),
    /// There is no such key.
    Missing,
    /// It changed between the read and the write: try again.
    Raced,
}

/// Adds `by` to the counter at `key` (created with the exptime flag `create`, or, with none,
/// counted as created and expired at once); the new value.
pub(super) async fn increment(
    conn: &mut Conn<'_>,
    key: &str,
    by: i64,
    create: Option<&str>,
) -> Result<i64, Error> {
    for _ in 0..MAX_ATTEMPTS {
        match step(conn, key, by).await? {
            Step::Added(value) => return Ok(value),
            Step::Missing => {
                let Some(flag) = create else {
                    return Ok(by); // the default TTL is zero: created expired
                };
                if conn.add(key, by.to_string().as_bytes(), flag).await? {
                    return Ok(by);
                }
                // Created meanwhile: add to it.
            }
            Step::Raced => {}
        }
    }
    Err(Error::new(
        ErrorKind::Backend,
        format!("a counter changed under each of {MAX_ATTEMPTS} attempts to add to it"),
    ))
}

/// One round: memcached's arithmetic when it gives the signed answer, else compare-and-set.
async fn step(conn: &mut Conn<'_>, key: &str, by: i64) -> Result<Step, Error> {
    if let Ok(up) = u64::try_from(by) {
        match conn.add_to(key, up).await? {
            Sum::Value(sum) => return added(conn, key, up, sum).await,
            Sum::Missing => return Ok(Step::Missing),
            Sum::NotUnsigned => {} // negative, or not a number
        }
    }
    compare_and_add(conn, key, by).await
}

/// The counter after memcached added `up` and made it `sum`: past `i64::MAX`, the addition
/// is taken back and fails.
async fn added(conn: &mut Conn<'_>, key: &str, up: u64, sum: u64) -> Result<Step, Error> {
    let before = sum.wrapping_sub(up);
    let error = match (i64::try_from(before), i64::try_from(sum)) {
        (Ok(_), Ok(value)) => return Ok(Step::Added(value)),
        (Ok(_), Err(_)) => overflow(),
        // It held a number past i64 (not written as a counter here), or wrapped past 2^64.
        (Err(_), _) => not_a_counter(),
    };
    if up > 0 {
        // Adding 2^64 - up wraps to the value before. Gone or replaced meanwhile: nothing to
        // take back.
        conn.add_to(key, up.wrapping_neg()).await?;
    }
    Err(error)
}

/// Reads the counter and its CAS token, and writes the sum back if it did not change.
async fn compare_and_add(conn: &mut Conn<'_>, key: &str, by: i64) -> Result<Step, Error> {
    let Some(counter) = conn.counter(key).await? else {
        return Ok(Step::Missing);
    };
    let next = parse_counter(&counter.value)?
        .checked_add(by)
        .ok_or_else(overflow)?;
    if counter.cas == 0 {
        // Every compare-and-set would fail: say why, rather than lose 64 races.
        return Err(Error::new(
            ErrorKind::Backend,
            format!(
                "Memcached at {} runs without compare-and-set (-C): its counters can only \
                 count up from 0",
                conn.address()
            ),
        ));
    }
    let keep = format!("T{}", ttl::remaining(counter.ttl_left, ttl::now()));
    let written = conn
        .compare_and_set(key, next.to_string().as_bytes(), &keep, counter.cas)
        .await?;
    Ok(if written {
        Step::Added(next)
    } else {
        Step::Raced
    })
}

fn overflow() -> Error {
    Error::new(ErrorKind::Codec, "the counter would overflow")
}

fn not_a_counter() -> Error {
    Error::new(
        ErrorKind::Codec,
        "the value is not an integer counter (decimal ASCII)",
    )
}
