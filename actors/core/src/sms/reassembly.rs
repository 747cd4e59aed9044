//! Putting long texts back together: parts of one message share the sender, the
//! reference and the count (TS 23.040 §9.2.3.24.1). A message is complete when every part
//! arrived; one whose parts stop coming is given up after a while, with what arrived.

use std::collections::BTreeMap;

use super::pdu::Deliver;

/// A message made whole (or given up with parts missing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Whole {
    /// The sender.
    pub from: String,
    /// The first part's time stamp.
    pub timestamp: String,
    /// The text, parts in order (a missing part leaves nothing in its place).
    pub text: String,
    /// The concatenation reference (0 for a single part).
    pub reference: u16,
    /// Parts expected, and how many were missing when it was given up (0: complete).
    pub parts: u8,
    /// Missing parts.
    pub missing: u8,
}

type Key = (String, u16, u8);

#[derive(Debug, Clone)]
struct Pending {
    first_ms: u64,
    timestamp: String,
    parts: BTreeMap<u8, String>,
}

/// Parts waiting for the rest of their message.
#[derive(Debug, Clone, Default)]
pub struct Reassembly {
    pending: BTreeMap<Key, Pending>,
}

/// Messages waiting for parts at most.
const MAX_PENDING: usize = 1_000;

impl Reassembly {
    /// Takes one received part; returns the message when this part completes it (a
    /// single-part message at once).
    pub fn add(&mut self, d: Deliver, now_ms: u64) -> Option<Whole> {
        let Some(c) = d
            .concat
            .filter(|c| c.total > 1 && (1..=c.total).contains(&c.seq))
        else {
            return Some(Whole {
                from: d.from,
                timestamp: d.timestamp,
                text: d.text,
                reference: 0,
                parts: 1,
                missing: 0,
            });
        };
        let key = (d.from.clone(), c.reference, c.total);
        if !self.pending.contains_key(&key) && self.pending.len() >= MAX_PENDING {
            // Full (a flood of parts that never complete): this part goes on alone
            // rather than being lost.
            return Some(Whole {
                from: d.from,
                timestamp: d.timestamp,
                text: d.text,
                reference: c.reference,
                parts: c.total,
                missing: c.total - 1,
            });
        }
        let p = self.pending.entry(key.clone()).or_insert_with(|| Pending {
            first_ms: now_ms,
            timestamp: d.timestamp.clone(),
            parts: BTreeMap::new(),
        });
        p.parts.insert(c.seq, d.text);
        if p.parts.len() < usize::from(c.total) {
            return None;
        }
        let p = self.pending.remove(&key)?;
        Some(Whole {
            from: key.0,
            timestamp: p.timestamp,
            text: p.parts.into_values().collect(),
            reference: c.reference,
            parts: c.total,
            missing: 0,
        })
    }

    /// Messages that waited longer than `max_wait_ms` for their parts, given up with what
    /// arrived (a text with a gap beats a lost text).
    pub fn expire(&mut self, now_ms: u64, max_wait_ms: u64) -> Vec<Whole> {
        let old: Vec<Key> = self
            .pending
            .iter()
            .filter(|(_, p)| now_ms.saturating_sub(p.first_ms) >= max_wait_ms)
            .map(|(k, _)| k.clone())
            .collect();
        old.into_iter()
            .filter_map(|k| {
                let p = self.pending.remove(&k)?;
                let got = p.parts.len() as u8;
                Some(Whole {
                    from: k.0,
                    timestamp: p.timestamp,
                    text: p.parts.into_values().collect(),
                    reference: k.1,
                    parts: k.2,
                    missing: k.2.saturating_sub(got),
                })
            })
            .collect()
    }

    /// Messages waiting for parts.
    pub fn waiting(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sms::pdu::Concat;

    fn part(from: &str, reference: u16, total: u8, seq: u8, text: &str) -> Deliver {
        Deliver {
            from: from.into(),
            timestamp: format!("26-12-04 10:00:0{seq}+00"),
            text: text.into(),
            concat: Some(Concat {
                reference,
                total,
                seq,
            }),
        }
    }

    #[test]
    fn parts_in_any_order_make_one_text() {
        let mut r = Reassembly::default();
        assert_eq!(r.add(part("+551", 7, 3, 3, "c"), 0), None);
        assert_eq!(r.add(part("+551", 7, 3, 1, "a"), 1), None);
        // The same reference from another sender is another message.
        assert_eq!(r.add(part("+552", 7, 3, 2, "X"), 2), None);
        assert_eq!(
            r.add(part("+551", 7, 3, 1, "a"), 3),
            None,
            "a repeated part"
        );
        let w = r.add(part("+551", 7, 3, 2, "b"), 4).expect("complete");
        assert_eq!((w.text.as_str(), w.parts, w.missing), ("abc", 3, 0));
        assert_eq!(
            w.timestamp, "26-12-04 10:00:03+00",
            "the first part to arrive"
        );
        assert_eq!(r.waiting(), 1);
    }

    #[test]
    fn single_parts_pass_and_stragglers_expire() {
        let mut r = Reassembly::default();
        let single = Deliver {
            from: "Vivo".into(),
            timestamp: String::new(),
            text: "Oi".into(),
            concat: None,
        };
        assert_eq!(r.add(single, 0).map(|w| w.text), Some("Oi".into()));
        // A part numbered outside its count is taken as a text of its own.
        assert!(r.add(part("+551", 1, 2, 5, "odd"), 0).is_some());
        assert_eq!(r.add(part("+551", 9, 2, 1, "first half"), 1_000), None);
        assert!(r.expire(60_000, 120_000).is_empty(), "still waiting");
        let gone = r.expire(121_000, 120_000);
        assert_eq!(gone.len(), 1);
        assert_eq!((gone[0].text.as_str(), gone[0].missing), ("first half", 1));
        assert_eq!(r.waiting(), 0);
        // Full: a new message's part is passed on alone, not dropped.
        for i in 0..MAX_PENDING {
            assert_eq!(r.add(part("+553", i as u16, 2, 1, "p"), 0), None);
        }
        let alone = r.add(part("+554", 1, 2, 1, "alone"), 0).expect("passed on");
        assert_eq!((alone.text.as_str(), alone.missing), ("alone", 1));
    }
}
