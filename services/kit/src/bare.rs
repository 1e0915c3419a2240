//! hyper answers some requests itself, before any service sees them: a request line or header
//! it cannot parse (400), a target or a header block past its own limits (414, 431). Those
//! answers have an empty body. [`ProblemIo`] wraps a connection and rewrites exactly those
//! answers as problems, so a client gets `application/problem+json` for every error.
//!
//! It recognises them by their shape: a lone response head with one of those statuses and
//! `content-length: 0`, which no handler of ours writes (every error they answer has a body).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::problem::{Problem, ProblemType};

/// A connection whose bare error answers from hyper go out as problems.
pub struct ProblemIo<T> {
    inner: T,
    /// A rewritten answer still to write, and how much of it is written.
    pending: Option<(Vec<u8>, usize)>,
}

impl<T> ProblemIo<T> {
    pub fn new(inner: T) -> ProblemIo<T> {
        ProblemIo {
            inner,
            pending: None,
        }
    }
}

impl<T: AsyncWrite + Unpin> ProblemIo<T> {
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

impl<T: AsyncRead + Unpin> AsyncRead for ProblemIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ProblemIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        if let Some(problem) = rewrite(buf) {
            this.pending = Some((problem, 0));
            // hyper's bytes count as written; the problem goes out in their place.
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }

    // Left unvectored, hyper writes each answer's head in one buffer of its own, which is what
    // [`rewrite`] recognises.
}

/// The problem to send instead of `written`, when `written` is one of hyper's bare answers.
fn rewrite(written: &[u8]) -> Option<Vec<u8>> {
    let head = std::str::from_utf8(written).ok()?;
    let status_line = head.split("\r\n").next()?;
    let (kind, detail) = match status_line {
        "HTTP/1.1 400 Bad Request" => (
            ProblemType::MALFORMED_REQUEST,
            "the request line or a header could not be parsed",
        ),
        "HTTP/1.1 414 URI Too Long" => {
            (ProblemType::URI_TOO_LONG, "the request target is too long")
        }
        "HTTP/1.1 431 Request Header Fields Too Large" => (
            ProblemType::HEADERS_TOO_LARGE,
            "the request headers are too large",
        ),
        _ => return None,
    };
    let bare = head.ends_with("\r\n\r\n")
        && head.matches("\r\n\r\n").count() == 1
        && head
            .split("\r\n")
            .any(|line| line.eq_ignore_ascii_case("content-length: 0"));
    if !bare {
        return None;
    }
    let body = serde_json::to_string(&Problem::new(kind).detail(detail)).ok()?;
    Some(
        format!(
            "{status_line}\r\ncontent-type: application/problem+json\r\ncontent-length: {}\r\n\
             connection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_bare_answers_are_rewritten() {
        let bare = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: Wed, 25 Nov 2026 14:00:00 GMT\r\n\r\n";
        let rewritten = String::from_utf8(rewrite(bare).unwrap()).unwrap();
        assert!(
            rewritten.starts_with(
                "HTTP/1.1 400 Bad Request\r\ncontent-type: application/problem+json\r\n"
            )
        );
        let body: serde_json::Value =
            serde_json::from_str(rewritten.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(body["type"], "urn:nfip:problem:malformed-request");
        assert_eq!(
            rewritten
                .split("\r\n\r\n")
                .nth(1)
                .unwrap()
                .len()
                .to_string(),
            rewritten
                .split("content-length: ")
                .nth(1)
                .unwrap()
                .split("\r\n")
                .next()
                .unwrap()
        );
        for ours in [
            &b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/problem+json\r\ncontent-length: 120\r\n\r\n"[..],
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 2\r\n\r\n{}",
        ] {
            assert_eq!(rewrite(ours), None, "{}", String::from_utf8_lossy(ours));
        }
        assert!(
            rewrite(b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n")
                .is_some()
        );
        assert!(rewrite(b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\n\r\n").is_some());
    }
}
