//! One pty pair standing in for a USB serial port, and its stable link.
//!
//! The simulator keeps the master (non-blocking, behind [`AsyncFd`]) and its own slave fd:
//! holding the slave open means the master never sees a hang-up while the gateway has the
//! port closed. Dropping a [`PtyPort`] (and the reader stream) closes both, so the
//! gateway's reads fail exactly like after a USB unplug.

use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::Stream;
use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::pty::openpty;
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use super::SimError;

/// Bytes read from a master in one go.
const READ_CHUNK: usize = 4096;

/// A pty pair: the master for the simulator, the slave path for the gateway.
#[derive(Debug)]
pub(crate) struct PtyPort {
    master: Arc<AsyncFd<OwnedFd>>,
    _slave: OwnedFd,
    path: PathBuf,
}

fn pty_err(what: &'static str) -> impl Fn(Errno) -> SimError {
    move |e| SimError::Pty {
        what,
        source: io::Error::from(e),
    }
}

impl PtyPort {
    /// Opens a pair: the slave in raw mode, the master non-blocking.
    pub(crate) fn open() -> Result<Self, SimError> {
        let pair = openpty(None, None).map_err(pty_err("openpty"))?;
        let mut t = tcgetattr(&pair.slave).map_err(pty_err("tcgetattr"))?;
        cfmakeraw(&mut t);
        tcsetattr(&pair.slave, SetArg::TCSANOW, &t).map_err(pty_err("tcsetattr"))?;
        let flags = fcntl(&pair.master, FcntlArg::F_GETFL).map_err(pty_err("fcntl"))?;
        let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
        fcntl(&pair.master, FcntlArg::F_SETFL(flags)).map_err(pty_err("fcntl"))?;
        let path = nix::unistd::ttyname(&pair.slave).map_err(pty_err("ttyname"))?;
        // `with_interest` is deprecated because a general `T: AsRawFd` may lie about its fd;
        // an `OwnedFd` cannot (same fd, open until dropped), so this use is sound, and it
        // keeps the crate free of `unsafe`.
        #[allow(deprecated)]
        let master = AsyncFd::with_interest(pair.master, Interest::READABLE).map_err(|source| {
            SimError::Pty {
                what: "register",
                source,
            }
        })?;
        Ok(Self {
            master: Arc::new(master),
            _slave: pair.slave,
            path,
        })
    }

    /// The slave device (`/dev/pts/N`).
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Writes without waiting; returns how many bytes were dropped because nobody reads
    /// (the pty buffer is full).
    pub(crate) fn write_or_drop(&self, mut bytes: &[u8]) -> usize {
        while !bytes.is_empty() {
            match nix::unistd::write(self.master.get_ref(), bytes) {
                Ok(0) => break,
                Ok(n) => bytes = &bytes[n..],
                Err(Errno::EINTR) => {}
                Err(_) => break,
            }
        }
        bytes.len()
    }

    /// The bytes the gateway writes, chunk by chunk. Ends on EOF; yields an error once.
    pub(crate) fn reader(&self) -> impl Stream<Item = io::Result<Vec<u8>>> + 'static {
        let fd = Arc::clone(&self.master);
        futures_util::stream::unfold(Some(fd), |fd| async move {
            let fd = fd?;
            loop {
                let mut guard = match fd.readable().await {
                    Ok(g) => g,
                    Err(e) => return Some((Err(e), None)),
                };
                let mut buf = vec![0u8; READ_CHUNK];
                match guard.try_io(|inner| {
                    nix::unistd::read(inner.get_ref(), &mut buf).map_err(io::Error::from)
                }) {
                    Ok(Ok(0)) => return None,
                    Ok(Ok(n)) => {
                        buf.truncate(n);
                        return Some((Ok(buf), Some(fd)));
                    }
                    Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                    Ok(Err(e)) => return Some((Err(e), None)),
                    Err(_would_block) => {}
                }
            }
        })
    }
}

/// Points `link` at `target` atomically (a symlink under a temporary name, then rename).
pub(crate) fn replace_link(link: &Path, target: &Path) -> Result<(), SimError> {
    let name = link
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = link.with_file_name(format!(".{name}.tmp{}", std::process::id()));
    let err = |source| SimError::Link {
        link: link.to_path_buf(),
        source,
    };
    match std::fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(err(e)),
    }
    std::os::unix::fs::symlink(target, &tmp).map_err(err)?;
    std::fs::rename(&tmp, link).map_err(err)
}

/// Removes a link if it exists.
pub(crate) fn remove_link(link: &Path) {
    if let Err(e) = std::fs::remove_file(link) {
        if e.kind() != io::ErrorKind::NotFound {
            tracing::warn!(link = %link.display(), error = %e, "Cannot remove a simulator link.");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use std::io::{Read, Write};

    #[tokio::test]
    async fn bytes_flow_both_ways_and_unread_output_is_dropped() {
        let port = PtyPort::open().expect("pty");
        assert!(port.path().starts_with("/dev/pts"));
        let mut slave = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(port.path())
            .expect("open slave");
        assert_eq!(port.write_or_drop(b"\r\nOK\r\n"), 0);
        let mut buf = [0u8; 6];
        slave.read_exact(&mut buf).expect("read");
        assert_eq!(&buf, b"\r\nOK\r\n");
        slave.write_all(b"AT\r").expect("write");
        let mut r = Box::pin(port.reader());
        let got = r.next().await.expect("item").expect("ok");
        assert_eq!(got, b"AT\r");
        // Nobody reads: the pty fills up and the rest is dropped, without blocking.
        let big = vec![0x55u8; 1 << 20];
        assert!(port.write_or_drop(&big) > 0);
    }

    #[test]
    fn links_are_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let link = dir.path().join("m.at");
        replace_link(&link, Path::new("/dev/null")).expect("link");
        replace_link(&link, Path::new("/dev/zero")).expect("relink");
        assert_eq!(
            std::fs::read_link(&link).expect("read_link"),
            Path::new("/dev/zero")
        );
        remove_link(&link);
        assert!(!link.exists());
    }
}
