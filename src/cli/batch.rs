//! Batch files (`-b FILE`, `-b -`; spec 2.7): logical lines and their
//! words, as iproute2 6.1 splits them. `#` cuts the rest of a line, a
//! trailing backslash joins the next line, words split on blanks, and a word
//! that starts with a quote runs to the matching quote (no escapes).

use std::io::BufRead;

/// Why a batch stops early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchError {
    /// `Unterminated quoted string`: ends the batch with status 1.
    Unterminated,
}

/// Reads logical lines from a batch file.
pub struct Reader<R> {
    input: R,
    lineno: usize,
    done: bool,
    /// The input ended right after a continuation backslash (iproute2
    /// says "Missing continuation line" and ends the batch).
    pub missing_continuation: bool,
}

impl<R: BufRead> Reader<R> {
    pub fn new(input: R) -> Self {
        Reader {
            input,
            lineno: 0,
            done: false,
            missing_continuation: false,
        }
    }

    /// The next logical line (`None` at the end), with the comment cut and
    /// continuations joined. An empty line is returned with no words.
    pub fn next_line(&mut self) -> Option<(usize, Vec<u8>)> {
        if self.done {
            return None;
        }
        let mut logical = Vec::new();
        loop {
            let mut buf = Vec::new();
            match self.input.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => {
                    self.done = true;
                    if logical.is_empty() {
                        return None;
                    }
                    self.missing_continuation = true;
                    return None;
                }
                Ok(_) => {}
            }
            self.lineno += 1;
            if buf.last() == Some(&b'\n') {
                buf.pop();
            }
            // 6.1 handles each line as a C string: a NUL byte ends it
            // (tests/hardening_inputs.rs).
            if let Some(i) = buf.iter().position(|&b| b == 0) {
                buf.truncate(i);
            }
            if let Some(i) = buf.iter().position(|&b| b == b'#') {
                buf.truncate(i);
            }
            if buf.last() == Some(&b'\\') {
                buf.pop();
                logical.extend_from_slice(&buf);
                continue;
            }
            logical.extend_from_slice(&buf);
            return Some((self.lineno, logical));
        }
    }
}

/// Splits a logical line into words.
pub fn split_words(line: &[u8]) -> Result<Vec<Vec<u8>>, BatchError> {
    let blank = |b: u8| b == b' ' || b == b'\t' || b == b'\r' || b == b'\n';
    let mut words = Vec::new();
    let mut i = 0;
    while i < line.len() {
        if blank(line[i]) {
            i += 1;
            continue;
        }
        let q = line[i];
        if q == b'"' || q == b'\'' {
            let start = i + 1;
            let end = line[start..]
                .iter()
                .position(|&b| b == q)
                .ok_or(BatchError::Unterminated)?;
            words.push(line[start..start + end].to_vec());
            i = start + end + 1;
        } else {
            let start = i;
            while i < line.len() && !blank(line[i]) {
                i += 1;
            }
            words.push(line[start..i].to_vec());
        }
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        split_words(s.as_bytes())
            .unwrap()
            .into_iter()
            .map(|v| String::from_utf8(v).unwrap())
            .collect()
    }

    #[test]
    fn quotes_only_open_at_word_start() {
        assert_eq!(w("netns add a\"b c\"d"), ["netns", "add", "a\"b", "c\"d"]);
        assert_eq!(w("netns add \"b c\""), ["netns", "add", "b c"]);
        assert_eq!(w("netns add 'a\\'b'"), ["netns", "add", "a\\", "b'"]);
        assert_eq!(w("netns add \"\""), ["netns", "add", ""]);
        assert_eq!(w("  netns \t add\tx "), ["netns", "add", "x"]);
        assert_eq!(split_words(b"netns add \"x"), Err(BatchError::Unterminated));
    }

    #[test]
    fn comments_and_continuations() {
        let text = b"netns add x#y\n# c\nnetns add d\\\n e\n\nlast";
        let mut r = Reader::new(&text[..]);
        assert_eq!(r.next_line(), Some((1, b"netns add x".to_vec())));
        assert_eq!(r.next_line(), Some((2, b"".to_vec())));
        assert_eq!(r.next_line(), Some((4, b"netns add d e".to_vec())));
        assert_eq!(r.next_line(), Some((5, b"".to_vec())));
        assert_eq!(r.next_line(), Some((6, b"last".to_vec())));
        assert_eq!(r.next_line(), None);
    }

    #[test]
    fn a_nul_byte_ends_the_line() {
        let text = b"netns add a\0b\n\0\0\nlast\0\\\nnext";
        let mut r = Reader::new(&text[..]);
        assert_eq!(r.next_line(), Some((1, b"netns add a".to_vec())));
        assert_eq!(r.next_line(), Some((2, b"".to_vec())));
        assert_eq!(r.next_line(), Some((3, b"last".to_vec())));
        assert_eq!(r.next_line(), Some((4, b"next".to_vec())));
    }
}
