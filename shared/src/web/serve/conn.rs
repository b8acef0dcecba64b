//! What a plain-HTTP connection adds to hyper, so that a keep-alive client is never surprised.
//!
//! hyper closes a connection whose request body was not read to its end (a 413 after part of a
//! 3 MiB body, a 408, a callback refused from its head alone), but does not say so: a pooling
//! client (Node's default agent, an API gateway) then writes its next request into a closed
//! socket. [`ReadToEnd`] notes whether the app read the body, and an answer sent without it says
//! `Connection: close`. hyper also answers a head over its limits itself, with a bare `431` (or
//! `414`) and no body; [`EnvelopeIo`] rewrites that answer, as it is written, into the JSON
//! envelope every other answer has.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::{MAX_HEADER_BYTES, MAX_HEADERS};

/// A request body that notes when it has been read to its end.
pub(super) struct ReadToEnd<B> {
    inner: B,
    ended: Arc<AtomicBool>,
}

impl<B: Body> ReadToEnd<B> {
    /// The body and the flag that turns true once it has been read whole (at once for a body
    /// that is empty from the start).
    pub(super) fn new(inner: B) -> (Self, Arc<AtomicBool>) {
        let ended = Arc::new(AtomicBool::new(inner.is_end_stream()));
        let flag = Arc::clone(&ended);
        (Self { inner, ended }, flag)
    }
}

impl<B: Body + Unpin> Body for ReadToEnd<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let frame = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        if frame.is_none() || self.inner.is_end_stream() {
            self.ended.store(true, Ordering::Relaxed);
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The connection's socket, with hyper's own bodiless `431` and `414` answers replaced by the JSON
/// envelope (they are the only answers of those statuses: the app never makes one).
pub(super) struct EnvelopeIo<T> {
    inner: T,
    /// A replacement answer still to write, and how much of it is written.
    pending: Option<(Bytes, usize)>,
}

impl<T> EnvelopeIo<T> {
    pub(super) fn new(inner: T) -> Self {
        Self {
            inner,
            pending: None,
        }
    }
}

/// The envelope that replaces hyper's automatic answer `head`, if it is one.
fn replacement(head: &[u8]) -> Option<Bytes> {
    let (status, reason, message) = if head.starts_with(b"HTTP/1.1 431 ") {
        (
            "431 Request Header Fields Too Large",
            "headers_too_large",
            format!(
                "the request head must be at most {MAX_HEADER_BYTES} bytes and {MAX_HEADERS} \
                 header fields"
            ),
        )
    } else if head.starts_with(b"HTTP/1.1 414 ") {
        (
            "414 URI Too Long",
            "uri_too_long",
            "the request target is too long".to_owned(),
        )
    } else {
        return None;
    };
    let code = &status[..3];
    let body = serde_json::json!({"code": code.parse::<u16>().unwrap_or(0), "error": reason, "message": message})
        .to_string();
    let id = hex::encode(rand::random::<[u8; 12]>());
    Some(Bytes::from(format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\nconnection: close\r\n\
         x-request-id: {id}\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )))
}

impl<T: AsyncWrite + Unpin> EnvelopeIo<T> {
    /// Writes what is left of a replacement answer.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.pending {
            if *written == bytes.len() {
                self.pending = None;
                break;
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for EnvelopeIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for EnvelopeIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_pending(cx))?;
        if let Some(answer) = replacement(buf) {
            self.pending = Some((answer, 0));
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_pending(cx))?;
        let first = bufs
            .iter()
            .find(|b| !b.is_empty())
            .map_or(&[][..], |b| &b[..]);
        if let Some(answer) = replacement(first) {
            self.pending = Some((answer, 0));
            return Poll::Ready(Ok(bufs.iter().map(|b| b.len()).sum()));
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_own_answers_are_replaced() {
        let answer = replacement(b"HTTP/1.1 431 Request Header Fields Too Large\r\n").unwrap();
        let text = std::str::from_utf8(&answer).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains("connection: close"), "{head}");
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{head}"
        );
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(
            (body["code"].as_u64(), body["error"].as_str()),
            (Some(431), Some("headers_too_large"))
        );
        assert!(replacement(b"HTTP/1.1 414 URI Too Long\r\n").is_some());
        assert!(replacement(b"HTTP/1.1 400 Bad Request\r\n").is_none());
        assert!(replacement(b"{\"code\":431}").is_none());
    }
}
