//! The listening sockets, TCP and (on Unix) Unix-domain, as one type the
//! loop accepts from. The Unix socket file's life is in
//! [`unix_socket`](super::unix_socket).

use std::io;
use std::net::SocketAddr;

use mio::net::TcpListener;

use super::stream::Stream;
#[cfg(unix)]
use super::unix_socket::UnixSocket;

/// A listening socket of either family.
pub enum Listener {
    /// TCP.
    Tcp(TcpListener),
    /// Unix-domain, with the file it owns.
    #[cfg(unix)]
    Unix(UnixSocket),
}

impl Listener {
    /// Accepts one connection, ready for the event loop (non-blocking, no Nagle).
    pub fn accept(&self) -> io::Result<Stream> {
        match self {
            Listener::Tcp(listener) => {
                let (stream, _) = listener.accept()?;
                stream.set_nodelay(true)?;
                Ok(Stream::Tcp(stream))
            }
            #[cfg(unix)]
            Listener::Unix(unix) => Ok(Stream::Unix(unix.accept()?)),
        }
    }

    /// The mio source to register.
    pub fn source(&mut self) -> &mut dyn mio::event::Source {
        match self {
            Listener::Tcp(listener) => listener,
            #[cfg(unix)]
            Listener::Unix(unix) => unix.source(),
        }
    }

    /// The bound TCP port, for a TCP listener.
    pub fn tcp_port(&self) -> Option<u16> {
        match self {
            Listener::Tcp(listener) => listener.local_addr().ok().map(|addr| addr.port()),
            #[cfg(unix)]
            Listener::Unix(_) => None,
        }
    }

    /// A short description for logs: the address or path.
    pub fn describe(&self) -> String {
        match self {
            Listener::Tcp(listener) => listener.local_addr().map_or_else(
                |e| format!("tcp (unknown address: {e})"),
                |a| format!("tcp {a}"),
            ),
            #[cfg(unix)]
            Listener::Unix(unix) => format!("unix {}", unix.path().display()),
        }
    }

    /// At shutdown: removes the Unix socket file if it is still ours.
    pub fn remove_socket_file(&self) {
        match self {
            Listener::Tcp(_) => {}
            #[cfg(unix)]
            Listener::Unix(unix) => unix.remove_file(),
        }
    }
}

/// Binds a TCP listener.
pub fn bind_tcp(addr: SocketAddr) -> io::Result<Listener> {
    TcpListener::bind(addr)
        .map(Listener::Tcp)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on tcp {addr}: {e}")))
}
