//! The command queue: one command in flight, call commands ahead of health polls.

use std::time::Instant;

use super::{InFlight, ModemSession, Pending, Phase, Purpose, SimState};
use crate::at::codec::Expect;
use crate::at::command::Command;

impl ModemSession {
    pub(super) fn enqueue(&mut self, purpose: Purpose, cmd: Command) {
        self.queue.push_back(Pending { cmd, purpose });
    }

    pub(super) fn idle(&self) -> bool {
        self.in_flight.is_none() && self.urgent.is_empty() && self.queue.is_empty()
    }

    pub(super) fn silence_deadline(&self) -> Option<Instant> {
        self.last_activity
            .map(|t| t + self.cfg.timeouts.silence_ping)
    }

    /// Writes the next command if none is in flight.
    pub(super) fn pump(&mut self, now: Instant) {
        if self.in_flight.is_some() || !matches!(self.phase, Phase::Init(_) | Phase::Ready) {
            return;
        }
        let Some(next) = self.urgent.pop_front().or_else(|| self.queue.pop_front()) else {
            self.decoder.expect(Expect::default());
            return;
        };
        let wire = next.cmd.wire();
        self.last_sent = Some(wire.clone());
        let mut bytes = Vec::with_capacity(wire.len() + 1);
        bytes.extend_from_slice(wire.as_bytes());
        bytes.push(b'\r');
        self.stats.commands += 1;
        self.stats.bytes_out += bytes.len() as u64;
        self.outbox.push_back(bytes);
        self.decoder.expect(next.cmd.expect());
        let timeout = self.cfg.timeouts.for_class(next.cmd.timeout_class());
        self.last_activity = Some(now);
        self.in_flight = Some(InFlight {
            cmd: next.cmd,
            purpose: next.purpose,
            deadline: now + timeout,
            lines: Vec::new(),
            prompted: false,
        });
    }

    pub(super) fn queue_poll(&mut self) {
        if self.queue.iter().any(|p| p.purpose == Purpose::Poll) {
            return;
        }
        self.enqueue(Purpose::Poll, Command::SignalQuery);
        self.enqueue(Purpose::Poll, Command::RegQuery);
        self.enqueue(Purpose::Poll, Command::OperatorQuery);
        if self.sim != SimState::Ready {
            self.enqueue(Purpose::Poll, Command::PinQuery);
        } else {
            self.list_stored_sms();
        }
    }
}
