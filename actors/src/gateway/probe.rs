//! Asking a port which modem is behind it (`AT+CGSN`), before binding it.

use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use e173gw_core::at::codec::{AtDecoder, Frame};
use e173gw_core::at::command::Command;
use e173gw_core::domain::Imei;

use crate::modem::ports;

/// Why a probe found no IMEI.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The port could not be opened (busy, gone, not a tty).
    #[error("cannot open: {0}")]
    Open(std::io::Error),
    /// Reading or writing failed.
    #[error("i/o: {0}")]
    Io(std::io::Error),
    /// No final result in time.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The modem answered, but not with an IMEI.
    #[error("no IMEI in the answer: {0}")]
    NoImei(String),
}

/// Opens `at`, sends `AT+CGSN` and returns the IMEI. The port is closed again.
pub async fn probe_imei(at: &Path, timeout: Duration) -> Result<Imei, ProbeError> {
    let mut port = ports::open(at).map_err(ProbeError::Open)?;
    // A CR first ends whatever half-written command a previous owner left.
    port.write_all(b"\rAT+CGSN\r")
        .await
        .map_err(ProbeError::Io)?;
    let mut decoder = AtDecoder::new();
    decoder.expect(Command::Imei.expect());
    let mut lines = Vec::new();
    let mut buf = [0u8; 512];
    let read = async {
        loop {
            let n = port.read(&mut buf).await.map_err(ProbeError::Io)?;
            if n == 0 {
                return Err(ProbeError::Io(std::io::ErrorKind::UnexpectedEof.into()));
            }
            decoder.push(&buf[..n]);
            while let Some(frame) = decoder.decode() {
                match frame {
                    Frame::Response(l) => lines.push(l),
                    Frame::Final(f) if f.is_ok() && !lines.is_empty() => {
                        let line = lines.iter().find_map(|l| Imei::parse(l).ok());
                        return line.ok_or_else(|| ProbeError::NoImei(lines.join(" | ")));
                    }
                    // The OK/ERROR of the lone CR, or an error: keep waiting for the answer.
                    Frame::Final(f) if !f.is_ok() && !lines.is_empty() => {
                        return Err(ProbeError::NoImei(format!("{f:?}")));
                    }
                    _ => {}
                }
            }
        }
    };
    tokio::time::timeout(timeout, read)
        .await
        .map_err(|_| ProbeError::Timeout(timeout))?
}
