//! The real gateway against messages of the classes RFC 4475 catalogues (written here
//! from the RFC 3261 grammar): valid ones are never answered 400, invalid ones get the
//! status RFC 3261 asks for, and when a request fails several checks the first one in
//! the order of RFC 3261 §8.2 answers. Runs inside a loopback-only network namespace.

mod common;

use std::time::Duration;

use common::gw::{header, status_line, Gateway, Options, RawSip};
use common::inside_netns;

const SDP: &str = "v=0\r\no=- 7 7 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 8\r\nm=video 3227 RTP/AVP 31\r\na=rtpmap:31 LPC\r\n";

/// What a case must get.
#[derive(Debug)]
enum Want {
    /// This final status.
    Status(u16),
    /// Some answer, never 400 (nor any of these).
    NotAmong(&'static [u16]),
}

/// Lines joined with CRLF, the empty line and `body`; `{me}` is this side's address,
/// `{n}` the case number (for unique Call-IDs and branches).
fn msg(me: &str, n: usize, lines: &[&str], body: &str) -> String {
    let mut s = lines.join("\r\n");
    s.push_str("\r\n\r\n");
    s.push_str(body);
    s.replace("{me}", me).replace("{n}", &n.to_string())
}

/// A request with the usual headers, `drop`ped ones removed and `extra` ones added.
fn req(me: &str, n: usize, start: &str, drop: &[&str], extra: &[&str], body: &str) -> String {
    let method = start.split(' ').next().unwrap_or_default();
    let cseq = format!("CSeq: 7 {method}");
    let usual = [
        "Via: SIP/2.0/UDP {me};branch=z9hG4bK-t{n};rport",
        "From: <sip:alice@127.0.0.1>;tag=f{n}",
        "To: <sip:user@127.0.0.1>",
        "Call-ID: torture-{n}@127.0.0.1",
        cseq.as_str(),
        "Max-Forwards: 70",
    ];
    let mut lines: Vec<String> = vec![start.to_string()];
    lines.extend(
        usual
            .iter()
            .filter(|l| !drop.iter().any(|d| l.starts_with(d)))
            .map(|l| l.to_string()),
    );
    lines.extend(extra.iter().map(|e| e.to_string()));
    let cl = format!("Content-Length: {}", body.len());
    lines.push(cl);
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    msg(me, n, &refs, body)
}

fn cases(me: &str) -> Vec<(&'static str, String, Want)> {
    use Want::*;
    let long = "long".repeat(200);
    let mut vias = String::new();
    let forms = ["Via:", "v:", "V :", "VIA:", "via  :"];
    for i in 0..32 {
        vias.push_str(&format!(
            "{} SIP/2.0/TCP relay{i}.example.com\r\n",
            forms[i % 5]
        ));
    }
    let long_invite = format!(
        "INVITE sip:user@127.0.0.1 SIP/2.0\r\nTo: \"{long}\"<sip:user@127.0.0.1;p={long}>\r\nf: sip:{long}@127.0.0.1;tag={long}\r\n\
         Call-ID: long-{long}\r\nCSeq: 3 INVITE\r\nX-{long}: {} ; p = v\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK-long;rport\r\n{vias}\
         Max-Forwards: 70\r\nl: 0\r\n\r\n",
        "v".repeat(2000)
    );
    let multipart = format!(
        "--sep\r\nContent-Type: text/plain\r\n\r\nhello\r\n--sep\r\nContent-Type: application/sdp\r\n\r\n{SDP}\r\n--sep--\r\n"
    );
    let ruri = "INVITE sip:user@127.0.0.1 SIP/2.0";
    let opts = "OPTIONS sip:user@127.0.0.1 SIP/2.0";
    let mut v: Vec<(&'static str, String, Want)> = Vec::new();
    let mut n = 0;
    let mut add = |name: &'static str, text: String, want: Want| {
        v.push((name, text, want));
    };
    let mut next = || {
        n += 1;
        n
    };
    // Valid messages: never 400.
    add(
        "ws-tortuous",
        msg(
            me,
            next(),
            &[
                "INVITE sip:user@127.0.0.1;oddparam SIP/2.0",
                "tO :",
                " sip:user@127.0.0.1 ;   tag    = 77xq",
                "fRoM   : \"Carol \\\\\\\"\"      <sip:carol@127.0.0.1>",
                "  ;",
                "  tag = c4r0l",
                "mAx-FoRwArDs: 0042",
                "CALL-id: ws-{n}@127.0.0.1",
                "CsEq: 0017",
                "  INVITE",
                "Via  : SIP  /   2.0",
                " /UDP",
                "    {me};branch=oldstyle{n};rport",
                "s :",
                "OddHeader:   some value",
                " \tmore value",
                "StrangeValue: ;,;;,",
                "v:  SIP  / 2.0  / TCP     relay.example.com   ;",
                "  branch  =   z9hG4bKr1  ,",
                " SIP  /    2.0   / UDP  192.0.2.9   ; branch=",
                " z9hG4bKr2",
                "m:\"Say \\\"hi\\\"\" <sip:carol@127.0.0.1> ; p1 =",
                "      v1 ;",
                "  p2 ; q = 0.5",
                "c: application/sdp",
                &format!("Content-Length   : {}", SDP.len()),
            ],
            SDP,
        ),
        NotAmong(&[400]),
    );
    add("wide characters", msg(me, next(), &[
        "!odd-Method_9*+`.%x'~ sip:2_odd.User~(yes!)&it's+$/so?,/;;*:&pw+=1,!*$~_.(p)@127.0.0.1 SIP/2.0",
        "Via: SIP/2.0/UDP {me};branch=z9hG4bK-.!%66*_+`'~{n};rport",
        "To: \"BEL:\\\u{7} NUL:\\\u{0} DEL:\\\u{7f}\" <sip:2_odd.User~(yes!)&it's+$/so?,/;;*@127.0.0.1>",
        "From: tok1~` tok2'+_ tok3*%!.- <sip:plain@127.0.0.1>;odd''~+*_!.-%=\"\u{440}\u{430}\";tag=_t~1'+`*%!-.",
        "Call-ID: wide{n}.w%ZK-!.*_+'@w`~)(><:\\/\"][?}{", "CSeq: 99 !odd-Method_9*+`.%x'~",
        "Max-Forwards: 255", "x-Header-!.%*+_`'~:\u{96fb}\u{6c17}", "Content-Length: 0",
    ], ""), Status(501));
    add(
        "escapes",
        req(
            me,
            next(),
            "INVITE sip:sips%3Abob%40b.example@127.0.0.1 SIP/2.0",
            &["To"],
            &[
                "To: sip:%62ob@127.0.0.1",
                "c: application/sdp",
                "Contact:",
                " <sip:c%61rol@127.0.0.1;%6C%72;n%61me=v%61l%25%34%31>",
            ],
            SDP,
        ),
        NotAmong(&[400]),
    );
    add(
        "escaped nulls",
        req(
            me,
            next(),
            "REGISTER sip:127.0.0.1 SIP/2.0",
            &["To", "From"],
            &[
                "To: sip:x-%00-y@127.0.0.1",
                "From: sip:x-%00-y@127.0.0.1;tag=n1",
                "Contact: <sip:%00@127.0.0.1>",
                "Contact: <sip:%00%00@127.0.0.1>",
            ],
            "",
        ),
        NotAmong(&[400]),
    );
    add(
        "token display, no space",
        req(
            me,
            next(),
            opts,
            &["From"],
            &["From: dave<sip:dave@127.0.0.1>;tag=9"],
            "",
        ),
        Status(200),
    );
    add("long values, 33 Vias", long_invite, NotAmong(&[400, 513]));
    add(
        "semicolon in user",
        req(
            me,
            next(),
            "OPTIONS sip:user;par=u%40example.net@127.0.0.1 SIP/2.0",
            &[],
            &[
                "Accept: application/sdp, text/plain,",
                "        multipart/mixed",
            ],
            "",
        ),
        Status(200),
    );
    add(
        "transports",
        req(
            me,
            next(),
            opts,
            &["Via"],
            &[
                "Via: SIP/2.0/SCTP {me};branch=z9hG4bK-sctp{n};rport",
                "Via: SIP/2.0/TLS t3.example.com;branch=z9hG4bKt3, SIP/2.0/WS t4.example.com",
                "v: SIP/2.0/WSS t5.example.com,SIP/2.0/FOO t6.example.com",
            ],
            "",
        ),
        Status(200),
    );
    let dialable = "INVITE sip:5511912345678@127.0.0.1 SIP/2.0";
    add(
        "multipart body with SDP",
        req(
            me,
            next(),
            dialable,
            &[],
            &["Content-Type: multipart/mixed;boundary=sep"],
            &multipart,
        ),
        NotAmong(&[400, 415, 488]),
    );
    add(
        "RFC 2543 INVITE",
        msg(
            me,
            next(),
            &[
                "INVITE sip:UserB@127.0.0.1 SIP/2.0",
                "Via: SIP/2.0/UDP {me}",
                "From: <sip:+13035550000@127.0.0.1;user=phone>",
                "To: sip:+16505550000@127.0.0.1;user=phone",
                "Call-ID: old{n}@127.0.0.1",
                "CSeq: 56 INVITE",
                "Content-Type: application/sdp",
            ],
            SDP,
        ),
        NotAmong(&[400]),
    );
    add(
        "unknown schemes in headers",
        req(
            me,
            next(),
            "REGISTER sip:127.0.0.1 SIP/2.0",
            &["To", "From"],
            &[
                "To: isbn:2983792873",
                "From: <http://www.example.com>;tag=u1",
                "Contact: <name:John_Smith>",
            ],
            "",
        ),
        NotAmong(&[400]),
    );
    add(
        "Max-Forwards 0 OPTIONS",
        req(
            me,
            next(),
            opts,
            &["Max-Forwards"],
            &["Max-Forwards: 0"],
            "",
        ),
        Status(200),
    );
    add(
        "cookie-only branch",
        req(
            me,
            next(),
            opts,
            &["Via"],
            &["Via: SIP/2.0/UDP {me};branch=z9hG4bK;rport"],
            "",
        ),
        Status(200),
    );
    add("liberal SDP", req(me, next(), dialable, &[], &["Content-Type: application/sdp"], &format!("{SDP}x=unknown\r\na=rtpmap:96 foo\r\na=fmtp:\r\nb=AS:junk\r\nm=image 0 udptl t38\r\n")), NotAmong(&[400, 488]));
    // Invalid messages: the exact status.
    for (name, text, code) in [
        (
            "empty Via params",
            req(
                me,
                next(),
                ruri,
                &["Via"],
                &["Via: SIP/2.0/UDP {me};;,;,,"],
                "",
            ),
            400,
        ),
        (
            "Content-Length past the datagram",
            req(me, next(), ruri, &[], &[], "")
                .replace("Content-Length: 0", "Content-Length: 9999"),
            400,
        ),
        (
            "negative Content-Length",
            req(me, next(), ruri, &[], &[], "")
                .replace("Content-Length: 0", "Content-Length: -999"),
            400,
        ),
        (
            "two Content-Lengths",
            req(
                me,
                next(),
                opts,
                &[],
                &["Content-Length: 13", "Content-Type: text/plain"],
                "12345",
            ),
            400,
        ),
        (
            "CSeq of 2^65",
            req(
                me,
                next(),
                opts,
                &["CSeq"],
                &["CSeq: 36893488147419103232 OPTIONS"],
                "",
            ),
            400,
        ),
        (
            "Max-Forwards 300",
            req(
                me,
                next(),
                opts,
                &["Max-Forwards"],
                &["Max-Forwards: 300"],
                "",
            ),
            400,
        ),
        (
            "unterminated quote",
            req(
                me,
                next(),
                ruri,
                &["To"],
                &["To: \"Mr. J. User <sip:j@127.0.0.1>"],
                "",
            ),
            400,
        ),
        (
            "<> around Request-URI",
            req(
                me,
                next(),
                "INVITE <sip:user@127.0.0.1> SIP/2.0",
                &[],
                &[],
                "",
            ),
            400,
        ),
        (
            "LWS in Request-URI",
            req(
                me,
                next(),
                "INVITE sip:user@127.0.0.1; lr SIP/2.0",
                &[],
                &[],
                "",
            ),
            400,
        ),
        (
            "two spaces in Request-Line",
            req(
                me,
                next(),
                "INVITE  sip:user@127.0.0.1  SIP/2.0",
                &[],
                &[],
                "",
            ),
            400,
        ),
        (
            "space after SIP/2.0",
            req(
                me,
                next(),
                "OPTIONS sip:user@127.0.0.1 SIP/2.0  ",
                &[],
                &[],
                "",
            ),
            400,
        ),
        (
            "headers in Request-URI",
            req(
                me,
                next(),
                "INVITE sip:user@127.0.0.1?Route=%3Csip:x.example%3E SIP/2.0",
                &[],
                &[],
                "",
            ),
            400,
        ),
        (
            "spaces in addr-spec",
            req(
                me,
                next(),
                opts,
                &["To"],
                &["To: \"W, T\" < sip:t@127.0.0.1 >"],
                "",
            ),
            400,
        ),
        (
            "comma in token display name",
            req(
                me,
                next(),
                opts,
                &["From"],
                &["From: Bell, Alexander <sip:a@127.0.0.1>;tag=43"],
                "",
            ),
            400,
        ),
        (
            "SIP/7.0",
            req(
                me,
                next(),
                "OPTIONS sip:user@127.0.0.1 SIP/7.0",
                &[],
                &[],
                "",
            ),
            505,
        ),
        (
            "CSeq method mismatch",
            req(me, next(), opts, &["CSeq"], &["CSeq: 8 INVITE"], ""),
            400,
        ),
        (
            "unknown method, CSeq mismatch",
            req(
                me,
                next(),
                "NEWMETHOD sip:user@127.0.0.1 SIP/2.0",
                &["CSeq"],
                &["CSeq: 8 INVITE"],
                "",
            ),
            400,
        ),
        (
            "missing To, From, Call-ID",
            req(me, next(), ruri, &["To", "From", "Call-ID"], &[], ""),
            400,
        ),
        (
            "unknown scheme",
            req(
                me,
                next(),
                "OPTIONS nobodyKnowsThis:opaque SIP/2.0",
                &[],
                &[],
                "",
            ),
            416,
        ),
        (
            "novel scheme",
            req(
                me,
                next(),
                "OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0",
                &[],
                &[],
                "",
            ),
            416,
        ),
        (
            "unknown Require",
            req(
                me,
                next(),
                opts,
                &[],
                &[
                    "Require: nothingSupportsThis, norThis",
                    "Proxy-Require: noProxy",
                ],
                "",
            ),
            420,
        ),
        (
            "unknown Content-Type",
            req(
                me,
                next(),
                ruri,
                &[],
                &["Content-Type: application/unknownformat"],
                "<audio/>",
            ),
            415,
        ),
        (
            "repeated single headers",
            req(
                me,
                next(),
                ruri,
                &[],
                &["CSeq: 59 INVITE", "To: <sip:other@127.0.0.1>"],
                "",
            ),
            400,
        ),
        (
            "Max-Forwards 0 INVITE",
            req(
                me,
                next(),
                ruri,
                &["Max-Forwards"],
                &["Max-Forwards: 0"],
                "",
            ),
            483,
        ),
        (
            "Accept without SDP",
            req(
                me,
                next(),
                ruri,
                &[],
                &[
                    "Accept: text/nobodyKnowsThis",
                    "Content-Type: application/sdp",
                ],
                SDP,
            ),
            406,
        ),
        // Precedence (RFC 3261 §8.2 order): the first failing check answers.
        (
            "483 before 482 and 416",
            req(
                me,
                next(),
                "INVITE foo:bar@x SIP/2.0",
                &["Max-Forwards"],
                &[
                    "Max-Forwards: 0",
                    "Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-e173gw-loop",
                ],
                "",
            ),
            483,
        ),
        (
            "416 before 501",
            req(me, next(), "NEWMETHOD foo:bar@x SIP/2.0", &[], &[], ""),
            416,
        ),
        (
            "501 before 420",
            req(
                me,
                next(),
                "NEWMETHOD sip:user@127.0.0.1 SIP/2.0",
                &[],
                &["Require: nothing"],
                "",
            ),
            501,
        ),
        (
            "405 before 420",
            req(
                me,
                next(),
                "SUBSCRIBE sip:user@127.0.0.1 SIP/2.0",
                &[],
                &["Require: nothing", "Event: presence"],
                "",
            ),
            405,
        ),
        (
            "420 before 415",
            req(
                me,
                next(),
                ruri,
                &[],
                &["Require: nothing", "Content-Type: text/plain"],
                "hi",
            ),
            420,
        ),
        (
            "415 before 406",
            req(
                me,
                next(),
                ruri,
                &[],
                &["Accept: text/nothing", "Content-Type: text/plain"],
                "hi",
            ),
            415,
        ),
        (
            "406 before the callee check",
            req(
                me,
                next(),
                "INVITE sip:not-a-number@127.0.0.1 SIP/2.0",
                &[],
                &["Accept: text/nothing"],
                "",
            ),
            406,
        ),
    ] {
        add(name, text, Status(code));
    }
    v
}

#[test]
fn torture_messages_get_rfc_answers() {
    if !inside_netns("torture_messages_get_rfc_answers") {
        return;
    }
    let gw = Gateway::start(Options {
        modems: 0,
        ..Options::default()
    });
    let c = RawSip::new("127.0.0.1", gw.udp);
    let me = c.local().to_string();
    let mut failures = Vec::new();
    for (name, text, want) in cases(&me) {
        c.send(&text);
        // Only this case's answers: finals to earlier INVITEs are retransmitted (no ACK).
        let mine = |m: &String| match header(&text, "Call-ID") {
            Some(id) => header(m, "Call-ID") == Some(id),
            None => header(&text, "Via").is_some_and(|v| m.contains(v)),
        };
        let got: Vec<String> = c
            .recv_for(Duration::from_millis(400))
            .into_iter()
            .filter(mine)
            .collect();
        let finals: Vec<u16> = got
            .iter()
            .map(|m| status_line(m))
            .filter(|l| !l.starts_with("SIP/2.0 1"))
            .filter_map(|l| l.split(' ').nth(1)?.parse().ok())
            .collect();
        let ok = match &want {
            Want::Status(code) => finals.first() == Some(code),
            Want::NotAmong(bad) => !got.is_empty() && !finals.iter().any(|f| bad.contains(f)),
        };
        if !ok {
            failures.push(format!(
                "{name}: want {want:?}, got {:?}",
                got.iter().map(|m| status_line(m)).collect::<Vec<_>>()
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    // Two requests in one datagram: only the first counts.
    let two = format!(
        "{}{}",
        req(&me, 900, "OPTIONS sip:user@127.0.0.1 SIP/2.0", &[], &[], ""),
        req(&me, 901, "INVITE sip:user@127.0.0.1 SIP/2.0", &[], &[], "")
    );
    c.send(&two);
    let got: Vec<String> = c
        .recv_for(Duration::from_millis(400))
        .into_iter()
        .filter(|m| m.contains("torture-90"))
        .collect();
    let lines: Vec<&str> = got.iter().map(|m| status_line(m)).collect();
    assert_eq!(lines, vec!["SIP/2.0 200 OK"], "{got:#?}");
}
