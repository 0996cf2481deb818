//! The watcher's own connection: stream replies (`XREAD`, `XRANGE`,
//! `XREVRANGE`) read straight from the socket's bytes into [`RawEntry`]s,
//! the payloads slices of the reply buffer, with no reply tree in between
//! (redis-rs gives only its `redis::Value` tree, and building it was most
//! of the time a console spent reading the stream).
//!
//! RESP2 over plain TCP, with `AUTH` (user name and password) and `SELECT`;
//! `rediss://` and Unix sockets stay on redis-rs ([`RedisConfig::plain_tcp`]
//! says which). The reading follows [`entry::parse_read_reply`] and
//! [`entry::parse_entries`] on the same reply exactly (property-tested
//! against redis-rs's own parser, the reply split at any byte).

use super::entry::{ALT_FIELD, FIELD, RawEntry};
use super::{BusError, RedisConfig};
use bytes::{Bytes, BytesMut};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Deeper nesting than any stream reply has is refused.
const MAX_DEPTH: usize = 16;
/// A reply larger than this is refused (Redis's own bulk limit).
const MAX_REPLY: usize = 512 << 20;

/// How far the reply at the start of a buffer has been checked, so that
/// more bytes continue the check instead of starting it again.
#[derive(Debug, Default)]
pub struct Scan {
    pos: usize,
    /// Elements still to come in each open array, outermost first.
    open: Vec<u64>,
}

/// A reply that is not RESP2.
fn bad(what: &str) -> BusError {
    BusError::Redis(format!("the reply was not valid RESP ({what})"))
}

/// A header line: its type byte, its text and where the next element starts.
type Line<'a> = (u8, &'a [u8], usize);

/// One header line (`type` + text up to CRLF) at `at`. `None`: the line is
/// not all there yet.
fn line(buf: &[u8], at: usize) -> Result<Option<Line<'_>>, BusError> {
    let Some(rest) = buf.get(at..) else {
        return Ok(None);
    };
    let Some(nl) = rest.iter().position(|&c| c == b'\n') else {
        return Ok(None);
    };
    if nl < 2 || rest[nl - 1] != b'\r' {
        return Err(bad("a line without its type or CRLF"));
    }
    Ok(Some((rest[0], &rest[1..nl - 1], at + nl + 1)))
}

/// A length or count: decimal digits, `-1` for nil.
fn int(text: &[u8]) -> Result<i64, BusError> {
    let (neg, digits) = match text.split_first() {
        Some((b'-', d)) => (true, d),
        _ => (false, text),
    };
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(bad("a length that is not a number"));
    }
    let n = digits
        .iter()
        .fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
    Ok(if neg { -n } else { n })
}

impl Scan {
    /// The length of the whole reply at the start of `buf`, once it is all
    /// there (`None`: read more and call again with the longer buffer).
    pub fn complete(&mut self, buf: &[u8]) -> Result<Option<usize>, BusError> {
        if buf.len() > MAX_REPLY {
            return Err(bad("a reply too large"));
        }
        loop {
            let Some((kind, text, next)) = line(buf, self.pos)? else {
                return Ok(None);
            };
            match kind {
                b'+' | b'-' | b':' => self.pos = next,
                b'$' => match int(text)? {
                    -1 => self.pos = next,
                    n if n < 0 => return Err(bad("a negative length")),
                    n => {
                        let end = next + n as usize;
                        if end > MAX_REPLY {
                            return Err(bad("a reply too large"));
                        }
                        if buf.len() < end + 2 {
                            return Ok(None);
                        }
                        if &buf[end..end + 2] != b"\r\n" {
                            return Err(bad("a bulk string longer than its length"));
                        }
                        self.pos = end + 2;
                    }
                },
                b'*' => {
                    self.pos = next;
                    match int(text)? {
                        n if n < -1 => return Err(bad("a negative count")),
                        n if n > 0 => {
                            if self.open.len() >= MAX_DEPTH {
                                return Err(bad("arrays nested too deep"));
                            }
                            self.open.push(n as u64);
                            continue;
                        }
                        _ => {}
                    }
                }
                _ => return Err(bad("an unknown type")),
            }
            // One element done: close the arrays it completes.
            loop {
                match self.open.last_mut() {
                    None => return Ok(Some(self.pos)),
                    Some(left) => {
                        *left -= 1;
                        if *left > 0 {
                            break;
                        }
                        self.open.pop();
                    }
                }
            }
        }
    }
}

/// One element of a complete reply, as far as reading entries needs it.
enum Item {
    Array(usize),
    Text(usize, usize),
    Nil,
    Error(usize, usize),
    Other,
}

/// A cursor over one complete, [`Scan`]ned reply.
struct Cursor {
    b: Bytes,
    at: usize,
}

impl Cursor {
    /// The next element's head (a bulk string whole). The reply was
    /// scanned complete, so a short read here is a bug in the scan: it
    /// reads as the end (no panic).
    fn next(&mut self) -> Item {
        let Ok(Some((kind, text, next))) = line(&self.b, self.at) else {
            self.at = self.b.len();
            return Item::Other;
        };
        let n = int(text).unwrap_or(-1);
        self.at = next;
        match kind {
            b'+' => Item::Text(next - 2 - text.len(), next - 2),
            b'-' => Item::Error(next - 2 - text.len(), next - 2),
            b'$' if n >= 0 => {
                let end = (next + n as usize).min(self.b.len());
                self.at = (end + 2).min(self.b.len());
                Item::Text(next, end)
            }
            // Every element takes 3 bytes at least: a count past what is
            // left is garbage (and never loops for long).
            b'*' if n >= 0 => Item::Array((n as usize).min((self.b.len() - next) / 3)),
            b'$' | b'*' => Item::Nil,
            _ => Item::Other,
        }
    }

    /// Skip the rest of an element whose head was read.
    fn skip(&mut self, item: Item) {
        if let Item::Array(n) = item {
            for _ in 0..n {
                let i = self.next();
                self.skip(i);
            }
        }
    }

    fn skip_next(&mut self) {
        let i = self.next();
        self.skip(i);
    }

    /// An entry list (`XRANGE`'s reply, or a stream's in `XREAD`'s).
    fn entries(&mut self, out: &mut Vec<RawEntry>) {
        let Item::Array(n) = self.next() else {
            return;
        };
        out.reserve(n.min(1 << 16));
        for _ in 0..n {
            let Item::Array(parts) = self.next() else {
                continue;
            };
            if parts == 0 {
                continue;
            }
            let id = match self.next() {
                Item::Text(a, e) => std::str::from_utf8(&self.b[a..e]).ok().map(str::to_string),
                other => {
                    self.skip(other);
                    None
                }
            };
            let payload = if parts >= 2 { self.payload() } else { None };
            for _ in 2..parts {
                self.skip_next();
            }
            if let Some(id) = id {
                out.push(RawEntry { id, payload });
            }
        }
    }

    /// An entry's field/value pairs: `__data__`'s value, else `data`'s.
    fn payload(&mut self) -> Option<Bytes> {
        let Item::Array(n) = self.next() else {
            return None;
        };
        let mut alt = None;
        let mut found: Option<Option<Bytes>> = None;
        for _ in 0..n / 2 {
            let key = match self.next() {
                Item::Text(a, e) => Some((a, e)),
                other => {
                    self.skip(other);
                    None
                }
            };
            let v = self.next();
            let value = match &v {
                Item::Text(a, e) => Some(self.b.slice(*a..*e)),
                _ => None,
            };
            self.skip(v);
            if found.is_none()
                && let Some((a, e)) = key
            {
                match &self.b[a..e] {
                    f if f == FIELD.as_bytes() => found = Some(value),
                    f if f == ALT_FIELD.as_bytes() => alt = value,
                    _ => {}
                }
            }
        }
        if n % 2 == 1 {
            self.skip_next();
        }
        found.unwrap_or(alt)
    }
}

/// A server's error reply as the watcher reports it.
fn server_error(cfg: &RedisConfig, text: &[u8]) -> BusError {
    BusError::Redis(cfg.scrub(&String::from_utf8_lossy(text)))
}

/// The entries of one complete `XREAD` reply (RESP2): what
/// [`entry::parse_read_reply`] gives for redis-rs's reading of it. A
/// top-level error reply is an error.
pub fn read_reply(reply: Bytes) -> Result<Vec<RawEntry>, Vec<u8>> {
    let mut c = Cursor { b: reply, at: 0 };
    let mut out = Vec::new();
    match c.next() {
        Item::Array(streams) => {
            for _ in 0..streams {
                match c.next() {
                    Item::Array(kv) => {
                        if kv >= 1 {
                            c.skip_next();
                        }
                        if kv >= 2 {
                            c.entries(&mut out);
                        }
                        for _ in 2..kv {
                            c.skip_next();
                        }
                    }
                    other => c.skip(other),
                }
            }
        }
        Item::Error(a, e) => return Err(c.b[a..e].to_vec()),
        _ => {}
    }
    Ok(out)
}

/// The entries of one complete `XRANGE`/`XREVRANGE` reply: what
/// [`entry::parse_entries`] gives.
pub fn range_reply(reply: Bytes) -> Result<Vec<RawEntry>, Vec<u8>> {
    if let Some(err) = reply.strip_prefix(b"-") {
        return Err(err.strip_suffix(b"\r\n").unwrap_or(err).to_vec());
    }
    let mut c = Cursor { b: reply, at: 0 };
    let mut out = Vec::new();
    c.entries(&mut out);
    Ok(out)
}

/// A plain-TCP RESP2 connection for reading the stream.
pub struct Conn {
    io: TcpStream,
    buf: BytesMut,
    out: Vec<u8>,
    cfg: RedisConfig,
}

impl Conn {
    /// Connect, authenticate and select the database. `None`: this
    /// configuration is not plain TCP (TLS, a Unix socket); use redis-rs.
    pub async fn connect(cfg: &RedisConfig) -> Option<Result<Conn, BusError>> {
        let (host, port) = cfg.plain_tcp()?;
        let addr = format!("{host}:{port}");
        Some(Self::open(cfg, &addr).await)
    }

    async fn open(cfg: &RedisConfig, addr: &str) -> Result<Conn, BusError> {
        let io = tokio::time::timeout(cfg.connect_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| {
                BusError::Redis(format!(
                    "no connection to {cfg} within {:?}",
                    cfg.connect_timeout
                ))
            })?
            .map_err(|e| BusError::Redis(cfg.scrub(&format!("cannot connect to {cfg}: {e}"))))?;
        let _ = io.set_nodelay(true);
        let mut c = Conn {
            io,
            buf: BytesMut::with_capacity(64 << 10),
            out: Vec::new(),
            cfg: cfg.clone(),
        };
        let (user, password) = cfg.credentials();
        if let Some(pw) = password {
            let mut args: Vec<&[u8]> = vec![b"AUTH"];
            if let Some(u) = user {
                args.push(u.as_bytes());
            }
            args.push(pw.as_bytes());
            c.simple(&args).await?;
        }
        if cfg.db() != 0 {
            let db = cfg.db().to_string();
            c.simple(&[b"SELECT", db.as_bytes()]).await?;
        }
        Ok(c)
    }

    /// Send a command and wait for its whole reply, within `timeout`.
    async fn call(&mut self, args: &[&[u8]], timeout: Duration) -> Result<Bytes, BusError> {
        self.out.clear();
        self.out
            .extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for a in args {
            self.out
                .extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            self.out.extend_from_slice(a);
            self.out.extend_from_slice(b"\r\n");
        }
        let cfg = &self.cfg;
        let lost = |e: std::io::Error| BusError::Redis(cfg.scrub(&format!("connection lost: {e}")));
        tokio::time::timeout(timeout, async {
            self.io.write_all(&self.out).await.map_err(lost)?;
            let mut scan = Scan::default();
            loop {
                if let Some(len) = scan.complete(&self.buf)? {
                    return Ok(self.buf.split_to(len).freeze());
                }
                if self.buf.capacity() - self.buf.len() < 16 << 10 {
                    self.buf
                        .reserve((self.buf.len() + (64 << 10)).min(MAX_REPLY));
                }
                if self.io.read_buf(&mut self.buf).await.map_err(lost)? == 0 {
                    return Err(BusError::Redis("the server closed the connection".into()));
                }
            }
        })
        .await
        .map_err(|_| BusError::Redis(format!("no reply from {cfg} within {timeout:?}")))?
    }

    /// A command answered `+OK` (or another status), an error otherwise.
    async fn simple(&mut self, args: &[&[u8]]) -> Result<(), BusError> {
        let r = self.call(args, self.cfg.read_timeout).await?;
        match r.first() {
            Some(b'-') => Err(server_error(&self.cfg, &r[1..r.len().saturating_sub(2)])),
            _ => Ok(()),
        }
    }

    /// `XLEN key`.
    pub async fn xlen(&mut self, key: &str) -> Result<usize, BusError> {
        let r = self
            .call(&[b"XLEN", key.as_bytes()], self.cfg.read_timeout)
            .await?;
        let body = &r[1..r.len().saturating_sub(2)];
        match r.first() {
            Some(b':') => Ok(int(body)?.max(0) as usize),
            Some(b'-') => Err(server_error(&self.cfg, body)),
            _ => Err(bad("XLEN did not answer a number")),
        }
    }

    /// `XRANGE key - + COUNT n`, or `XREVRANGE key + - COUNT n`.
    pub async fn range(
        &mut self,
        key: &str,
        rev: bool,
        count: usize,
    ) -> Result<Vec<RawEntry>, BusError> {
        let n = count.to_string();
        let (cmd, a, b): (&[u8], &[u8], &[u8]) = if rev {
            (b"XREVRANGE", b"+", b"-")
        } else {
            (b"XRANGE", b"-", b"+")
        };
        let r = self
            .call(
                &[cmd, key.as_bytes(), a, b, b"COUNT", n.as_bytes()],
                self.cfg.read_timeout,
            )
            .await?;
        range_reply(r).map_err(|e| server_error(&self.cfg, &e))
    }

    /// `XREAD COUNT n [BLOCK ms] STREAMS key after`: the entries after
    /// `after` (none when a block times out).
    pub async fn xread(
        &mut self,
        key: &str,
        count: usize,
        block: Option<Duration>,
        after: &str,
    ) -> Result<Vec<RawEntry>, BusError> {
        let n = count.to_string();
        let ms = block.map(|b| b.as_millis().max(1).to_string());
        let mut args: Vec<&[u8]> = vec![b"XREAD", b"COUNT", n.as_bytes()];
        if let Some(ms) = &ms {
            args.extend([&b"BLOCK"[..], ms.as_bytes()]);
        }
        args.extend([&b"STREAMS"[..], key.as_bytes(), after.as_bytes()]);
        let timeout = block.unwrap_or_default() + self.cfg.read_timeout;
        let r = self.call(&args, timeout).await?;
        read_reply(r).map_err(|e| server_error(&self.cfg, &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::entry;
    use proptest::prelude::*;
    use redis::Value;

    /// RESP2 bytes of a value (the shapes a RESP2 server sends).
    fn encode(v: &Value, out: &mut Vec<u8>) {
        match v {
            Value::Nil => out.extend_from_slice(b"$-1\r\n"),
            Value::Int(n) => out.extend_from_slice(format!(":{n}\r\n").as_bytes()),
            Value::BulkString(b) => {
                out.extend_from_slice(format!("${}\r\n", b.len()).as_bytes());
                out.extend_from_slice(b);
                out.extend_from_slice(b"\r\n");
            }
            Value::SimpleString(s) => out.extend_from_slice(format!("+{s}\r\n").as_bytes()),
            Value::Okay => out.extend_from_slice(b"+OK\r\n"),
            Value::Array(items) => {
                out.extend_from_slice(format!("*{}\r\n", items.len()).as_bytes());
                for i in items {
                    encode(i, out);
                }
            }
            Value::ServerError(e) => {
                out.extend_from_slice(format!("-{}\r\n", e.details().unwrap_or("ERR")).as_bytes())
            }
            _ => out.extend_from_slice(b"*-1\r\n"),
        }
    }

    fn bytes_of(v: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        encode(v, &mut out);
        out
    }

    /// Feed `wire` in pieces cut at `cuts`, as reads from a socket would.
    fn scan_in_pieces(wire: &[u8], cuts: &[usize]) -> Result<Option<usize>, BusError> {
        let mut scan = Scan::default();
        let mut ends: Vec<usize> = cuts.iter().map(|c| c % (wire.len() + 1)).collect();
        ends.push(wire.len());
        ends.sort_unstable();
        let mut last = Ok(None);
        for end in ends {
            last = scan.complete(&wire[..end]);
            if !matches!(last, Ok(None)) {
                return last;
            }
        }
        last
    }

    fn text() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            Just(b"__data__".to_vec()),
            Just(b"data".to_vec()),
            Just(b"1-0".to_vec()),
            Just(b"other".to_vec()),
            Just(vec![0xff, 0xfe]),
            proptest::collection::vec(any::<u8>(), 0..12),
        ]
    }

    /// Replies shaped like stream replies, and every way they can differ.
    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Nil),
            any::<i64>().prop_map(Value::Int),
            text().prop_map(Value::BulkString),
            "[a-z_0-9-]{0,8}".prop_map(Value::SimpleString),
        ];
        leaf.prop_recursive(5, 64, 6, |inner| {
            proptest::collection::vec(inner, 0..6).prop_map(Value::Array)
        })
    }

    /// An entry: an id and field/value pairs, sometimes odd in number.
    fn stream_entry() -> impl Strategy<Value = Value> {
        (
            prop_oneof![text().prop_map(Value::BulkString), value()],
            proptest::collection::vec(
                prop_oneof![text().prop_map(Value::BulkString), value()],
                0..6,
            ),
            any::<bool>(),
        )
            .prop_map(|(id, fields, extra)| {
                let mut parts = vec![id, Value::Array(fields)];
                if extra {
                    parts.push(Value::Int(1));
                }
                Value::Array(parts)
            })
    }

    fn xread_reply() -> impl Strategy<Value = Value> {
        prop_oneof![
            4 => proptest::collection::vec(
                (text(), proptest::collection::vec(stream_entry(), 0..6))
                    .prop_map(|(k, es)| Value::Array(vec![Value::BulkString(k), Value::Array(es)])),
                0..3
            )
            .prop_map(Value::Array),
            1 => value(),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn xread_replies_read_as_redis_rs_reads_them(
            v in xread_reply(),
            cuts in proptest::collection::vec(any::<usize>(), 0..8),
        ) {
            let wire = bytes_of(&v);
            let parsed = redis::parse_redis_value(&wire).expect("redis-rs reads it");
            let want = entry::parse_read_reply(parsed.clone());
            let len = scan_in_pieces(&wire, &cuts).unwrap();
            prop_assert_eq!(len, Some(wire.len()));
            let got = read_reply(Bytes::from(wire.clone())).unwrap();
            prop_assert_eq!(&got, &want);
            let got = range_reply(Bytes::from(wire)).unwrap();
            prop_assert_eq!(got, entry::parse_entries(parsed));
        }

        #[test]
        fn a_reply_and_what_follows_it_is_split_where_the_reply_ends(
            a in xread_reply(),
            b in value(),
            cuts in proptest::collection::vec(any::<usize>(), 0..8),
        ) {
            let mut wire = bytes_of(&a);
            let first = wire.len();
            wire.extend(bytes_of(&b));
            prop_assert_eq!(scan_in_pieces(&wire, &cuts).unwrap(), Some(first));
        }

        #[test]
        fn garbage_never_panics(
            wire in proptest::collection::vec(
                prop_oneof![
                    Just(b'*'), Just(b'$'), Just(b'\r'), Just(b'\n'), Just(b'-'), Just(b'1'),
                    Just(b'2'), any::<u8>(),
                ],
                0..64,
            ),
            cuts in proptest::collection::vec(any::<usize>(), 0..4),
        ) {
            if let Ok(Some(len)) = scan_in_pieces(&wire, &cuts) {
                prop_assert!(len <= wire.len());
                let _ = read_reply(Bytes::copy_from_slice(&wire[..len]));
                let _ = range_reply(Bytes::copy_from_slice(&wire[..len]));
            }
            let _ = read_reply(Bytes::from(wire.clone()));
            let _ = range_reply(Bytes::from(wire));
        }
    }

    #[test]
    fn an_error_reply_is_an_error_and_nil_is_no_entries() {
        let mut s = Scan::default();
        assert_eq!(s.complete(b"-ERR no\r\n").unwrap(), Some(9));
        assert_eq!(
            read_reply(Bytes::from_static(b"-ERR no\r\n")),
            Err(b"ERR no".to_vec())
        );
        assert_eq!(
            range_reply(Bytes::from_static(b"-NOPERM x\r\n")),
            Err(b"NOPERM x".to_vec())
        );
        assert_eq!(read_reply(Bytes::from_static(b"*-1\r\n")), Ok(vec![]));
        assert!(Scan::default().complete(b"$3\r\nabcd\r\n").is_err());
        assert!(Scan::default().complete(b"?x\r\n").is_err());
        assert!(Scan::default().complete(b"*1\n").is_err());
    }
}
