//! Calls sent to the AI voice agent.

use super::S::*;
use super::*;

const A: Target = Target::Agent;

#[test]
fn agent_calls() {
    run_cases(&[
        Case {
            name: "answered, the caller hangs up",
            target: A,
            offer: Some(SDP),
            steps: &[
                RouteAgent,
                AgentResp(180),
                AgentResp(200),
                Ack,
                Bye,
                AgentByeOk,
                Fire(Timer::Linger),
            ],
            trace: &[
                "route",
                "send INVITE agent",
                "180",
                "ack agent",
                "200",
                "reply 200 BYE",
                "send BYE agent",
                "record CallerHangup 200",
                "done",
            ],
        },
        Case {
            name: "a 2xx retransmitted after our ACK is ACKed again, not answered twice",
            target: A,
            offer: Some(SDP),
            steps: &[
                RouteAgent,
                AgentResp(200),
                AgentResp2xxAgain,
                Ack,
                AgentBye,
                TrunkByeOk,
            ],
            trace: &[
                "route",
                "send INVITE agent",
                "ack agent",
                "200",
                "ack agent",
                "reply 200 BYE",
                "send BYE trunk",
                "record CalleeHangup 200",
            ],
        },
        Case {
            name: "the agent does not answer in time: CANCEL, 480",
            target: A,
            offer: Some(SDP),
            steps: &[
                RouteAgent,
                AgentResp(180),
                Fire(Timer::AgentAnswer),
                AgentResp(487),
            ],
            trace: &[
                "route",
                "send INVITE agent",
                "180",
                "480",
                "send CANCEL agent",
                "record Failed 480",
            ],
        },
        Case {
            name: "the agent never answers at all: its INVITE times out",
            target: A,
            offer: Some(SDP),
            steps: &[RouteAgent, AgentInviteTimeout],
            trace: &["route", "send INVITE agent", "408", "record Failed 408"],
        },
        Case {
            name: "the agent's refusal is relayed",
            target: A,
            offer: Some(SDP),
            steps: &[RouteAgent, AgentResp(486)],
            trace: &["route", "send INVITE agent", "486", "record Failed 486"],
        },
        Case {
            name: "CANCEL before the agent's provisional: CANCEL sent once it comes",
            target: A,
            offer: Some(SDP),
            steps: &[RouteAgent, Cancel, AgentResp(180), AgentResp(487)],
            trace: &[
                "route",
                "send INVITE agent",
                "487",
                "send CANCEL agent",
                "record Cancelled 487",
            ],
        },
        Case {
            name: "the agent's 200 crosses the caller's CANCEL: ACK and BYE it",
            target: A,
            offer: Some(SDP),
            steps: &[
                RouteAgent,
                AgentResp(180),
                Cancel,
                AgentResp(200),
                AgentByeOk,
            ],
            trace: &[
                "route",
                "send INVITE agent",
                "180",
                "487",
                "send CANCEL agent",
                "ack agent",
                "send BYE agent",
                "record Cancelled 487",
            ],
        },
        Case {
            name: "the agent answers after the record: ACKed and hung up",
            target: A,
            offer: Some(SDP),
            steps: &[RouteAgent, Cancel, Fire(Timer::Teardown), AgentResp(200)],
            trace: &[
                "route",
                "send INVITE agent",
                "487",
                "record Cancelled 487",
                "ack agent",
                "send BYE agent",
            ],
        },
        Case {
            name: "early media from the agent is relayed with its SDP",
            target: A,
            offer: Some(SDP),
            steps: &[
                RouteAgent,
                AgentResp(183),
                AgentResp(200),
                Ack,
                ReInvite(SDP),
            ],
            trace: &[
                "route",
                "send INVITE agent",
                "183",
                "ack agent",
                "200",
                "reply 200 INVITE",
            ],
        },
        Case {
            name: "the agent hangs up before answering the caller: 480",
            target: A,
            offer: Some(SDP),
            steps: &[RouteAgent, AgentResp(180), AgentBye],
            trace: &[
                "route",
                "send INVITE agent",
                "180",
                "reply 200 BYE",
                "480",
                "record Failed 480",
            ],
        },
    ]);
}
