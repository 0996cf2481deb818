//! The legacy HTTP+SSE transport (MCP protocol 2024-11-05) as an rmcp
//! `Transport`: GET the SSE endpoint, wait for its `endpoint` event, POST
//! each message there, and hand over each `message` event. This moves only
//! rmcp's own message values; rmcp does the protocol.

use futures::{Stream, StreamExt};
use reqwest::header::{ACCEPT, HeaderMap, HeaderValue, WWW_AUTHENTICATE};
use reqwest::{StatusCode, Url};
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::service::RoleClient;
use rmcp::transport::Transport;
use sse_stream::SseStream;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The largest event the stream may carry, as for a stdio server's line.
pub const MAX_EVENT: usize = super::linewatch::MAX_LINE;

/// How long one POSTed message may take to be accepted.
const POST_TIMEOUT: Duration = Duration::from_secs(60);

/// What went wrong on the SSE transport, in one sentence.
#[derive(Debug, thiserror::Error)]
pub enum SseError {
    /// The request did not get an answer (refused, reset, DNS, TLS).
    #[error("{0}")]
    Request(#[source] reqwest::Error),
    /// The server wants a login (HTTP 401).
    #[error("{url} answered HTTP 401: it needs a login")]
    AuthRequired {
        url: String,
        www_authenticate: Option<String>,
    },
    /// Any other refusal of the stream or of a message.
    #[error("{url} answered HTTP {status}{}", if .body.is_empty() { String::new() } else { format!(": {}", .body) })]
    Status {
        url: String,
        status: StatusCode,
        body: String,
    },
    #[error("{url} did not answer with an event stream (content type {ctype})")]
    NotEventStream { url: String, ctype: String },
    #[error("the SSE stream of {url} ended before it named its message endpoint")]
    NoEndpoint { url: String },
    #[error("the SSE stream's message endpoint '{endpoint}' is not a URL on {origin}")]
    ForeignEndpoint { endpoint: String, origin: String },
    #[error("the SSE stream broke: {0}")]
    Stream(String),
}

impl SseError {
    /// The `WWW-Authenticate` challenge of a 401, when that is the error.
    pub fn challenge(&self) -> Option<&str> {
        match self {
            SseError::AuthRequired {
                www_authenticate, ..
            } => www_authenticate.as_deref(),
            _ => None,
        }
    }
}

/// A connected SSE session: the stream is open and named its endpoint.
pub struct SseTransport {
    rx: mpsc::Receiver<ServerJsonRpcMessage>,
    post: Url,
    http: reqwest::Client,
    headers: HeaderMap,
    reader: JoinHandle<()>,
}

async fn refusal(url: &Url, resp: reqwest::Response) -> SseError {
    let status = resp.status();
    if status == StatusCode::UNAUTHORIZED {
        let www_authenticate = resp
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        return SseError::AuthRequired {
            url: url.to_string(),
            www_authenticate,
        };
    }
    let body = tokio::time::timeout(Duration::from_secs(2), resp.text())
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let one_line = body.split_whitespace().collect::<Vec<_>>().join(" ");
    SseError::Status {
        url: url.to_string(),
        status,
        body: one_line.chars().take(200).collect(),
    }
}

/// Bytes of the body, failing once one event grows past `max` bytes
/// (the SSE parser would otherwise buffer an endless event).
fn bounded(
    body: impl Stream<Item = Result<bytes::Bytes, reqwest::Error>> + Send + 'static,
    max: usize,
) -> impl Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + 'static {
    let mut in_event = 0usize;
    let mut after_newline = false;
    body.map(move |chunk| {
        let chunk = chunk.map_err(std::io::Error::other)?;
        for &b in chunk.iter() {
            match b {
                b'\r' => {}
                b'\n' if after_newline => in_event = 0,
                b'\n' => after_newline = true,
                _ => {
                    after_newline = false;
                    in_event += 1;
                    if in_event > max {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            format!("an event is larger than {} MiB", max / (1024 * 1024)),
                        ));
                    }
                }
            }
        }
        Ok(chunk)
    })
}

impl SseTransport {
    /// Open the SSE stream at `url` and wait for its `endpoint` event
    /// (the caller bounds the wait). `headers` go with every request.
    pub async fn connect(
        url: Url,
        headers: HeaderMap,
        http: &reqwest::Client,
    ) -> Result<SseTransport, SseError> {
        let resp = http
            .get(url.clone())
            .headers(headers.clone())
            .header(ACCEPT, HeaderValue::from_static("text/event-stream"))
            .send()
            .await
            .map_err(SseError::Request)?;
        if !resp.status().is_success() {
            return Err(refusal(&url, resp).await);
        }
        let ctype = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        if !ctype.starts_with("text/event-stream") {
            return Err(SseError::NotEventStream {
                url: url.to_string(),
                ctype: if ctype.is_empty() {
                    "none".into()
                } else {
                    ctype
                },
            });
        }
        let mut events = SseStream::from_bytes_stream(bounded(resp.bytes_stream(), MAX_EVENT));
        let post = loop {
            match events.next().await {
                None => {
                    return Err(SseError::NoEndpoint {
                        url: url.to_string(),
                    });
                }
                Some(Err(e)) => return Err(SseError::Stream(e.to_string())),
                Some(Ok(ev)) if ev.event.as_deref() == Some("endpoint") => {
                    let data = ev.data.unwrap_or_default();
                    break endpoint(&url, data.trim())?;
                }
                // Anything before the endpoint (comments, pings) is noise.
                Some(Ok(_)) => {}
            }
        };
        let (tx, rx) = mpsc::channel(64);
        let reader = tokio::spawn(async move {
            while let Some(ev) = events.next().await {
                let ev = match ev {
                    Ok(ev) => ev,
                    Err(e) => {
                        tracing::warn!(error = %e, "the SSE stream broke");
                        return;
                    }
                };
                if !matches!(ev.event.as_deref(), None | Some("message")) {
                    continue;
                }
                let Some(data) = ev.data else { continue };
                match serde_json::from_str::<ServerJsonRpcMessage>(&data) {
                    Ok(msg) => {
                        if tx.send(msg).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "an SSE message is not JSON-RPC; skipped")
                    }
                }
            }
        });
        Ok(SseTransport {
            rx,
            post,
            http: http.clone(),
            headers,
            reader,
        })
    }

    /// Where messages are POSTed.
    pub fn endpoint(&self) -> &Url {
        &self.post
    }
}

/// The message endpoint an `endpoint` event names, resolved against the
/// stream's URL; it must stay on the stream's origin (the headers, a
/// token among them, go there).
fn endpoint(stream: &Url, data: &str) -> Result<Url, SseError> {
    let foreign = || SseError::ForeignEndpoint {
        endpoint: data.chars().take(200).collect(),
        origin: stream.origin().ascii_serialization(),
    };
    let url = stream.join(data).map_err(|_| foreign())?;
    if url.origin() != stream.origin() {
        return Err(foreign());
    }
    Ok(url)
}

impl Transport<RoleClient> for SseTransport {
    type Error = SseError;

    fn send(
        &mut self,
        item: ClientJsonRpcMessage,
    ) -> impl Future<Output = Result<(), SseError>> + Send + 'static {
        let url = self.post.clone();
        let req = self
            .http
            .post(url.clone())
            .headers(self.headers.clone())
            .timeout(POST_TIMEOUT)
            .json(&item);
        async move {
            let resp = req.send().await.map_err(SseError::Request)?;
            if resp.status().is_success() {
                Ok(())
            } else {
                Err(refusal(&url, resp).await)
            }
        }
    }

    fn receive(&mut self) -> impl Future<Output = Option<ServerJsonRpcMessage>> + Send {
        self.rx.recv()
    }

    async fn close(&mut self) -> Result<(), SseError> {
        self.reader.abort();
        self.rx.close();
        Ok(())
    }
}

impl Drop for SseTransport {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_resolves_on_the_stream_origin_only() {
        let s = Url::parse("http://127.0.0.1:8000/sse").unwrap();
        assert_eq!(
            endpoint(&s, "/messages/?session_id=ab").unwrap().as_str(),
            "http://127.0.0.1:8000/messages/?session_id=ab"
        );
        assert_eq!(
            endpoint(&s, "http://127.0.0.1:8000/m").unwrap().as_str(),
            "http://127.0.0.1:8000/m"
        );
        let e = endpoint(&s, "http://evil.example/m").unwrap_err();
        assert_eq!(
            e.to_string(),
            "the SSE stream's message endpoint 'http://evil.example/m' is not a URL on http://127.0.0.1:8000"
        );
        assert!(endpoint(&s, "https://127.0.0.1:8000/m").is_err());
    }
}
