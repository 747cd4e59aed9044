//! Opening the serial ports and moving their bytes to and from the actor.

use std::path::{Path, PathBuf};

use actix::prelude::*;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::mpsc;
use tokio_serial::{SerialPort, SerialPortBuilderExt, SerialStream};

use super::messages::{AtRx, AudioRx, PortLost};

/// The two ports of a modem.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct PortPaths {
    /// AT (PCUI) port.
    pub at: PathBuf,
    /// Voice (audio) port.
    pub audio: PathBuf,
}

/// Opens a serial port the way the E173 expects: 115200 8N1, raw, exclusive, with any
/// stale input discarded.
pub(crate) fn open(path: &Path) -> std::io::Result<SerialStream> {
    let stream = tokio_serial::new(path.to_string_lossy(), 115_200)
        .data_bits(tokio_serial::DataBits::Eight)
        .parity(tokio_serial::Parity::None)
        .stop_bits(tokio_serial::StopBits::One)
        .open_native_async()
        .map_err(std::io::Error::other)?;
    stream
        .clear(tokio_serial::ClearBuffer::Input)
        .map_err(std::io::Error::other)?;
    Ok(stream)
}

/// Handles of the tasks serving one opened port pair; dropping it stops them.
#[derive(Debug)]
pub(crate) struct PortTasks {
    handles: Vec<tokio::task::JoinHandle<()>>,
}

impl PortTasks {
    pub(crate) fn new() -> Self {
        Self {
            handles: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, h: tokio::task::JoinHandle<()>) {
        self.handles.push(h);
    }

    /// Stops the tasks and resolves once they are gone, so the ports they hold are closed.
    /// The ports are opened exclusively: reopening one before its old descriptor is
    /// closed fails with "Unable to acquire exclusive lock on serial port".
    /// Stops the tasks (they finish at their next wake-up; see [`Self::close`]).
    pub(crate) fn abort(&self) {
        for h in &self.handles {
            h.abort();
        }
    }

    pub(crate) async fn close(mut self) {
        self.abort();
        for h in std::mem::take(&mut self.handles) {
            // A cancelled task's error is the expected outcome.
            let _ = h.await;
        }
    }
}

impl Drop for PortTasks {
    fn drop(&mut self) {
        for h in &self.handles {
            h.abort();
        }
    }
}

/// Reads the AT port and sends what arrives to the actor.
pub(crate) fn spawn_at_reader<A>(
    mut r: ReadHalf<SerialStream>,
    path: PathBuf,
    addr: Addr<A>,
    generation: u64,
) -> tokio::task::JoinHandle<()>
where
    A: Actor<Context = Context<A>> + Handler<AtRx> + Handler<PortLost>,
{
    actix::spawn(async move {
        let mut buf = vec![0u8; 4096];
        let error = loop {
            match r.read(&mut buf).await {
                Ok(0) => break "end of file".to_string(),
                Ok(n) => addr.do_send(AtRx {
                    generation,
                    bytes: buf[..n].to_vec(),
                }),
                Err(e) => break e.to_string(),
            }
        };
        addr.do_send(PortLost {
            generation,
            port: path,
            error,
        });
    })
}

/// Reads the audio port, reassembles `frame` byte frames and sends them to the actor.
pub(crate) fn spawn_audio_reader<A>(
    mut r: ReadHalf<SerialStream>,
    path: PathBuf,
    frame: usize,
    addr: Addr<A>,
    generation: u64,
) -> tokio::task::JoinHandle<()>
where
    A: Actor<Context = Context<A>> + Handler<AudioRx> + Handler<PortLost>,
{
    actix::spawn(async move {
        let mut buf = vec![0u8; 4096];
        let mut pending: Vec<u8> = Vec::with_capacity(frame * 2);
        let error = loop {
            match r.read(&mut buf).await {
                Ok(0) => break "end of file".to_string(),
                Ok(n) => {
                    pending.extend_from_slice(&buf[..n]);
                    while pending.len() >= frame {
                        let rest = pending.split_off(frame);
                        let pcm = std::mem::replace(&mut pending, rest);
                        addr.do_send(AudioRx { generation, pcm });
                    }
                }
                Err(e) => break e.to_string(),
            }
        };
        addr.do_send(PortLost {
            generation,
            port: path,
            error,
        });
    })
}

/// Writes whatever the actor queues to the AT port.
pub(crate) fn spawn_writer<A>(
    mut w: WriteHalf<SerialStream>,
    path: PathBuf,
    addr: Addr<A>,
    generation: u64,
) -> (mpsc::UnboundedSender<Vec<u8>>, tokio::task::JoinHandle<()>)
where
    A: Actor<Context = Context<A>> + Handler<PortLost>,
{
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let h = actix::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            if let Err(e) = async {
                w.write_all(&bytes).await?;
                w.flush().await
            }
            .await
            {
                addr.do_send(PortLost {
                    generation,
                    port: path,
                    error: e.to_string(),
                });
                return;
            }
        }
    });
    (tx, h)
}
