//! Printers: iproute2-shaped JSON, and a buffered stdout that behaves like
//! glibc's stdio (full buffering to pipes and files, line buffering on a
//! tty), so output interleaves with stderr and child processes as `ip`'s does.

pub mod escape;
pub mod json;

use std::io::{IsTerminal, Write};

/// stdout with glibc's buffering rules.
pub struct Out {
    buf: std::io::BufWriter<std::io::Stdout>,
    line_buffered: bool,
}

impl Out {
    pub fn new() -> Self {
        let stdout = std::io::stdout();
        let line_buffered = stdout.is_terminal();
        Out {
            buf: std::io::BufWriter::with_capacity(4096, stdout),
            line_buffered,
        }
    }

    pub fn write(&mut self, bytes: &[u8]) {
        let _ = self.buf.write_all(bytes);
        if self.line_buffered && bytes.contains(&b'\n') {
            self.flush();
        }
    }

    pub fn flush(&mut self) {
        let _ = self.buf.flush();
    }
}

impl Default for Out {
    fn default() -> Self {
        Self::new()
    }
}
