//! A client socket of either family, as one type the connection and the
//! poller can use without caring which it is. Unix-domain clients exist on
//! Unix only (mio has no Unix sockets on Windows).

use std::io::{self, Read, Write};

use mio::net::TcpStream;
#[cfg(unix)]
use mio::net::UnixStream;
use mio::{Interest, Registry, Token};

/// A client stream of either family.
#[derive(Debug)]
pub enum Stream {
    /// A TCP client.
    Tcp(TcpStream),
    /// A Unix-domain client.
    #[cfg(unix)]
    Unix(UnixStream),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            #[cfg(unix)]
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            #[cfg(unix)]
            Stream::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl mio::event::Source for Stream {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.register(registry, token, interests),
            #[cfg(unix)]
            Stream::Unix(s) => s.register(registry, token, interests),
        }
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.reregister(registry, token, interests),
            #[cfg(unix)]
            Stream::Unix(s) => s.reregister(registry, token, interests),
        }
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.deregister(registry),
            #[cfg(unix)]
            Stream::Unix(s) => s.deregister(registry),
        }
    }
}

impl Stream {
    /// Bytes the kernel has received for this socket and not yet handed to a
    /// read (`FIONREAD`): bytes that have arrived, never a declared length.
    /// Zero when the kernel cannot tell.
    #[cfg(unix)]
    pub fn arrived_bytes(&self) -> usize {
        use std::os::fd::AsRawFd;
        let fd = match self {
            Stream::Tcp(s) => s.as_raw_fd(),
            Stream::Unix(s) => s.as_raw_fd(),
        };
        let mut arrived: libc::c_int = 0;
        // SAFETY: FIONREAD writes one c_int through the pointer, which points
        // at a live local of that type; the descriptor is owned by `self`.
        let result = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut arrived) };
        if result == 0 {
            usize::try_from(arrived).unwrap_or(0)
        } else {
            0
        }
    }

    /// Bytes Winsock has received for this socket and not yet handed to a
    /// read (`ioctlsocket(FIONREAD)`); zero when it cannot tell.
    #[cfg(windows)]
    pub fn arrived_bytes(&self) -> usize {
        use std::os::windows::io::AsRawSocket;
        use windows_sys::Win32::Networking::WinSock::{FIONREAD, SOCKET, ioctlsocket};
        let Stream::Tcp(s) = self;
        let mut arrived: u32 = 0;
        // SAFETY: FIONREAD writes one u32 through the pointer, which points
        // at a live local of that type; the socket is owned by `self`.
        let result = unsafe { ioctlsocket(s.as_raw_socket() as SOCKET, FIONREAD, &mut arrived) };
        if result == 0 {
            usize::try_from(arrived).unwrap_or(0)
        } else {
            0
        }
    }
}
