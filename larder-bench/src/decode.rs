//! Trace decoders for the formats in shared/traces/README.md, each turning a file into one
//! `u64` key per cache request.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

/// How a trace file is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// ARC `.lis` text, zstd-compressed: `start_block n_blocks ignore request_no` per line,
    /// standing for `n_blocks` requests, one per block `start_block..start_block + n_blocks`.
    ArcZstd,
    /// LIRS text, gzip-compressed: one integer key per line; `*` lines are markers, skipped.
    LirsGzip,
    /// cache2k: a stream of big-endian `i32` keys, xz-compressed.
    BigEndianI32Xz,
}

/// Decodes the trace at `path`.
pub(crate) fn decode(path: &Path, format: Format) -> io::Result<Vec<u64>> {
    let file = BufReader::new(File::open(path)?);
    match format {
        Format::ArcZstd => arc(BufReader::new(zstd::Decoder::with_buffer(file)?)),
        Format::LirsGzip => lirs(BufReader::new(flate2::bufread::MultiGzDecoder::new(file))),
        Format::BigEndianI32Xz => big_endian_i32(xz2::bufread::XzDecoder::new(file)),
    }
}

fn invalid(line: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("unexpected trace line {line:?}"),
    )
}

fn arc(reader: impl BufRead) -> io::Result<Vec<u64>> {
    let mut keys = Vec::new();
    for line in reader.lines() {
        let line = line?;
        let mut fields = line.split_ascii_whitespace();
        let (Some(start), Some(count)) = (fields.next(), fields.next()) else {
            if line.trim().is_empty() {
                continue;
            }
            return Err(invalid(&line));
        };
        let start: u64 = start.parse().map_err(|_| invalid(&line))?;
        let count: u64 = count.parse().map_err(|_| invalid(&line))?;
        keys.extend(start..start + count);
    }
    Ok(keys)
}

fn lirs(reader: impl BufRead) -> io::Result<Vec<u64>> {
    let mut keys = Vec::new();
    for line in reader.lines() {
        let line = line?;
        let line = line.trim();
        if line.is_empty() || line == "*" {
            continue;
        }
        let key: i64 = line.parse().map_err(|_| invalid(line))?;
        keys.push(key as u64);
    }
    Ok(keys)
}

fn big_endian_i32(mut reader: impl Read) -> io::Result<Vec<u64>> {
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes)?;
    Ok(bytes
        .chunks_exact(4)
        .map(|b| i64::from(i32::from_be_bytes([b[0], b[1], b[2], b[3]])) as u64)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arc_lines_expand_to_block_ranges() {
        let text = "230027 3 0 0\n7 1 0 1\n\n";
        assert_eq!(
            arc(text.as_bytes()).unwrap(),
            vec![230_027, 230_028, 230_029, 7]
        );
        assert!(arc("x 1 0 0\n".as_bytes()).is_err());
    }

    #[test]
    fn lirs_skips_markers() {
        assert_eq!(lirs("5\n*\n 6 \n\n5\n".as_bytes()).unwrap(), vec![5, 6, 5]);
    }

    #[test]
    fn cache2k_reads_big_endian_i32() {
        let bytes = [0, 0, 1, 0, 0xFF, 0xFF, 0xFF, 0xFF, 9];
        assert_eq!(
            big_endian_i32(&bytes[..]).unwrap(),
            vec![256, (-1i64) as u64]
        );
    }
}
