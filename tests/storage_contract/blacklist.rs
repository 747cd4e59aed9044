//! Blacklist: which entry wins for a number and party, expiry, listing, replacing and
//! removing entries.

use e173gw_core::ports::*;

use crate::{DAY, MIN, T0};

fn entry(
    pattern: &str,
    kind: MatchKind,
    party: PartyScope,
    expires_ms: Option<u64>,
) -> BlacklistEntry {
    BlacklistEntry {
        pattern: pattern.into(),
        kind,
        party,
        reason: format!("{pattern} {kind:?}"),
        created_ms: T0,
        expires_ms,
    }
}

pub(crate) async fn blacklist_precedence_and_expiry(s: &Stores) {
    let b = &s.blacklist;
    for e in [
        entry("55119", MatchKind::Prefix, PartyScope::Both, None),
        entry("551199", MatchKind::Prefix, PartyScope::Callee, None),
        entry(
            "5511999990000",
            MatchKind::Exact,
            PartyScope::Callee,
            Some(T0 + MIN),
        ),
        entry("5511999990000", MatchKind::Prefix, PartyScope::Caller, None),
        entry("5521", MatchKind::Prefix, PartyScope::Caller, Some(T0 - 1)),
        entry("55%", MatchKind::Prefix, PartyScope::Both, None),
        entry("5531", MatchKind::Exact, PartyScope::Both, None),
    ] {
        b.add(&e).await.expect("add");
    }
    let find = |n: &'static str, p: Party, now: u64| {
        let b = b.clone();
        async move {
            b.find(n, p, now)
                .await
                .expect("find")
                .map(|e| (e.pattern, e.kind))
        }
    };
    assert_eq!(
        find("5511999990000", Party::Callee, T0).await,
        Some(("5511999990000".into(), MatchKind::Exact))
    );
    assert_eq!(
        find("5511999990000", Party::Callee, T0 + MIN).await,
        Some(("551199".into(), MatchKind::Prefix)),
        "exact expired at now_ms"
    );
    assert_eq!(
        find("5511999990000", Party::Caller, T0).await,
        Some(("5511999990000".into(), MatchKind::Prefix)),
        "a prefix as long as the number"
    );
    assert_eq!(
        find("5511999991111", Party::Caller, T0).await,
        Some(("55119".into(), MatchKind::Prefix)),
        "callee-only entries skip callers"
    );
    assert_eq!(
        find("5521987654321", Party::Caller, T0).await,
        None,
        "expired"
    );
    assert_eq!(
        find("5521987654321", Party::Caller, T0 - 2)
            .await
            .map(|e| e.0),
        Some("5521".into())
    );
    assert_eq!(
        find("5599", Party::Caller, T0).await,
        None,
        "patterns are not LIKE patterns"
    );
    assert_eq!(
        find("553", Party::Callee, T0).await,
        None,
        "an exact entry is not a prefix"
    );
    assert_eq!(find("55311", Party::Callee, T0).await, None);
    assert_eq!(find("4411", Party::Caller, T0).await, None);
    assert_eq!(b.list(T0).await.expect("list").len(), 6);
    assert_eq!(b.list(T0 - 2).await.expect("list").len(), 7);
    assert_eq!(b.list(T0 + MIN).await.expect("list").len(), 5);
    // Replace: same pattern, kind and party.
    let mut again = entry("55119", MatchKind::Prefix, PartyScope::Both, Some(T0 + DAY));
    again.reason = "replaced".into();
    b.add(&again).await.expect("replace");
    let listed = b.list(T0).await.expect("list");
    assert_eq!(listed.len(), 6);
    assert!(listed.contains(&again), "{listed:?}");
    assert!(b
        .remove("55119", MatchKind::Prefix, PartyScope::Both)
        .await
        .expect("remove"));
    assert!(!b
        .remove("55119", MatchKind::Prefix, PartyScope::Both)
        .await
        .expect("remove again"));
    assert!(!b
        .remove("551199", MatchKind::Prefix, PartyScope::Both)
        .await
        .expect("other party"));
    assert_eq!(find("5511912345678", Party::Caller, T0).await, None);
}
