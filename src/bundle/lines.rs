//! Reading `entries.jsonl` (`schema/FORMAT.md` §16.2): line by line, hashing every byte,
//! on a thread of its own, in chunks for the passes that check the lines.

use std::fs::File;
use std::io::{BufRead as _, BufReader, Read as _};
use std::path::Path;
use std::sync::mpsc;

use super::CHUNK;
use super::findings::Findings;
use super::format::ENTRIES;
use crate::crypto::Hasher;
use crate::error::{Error, Result};
use crate::format::merkle::Hash;

/// Longest line of `entries.jsonl` read (an entry text is at most 512 bytes; a payload with
/// a long note and many fields a few kB; a proof at most 64 hashes).
pub(super) const MAX_LINE: usize = 16 << 20;

/// Lines of `entries.jsonl`: line number, byte offset of the line in the file, and bytes
/// (without the LF).
pub(super) type RawChunk = Vec<(u64, u64, Vec<u8>)>;

/// Read `entries.jsonl` line by line, hashing every byte, and send the lines in chunks.
/// Returns the file's SHA-256 and the number of lines.
fn read_lines(
    path: &Path,
    tx: &mpsc::SyncSender<RawChunk>,
    out: &mut Findings,
) -> Result<(Hash, u64)> {
    let f = File::open(path).map_err(|e| Error::io(path, &e))?;
    let mut r = BufReader::with_capacity(1 << 20, f);
    let mut h = Hasher::default();
    let mut no = 0u64;
    let mut offset = 0u64;
    let mut chunk: RawChunk = Vec::with_capacity(CHUNK);
    let limit = MAX_LINE as u64 + 1;
    loop {
        let mut buf = Vec::new();
        let n = (&mut r)
            .take(limit)
            .read_until(b'\n', &mut buf)
            .map_err(|e| Error::io(path, &e))?;
        if n == 0 {
            break;
        }
        h.update(&buf);
        no += 1;
        let at = offset;
        offset += n as u64;
        if buf.last() == Some(&b'\n') {
            buf.pop();
            if buf.is_empty() {
                out.file(ENTRIES, Some(no), "format", "empty line");
                continue;
            }
        } else if buf.len() > MAX_LINE {
            out.file(
                ENTRIES,
                Some(no),
                "format",
                format!("line longer than {MAX_LINE} bytes"),
            );
            // Skip the rest of the line.
            loop {
                let mut rest = Vec::new();
                let k = (&mut r)
                    .take(limit)
                    .read_until(b'\n', &mut rest)
                    .map_err(|e| Error::io(path, &e))?;
                h.update(&rest);
                offset += k as u64;
                if k == 0 || rest.last() == Some(&b'\n') {
                    break;
                }
            }
            continue;
        } else {
            out.file(
                ENTRIES,
                Some(no),
                "format",
                "the last line does not end in a newline (cut short?)",
            );
        }
        chunk.push((no, at, buf));
        if chunk.len() == CHUNK {
            if tx.send(std::mem::take(&mut chunk)).is_err() {
                break;
            }
            chunk.reserve(CHUNK);
        }
    }
    if !chunk.is_empty() {
        let _ = tx.send(chunk);
    }
    Ok((h.finish(), no))
}

/// Run `consume` on the chunks of `entries.jsonl` while another thread reads and hashes
/// them.
pub(super) fn stream_lines<T>(
    path: &Path,
    out: &mut Findings,
    consume: impl FnOnce(mpsc::Receiver<RawChunk>, &mut Findings) -> Result<T>,
) -> Result<(T, Hash, u64)> {
    let (tx, rx) = mpsc::sync_channel::<RawChunk>(2);
    let mut read_findings = Findings::default();
    let (res, read) = std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let tx = tx;
            read_lines(path, &tx, &mut read_findings)
        });
        let res = consume(rx, out);
        let read = reader.join().unwrap_or_else(|_| {
            Err(Error::new(
                "internal error: the bundle reader thread failed",
            ))
        });
        (res, read)
    });
    let (hash, lines) = read?;
    let v = res?;
    out.0.extend(read_findings.0);
    Ok((v, hash, lines))
}
