//! The blocking client's socket: TCP (NODELAY, keepalive) or Unix (Unix
//! systems only), always in non-blocking mode, with [`Stream::wait`]
//! (poll(2), or `WSAPoll` on Windows) as the only place a thread blocks. One wait for "readable or writable" is what lets a pipeline
//! read replies while its requests are still being written (SPEC §8), and
//! its timeout is how every read and write deadline is enforced.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
#[cfg(unix)]
use std::os::fd::{AsRawFd, RawFd};
#[cfg(unix)]
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::time::Duration;

use crate::config::Address;
use crate::error::{Error, Result, TimeoutKind};

/// A connected socket.
#[derive(Debug)]
pub(crate) enum Stream {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(UnixStream),
}

/// What a [`Stream::wait`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ready {
    pub(crate) readable: bool,
    pub(crate) writable: bool,
}

impl Stream {
    /// Connects within `timeout` and switches the socket to non-blocking.
    pub(crate) fn connect(address: &Address, timeout: Duration) -> Result<Stream> {
        let stream = match address {
            Address::Tcp(host_port) => Stream::Tcp(connect_tcp(host_port, timeout)?),
            // A local connect does not wait on a network: it succeeds or is
            // refused at once.
            #[cfg(unix)]
            Address::Unix(path) => {
                Stream::Unix(UnixStream::connect(path).map_err(|e| Error::Connect(Arc::new(e)))?)
            }
            #[cfg(not(unix))]
            Address::Unix(path) => {
                return Err(Error::Config(format!(
                    "unix {}: Unix-domain sockets are not available on this system",
                    path.display()
                )));
            }
        };
        stream
            .set_nonblocking()
            .map_err(|e| Error::Connect(Arc::new(e)))?;
        Ok(stream)
    }

    fn set_nonblocking(&self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_nonblocking(true),
            #[cfg(unix)]
            Stream::Unix(s) => s.set_nonblocking(true),
        }
    }

    pub(crate) fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => Read::read(&mut &*s, buf),
            #[cfg(unix)]
            Stream::Unix(s) => Read::read(&mut &*s, buf),
        }
    }

    pub(crate) fn write(&self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => Write::write(&mut &*s, buf),
            #[cfg(unix)]
            Stream::Unix(s) => Write::write(&mut &*s, buf),
        }
    }

    /// Closes both directions now, so a peer sees the close even while
    /// this value lives on (a broken connection awaiting its drop).
    pub(crate) fn shutdown(&self) {
        // An already-closed socket is exactly what we wanted.
        let _ = match self {
            Stream::Tcp(s) => s.shutdown(Shutdown::Both),
            #[cfg(unix)]
            Stream::Unix(s) => s.shutdown(Shutdown::Both),
        };
    }

    /// True when the socket is still open and silent: a peek finds no
    /// bytes and no EOF. An idle connection the server closed (EOF, or an
    /// unsolicited ERR_TIMEOUT before it) fails this check.
    pub(crate) fn is_idle_and_open(&self) -> bool {
        let mut byte = [0u8; 1];
        let peeked = match self {
            Stream::Tcp(s) => s.peek(&mut byte),
            #[cfg(unix)]
            Stream::Unix(s) => {
                // std has no peek on UnixStream: recv with MSG_PEEK.
                let fd = s.as_raw_fd();
                // SAFETY: `byte` is a valid, writable 1-byte buffer for the
                // duration of the call, and `fd` is an open socket owned by `s`.
                let n = unsafe { libc::recv(fd, byte.as_mut_ptr().cast(), 1, libc::MSG_PEEK) };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(n as usize)
                }
            }
        };
        matches!(peeked, Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }

    /// Blocks until the socket is readable, or writable when `want_write`,
    /// or `timeout` passes (both flags false).
    #[cfg(unix)]
    pub(crate) fn wait(&self, want_write: bool, timeout: Duration) -> io::Result<Ready> {
        let mut events = libc::POLLIN;
        if want_write {
            events |= libc::POLLOUT;
        }
        let mut fd = libc::pollfd {
            fd: self.raw_fd(),
            events,
            revents: 0,
        };
        // Round up, so a wait never ends early and spins.
        let timeout_ms = timeout.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as i32;
        loop {
            // SAFETY: `fd` is one valid pollfd and we pass a count of 1.
            let rc = unsafe { libc::poll(&mut fd, 1, timeout_ms) };
            if rc >= 0 {
                break;
            }
            let error = io::Error::last_os_error();
            if error.kind() != io::ErrorKind::Interrupted {
                return Err(error);
            }
        }
        // Hang-up and error count as readable: the read reports them.
        let readable = fd.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0;
        Ok(Ready {
            readable,
            writable: fd.revents & libc::POLLOUT != 0,
        })
    }

    #[cfg(unix)]
    fn raw_fd(&self) -> RawFd {
        match self {
            Stream::Tcp(s) => s.as_raw_fd(),
            #[cfg(unix)]
            Stream::Unix(s) => s.as_raw_fd(),
        }
    }

    /// Blocks until the socket is readable, or writable when `want_write`,
    /// or `timeout` passes (both flags false): `WSAPoll`, Windows' poll.
    #[cfg(windows)]
    pub(crate) fn wait(&self, want_write: bool, timeout: Duration) -> io::Result<Ready> {
        use std::os::windows::io::AsRawSocket;
        use windows_sys::Win32::Networking::WinSock::{
            POLLERR, POLLHUP, POLLRDNORM, POLLWRNORM, SOCKET, WSAPOLLFD, WSAPoll,
        };
        let Stream::Tcp(stream) = self;
        let mut events = POLLRDNORM;
        if want_write {
            events |= POLLWRNORM;
        }
        let mut fd = WSAPOLLFD {
            fd: stream.as_raw_socket() as SOCKET,
            events,
            revents: 0,
        };
        // Round up, so a wait never ends early and spins.
        let timeout_ms = timeout.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as i32;
        // SAFETY: `fd` is one valid WSAPOLLFD and we pass a count of 1.
        if unsafe { WSAPoll(&mut fd, 1, timeout_ms) } < 0 {
            return Err(io::Error::last_os_error());
        }
        // Hang-up and error count as readable: the read reports them.
        let readable = fd.revents & (POLLRDNORM | POLLHUP | POLLERR) != 0;
        Ok(Ready {
            readable,
            writable: fd.revents & POLLWRNORM != 0,
        })
    }
}

/// Tries each resolved address in turn within `timeout`; the socket gets
/// NODELAY (requests are whole frames, written at once) and keepalive
/// (half-open peers are found even on idle connections).
fn connect_tcp(host_port: &str, timeout: Duration) -> Result<TcpStream> {
    let addrs = host_port
        .to_socket_addrs()
        .map_err(|e| Error::Config(format!("cannot resolve {host_port}: {e}")))?;
    let mut last_error = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(stream) => {
                let setup = stream
                    .set_nodelay(true)
                    .and_then(|()| socket2::SockRef::from(&stream).set_keepalive(true));
                return setup
                    .map(|()| stream)
                    .map_err(|e| Error::Connect(Arc::new(e)));
            }
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                last_error = Some(Error::Timeout(TimeoutKind::Connect));
            }
            Err(e) => last_error = Some(Error::Connect(Arc::new(e))),
        }
    }
    Err(last_error.unwrap_or_else(|| Error::Config(format!("{host_port} resolves to no address"))))
}
