//! Routing policy, as plain functions over snapshots of the modems.
//!
//! Until the routing rules exist this is the placeholder the call actor asks through the
//! router's message interface: the first free modem, in id order, that the call has not
//! tried yet.

/// What the policy needs to know about a modem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate<'a> {
    /// Modem id.
    pub id: &'a str,
    /// The modem can place a call now.
    pub available: bool,
    /// Another call holds it (handed out, not yet dialling).
    pub leased: bool,
}

/// The first available, unleased modem not in `exclude`.
pub fn first_free<'a>(candidates: &[Candidate<'a>], exclude: &[String]) -> Option<&'a str> {
    candidates
        .iter()
        .filter(|c| c.available && !c.leased && !exclude.iter().any(|e| e == c.id))
        .map(|c| c.id)
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_free_table() {
        let c = |id, available, leased| Candidate {
            id,
            available,
            leased,
        };
        let mods = [
            c("m2", true, false),
            c("m1", true, true),
            c("m3", false, false),
            c("m0", true, false),
        ];
        let cases: [(&[&str], Option<&str>); 4] = [
            (&[], Some("m0")),
            (&["m0"], Some("m2")),
            (&["m0", "m2"], None),
            (&["x"], Some("m0")),
        ];
        for (exclude, want) in cases {
            let ex: Vec<String> = exclude.iter().map(|s| s.to_string()).collect();
            assert_eq!(first_free(&mods, &ex), want, "{exclude:?}");
        }
        assert_eq!(first_free(&[], &[]), None);
    }
}
