use super::*;
use e173gw_core::record::{EndReason, RecordTarget};

fn start(id: &str) -> CallStart {
    CallStart {
        call_id: id.into(),
        trunk: Some("t".into()),
        caller: "1".into(),
        callee: "2".into(),
        received_ms: 1000,
    }
}

fn record(id: &str) -> CallRecord {
    let mut r = start(id).interrupted(2000);
    r.end_reason = EndReason::CallerHangup;
    r.sip_status = 200;
    r.target = RecordTarget::Agent {
        uri: "sip:a@127.0.0.1".into(),
    };
    r
}

fn ids(v: &[(Pos, CallRecord)]) -> Vec<&str> {
    v.iter().map(|(_, r)| r.call_id.as_str()).collect()
}

#[test]
fn records_and_open_calls_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tmp");
    {
        let (mut s, rec) = Spool::open(dir.path(), 1 << 20).expect("open");
        assert!(rec.pending.is_empty() && rec.open.is_empty());
        s.start(&start("a")).expect("start");
        s.start(&start("b")).expect("start");
        s.record(&record("a")).expect("record");
        assert_eq!(s.open_calls(), 1);
        // Dropped without sync: a killed process still left everything written.
    }
    let (s, rec) = Spool::open(dir.path(), 1 << 20).expect("reopen");
    assert_eq!(ids(&rec.pending), vec!["a"]);
    assert_eq!(rec.pending[0].1, record("a"));
    assert_eq!(rec.open, vec![start("b")]);
    assert_eq!(rec.skipped, 0);
    assert_eq!(s.open_calls(), 1);
}

#[test]
fn commit_moves_the_checkpoint() {
    let dir = tempfile::tempdir().expect("tmp");
    {
        let (mut s, _) = Spool::open(dir.path(), 1 << 20).expect("open");
        let p1 = s.record(&record("r1")).expect("r1");
        s.record(&record("r2")).expect("r2");
        s.commit(p1).expect("commit");
        assert_eq!(s.checkpoint(), p1);
        s.commit(Pos::default())
            .expect("an older commit is a no-op");
        assert_eq!(s.checkpoint(), p1);
    }
    let (_, rec) = Spool::open(dir.path(), 1 << 20).expect("reopen");
    assert_eq!(ids(&rec.pending), vec!["r2"]);
}

#[test]
fn a_torn_tail_is_skipped_and_the_rest_kept() {
    let dir = tempfile::tempdir().expect("tmp");
    {
        let (mut s, _) = Spool::open(dir.path(), 1 << 20).expect("open");
        s.record(&record("x")).expect("x");
        s.record(&record("y")).expect("y");
    }
    let seg = segments(dir.path()).expect("segments")[0];
    let mut f = OpenOptions::new()
        .append(true)
        .open(seg_path(dir.path(), seg))
        .expect("segment");
    f.write_all(&[200, 0, 0, 0, 1, 2, 3, 4, b'{', b'"'])
        .expect("torn write");
    let (mut s, rec) = Spool::open(dir.path(), 1 << 20).expect("reopen");
    assert_eq!(ids(&rec.pending), vec!["x", "y"]);
    assert_eq!(rec.skipped, 1);
    // New entries go to a fresh segment, never after the torn bytes.
    s.record(&record("z")).expect("z");
    drop(s);
    let (_, rec) = Spool::open(dir.path(), 1 << 20).expect("reopen");
    assert_eq!(ids(&rec.pending), vec!["x", "y", "z"]);
}

#[test]
fn rotation_and_compaction_keep_long_calls() {
    let dir = tempfile::tempdir().expect("tmp");
    {
        let (mut s, _) = Spool::open(dir.path(), 400).expect("open");
        s.start(&start("long")).expect("start");
        let mut last = Pos::default();
        for i in 0..40 {
            s.start(&start(&format!("c{i}"))).expect("start");
            last = s.record(&record(&format!("c{i}"))).expect("record");
        }
        assert!(
            segments(dir.path()).expect("segments").len() > 5,
            "rolled over"
        );
        s.commit(last).expect("commit");
        assert!(
            segments(dir.path()).expect("segments").len() <= 2,
            "old segments deleted"
        );
        assert_eq!(s.open_calls(), 1);
    }
    let (_, rec) = Spool::open(dir.path(), 400).expect("reopen");
    assert!(rec.pending.is_empty(), "{:?}", ids(&rec.pending));
    assert_eq!(
        rec.open,
        vec![start("long")],
        "the long call's start was kept"
    );
}

#[test]
fn read_records_from_a_position() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut s, _) = Spool::open(dir.path(), 300).expect("open");
    let from = s.head();
    for i in 0..10 {
        s.start(&start(&format!("q{i}"))).expect("start");
        s.record(&record(&format!("q{i}"))).expect("record");
    }
    let first = s.read_records(from, 4).expect("read");
    assert_eq!(ids(&first), vec!["q0", "q1", "q2", "q3"]);
    let rest = s.read_records(first[3].0, 100).expect("read");
    assert_eq!(ids(&rest), vec!["q4", "q5", "q6", "q7", "q8", "q9"]);
    assert_eq!(rest.last().map(|(p, _)| *p), Some(s.head()));
}
