//! One text per meaning for a tool's arguments: the part of a call's key that the arguments
//! make, so that two calls that mean the same thing hit the same entry.
//!
//! The rules, in full:
//! - **Objects** are written with their keys sorted by their UTF-8 bytes, so key order in the
//!   input never matters. A key appears once (JSON input with a repeated key keeps the last
//!   value, as `serde_json` does when it parses).
//! - **Arrays** keep their order: `[1, 2]` and `[2, 1]` are different arguments.
//! - **Whitespace** between tokens is not part of the text.
//! - **Strings** are written with `serde_json`'s escaping, so `"\u00e9"` and `"é"` in JSON
//!   input are one string. They are not Unicode-normalised: `"é"` (one code point) and `"é"`
//!   (`e` plus a combining accent) are different arguments, as they are to most tools.
//! - **Numbers** compare by value where JSON's forms differ only in spelling: `1`, `1.0`,
//!   `1e0` and `10e-1` are one argument, written `1`; `-0.0` is `0`. A float is written as an
//!   integer when it is one and lies within ±2⁵³ (where every integer is exact in an `f64`);
//!   any other float is written in the shortest form that reads back to the same `f64`
//!   (`1.5`, `1e+300`). Beyond ±2⁵³ the two kinds stay apart: the integer
//!   `9007199254740993` is exact and its own argument, while a float that large is written
//!   as a float (`1e16` as `1e16`, not as the integer `10000000000000000`): it may not be
//!   the integer its text spells.
//! - `true`, `false` and `null` are themselves; `null` is not the same as a missing key.
//! - JSON has no NaN or infinity: a typed argument holding one (an `f64` field) is written
//!   as `null`, as `serde_json` writes it, and so is the same argument as `null`. Keep such
//!   values out of a cached tool's arguments, or make them strings.

use std::io::Write as _;

use serde::Serialize;
use serde_json::{Number, Value};

use crate::{Error, ErrorKind};

/// 2⁵³: below it (in magnitude) every integer is exact in an `f64`.
const EXACT_INTEGERS: f64 = 9_007_199_254_740_992.0;

/// The canonical text of `args` (see the [module docs](crate::agent) for the rules).
///
/// # Errors
///
/// [`ErrorKind::Codec`] when `args` cannot be written as JSON: a map whose keys are not
/// strings, or a `Serialize` impl that fails.
///
/// # Examples
///
/// ```
/// use larder::agent::canonical_args;
/// use serde_json::json;
///
/// let a = canonical_args(&json!({"q": "rust", "limit": 10})).unwrap();
/// let b = canonical_args(&json!({ "limit": 10.0, "q": "rust" })).unwrap();
/// assert_eq!(a, b);
/// assert_eq!(a, r#"{"limit":10,"q":"rust"}"#);
/// ```
pub fn canonical_args<A: Serialize + ?Sized>(args: &A) -> Result<String, Error> {
    let value = serde_json::to_value(args).map_err(|e| {
        Error::new(
            ErrorKind::Codec,
            format!("a tool's arguments are not JSON: {e}"),
        )
    })?;
    let mut out = String::with_capacity(64);
    write_value(&value, &mut out);
    Ok(out)
}

/// Appends the canonical text of `value` to `out`.
pub(crate) fn write_value(value: &Value, out: &mut String) {
    let mut bytes = std::mem::take(out).into_bytes();
    write_bytes(value, &mut bytes);
    // Only UTF-8 is written (the input's strings, and JSON's ASCII), so this never takes
    // the fallback; it checks the bytes once per call.
    *out = String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
}

fn write_bytes(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => write_number(n, out),
        Value::String(s) => write_json(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_bytes(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            // serde_json's map keeps insertion order with `preserve_order`, sorted order
            // without it: sort here so that the text never depends on which.
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json(key.as_str(), out);
                out.push(b':');
                write_bytes(item, out);
            }
            out.push(b'}');
        }
    }
}

/// `value` as JSON (a string escaped as `serde_json` escapes it; a float in its shortest
/// round-trip form), written straight into `out`.
fn write_json<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) {
    // Writing a string or a finite float into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, value);
}

/// A number: an integer as itself; a float as the integer it equals (within ±2⁵³), else its
/// shortest round-trip form.
fn write_number(n: &Number, out: &mut Vec<u8>) {
    if let Some(i) = n.as_i64() {
        let _ = write!(out, "{i}");
    } else if let Some(u) = n.as_u64() {
        let _ = write!(out, "{u}");
    } else if let Some(f) = n.as_f64() {
        if f.fract() == 0.0 && f.abs() <= EXACT_INTEGERS {
            // Exact: |f| <= 2^53 fits an i64, and `as` is lossless for an integral value.
            #[allow(clippy::cast_possible_truncation)]
            let i = f as i64;
            let _ = write!(out, "{i}");
        } else {
            write_json(&f, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(v: Value) -> String {
        canonical_args(&v).unwrap()
    }

    #[test]
    fn key_order_and_whitespace_do_not_matter() {
        let a: Value = serde_json::from_str(r#"{"b": {"y": 1, "x": [1, 2]}, "a": null}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a":null,"b":{"x":[1,2],"y":1}}"#).unwrap();
        assert_eq!(text(a.clone()), text(b));
        assert_eq!(text(a), r#"{"a":null,"b":{"x":[1,2],"y":1}}"#);
    }

    #[test]
    fn nested_objects_inside_arrays_are_sorted_too() {
        let a = json!([{"b": 1, "a": 2}, {"d": [{"z": 0, "y": 0}]}]);
        assert_eq!(text(a), r#"[{"a":2,"b":1},{"d":[{"y":0,"z":0}]}]"#);
    }

    #[test]
    fn array_order_matters() {
        assert_ne!(text(json!([1, 2])), text(json!([2, 1])));
    }

    #[test]
    fn numbers_compare_by_value() {
        let forms = ["1", "1.0", "1e0", "10e-1", "0.1e1"];
        let texts: Vec<String> = forms
            .iter()
            .map(|f| text(serde_json::from_str(f).unwrap()))
            .collect();
        assert!(texts.iter().all(|t| t == "1"), "{texts:?}");
        assert_eq!(text(serde_json::from_str("-0.0").unwrap()), "0");
        assert_eq!(text(serde_json::from_str("1.5").unwrap()), "1.5");
        assert_eq!(text(serde_json::from_str("1e300").unwrap()), "1e+300");
        assert_eq!(text(serde_json::from_str("-2.50").unwrap()), "-2.5");
        // Beyond 2^53: integers stay exact, floats stay floats.
        assert_eq!(text(json!(9_007_199_254_740_993_u64)), "9007199254740993");
        let big_float = text(serde_json::from_str("1e16").unwrap());
        assert_ne!(big_float, "10000000000000000");
        assert_eq!(
            big_float,
            text(serde_json::from_str("10000000000000000.0").unwrap())
        );
        assert_eq!(text(json!(u64::MAX)), u64::MAX.to_string());
        assert_eq!(text(json!(i64::MIN)), i64::MIN.to_string());
        // A string of digits is not a number.
        assert_ne!(text(json!("1")), text(json!(1)));
    }

    #[test]
    fn unicode_escapes_are_one_string_but_forms_are_not_normalised() {
        let escaped: Value = serde_json::from_str(r#"{"q":"caf\u00e9 \ud83e\udd80"}"#).unwrap();
        let raw: Value = serde_json::from_str(r#"{"q":"café 🦀"}"#).unwrap();
        assert_eq!(text(escaped), text(raw.clone()));
        assert_eq!(text(raw), "{\"q\":\"café 🦀\"}");
        let decomposed = json!({"q": "cafe\u{301}"});
        assert_ne!(text(decomposed), text(json!({"q": "café"})));
        // Keys sort by their bytes, so non-ASCII keys have one order too.
        assert_eq!(
            text(json!({"é": 1, "z": 2, "a": 3})),
            "{\"a\":3,\"z\":2,\"é\":1}"
        );
        // Control characters are escaped, so the text never holds a raw newline.
        assert_eq!(text(json!("a\nb")), r#""a\nb""#);
    }

    #[test]
    fn null_is_not_a_missing_key() {
        assert_ne!(text(json!({"a": null})), text(json!({})));
    }

    #[test]
    fn any_serialize_value_works_and_bad_maps_are_typed_errors() {
        #[derive(Serialize)]
        struct Search<'a> {
            query: &'a str,
            limit: u32,
        }
        let typed = canonical_args(&Search {
            query: "q",
            limit: 3,
        })
        .unwrap();
        assert_eq!(typed, text(json!({"limit": 3, "query": "q"})));
        let mut bad = std::collections::HashMap::new();
        bad.insert((1, 2), 3);
        assert_eq!(canonical_args(&bad).unwrap_err().kind(), ErrorKind::Codec);
    }
}
