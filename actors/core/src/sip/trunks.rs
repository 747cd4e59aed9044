//! Trunk admission: which trunk a source belongs to, whether its request is authenticated,
//! and whether it is within its call caps. Pure: time is a parameter.

use std::net::IpAddr;
use std::time::Instant;

use super::acl::{Cidr, TokenBucket};
use super::auth::{self, Algorithm, AuthResult, NonceKeeper};
use crate::config::sip::{Target, TrunkConfig};

/// The realm of digest challenges.
pub const REALM: &str = "e173gw";

/// A trunk and its live counters.
#[derive(Debug)]
pub struct Trunk {
    /// Its configuration.
    pub cfg: TrunkConfig,
    cidrs: Vec<Cidr>,
    cps: Option<TokenBucket>,
    /// Calls in progress.
    pub active: u32,
}

/// What to do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Let it in.
    Admit,
    /// Answer 401 with these `WWW-Authenticate` values.
    Challenge(Vec<String>),
    /// Answer 403.
    Forbidden(&'static str),
    /// Answer 503 with `Retry-After` seconds.
    Busy {
        /// Why.
        reason: &'static str,
        /// Retry-After.
        retry_after: u32,
    },
}

/// Every trunk.
#[derive(Debug)]
pub struct TrunkTable {
    trunks: Vec<Trunk>,
    nonces: NonceKeeper,
}

impl TrunkTable {
    /// Builds the table; bad CIDRs were rejected by config validation and are skipped.
    pub fn new(cfgs: &[TrunkConfig], secret: Vec<u8>) -> Self {
        let ttl = cfgs
            .iter()
            .filter_map(|t| t.auth.as_ref().map(|a| a.nonce_ttl_s))
            .min()
            .unwrap_or(300);
        let trunks = cfgs
            .iter()
            .map(|c| Trunk {
                cidrs: c
                    .sources
                    .iter()
                    .filter_map(|s| Cidr::parse(s).ok())
                    .collect(),
                cps: (c.max_cps > 0).then(|| TokenBucket::new(c.max_cps, c.max_cps)),
                active: 0,
                cfg: c.clone(),
            })
            .collect();
        Self {
            trunks,
            nonces: NonceKeeper::new(secret, ttl),
        }
    }

    /// The first trunk whose sources contain `ip`.
    pub fn match_source(&self, ip: IpAddr) -> Option<usize> {
        self.trunks
            .iter()
            .position(|t| t.cidrs.iter().any(|c| c.contains(ip)))
    }

    /// A trunk by index.
    pub fn get(&self, i: usize) -> Option<&Trunk> {
        self.trunks.get(i)
    }

    /// The trunk's name and call target.
    pub fn describe(&self, i: usize) -> Option<(&str, Target)> {
        self.trunks
            .get(i)
            .map(|t| (t.cfg.name.as_str(), t.cfg.target))
    }

    /// Whether trunk `i` is a peer e173gw node.
    pub fn is_peer(&self, i: usize) -> bool {
        self.trunks.get(i).is_some_and(|t| t.cfg.peer)
    }

    /// Checks credentials for a request from trunk `i` (any method). `authorization` is
    /// the `Authorization` header value, if any.
    pub fn authenticate(
        &self,
        i: usize,
        method: &str,
        authorization: Option<&str>,
        now_unix: u64,
    ) -> Admission {
        let Some(t) = self.trunks.get(i) else {
            return Admission::Forbidden("unknown trunk");
        };
        let Some(a) = &t.cfg.auth else {
            return Admission::Admit;
        };
        let challenge = |stale: bool| {
            let nonce = self.nonces.issue(now_unix);
            Admission::Challenge(
                a.algorithms
                    .iter()
                    .filter_map(|x| Algorithm::parse(Some(x)))
                    .map(|alg| auth::challenge(REALM, &nonce, alg, stale))
                    .collect(),
            )
        };
        let Some(creds) = authorization.and_then(auth::parse_credentials) else {
            return challenge(false);
        };
        match auth::verify(
            &creds,
            method,
            &a.username,
            &a.password,
            REALM,
            &self.nonces,
            now_unix,
        ) {
            AuthResult::Ok => Admission::Admit,
            AuthResult::Stale => challenge(true),
            AuthResult::Denied => Admission::Forbidden("bad credentials"),
        }
    }

    /// Admits a new call from trunk `i` within its caps; on `Admit` the call is counted
    /// until [`Self::call_ended`].
    pub fn admit_call(&mut self, i: usize, now: Instant) -> Admission {
        let Some(t) = self.trunks.get_mut(i) else {
            return Admission::Forbidden("unknown trunk");
        };
        if t.cfg.max_calls > 0 && t.active >= t.cfg.max_calls {
            return Admission::Busy {
                reason: "trunk at its concurrent call limit",
                retry_after: 5,
            };
        }
        if let Some(b) = &mut t.cps {
            if !b.take(now) {
                return Admission::Busy {
                    reason: "trunk over its calls-per-second limit",
                    retry_after: 1,
                };
            }
        }
        t.active += 1;
        Admission::Admit
    }

    /// A call of trunk `i` ended.
    pub fn call_ended(&mut self, i: usize) {
        if let Some(t) = self.trunks.get_mut(i) {
            t.active = t.active.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::sip::TrunkAuth;

    fn trunk(
        name: &str,
        sources: &[&str],
        max_calls: u32,
        max_cps: u32,
        auth: bool,
    ) -> TrunkConfig {
        TrunkConfig {
            name: name.into(),
            sources: sources.iter().map(|s| s.to_string()).collect(),
            auth: auth.then(|| TrunkAuth {
                username: "u".into(),
                password: "p".into(),
                algorithms: vec!["SHA-256".into(), "MD5".into()],
                nonce_ttl_s: 60,
            }),
            register: false,
            max_calls,
            max_cps,
            target: Target::Modems,
            peer: false,
        }
    }

    #[allow(clippy::disallowed_methods)]
    fn t0() -> Instant {
        Instant::now()
    }

    #[test]
    fn sources_caps_and_cps() {
        let mut t = TrunkTable::new(
            &[
                trunk("a", &["10.0.0.0/8"], 2, 0, false),
                trunk("b", &["127.0.0.1"], 0, 3, false),
            ],
            b"s".to_vec(),
        );
        assert_eq!(t.match_source("10.1.2.3".parse().unwrap()), Some(0));
        assert_eq!(t.match_source("127.0.0.1".parse().unwrap()), Some(1));
        assert_eq!(t.match_source("192.0.2.1".parse().unwrap()), None);
        let now = t0();
        assert_eq!(t.admit_call(0, now), Admission::Admit);
        assert_eq!(t.admit_call(0, now), Admission::Admit);
        assert!(matches!(
            t.admit_call(0, now),
            Admission::Busy { retry_after: 5, .. }
        ));
        t.call_ended(0);
        assert_eq!(t.admit_call(0, now), Admission::Admit);
        let admitted = (0..10)
            .filter(|_| t.admit_call(1, now) == Admission::Admit)
            .count();
        assert_eq!(admitted, 3);
        assert_eq!(
            t.admit_call(1, now + std::time::Duration::from_millis(400)),
            Admission::Admit
        );
    }

    #[test]
    fn digest_challenge_and_answer() {
        let t = TrunkTable::new(&[trunk("a", &["10.0.0.0/8"], 0, 0, true)], b"s".to_vec());
        let Admission::Challenge(ch) = t.authenticate(0, "INVITE", None, 1000) else {
            panic!("challenge expected")
        };
        assert_eq!(ch.len(), 2);
        assert!(ch[0].contains("algorithm=SHA-256") && ch[1].contains("algorithm=MD5"));
        let nonce = ch[0]
            .split("nonce=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string();
        let mut c = auth::Credentials {
            username: "u".into(),
            realm: REALM.into(),
            nonce: nonce.clone(),
            uri: "sip:100@gw".into(),
            algorithm: Some("MD5".into()),
            ..Default::default()
        };
        c.response = auth::expected_response(&c, Algorithm::Md5, "INVITE", "p");
        let hdr = format!(
            "Digest username=\"u\", realm=\"{REALM}\", nonce=\"{nonce}\", uri=\"sip:100@gw\", algorithm=MD5, response=\"{}\"",
            c.response
        );
        assert_eq!(
            t.authenticate(0, "INVITE", Some(&hdr), 1010),
            Admission::Admit
        );
        assert!(
            matches!(t.authenticate(0, "INVITE", Some(&hdr), 5000), Admission::Challenge(v) if v[0].contains("stale=true"))
        );
        let wrong = hdr.replace(&c.response, "0000");
        assert_eq!(
            t.authenticate(0, "INVITE", Some(&wrong), 1010),
            Admission::Forbidden("bad credentials")
        );
        let no_auth = TrunkTable::new(&[trunk("x", &["10.0.0.0/8"], 0, 0, false)], b"s".to_vec());
        assert_eq!(no_auth.authenticate(0, "INVITE", None, 1), Admission::Admit);
    }
}
