//! The audio pump: writes exactly one frame per frame period to the modem's audio port
//! while a call is up, from a short queue, with silence when the queue is empty.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncWriteExt, WriteHalf};
use tokio::sync::mpsc;
use tokio_serial::SerialStream;

use super::messages::AudioStats;

/// Frames queued at most (5 frames = 100 ms, as chan_dongle's mix buffer); older frames
/// are dropped first when it overflows.
pub(crate) const MAX_QUEUED: usize = 5;

/// Commands to the pump task.
#[derive(Debug)]
pub(crate) enum AudioCmd {
    /// Start writing frames (a call is up).
    Start,
    /// Stop writing and drop the queue.
    Stop,
    /// A frame to play.
    Frame(Vec<u8>),
}

/// Starts the pump task on the audio port's write half.
pub(crate) fn spawn_pump(
    mut w: WriteHalf<SerialStream>,
    frame: usize,
    period: Duration,
    stats: Arc<Mutex<AudioStats>>,
) -> (mpsc::UnboundedSender<AudioCmd>, tokio::task::JoinHandle<()>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<AudioCmd>();
    let h = actix::spawn(async move {
        let silence = vec![0u8; frame];
        let mut queue: VecDeque<Vec<u8>> = VecDeque::with_capacity(MAX_QUEUED);
        let mut active = false;
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    None => return,
                    Some(AudioCmd::Start) => {
                        if !active {
                            active = true;
                            tick.reset();
                        }
                    }
                    Some(AudioCmd::Stop) => {
                        active = false;
                        queue.clear();
                    }
                    Some(AudioCmd::Frame(mut pcm)) => {
                        if !active {
                            continue;
                        }
                        pcm.resize(frame, 0);
                        if queue.len() >= MAX_QUEUED {
                            queue.pop_front();
                            if let Ok(mut s) = stats.lock() {
                                s.overflows += 1;
                            }
                        }
                        queue.push_back(pcm);
                    }
                },
                _ = tick.tick(), if active => {
                    let (bytes, underrun) = match queue.pop_front() {
                        Some(f) => (f, false),
                        None => (silence.clone(), true),
                    };
                    if w.write_all(&bytes).await.is_err() {
                        // The AT reader reports the port loss; just stop writing.
                        return;
                    }
                    if let Ok(mut s) = stats.lock() {
                        s.frames_out += 1;
                        if underrun {
                            s.underruns += 1;
                        }
                    }
                }
            }
        }
    });
    (tx, h)
}
