//! A watch on a stdio server's stdout, pumped between the pipe and the MCP
//! transport: it bounds a line (an endless line ends the session with a
//! sentence instead of growing a buffer) and remembers the start of the last
//! line, so a server that never answers can be described ("its stdout said
//! 'Listening on port 3000', which is not JSON-RPC").

use std::sync::{Arc, Mutex};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, DuplexStream};

/// Longest stdout line accepted (one JSON-RPC message). Larger than rmcp's
/// default so a big tool result still arrives whole (and is then cut for
/// display; see `session::call_tool`).
pub const MAX_LINE: usize = 64 * 1024 * 1024;

/// How much of a line is kept to describe it.
const HEAD: usize = 160;

/// What the watch saw.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Seen {
    /// Bytes since the last newline.
    pub line_len: usize,
    /// A line went over the limit (the stream was ended there).
    pub overflow: bool,
    /// Complete, non-blank lines seen.
    pub lines: u64,
    /// The start of the last complete non-blank line.
    pub last_line: String,
    head: Vec<u8>,
}

impl Seen {
    /// Whether the last line looks like a JSON-RPC message.
    pub fn last_is_json_rpc(&self) -> bool {
        let t = self.last_line.trim_start();
        t.starts_with('{') && t.contains("\"jsonrpc\"")
    }

    /// Why a server that was silent on the protocol is silent, in words:
    /// `None` when its stdout looked like JSON-RPC (or said nothing).
    pub fn explain(&self, limit: usize) -> Option<String> {
        if self.overflow {
            return Some(format!(
                "the server wrote a line over {} MiB on stdout (an MCP server writes one JSON-RPC message per line)",
                limit / (1024 * 1024)
            ));
        }
        if self.lines > 0 && !self.last_is_json_rpc() {
            return Some(format!(
                "its stdout is not JSON-RPC (last line: '{}')",
                self.last_line
            ));
        }
        None
    }

    fn take(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        while !rest.is_empty() {
            let (part, newline) = match rest.iter().position(|b| *b == b'\n') {
                Some(i) => (&rest[..i], true),
                None => (rest, false),
            };
            self.line_len = self.line_len.saturating_add(part.len());
            if self.head.len() < HEAD {
                let room = HEAD - self.head.len();
                self.head.extend_from_slice(&part[..part.len().min(room)]);
            }
            if newline {
                let text = String::from_utf8_lossy(&self.head);
                let one_line: String = text
                    .chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .collect::<String>()
                    .trim()
                    .to_string();
                if !one_line.is_empty() {
                    self.lines += 1;
                    self.last_line = if self.line_len > self.head.len() {
                        format!("{one_line}…")
                    } else {
                        one_line
                    };
                }
                self.head.clear();
                self.line_len = 0;
                rest = &rest[part.len() + 1..];
            } else {
                rest = &[];
            }
        }
    }
}

/// Pump `src` (a child's stdout) into the returned stream, for the MCP
/// transport to read, watching every byte. The pump reads on its own, so
/// what a server wrote is seen even when the transport stopped reading (a
/// child that printed a banner and exited). A line over `limit` ends the
/// stream there: the transport sees end of file, the pipe is closed.
pub fn pump<R>(mut src: R, limit: usize) -> (DuplexStream, Arc<Mutex<Seen>>)
where
    R: AsyncRead + Unpin + Send + 'static,
{
    let (mut tx, rx) = tokio::io::duplex(64 * 1024);
    let seen = Arc::new(Mutex::new(Seen::default()));
    let watch = seen.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        let mut forward = true;
        loop {
            let n = match src.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let over = {
                let Ok(mut s) = watch.lock() else { break };
                s.take(&buf[..n]);
                s.overflow = s.line_len > limit;
                s.overflow
            };
            if over {
                break;
            }
            // The transport gone, keep reading (and watching) until EOF.
            if forward && tx.write_all(&buf[..n]).await.is_err() {
                forward = false;
            }
        }
    });
    (rx, seen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_counted_and_the_last_one_kept() {
        let mut s = Seen::default();
        s.take(b"hello\nwor");
        s.take(b"ld\x1b[31m\n\n");
        assert_eq!(s.lines, 2);
        assert_eq!(s.last_line, "world [31m");
        assert!(!s.last_is_json_rpc());
        assert_eq!(
            s.explain(MAX_LINE).as_deref(),
            Some("its stdout is not JSON-RPC (last line: 'world [31m')")
        );
        s.take(br#"{"jsonrpc":"2.0","id":1,"result":{}}"#);
        s.take(b"\n");
        assert!(s.last_is_json_rpc());
        assert_eq!(s.explain(MAX_LINE), None);
        let long = vec![b'a'; 1000];
        s.take(&long);
        s.take(b"\n");
        assert_eq!(s.last_line.chars().count(), HEAD + 1);
        assert!(s.last_line.ends_with('…'));
    }

    #[tokio::test]
    async fn a_line_over_the_limit_ends_the_stream_there() {
        let data = vec![b'x'; 100];
        let (mut out, seen) = pump(std::io::Cursor::new(data), 10);
        let mut got = Vec::new();
        out.read_to_end(&mut got).await.unwrap();
        assert!(got.len() <= 10, "{}", got.len());
        assert!(seen.lock().unwrap().overflow);
        assert_eq!(
            seen.lock().unwrap().explain(2 * 1024 * 1024).as_deref(),
            Some(
                "the server wrote a line over 2 MiB on stdout (an MCP server writes one JSON-RPC message per line)"
            )
        );
        // Lines under the limit pass through untouched.
        let (mut out, seen) = pump(std::io::Cursor::new(b"short\nlines\n".to_vec()), 10);
        let mut got = Vec::new();
        out.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"short\nlines\n");
        assert!(!seen.lock().unwrap().overflow);
        assert_eq!(seen.lock().unwrap().last_line, "lines");
    }
}
