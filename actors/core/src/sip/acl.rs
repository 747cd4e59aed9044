//! Who may talk to the gateway, and how fast: CIDR allowlists, token buckets for calls per
//! second, and a per-source flood limiter that forgets idle sources.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// An address block: `10.0.0.0/8`, `2001:db8::/32`, or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `addr` or `addr/prefix`; host bits must be zero.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (a, p) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let net: IpAddr = a
            .parse()
            .map_err(|_| format!("{a:?} is not an IP address"))?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|n| *n <= max)
                .ok_or_else(|| format!("prefix {p:?} is not 0..={max}"))?,
            None => max,
        };
        let c = Self { net, prefix };
        if c.mask(net) != bits(net) {
            return Err(format!("{s:?} has host bits set"));
        }
        Ok(c)
    }

    /// `ip` with the bits past the prefix cleared.
    fn mask(&self, ip: IpAddr) -> u128 {
        let p = u32::from(self.prefix);
        match ip {
            IpAddr::V4(a) => u128::from(u32::from(a) & u32::MAX.checked_shl(32 - p).unwrap_or(0)),
            IpAddr::V6(a) => u128::from(a) & u128::MAX.checked_shl(128 - p).unwrap_or(0),
        }
    }

    /// Whether `ip` is inside the block (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        ip.is_ipv4() == self.net.is_ipv4() && self.mask(ip) == bits(self.net)
    }
}

fn bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

/// A token bucket: `rate` tokens per second, at most `burst` stored.
#[derive(Debug, Clone, Copy)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Option<Instant>,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: u32, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            rate: f64::from(rate),
            burst,
            tokens: burst,
            last: None,
        }
    }

    /// Takes one token if there is one.
    pub fn take(&mut self, now: Instant) -> bool {
        if let Some(last) = self.last {
            let dt = now.saturating_duration_since(last).as_secs_f64();
            self.tokens = (self.tokens + dt * self.rate).min(self.burst);
        }
        self.last = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Whether the bucket is full again at `now` (nothing to remember).
    fn is_full(&self, now: Instant) -> bool {
        self.last.is_none_or(|last| {
            self.tokens + now.saturating_duration_since(last).as_secs_f64() * self.rate
                >= self.burst
        })
    }
}

/// Per-source request limiter. Sources that went quiet are forgotten on [`Self::sweep`].
#[derive(Debug)]
pub struct SourceLimiter {
    rate: u32,
    burst: u32,
    max_sources: usize,
    buckets: HashMap<IpAddr, TokenBucket>,
    /// Requests refused so far.
    pub refused: u64,
}

impl SourceLimiter {
    /// `rate` requests per second with bursts of `burst`, per source address; at most
    /// `max_sources` tracked at once (beyond that, unknown sources share one bucket).
    pub fn new(rate: u32, burst: u32, max_sources: usize) -> Self {
        Self {
            rate,
            burst,
            max_sources,
            buckets: HashMap::new(),
            refused: 0,
        }
    }

    /// Whether a request from `ip` may pass now.
    pub fn allow(&mut self, ip: IpAddr, now: Instant) -> bool {
        let key = if self.buckets.len() >= self.max_sources && !self.buckets.contains_key(&ip) {
            IpAddr::from([0, 0, 0, 0])
        } else {
            ip
        };
        let ok = self
            .buckets
            .entry(key)
            .or_insert_with(|| TokenBucket::new(self.rate, self.burst))
            .take(now);
        if !ok {
            self.refused += 1;
        }
        ok
    }

    /// Forgets sources whose bucket has refilled.
    pub fn sweep(&mut self, now: Instant) {
        self.buckets.retain(|_, b| !b.is_full(now));
    }

    /// Sources tracked.
    pub fn tracked(&self) -> usize {
        self.buckets.len()
    }
}

/// How long until a bucket refills from empty, for sweep scheduling.
pub fn refill_time(rate: u32, burst: u32) -> Duration {
    Duration::from_secs_f64(f64::from(burst.max(1)) / f64::from(rate.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::disallowed_methods)]
    fn t0() -> Instant {
        Instant::now()
    }

    #[test]
    fn cidr_table() {
        let cases = [
            ("10.0.0.0/8", "10.200.1.1", true),
            ("10.0.0.0/8", "11.0.0.1", false),
            ("192.0.2.7", "192.0.2.7", true),
            ("192.0.2.7", "192.0.2.8", false),
            ("0.0.0.0/0", "203.0.113.9", true),
            ("2001:db8::/32", "2001:db8:1::5", true),
            ("2001:db8::/32", "2001:db9::5", false),
            ("127.0.0.0/8", "::ffff:127.0.0.1", true),
            ("::1", "::1", true),
            ("10.0.0.0/8", "::1", false),
        ];
        for (c, ip, want) in cases {
            let cidr = Cidr::parse(c).unwrap();
            assert_eq!(cidr.contains(ip.parse().unwrap()), want, "{c} {ip}");
        }
        for bad in ["10.0.0.1/8", "10.0.0.0/33", "x", "10.0.0.0/", "::1/129"] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bucket_rate_and_burst() {
        let t = t0();
        let mut b = TokenBucket::new(10, 5);
        let passed = (0..20).filter(|_| b.take(t)).count();
        assert_eq!(passed, 5);
        assert!(!b.take(t + Duration::from_millis(50)));
        assert!(b.take(t + Duration::from_millis(110)));
        let later = t + Duration::from_secs(10);
        assert_eq!(
            (0..20).filter(|_| b.take(later)).count(),
            5,
            "refill capped at burst"
        );
    }

    #[test]
    fn source_limiter_isolates_and_forgets() {
        let t = t0();
        let mut l = SourceLimiter::new(2, 2, 1000);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(l.allow(a, t) && l.allow(a, t));
        assert!(!l.allow(a, t));
        assert!(l.allow(b, t), "one flooding source does not starve another");
        assert_eq!(l.refused, 1);
        l.sweep(t + Duration::from_secs(5));
        assert_eq!(l.tracked(), 0);
        let mut small = SourceLimiter::new(1, 1, 1);
        assert!(small.allow(a, t));
        assert!(small.allow(b, t), "overflow bucket");
        assert!(!small.allow("192.0.2.3".parse().unwrap(), t));
    }
}
