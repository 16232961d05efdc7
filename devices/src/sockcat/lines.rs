//! Lines to messages and back.
//!
//! - A line is the bytes up to `\n`, with the `\n` and then one `\r` before it removed; a last
//!   line without `\n` counts too. Nothing is decoded: any bytes other than `\n` and TAB pass.
//! - The frames of a message are separated by one TAB: `a\tb` is two frames, an empty line is
//!   one empty frame, and `\t` alone is two empty frames.
//! - Output is the frames joined by TAB plus `\n`, written as raw bytes. A frame that contains
//!   TAB or `\n` itself cannot be told apart from a frame boundary or message boundary: that is
//!   the one lossy case.

use std::io::{self, BufRead, Write};

/// Separates frames within a line.
pub const FRAME_SEP: u8 = b'\t';

/// Splits a line (without its end-of-line) into the frames of one message.
pub fn split_frames(line: &[u8]) -> Vec<Vec<u8>> {
    line.split(|b| *b == FRAME_SEP).map(<[u8]>::to_vec).collect()
}

/// Writes a message as one line: frames joined by TAB, then `\n`, then flushes.
pub fn write_message<W: Write + ?Sized, T: AsRef<[u8]>>(out: &mut W, frames: &[T]) -> io::Result<()> {
    for (i, frame) in frames.iter().enumerate() {
        if i > 0 {
            out.write_all(&[FRAME_SEP])?;
        }
        out.write_all(frame.as_ref())?;
    }
    out.write_all(b"\n")?;
    out.flush()
}

/// Removes a trailing `\n`, then a trailing `\r`.
pub fn strip_eol(line: &mut Vec<u8>) {
    if line.last() == Some(&b'\n') {
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
    }
}

/// The lines of a byte stream, end-of-line stripped ([`strip_eol`]), as raw bytes.
pub struct Lines<R> {
    input: R,
}

impl<R: BufRead> Lines<R> {
    /// Reads lines from `input`.
    pub fn new(input: R) -> Lines<R> {
        Lines { input }
    }
}

impl<R: BufRead> Iterator for Lines<R> {
    type Item = io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<io::Result<Vec<u8>>> {
        let mut line = Vec::new();
        loop {
            match self.input.read_until(b'\n', &mut line) {
                Ok(0) if line.is_empty() => return None,
                Ok(_) => {
                    strip_eol(&mut line);
                    return Some(Ok(line));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8]) -> Vec<Vec<u8>> {
        Lines::new(input).map(Result::unwrap).collect()
    }

    #[test]
    fn lines_strip_lf_and_crlf_and_keep_a_last_partial_line() {
        assert_eq!(
            lines(b"one\r\ntwo\n\nlast"),
            vec![b"one".to_vec(), b"two".to_vec(), vec![], b"last".to_vec()]
        );
        assert!(lines(b"").is_empty());
        assert_eq!(lines(b"a\r\r\n"), vec![b"a\r".to_vec()]);
        assert_eq!(lines(b"\xff\x00\n"), vec![b"\xff\x00".to_vec()]);
    }

    #[test]
    fn frames_split_on_every_tab() {
        assert_eq!(split_frames(b"a\tb"), vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(split_frames(b""), vec![Vec::<u8>::new()]);
        assert_eq!(split_frames(b"\t"), vec![Vec::<u8>::new(), vec![]]);
        assert_eq!(split_frames(b"x"), vec![b"x".to_vec()]);
    }

    #[test]
    fn messages_print_as_tab_joined_lines() {
        let mut out = Vec::new();
        write_message(&mut out, &[b"a".to_vec(), b"b".to_vec()]).unwrap();
        write_message(&mut out, &[b"\xffraw"]).unwrap();
        write_message::<_, &[u8]>(&mut out, &[b""]).unwrap();
        assert_eq!(out, b"a\tb\n\xffraw\n\n");
    }

    #[test]
    fn a_line_round_trips_through_frames() {
        for line in [&b"a\tb\tc"[..], b"", b"\t\t", b"plain text"] {
            let mut out = Vec::new();
            write_message(&mut out, &split_frames(line)).unwrap();
            assert_eq!(lines(&out), vec![line.to_vec()]);
        }
    }
}
