//! Number history: per-number aggregates over the stored records, and which call counts
//! as the last one when two share a time.

use e173gw_core::at::cause::EndKind;
use e173gw_core::ports::*;

use crate::{rec, DAY, MIN, T0};

pub(crate) async fn history_aggregates(s: &Stores) {
    let n = "5511977770000";
    let mut unanswered_with_talk = rec("h7@x", "5511900000004", n, T0 + 5 * MIN, 486, 0);
    unanswered_with_talk.talk_ms = 1;
    let recs = vec![
        rec("h1@x", "5511900000001", n, T0 - 2 * DAY, 200, 120_000), // before the window
        rec("h2@x", "5511900000001", n, T0, 200, 2_000),             // short
        rec("h3@x", "5511900000002", n, T0 + MIN, 486, 0),
        rec("h4@x", "5511900000003", n, T0 + 2 * MIN, 200, 60_000),
        rec("h5@x", n, "5511900000009", T0 + 3 * MIN, 200, 1_000), // n as caller
        rec("h6@x", "5511900000003", n, T0 + 4 * MIN, 480, 0),
        unanswered_with_talk, // not short: not answered
        // Next month, and the last call as callee.
        rec("h8@x", "5511900000005", n, T0 + 10 * DAY, 200, 5_999),
    ];
    s.records.insert(&recs).await.expect("insert");
    let h = s
        .history
        .number_history(Party::Callee, n, T0 - DAY, 6_000)
        .await
        .expect("history");
    assert_eq!(
        (h.attempts, h.answered, h.short_calls, h.distinct_peers),
        (6, 3, 2, 5),
        "{h:?}"
    );
    let last = h.last.expect("last");
    assert_eq!(
        (last.at_ms, last.sip_status, last.talk_ms),
        (T0 + 10 * DAY, 200, 5_999)
    );
    assert_eq!(last.gsm_end, Some(EndKind::Normal));
    let all = s
        .history
        .number_history(Party::Callee, n, 0, 6_000)
        .await
        .expect("history");
    assert_eq!(all.attempts, 7);
    let as_caller = s
        .history
        .number_history(Party::Caller, n, 0, 6_000)
        .await
        .expect("history");
    assert_eq!(
        (
            as_caller.attempts,
            as_caller.answered,
            as_caller.short_calls,
            as_caller.distinct_peers
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(as_caller.last.map(|l| l.at_ms), Some(T0 + 3 * MIN));
    let none = s
        .history
        .number_history(Party::Caller, "000", 0, 6_000)
        .await
        .expect("history");
    assert_eq!(none, NumberHistory::default());
    let future = s
        .history
        .number_history(Party::Callee, n, u64::MAX, 6_000)
        .await
        .expect("history");
    assert_eq!(future, NumberHistory::default());
}

/// A call that never reached the callee: no modem free.
fn gateway_fault(call_id: &str, callee: &str, at: u64) -> e173gw_core::record::CallRecord {
    let mut r = rec(call_id, "5511900000008", callee, at, 503, 0);
    r.target = e173gw_core::record::RecordTarget::None;
    r.end_reason = e173gw_core::record::EndReason::NoRoute;
    r.gsm_end = None;
    r.q850 = None;
    r
}

pub(crate) async fn history_consecutive_failures(s: &Stores) {
    let n = "5511977771111";
    let recs = vec![
        rec("c1@x", "5511900000001", n, T0, 486, 0),
        rec("c2@x", "5511900000001", n, T0 + MIN, 200, 30_000), // answered
        rec("c3@x", "5511900000002", n, T0 + 2 * MIN, 486, 0),
        rec("c4@x", "5511900000003", n, T0 + 3 * MIN, 480, 0),
        rec("c5@x", "5511900000003", n, T0 + 4 * MIN, 404, 0),
        gateway_fault("c4b@x", n, T0 + 3 * MIN + 1),
    ];
    s.records.insert(&recs).await.expect("insert");
    // (since, consecutive failures, attempts). The gateway fault (no modem free) is an
    // attempt but neither counts as the callee's failure nor breaks the run.
    for (since, failures, attempts) in [
        (0, 3, 6),
        (T0 + MIN, 3, 5),
        // The answer is outside the window: every call in it failed.
        (T0 + 2 * MIN, 3, 4),
        (T0 + 4 * MIN, 1, 1),
    ] {
        let h = s
            .history
            .number_history(Party::Callee, n, since, 6_000)
            .await
            .expect("history");
        assert_eq!(
            (h.consecutive_failures, h.attempts),
            (failures, attempts),
            "since {since}"
        );
    }
    s.records
        .insert(&[rec("c6@x", "5511900000004", n, T0 + 5 * MIN, 200, 1_000)])
        .await
        .expect("insert");
    let h = s
        .history
        .number_history(Party::Callee, n, 0, 6_000)
        .await
        .expect("history");
    assert_eq!(h.consecutive_failures, 0, "answered again");
    // Calls refused by screening never reached the network: not history.
    let mut screened = rec("c7@x", "5511900000004", n, T0 + 6 * MIN, 404, 0);
    screened.end_reason = e173gw_core::record::EndReason::Screened;
    s.records.insert(&[screened]).await.expect("insert");
    let after = s
        .history
        .number_history(Party::Callee, n, 0, 6_000)
        .await
        .expect("history");
    assert_eq!(after, h, "a screened call changes nothing");
    // As caller too.
    let h = s
        .history
        .number_history(Party::Caller, "5511900000003", 0, 6_000)
        .await
        .expect("history");
    assert_eq!(h.consecutive_failures, 2);
}

pub(crate) async fn on_equal_times_the_later_insert_is_newer(s: &Stores) {
    let first = rec("1@x", "A", "B", T0, 200, 1000);
    let second = rec("2@x", "A", "B", T0, 503, 0);
    let third = rec("0@x", "A", "B", T0, 486, 0);
    s.records.insert(&[first, second]).await.expect("insert");
    let h = s
        .history
        .number_history(Party::Caller, "A", 0, 0)
        .await
        .expect("history");
    assert_eq!(h.last.map(|l| l.sip_status), Some(503));
    s.records.insert(&[third]).await.expect("insert");
    let h = s
        .history
        .number_history(Party::Callee, "B", 0, 0)
        .await
        .expect("history");
    assert_eq!(h.last.map(|l| l.sip_status), Some(486));
    let found = s
        .records
        .search(&RecordQuery::default())
        .await
        .expect("search");
    let ids: Vec<_> = found.iter().map(|r| r.call_id.as_str()).collect();
    assert_eq!(ids, ["0@x", "2@x", "1@x"]);
}
