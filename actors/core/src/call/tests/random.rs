//! Random event sequences against the call session: whatever happens, in whatever order,
//! it never panics, answers the INVITE at most once and never after a final response, makes
//! at most one record, releases every modem it was leased exactly once, and always comes to
//! its record and its end once the caller and the timers have had their say.
//!
//! `E173GW_FUZZ_ITERS` sets the number of sequences (default 3,000; `scripts/fuzz` runs a
//! million in release mode); `E173GW_FUZZ_SEED` the first seed. A failure names the seed
//! and the steps.

use std::collections::HashMap;

use super::S::*;
use super::*;
use crate::test_util::Lcg;

const OFFERS: [Option<&str>; 3] = [Some(SDP), None, Some(G729)];
const G729: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
                    m=audio 40000 RTP/AVP 18\r\n";
const KINDS: [EndKind; 6] = [
    EndKind::Normal,
    EndKind::Busy,
    EndKind::NoAnswer,
    EndKind::DeviceGone,
    EndKind::Congestion,
    EndKind::LocalHangup,
];
const TIMERS: [Timer; 5] = [
    Timer::MaxDuration,
    Timer::HardLimit,
    Timer::AgentAnswer,
    Timer::Teardown,
    Timer::Linger,
];

fn pick<T: Copy>(rng: &mut Lcg, xs: &[T]) -> T {
    xs[(rng.next() as usize) % xs.len()]
}

/// One random step the harness can play now.
fn random_step(rng: &mut Lcg, h: &H) -> S {
    loop {
        let s = match rng.next() % 32 {
            0 => RouteModem(pick(rng, &["m1", "m2", "m3"])),
            1 => RouteAgent,
            2 => RouteReject(pick(rng, &[480, 503])),
            3 => Bound,
            4 => DialOk,
            5 => DialRefused,
            6 => Alert,
            7 => Audio,
            8 => Answer,
            9 | 10 => End(pick(rng, &KINDS), rng.next() % 2 == 0),
            11 => Cancel,
            12 => Ack,
            13 => AckWith(SDP),
            14 => Bye,
            15 => ReInvite(SDP),
            16 => Update(SDP),
            17 => NoAck,
            18 if h.trunk_bye.is_some() => TrunkByeOk,
            19 => TrunkByeTimeout,
            20 if h.agent_invite.is_some() => {
                AgentResp(pick(rng, &[100, 180, 183, 200, 486, 487, 503]))
            }
            21 if h.agent_invite.is_some() => AgentResp2xxAgain,
            22 if h.agent_bye.is_some() => AgentByeOk,
            23 if h.agent_invite.is_some() => AgentBye,
            24 if h.agent_invite.is_some() => AgentInviteTimeout,
            25 => Dtmf(pick(rng, &['1', '#'])),
            26 | 27 if !h.armed.is_empty() => Fire(pick(rng, &h.armed).0),
            28 => Shutdown,
            _ => continue,
        };
        return s;
    }
}

/// Checks what must hold after every step.
fn check(h: &H, leases: &HashMap<String, usize>, seed: u64, steps: &[S]) {
    let fail =
        |why: String| -> ! { panic!("seed {seed}: {why}\nsteps: {steps:?}\ntrace: {:?}", h.trace) };
    let finals: Vec<u16> = h
        .trace
        .iter()
        .filter_map(|l| l.parse::<u16>().ok())
        .collect();
    if let Some(i) = finals.iter().position(|c| *c >= 200) {
        if finals.len() > i + 1 {
            fail(format!(
                "responses to the INVITE after its final: {finals:?}"
            ));
        }
    }
    if h.records.len() > 1 {
        fail(format!("{} records", h.records.len()));
    }
    for (m, n) in leases {
        let released = h
            .trace
            .iter()
            .filter(|l| **l == format!("release {m}"))
            .count();
        if released > *n {
            fail(format!("{m} released {released} times for {n} leases"));
        }
    }
}

fn run_one(seed: u64) {
    let mut rng = Lcg(seed);
    let target = if rng.next() % 2 == 0 {
        Target::Modems
    } else {
        Target::Agent
    };
    let offer = pick(&mut rng, &OFFERS);
    let mut h = H::new(target, offer);
    let mut steps = Vec::new();
    let mut leases: HashMap<String, usize> = HashMap::new();
    let n = 1 + rng.next() % 24;
    for _ in 0..n {
        if h.done {
            break;
        }
        let s = random_step(&mut rng, &h);
        steps.push(s);
        if let RouteModem(m) = s {
            *leases.entry(m.to_string()).or_default() += 1;
        }
        h.now += Duration::from_millis(rng.next() % 5_000);
        h.step(s);
        check(&h, &leases, seed, &steps);
    }
    // The caller goes away, and time passes: the call must come to its record and end.
    for s in [Cancel, Bye] {
        if !h.done {
            steps.push(s);
            h.step(s);
        }
    }
    let mut rounds = 0;
    while !h.done {
        rounds += 1;
        assert!(
            rounds < 20,
            "seed {seed}: no end\nsteps: {steps:?}\ntrace: {:?}",
            h.trace
        );
        let next = TIMERS.iter().find(|t| h.is_armed(**t)).copied();
        match next {
            Some(t) => {
                steps.push(Fire(t));
                h.fire(t);
            }
            None => panic!(
                "seed {seed}: nothing armed and not done\nsteps: {steps:?}\ntrace: {:?}",
                h.trace
            ),
        }
        check(&h, &leases, seed, &steps);
    }
    assert_eq!(
        h.records.len(),
        1,
        "seed {seed}: one record\nsteps: {steps:?}"
    );
    for (m, n) in &leases {
        let released = h
            .trace
            .iter()
            .filter(|l| **l == format!("release {m}"))
            .count();
        assert_eq!(
            released, *n,
            "seed {seed}: every lease of {m} given back once\nsteps: {steps:?}\ntrace: {:?}",
            h.trace
        );
    }
}

#[test]
fn random_event_sequences_keep_the_call_rules() {
    let iters = crate::test_util::env_u64("E173GW_FUZZ_ITERS", 3_000);
    let first = crate::test_util::env_u64("E173GW_FUZZ_SEED", 1);
    for seed in first..first + iters {
        run_one(seed);
    }
    eprintln!("call session: {iters} random sequences from seed {first}, 0 failures");
}
