use e173gw_actors::modem::{AudioStats, ModemStatus};
use e173gw_core::at::response::{OperatorInfo, RegState, Registration, Signal};
use e173gw_core::at::session::{ModemSnapshot, SessionStats};
use e173gw_core::routing::policy::SimLimits;

use super::*;

fn row() -> SimRow {
    SimRow {
        status: ModemStatus {
            id: ModemId::parse("modem1").expect("id"),
            profile: "e173".into(),
            link: LinkState::Open,
            ports: None,
            session: ModemSnapshot {
                identity: Default::default(),
                sim: SimState::Ready,
                signal: Some(Signal { rssi: 20, ber: 99 }),
                registration: Some(Registration {
                    state: RegState::Home,
                    lac: None,
                    ci: None,
                }),
                operator: OperatorInfo::default(),
                sim_plmn: None,
                voice: None,
                call: None,
                available: Ok(()),
                stats: SessionStats::default(),
            },
            recovery_rung: 0,
            last_fault: None,
            resets: 0,
            audio: AudioStats::default(),
        },
        operator: Some("vivo".into()),
        calls_today: 7,
        minutes_today: 12,
        calls_month: 40,
        minutes_month: 90,
        limits: SimLimits {
            calls_per_day: Some(10),
            minutes_per_day: Some(10),
            ..SimLimits::default()
        },
        leased: false,
        rested: None,
        quarantined: None,
        disabled: None,
    }
}

#[test]
fn state_and_reason_most_telling_first() {
    let now = 1_000_000;
    type Edit = fn(&mut SimRow);
    let cases: [(&str, Edit, &str, &str); 12] = [
        ("idle", |_| {}, "available", "idle"),
        (
            "disabled wins over all",
            |r| {
                r.disabled = Some("SIM swap".into());
                r.quarantined = Some("q".into());
                r.status.link = LinkState::Gone;
            },
            "disabled",
            "SIM swap",
        ),
        (
            "quarantined",
            |r| r.quarantined = Some("3 resets within 600 s".into()),
            "quarantined",
            "3 resets",
        ),
        (
            "unplugged",
            |r| {
                r.status.link = LinkState::Gone;
                r.status.last_fault = Some("port vanished".into());
            },
            "unplugged",
            "port vanished",
        ),
        (
            "waiting for the device",
            |r| r.status.link = LinkState::Unbound,
            "unplugged",
            "waiting",
        ),
        (
            "wrong device",
            |r| r.status.link = LinkState::WrongDevice,
            "wrong_device",
            "IMEI",
        ),
        (
            "no SIM",
            |r| r.status.session.available = Err(Unavailable::Sim(SimState::Absent)),
            "no_sim",
            "no SIM",
        ),
        (
            "PIN",
            |r| r.status.session.available = Err(Unavailable::Sim(SimState::Locked)),
            "sim_locked",
            "PIN",
        ),
        (
            "not registered",
            |r| {
                r.status.session.available = Err(Unavailable::NotRegistered);
                r.status.session.registration = Some(Registration {
                    state: RegState::Denied,
                    lac: None,
                    ci: None,
                });
            },
            "unregistered",
            "denied",
        ),
        (
            "in a call",
            |r| r.status.session.available = Err(Unavailable::InCall),
            "in_call",
            "call",
        ),
        (
            "rested",
            |r| r.rested = Some((1_030_500, "3 unanswered calls in a row".into())),
            "rested",
            "(31 s left)",
        ),
        ("leased", |r| r.leased = true, "leased", "set up"),
    ];
    for (name, edit, state, reason) in cases {
        let mut r = row();
        edit(&mut r);
        let (s, why) = modem_state(&r, now);
        assert_eq!(s, state, "{name}");
        assert!(why.contains(reason), "{name}: {why:?} lacks {reason:?}");
    }
    // A rest that is over is not a state.
    let mut r = row();
    r.rested = Some((now - 1, "old".into()));
    assert_eq!(modem_state(&r, now).0, "available");
}

#[test]
fn view_has_limits_left_and_signal_in_dbm() {
    let v = ModemView::of(&row(), 0);
    assert_eq!(v.signal_dbm, Some(-73));
    assert_eq!(v.left.calls_per_day, Some(3));
    assert_eq!(
        v.left.minutes_per_day,
        Some(0),
        "used up is 0, not negative"
    );
    assert_eq!(
        v.left.calls_per_month, None,
        "no limit, nothing left to count"
    );
    assert_eq!(v.registration.as_deref(), Some("home"));
    assert_eq!(v.sim, "ready");
    assert!(v.routable);
    let mut r = row();
    r.disabled = Some("x".into());
    assert!(!ModemView::of(&r, 0).routable);
    let mut r = row();
    r.status.link = LinkState::Gone;
    assert_eq!(
        ModemView::of(&r, 0).signal_dbm,
        None,
        "no stale signal once unplugged"
    );
}

#[test]
fn actions_are_checked() {
    let body = |kind: Option<&str>, seconds: Option<u32>, reason: Option<&str>| ActionBody {
        kind: kind.map(Into::into),
        seconds,
        reason: reason.map(Into::into),
    };
    assert_eq!(
        action("reset", ActionBody::default()).ok(),
        Some(AdminAction::Reset(ResetKind::Soft))
    );
    assert_eq!(
        action("reset", body(Some("reboot"), None, None)).ok(),
        Some(AdminAction::Reset(ResetKind::Reboot))
    );
    assert!(matches!(
        action("reset", body(Some("hard"), None, None)),
        Err(ApiError::BadRequest(_))
    ));
    assert_eq!(
        action("enable", ActionBody::default()).ok(),
        Some(AdminAction::Enable)
    );
    assert_eq!(
        action("disable", body(None, None, Some(" swap "))).ok(),
        Some(AdminAction::Disable {
            reason: "swap".into()
        })
    );
    match action("rest", ActionBody::default()) {
        Ok(AdminAction::Rest {
            seconds: 600,
            reason,
        }) => assert!(reason.contains("operator")),
        other => panic!("{other:?}"),
    }
    for bad in [0, MAX_REST_S + 1] {
        assert!(
            matches!(
                action("rest", body(None, Some(bad), None)),
                Err(ApiError::BadRequest(_))
            ),
            "{bad}"
        );
    }
    assert!(matches!(
        action("rest", body(None, None, Some(&"x".repeat(201)))),
        Err(ApiError::BadRequest(_))
    ));
    assert!(matches!(
        action("explode", ActionBody::default()),
        Err(ApiError::NotFound(_))
    ));
}
