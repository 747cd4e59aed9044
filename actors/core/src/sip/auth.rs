//! HTTP digest authentication for trunks (RFC 3261 §22, RFC 7616 for SHA-256, RFC 8760):
//! stateless nonces that carry their own timestamp and an HMAC, so any node can check
//! them and a replayed old nonce is answered `stale=true`.

use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use sha2::Sha256;

/// A digest algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// MD5.
    Md5,
    /// SHA-256.
    Sha256,
}

impl Algorithm {
    /// From the `algorithm` parameter (absent means MD5).
    pub fn parse(s: Option<&str>) -> Option<Self> {
        match s.map(|a| a.trim().to_ascii_uppercase()).as_deref() {
            None | Some("MD5") => Some(Self::Md5),
            Some("SHA-256") => Some(Self::Sha256),
            _ => None,
        }
    }

    /// The parameter value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Sha256 => "SHA-256",
        }
    }

    fn hash(self, data: &str) -> String {
        match self {
            Self::Md5 => hex::encode(Md5::digest(data.as_bytes())),
            Self::Sha256 => hex::encode(Sha256::digest(data.as_bytes())),
        }
    }
}

/// Issues and checks nonces: `<unix seconds, hex>.<HMAC-SHA256(secret, seconds), hex>`.
#[derive(Debug, Clone)]
pub struct NonceKeeper {
    secret: Vec<u8>,
    ttl_s: u64,
}

/// How a nonce checked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceState {
    /// Ours and fresh.
    Fresh,
    /// Ours but expired: challenge again with `stale=true`.
    Stale,
    /// Not ours.
    Invalid,
}

impl NonceKeeper {
    /// A keeper with a secret (random per deployment) and a lifetime.
    pub fn new(secret: Vec<u8>, ttl_s: u64) -> Self {
        Self { secret, ttl_s }
    }

    fn mac(&self, ts: &str) -> String {
        match <Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret) {
            Ok(mut m) => {
                m.update(ts.as_bytes());
                hex::encode(m.finalize().into_bytes())
            }
            Err(_) => String::new(),
        }
    }

    /// A nonce for `now_unix` (seconds since the epoch).
    pub fn issue(&self, now_unix: u64) -> String {
        let ts = format!("{now_unix:x}");
        let mac = self.mac(&ts);
        format!("{ts}.{mac}")
    }

    /// Checks a nonce at `now_unix`.
    pub fn check(&self, nonce: &str, now_unix: u64) -> NonceState {
        let Some((ts, mac)) = nonce.split_once('.') else {
            return NonceState::Invalid;
        };
        let expected = self.mac(ts);
        if expected.is_empty() || !constant_time_eq(expected.as_bytes(), mac.as_bytes()) {
            return NonceState::Invalid;
        }
        match u64::from_str_radix(ts, 16) {
            Ok(t) if t <= now_unix && now_unix - t <= self.ttl_s => NonceState::Fresh,
            Ok(t) if t <= now_unix + 5 => NonceState::Stale,
            _ => NonceState::Invalid,
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A `WWW-Authenticate` / `Proxy-Authenticate` value.
pub fn challenge(realm: &str, nonce: &str, algorithm: Algorithm, stale: bool) -> String {
    let stale = if stale { ", stale=true" } else { "" };
    format!(
        "Digest realm=\"{realm}\", nonce=\"{nonce}\", algorithm={}, qop=\"auth\"{stale}",
        algorithm.as_str()
    )
}

/// The parameters of an `Authorization: Digest ...` header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// `username`
    pub username: String,
    /// `realm`
    pub realm: String,
    /// `nonce`
    pub nonce: String,
    /// `uri`
    pub uri: String,
    /// `response`
    pub response: String,
    /// `algorithm`
    pub algorithm: Option<String>,
    /// `qop`
    pub qop: Option<String>,
    /// `nc`
    pub nc: Option<String>,
    /// `cnonce`
    pub cnonce: Option<String>,
}

/// Parses `Digest k=v, k="v", ...`; `None` when it is not a digest header or lacks a
/// required parameter.
pub fn parse_credentials(value: &str) -> Option<Credentials> {
    let rest = value.trim();
    let scheme = rest.get(..6)?;
    if !scheme.eq_ignore_ascii_case("digest") {
        return None;
    }
    let mut c = Credentials::default();
    for (k, v) in split_params(&rest[6..]) {
        match k.to_ascii_lowercase().as_str() {
            "username" => c.username = v,
            "realm" => c.realm = v,
            "nonce" => c.nonce = v,
            "uri" => c.uri = v,
            "response" => c.response = v.to_ascii_lowercase(),
            "algorithm" => c.algorithm = Some(v),
            "qop" => c.qop = Some(v),
            "nc" => c.nc = Some(v),
            "cnonce" => c.cnonce = Some(v),
            _ => {}
        }
    }
    (!c.username.is_empty() && !c.nonce.is_empty() && !c.response.is_empty() && !c.uri.is_empty())
        .then_some(c)
}

fn split_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        let key: String = chars
            .by_ref()
            .take_while(|c| *c != '=')
            .collect::<String>()
            .trim()
            .to_string();
        if key.is_empty() {
            return out;
        }
        let mut val = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut escaped = false;
            for c in chars.by_ref() {
                match (escaped, c) {
                    (false, '\\') => escaped = true,
                    (false, '"') => break,
                    _ => {
                        val.push(c);
                        escaped = false;
                    }
                }
            }
        } else {
            val = chars
                .by_ref()
                .take_while(|c| *c != ',')
                .collect::<String>()
                .trim()
                .to_string();
        }
        out.push((key, val));
    }
}

/// The expected `response` for these credentials (RFC 2617 / 7616 with qop=auth or none).
pub fn expected_response(c: &Credentials, alg: Algorithm, method: &str, password: &str) -> String {
    let ha1 = alg.hash(&format!("{}:{}:{password}", c.username, c.realm));
    let ha2 = alg.hash(&format!("{method}:{}", c.uri));
    match (c.qop.as_deref(), c.nc.as_deref(), c.cnonce.as_deref()) {
        (Some(qop), Some(nc), Some(cnonce)) if qop.eq_ignore_ascii_case("auth") => {
            alg.hash(&format!("{ha1}:{}:{nc}:{cnonce}:auth:{ha2}", c.nonce))
        }
        _ => alg.hash(&format!("{ha1}:{}:{ha2}", c.nonce)),
    }
}

/// The outcome of checking credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthResult {
    /// Accepted.
    Ok,
    /// Right password, expired nonce: challenge again with `stale=true`.
    Stale,
    /// Wrong user, realm, password, algorithm or nonce.
    Denied,
}

/// Checks credentials against one user's password.
pub fn verify(
    c: &Credentials,
    method: &str,
    user: &str,
    password: &str,
    realm: &str,
    nonces: &NonceKeeper,
    now_unix: u64,
) -> AuthResult {
    let Some(alg) = Algorithm::parse(c.algorithm.as_deref()) else {
        return AuthResult::Denied;
    };
    if c.username != user || c.realm != realm {
        return AuthResult::Denied;
    }
    let want = expected_response(c, alg, method, password);
    if !constant_time_eq(want.as_bytes(), c.response.as_bytes()) {
        return AuthResult::Denied;
    }
    match nonces.check(&c.nonce, now_unix) {
        NonceState::Fresh => AuthResult::Ok,
        NonceState::Stale => AuthResult::Stale,
        NonceState::Invalid => AuthResult::Denied,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2617_example() {
        // RFC 2617 §3.5 (MD5, qop=auth).
        let c = Credentials {
            username: "Mufasa".into(),
            realm: "testrealm@host.com".into(),
            nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093".into(),
            uri: "/dir/index.html".into(),
            response: String::new(),
            algorithm: None,
            qop: Some("auth".into()),
            nc: Some("00000001".into()),
            cnonce: Some("0a4f113b".into()),
        };
        assert_eq!(
            expected_response(&c, Algorithm::Md5, "GET", "Circle Of Life"),
            "6629fae49393a05397450978507c4ef1"
        );
    }

    #[test]
    fn rfc7616_sha256_example() {
        // RFC 7616 §3.9.1.
        let c = Credentials {
            username: "Mufasa".into(),
            realm: "http-auth@example.org".into(),
            nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v".into(),
            uri: "/dir/index.html".into(),
            response: String::new(),
            algorithm: Some("SHA-256".into()),
            qop: Some("auth".into()),
            nc: Some("00000001".into()),
            cnonce: Some("f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ".into()),
        };
        assert_eq!(
            expected_response(&c, Algorithm::Sha256, "GET", "Circle of Life"),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
    }

    #[test]
    fn nonces_expire_and_cannot_be_forged() {
        let k = NonceKeeper::new(b"secret".to_vec(), 300);
        let n = k.issue(1_000_000);
        assert_eq!(k.check(&n, 1_000_100), NonceState::Fresh);
        assert_eq!(k.check(&n, 1_000_301), NonceState::Stale);
        assert_eq!(
            NonceKeeper::new(b"other".to_vec(), 300).check(&n, 1_000_100),
            NonceState::Invalid
        );
        let forged = n.replacen(&format!("{:x}", 1_000_000), &format!("{:x}", 2_000_000), 1);
        assert_eq!(k.check(&forged, 2_000_000), NonceState::Invalid);
        assert_eq!(k.check("nonsense", 1), NonceState::Invalid);
    }

    #[test]
    fn end_to_end_verification() {
        let k = NonceKeeper::new(b"s".to_vec(), 60);
        let nonce = k.issue(100);
        let hdr = format!("Digest username=\"trunk\", realm=\"e173gw\", nonce=\"{nonce}\", uri=\"sip:100@gw\", algorithm=SHA-256, qop=auth, nc=00000001, cnonce=\"abc\", response=\"RESP\"");
        let mut c = parse_credentials(&hdr).expect("parses");
        c.response = expected_response(&c, Algorithm::Sha256, "INVITE", "pw");
        assert_eq!(
            verify(&c, "INVITE", "trunk", "pw", "e173gw", &k, 110),
            AuthResult::Ok
        );
        assert_eq!(
            verify(&c, "INVITE", "trunk", "bad", "e173gw", &k, 110),
            AuthResult::Denied
        );
        assert_eq!(
            verify(&c, "BYE", "trunk", "pw", "e173gw", &k, 110),
            AuthResult::Denied
        );
        assert_eq!(
            verify(&c, "INVITE", "trunk", "pw", "e173gw", &k, 1000),
            AuthResult::Stale
        );
        assert_eq!(parse_credentials("Basic abc"), None);
        assert_eq!(parse_credentials("Digest username=\"a\""), None);
        let ch = challenge("e173gw", &nonce, Algorithm::Md5, true);
        assert!(ch.contains("stale=true") && ch.contains("algorithm=MD5"));
    }
}
