//! The Unix-domain listener and its socket file's life (Unix only: mio has
//! no Unix sockets on Windows, where the flag is refused at startup).
//!
//! The Unix socket must never be connectable with looser permissions than
//! configured (Redis CVE-2023-45145: `bind` + `listen` happen in one call in
//! std and mio, so a `chmod` afterwards is too late). We bind inside a private
//! directory (mode 0700) beside the target path, set the mode, listen, and
//! only then hard-link the socket to its public path. `link` fails if the
//! path exists, so a file that appears meanwhile is never clobbered. From the
//! first moment the public path exists it has the configured mode.
//!
//! At startup an existing path is handled as follows: a socket nobody answers
//! on is stale and is removed; a socket that accepts a connection belongs to a
//! live server and startup fails; anything else (a regular file, a directory)
//! makes startup fail without touching it. At clean shutdown the file is
//! removed only if it is still the socket we created.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream as StdUnixStream;
use std::path::{Path, PathBuf};

use mio::net::{UnixListener, UnixStream};
use socket2::{Domain, SockAddr, Socket, Type};

use super::listener::Listener;
use crate::config::UNIX_PATH_MAX_BYTES;

/// Pending-connection queue length passed to `listen`.
const LISTEN_BACKLOG: i32 = 1024;

/// A listening Unix socket and the identity of the file it created.
pub struct UnixSocket {
    listener: UnixListener,
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl UnixSocket {
    /// Accepts one connection (non-blocking, as the listener is).
    pub fn accept(&self) -> io::Result<UnixStream> {
        Ok(self.listener.accept()?.0)
    }

    /// The mio source to register.
    pub fn source(&mut self) -> &mut dyn mio::event::Source {
        &mut self.listener
    }

    /// The public path of the socket file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the socket file if it is still the one this process created.
    pub fn remove_file(&self) {
        let ours = fs::symlink_metadata(&self.path)
            .is_ok_and(|meta| meta.dev() == self.dev && meta.ino() == self.ino);
        if ours {
            if let Err(error) = fs::remove_file(&self.path) {
                tracing::warn!(path = %self.path.display(), %error, "cannot remove the socket file");
            }
        }
    }
}

/// Binds a Unix socket at `path` whose file has `mode` from the moment it exists.
pub fn bind(path: &Path, mode: u32) -> io::Result<Listener> {
    let path_bytes = path.as_os_str().len();
    if path_bytes > UNIX_PATH_MAX_BYTES {
        return Err(invalid(format!(
            "unix socket path {} is {path_bytes} bytes; the limit is {UNIX_PATH_MAX_BYTES}",
            path.display()
        )));
    }
    clear_stale_socket(path)?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let private_dir = parent.join(format!(".blink-store-bind.{}", std::process::id()));
    fs::DirBuilder::new()
        .mode(0o700)
        .create(&private_dir)
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot create {}: {e}", private_dir.display()),
            )
        })?;
    let result = bind_privately_then_publish(&private_dir, path, mode);
    // The private directory is empty on success and on failure alike.
    let _ = fs::remove_file(private_dir.join("s"));
    let _ = fs::remove_dir(&private_dir);
    result
}

fn bind_privately_then_publish(private_dir: &Path, path: &Path, mode: u32) -> io::Result<Listener> {
    let private_path = private_dir.join("s");
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    socket.bind(&SockAddr::unix(&private_path)?)?;
    fs::set_permissions(&private_path, fs::Permissions::from_mode(mode))?;
    socket.listen(LISTEN_BACKLOG)?;
    socket.set_nonblocking(true)?;
    fs::hard_link(&private_path, path).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot publish the socket at {}: {e}", path.display()),
        )
    })?;
    let meta = fs::symlink_metadata(path)?;
    let std_listener = std::os::unix::net::UnixListener::from(std::os::fd::OwnedFd::from(socket));
    Ok(Listener::Unix(UnixSocket {
        listener: UnixListener::from_std(std_listener),
        path: path.to_owned(),
        dev: meta.dev(),
        ino: meta.ino(),
    }))
}

/// Removes a socket file no server answers on; refuses a live socket or a non-socket.
fn clear_stale_socket(path: &Path) -> io::Result<()> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(io::Error::new(
                e.kind(),
                format!("cannot inspect {}: {e}", path.display()),
            ));
        }
    };
    if !meta.file_type().is_socket() {
        return Err(invalid(format!(
            "{} exists and is not a socket; refusing to touch it",
            path.display()
        )));
    }
    match StdUnixStream::connect(path) {
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("a live server is listening on {}", path.display()),
        )),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            tracing::info!(path = %path.display(), "removing a stale socket file");
            fs::remove_file(path)
        }
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!("cannot probe {}: {e}", path.display()),
        )),
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_has_the_configured_mode_and_is_removed_only_if_ours() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blink.sock");
        let listener = bind(&path, 0o600).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(StdUnixStream::connect(&path).is_ok());
        let Listener::Unix(unix) = &listener else {
            panic!("not unix")
        };
        unix.remove_file();
        assert!(!path.exists());
        // Leftover private directories would accumulate in the parent.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_live_socket_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("live.sock");
        let _live = bind(&path, 0o600).unwrap();
        let err = bind(&path, 0o600).err().unwrap();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        assert!(
            StdUnixStream::connect(&path).is_ok(),
            "live socket must survive"
        );
    }

    #[test]
    fn a_stale_socket_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stale.sock");
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        let _fresh = bind(&path, 0o600).unwrap();
        assert!(StdUnixStream::connect(&path).is_ok());
    }

    #[test]
    fn a_regular_file_is_refused_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.txt");
        fs::write(&path, b"precious").unwrap();
        let err = bind(&path, 0o600).err().unwrap();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(fs::read(&path).unwrap(), b"precious");
    }

    #[test]
    fn an_overlong_path_is_refused() {
        let path = PathBuf::from(format!("/tmp/{}", "x".repeat(UNIX_PATH_MAX_BYTES)));
        let err = bind(&path, 0o600).err().unwrap();
        assert!(err.to_string().contains("the limit is 107"), "{err}");
    }
}
