//! The recovery ladder for a misbehaving modem, as plain logic.
//!
//! Each fault moves one rung up: soft reset (re-run init over the open port), then reopen
//! the ports, then mark the device gone and retry with exponential backoff. A modem that
//! reaches Ready again goes back to the bottom rung.

use std::time::Duration;

/// A backoff that was configured with impossible bounds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid backoff: {0}")]
pub struct InvalidBackoff(&'static str);

/// Exponential backoff between `min` and `max`, doubling each attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExponentialBackoff {
    min: Duration,
    max: Duration,
}

impl ExponentialBackoff {
    /// Checks `0 < min <= max`.
    pub fn try_new(min: Duration, max: Duration) -> Result<Self, InvalidBackoff> {
        if min.is_zero() {
            return Err(InvalidBackoff("min must be greater than zero"));
        }
        if max < min {
            return Err(InvalidBackoff("max must not be less than min"));
        }
        Ok(Self { min, max })
    }

    /// Delay before attempt `n` (0-based): `min * 2^n`, capped at `max`.
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX);
        self.min.saturating_mul(factor).min(self.max)
    }
}

/// What the owner should do about a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoveryAction {
    /// Re-run the init sequence over the open port.
    SoftReset,
    /// Close both ports and open them again.
    ReopenPorts,
    /// Close the ports, mark the device gone, and try to open it again after this delay.
    RetryAfter(Duration),
}

/// Where a modem stands on the ladder.
#[derive(Debug, Clone)]
pub struct RecoveryLadder {
    backoff: ExponentialBackoff,
    rung: u32,
}

impl RecoveryLadder {
    /// A ladder at the bottom rung.
    pub fn new(backoff: ExponentialBackoff) -> Self {
        Self { backoff, rung: 0 }
    }

    /// The modem faulted (command timeout, init failure, stuck call): climb one rung.
    pub fn on_fault(&mut self) -> RecoveryAction {
        let action = match self.rung {
            0 => RecoveryAction::SoftReset,
            1 => RecoveryAction::ReopenPorts,
            n => RecoveryAction::RetryAfter(self.backoff.delay(n - 2)),
        };
        self.rung = self.rung.saturating_add(1);
        action
    }

    /// The ports could not be opened (device absent): wait and try again.
    pub fn on_open_failed(&mut self) -> RecoveryAction {
        self.rung = self.rung.max(2);
        let action = RecoveryAction::RetryAfter(self.backoff.delay(self.rung - 2));
        self.rung = self.rung.saturating_add(1);
        action
    }

    /// The modem finished init: back to the bottom rung.
    pub fn on_ready(&mut self) {
        self.rung = 0;
    }

    /// How many rungs up the modem is (0 = healthy).
    pub fn rung(&self) -> u32 {
        self.rung
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn backoff_bounds() {
        assert!(ExponentialBackoff::try_new(ms(0), ms(10)).is_err());
        assert!(ExponentialBackoff::try_new(ms(10), ms(5)).is_err());
        let b = ExponentialBackoff::try_new(ms(500), ms(4000)).unwrap();
        let got: Vec<_> = (0..6).map(|n| b.delay(n)).collect();
        assert_eq!(
            got,
            vec![ms(500), ms(1000), ms(2000), ms(4000), ms(4000), ms(4000)]
        );
        assert_eq!(b.delay(u32::MAX), ms(4000));
    }

    #[test]
    fn ladder_climbs_and_resets() {
        let mut l = RecoveryLadder::new(ExponentialBackoff::try_new(ms(100), ms(1000)).unwrap());
        assert_eq!(l.on_fault(), RecoveryAction::SoftReset);
        assert_eq!(l.on_fault(), RecoveryAction::ReopenPorts);
        assert_eq!(l.on_fault(), RecoveryAction::RetryAfter(ms(100)));
        assert_eq!(l.on_fault(), RecoveryAction::RetryAfter(ms(200)));
        assert_eq!(l.on_open_failed(), RecoveryAction::RetryAfter(ms(400)));
        l.on_ready();
        assert_eq!(l.rung(), 0);
        assert_eq!(l.on_fault(), RecoveryAction::SoftReset);
    }

    #[test]
    fn open_failure_from_healthy_goes_straight_to_backoff() {
        let mut l = RecoveryLadder::new(ExponentialBackoff::try_new(ms(100), ms(1000)).unwrap());
        assert_eq!(l.on_open_failed(), RecoveryAction::RetryAfter(ms(100)));
        assert_eq!(l.on_open_failed(), RecoveryAction::RetryAfter(ms(200)));
    }
}
