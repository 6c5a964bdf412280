//! The async client's socket: a tokio TCP (NODELAY, keepalive) or Unix
//! stream, used through readiness and `try_read` / `try_write` on a shared
//! reference, so the driver can wait for "readable or writable" at once.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{Interest, Ready};
use tokio::net::{TcpStream, UnixStream};

use crate::config::Address;
use crate::error::{Error, Result, TimeoutKind};
use crate::wire::ReplyBuffer;

/// A connected tokio socket.
#[derive(Debug)]
pub(crate) enum AsyncStream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl AsyncStream {
    /// Connects within `timeout`.
    pub(crate) async fn connect(address: &Address, timeout: Duration) -> Result<AsyncStream> {
        let connect = async {
            match address {
                Address::Tcp(host_port) => {
                    let stream = TcpStream::connect(host_port.as_str()).await?;
                    stream.set_nodelay(true)?;
                    socket2::SockRef::from(&stream).set_keepalive(true)?;
                    Ok(AsyncStream::Tcp(stream))
                }
                Address::Unix(path) => Ok(AsyncStream::Unix(UnixStream::connect(path).await?)),
            }
        };
        match tokio::time::timeout(timeout, connect).await {
            Ok(connected) => connected.map_err(|e: io::Error| Error::Connect(Arc::new(e))),
            Err(_) => Err(Error::Timeout(TimeoutKind::Connect)),
        }
    }

    pub(crate) async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        match self {
            AsyncStream::Tcp(s) => s.ready(interest).await,
            AsyncStream::Unix(s) => s.ready(interest).await,
        }
    }

    pub(crate) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        match self {
            AsyncStream::Tcp(s) => s.try_write(buf),
            AsyncStream::Unix(s) => s.try_write(buf),
        }
    }

    /// Reads what is there into `input`'s free tail: `Ok(0)` is EOF.
    pub(crate) fn try_read(&self, input: &mut ReplyBuffer) -> io::Result<usize> {
        let spare = input.spare_mut();
        let n = match self {
            AsyncStream::Tcp(s) => s.try_read(spare),
            AsyncStream::Unix(s) => s.try_read(spare),
        }?;
        input.filled(n);
        Ok(n)
    }

    /// Writes all of `buf`, waiting for writability as needed.
    pub(crate) async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            self.ready(Interest::WRITABLE).await?;
            match self.try_write(buf) {
                Ok(n) => buf = &buf[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Reads at least one byte more into `input` (EOF is an error).
    pub(crate) async fn read_more(&self, input: &mut ReplyBuffer) -> io::Result<()> {
        loop {
            self.ready(Interest::READABLE).await?;
            match self.try_read(input) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
    }
}
