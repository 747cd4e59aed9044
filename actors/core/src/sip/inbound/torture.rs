//! Messages of the classes RFC 4475 catalogues (written here from the RFC 3261 ABNF,
//! not copied), and the pair-wise precedence of the RFC 3261 §8.2 checks.

use super::tests::{policy, verdict, Want};
use super::*;

const SDP: &str = "v=0\r\no=- 7 7 IN IP4 192.0.2.7\r\ns=-\r\nc=IN IP4 192.0.2.7\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 8\r\nm=video 0 RTP/AVP 31\r\n";

/// The start of a long text, for failure messages.
fn excerpt(s: &str) -> String {
    s.chars().take(400).collect()
}

/// Lines joined with CRLF, then the empty line and `body`.
fn msg(lines: &[&str], body: &str) -> String {
    let mut s = lines.join("\r\n");
    s.push_str("\r\n\r\n");
    s.push_str(body);
    s
}

fn ws_tortuous() -> String {
    msg(
        &[
            "INVITE sip:+15550001111@gw.example.net;oddparam SIP/2.0",
            "tO :",
            " sip:+15550001111@gw.example.net ;   tag    = 77xq",
            "fRoM   : \"Carol \\\\\\\"\"      <sip:carol@a.example>",
            "  ;",
            "  tag = c4r0l",
            "mAx-FoRwArDs: 0042",
            "CALL-id: ws.abc@192.0.2.7",
            &format!("Content-Length   : {}", SDP.len()),
            "CsEq: 0017",
            "  INVITE",
            "Via  : SIP  /   2.0",
            " /UDP",
            "    192.0.2.7;branch=oldstyle42",
            "s :",
            "OddHeader:   some value",
            " \tmore value",
            "StrangeValue: ;,;;,",
            "c: application/sdp",
            "Route:",
            " <sip:proxy.a.example;lr;flag=on;bare>",
            "v:  SIP  / 2.0  / TCP     relay.a.example   ;",
            "  branch  =   z9hG4bKr1  ,",
            " SIP  /    2.0   / UDP  198.51.100.9   ; branch=",
            " z9hG4bKr2",
            "m:\"Say \\\"hi\\\"\" <sip:carol@a.example> ; p1 =",
            "      v1 ;",
            "  p2 ; q = 0.5",
        ],
        SDP,
    )
}

fn wide_chars() -> String {
    let method = "!odd-Method_9*+`.%x'~";
    msg(
        &[
            &format!("{method} sip:2_odd.User~(yes!)&it's+$/so?,/;;*:&pw+=1,!*$~_.(p)@b.example SIP/2.0"),
            "Via: SIP/2.0/TCP h1.a.example;branch=z9hG4bK-.!%66*_+`'~",
            "To: \"BEL:\\\u{7} NUL:\\\u{0} DEL:\\\u{7f}\" <sip:2_odd.User~(yes!)&it's+$/so?,/;;*@b.example>",
            "From: tok1~` tok2'+_ tok3*%!.- <sip:plain@a.example>;odd''~+*_!.-%=\"\u{440}\u{430}\u{431}\";tag=_t~1'+`*%!-.",
            "Call-ID: wide.w%ZK-!.*_+'@w`~)(><:\\/\"][?}{",
            &format!("CSeq: 99 {method}"),
            "Max-Forwards: 255",
            "x-Header-!.%*+_`'~:\u{96fb}\u{6c17}",
            "Content-Length: 0",
        ],
        "",
    )
}

fn long_values() -> String {
    let long = "long".repeat(200);
    let mut lines = vec![
        "INVITE sip:+15550002222@gw.example SIP/2.0".to_string(),
        format!("To: \"A name of {long} size\"<sip:+15550002222@gw.example:5060;p1={long};{long}=v;{long}flag>"),
        format!("f: sip:{long}@a.example;tag={};{long}name={long}value;{long}flagonly", "7".repeat(300)),
        format!("Call-ID: long.{long}"),
        "CSeq: 3 INVITE".to_string(),
        format!("X-{long}-Name: {}; {long}-param = {long}-pvalue", "v".repeat(2000)),
    ];
    let forms = [
        "Via:", "v:", "V:", "VIA:", "via:", "vIa:", "V :", "v  :", "Via :",
    ];
    for i in (2..=33).rev() {
        lines.push(format!(
            "{} SIP/2.0/TCP relay{i}.a.example",
            forms[i % forms.len()]
        ));
    }
    lines.insert(
        6,
        format!("Via: SIP/2.0/UDP top.a.example;branch=z9hG4bK{long}"),
    );
    lines.push("Via: SIP/2.0/UDP x1.a.example, SIP/2.0/UDP x2.a.example;received=192.0.2.1".into());
    lines.push("Max-Forwards: 70".into());
    lines.push("Content-Type: application/sdp".into());
    lines.push(format!("l: {}", SDP.len()));
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    msg(&refs, SDP)
}

/// A request from parts: method, Request-URI, header lines, body (Content-Length added).
fn req(method: &str, uri: &str, headers: &[&str], body: &str) -> String {
    let mut lines = vec![format!("{method} {uri} SIP/2.0")];
    lines.extend(headers.iter().map(|h| h.to_string()));
    lines.push(format!("Content-Length: {}", body.len()));
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    msg(&refs, body)
}

/// The usual headers of a request of `method`.
fn usual(method: &str) -> Vec<String> {
    vec![
        "Via: SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bKq1".into(),
        "From: <sip:alice@a.example>;tag=a1".into(),
        "To: <sip:+15550003333@gw.example>".into(),
        "Call-ID: t1@192.0.2.7".into(),
        format!("CSeq: 5 {method}"),
        "Max-Forwards: 70".into(),
    ]
}

/// `usual(method)` with lines starting with a name in `drop` removed, plus `extra`.
fn with(method: &str, uri: &str, drop: &[&str], extra: &[&str], body: &str) -> String {
    let mut h: Vec<String> = usual(method)
        .into_iter()
        .filter(|l| !drop.iter().any(|d| l.starts_with(d)))
        .collect();
    h.extend(extra.iter().map(|e| e.to_string()));
    let refs: Vec<&str> = h.iter().map(String::as_str).collect();
    req(method, uri, &refs, body)
}

fn multipart(parts: &[(&str, &str)]) -> String {
    let mut b = String::from("preamble\r\n");
    for (ct, content) in parts {
        b.push_str(&format!(
            "--sep42\r\nContent-Type: {ct}\r\n\r\n{content}\r\n"
        ));
    }
    b.push_str("--sep42--\r\n");
    b
}

#[test]
fn valid_classes_are_accepted() {
    let ruri = "sip:+15550003333@gw.example";
    let cases: Vec<(&str, String)> = vec![
        ("ws-tortuous", ws_tortuous()),
        ("esc", with("INVITE", "sip:sips%3Abob%40b.example@gw.example", &["To"], &["To: sip:%62ob@b.example", "c: application/sdp", "Contact:", " <sip:c%61rol@a.example;%6C%72;n%61me=v%61l%25%34%31>"], SDP)),
        ("escnull", with("REGISTER", "sip:gw.example", &["To", "From"], &["To: sip:x-%00-y@a.example", "From: sip:x-%00-y@a.example;tag=n1", "Contact: <sip:%00@h.a.example>", "Contact: <sip:%00%00@h.a.example>"], "")),
        ("lws-display", with("OPTIONS", "sip:gw.example", &["From"], &["From: dave<sip:dave@a.example>;tag=9"], "")),
        ("quoted-no-space", with("OPTIONS", "sip:gw.example", &["From"], &["From: \"D \\\"Q\\\" \\\\\"<sip:dave@a.example>;tag=9"], "")),
        ("long-values", long_values()),
        ("semicolon-user", with("OPTIONS", "sip:user;par=u%40a.example@gw.example", &[], &["Accept: application/sdp, text/plain,", "        multipart/mixed"], "")),
        ("transports", with("OPTIONS", ruri, &[], &["Via: SIP/2.0/SCTP t2.a.example;branch=z9hG4bKt2", "Via: SIP/2.0/TLS t3.a.example;branch=z9hG4bKt3, SIP/2.0/WS t4.a.example;branch=z9hG4bKt4", "v: SIP/2.0/WSS t5.a.example;branch=z9hG4bKt5,SIP/2.0/FOO t6.a.example"], "")),
        ("top via sctp", with("OPTIONS", ruri, &["Via"], &["Via: SIP/2.0/SCTP t2.a.example;branch=z9hG4bKt2", "Via: SIP/2.0/UDP 192.0.2.7"], "")),
        ("multipart with sdp", with("INVITE", ruri, &[], &["Content-Type: multipart/mixed;boundary=sep42"], &multipart(&[("text/plain", "hello"), ("application/sdp", SDP)]))),
        ("rfc2543", msg(&["INVITE sip:+15550003333@gw.example SIP/2.0", "Via: SIP/2.0/UDP old.a.example", "From: <sip:+13035550000@a.example;user=phone>", "Record-Route: <sip:gw.example;maddr=ss1.a.example>", "To: sip:+15550003333@gw.example;user=phone", "Call-ID: old.1@a.example", "CSeq: 56 INVITE", "Content-Type: application/sdp"], SDP)),
        ("cookie-only branch", with("OPTIONS", ruri, &["Via"], &["Via: SIP/2.0/UDP 192.0.2.7;branch=z9hG4bK"], "")),
        ("contact params", with("REGISTER", "sip:gw.example", &[], &["Contact: sip:+19725550000@gw1.a.example;unknownparam"], "")),
        ("contact url-param", with("REGISTER", "sip:gw.example", &[], &["Contact: <sip:+19725550000@gw1.a.example;unknownparam>;expires=60"], "")),
        ("escaped uri header in contact", with("REGISTER", "sip:gw.example", &[], &["m: <sip:u@a.example?Route=%3Csip:p.a.example%3E>"], "")),
        ("unknown schemes in headers", with("REGISTER", "sip:gw.example", &["To", "From"], &["To: isbn:2983792873", "From: <http://www.a.example>;tag=u1", "Contact: <name:John_Smith>"], "")),
        ("zero max-forwards options", with("OPTIONS", ruri, &["Max-Forwards"], &["Max-Forwards: 0"], "")),
        ("odd date", with("INVITE", ruri, &[], &["Date: Fri, 01 Jan 2010 16:00:00 EST", "Content-Type: application/sdp"], SDP)),
        ("unknown auth scheme", with("REGISTER", "sip:gw.example", &[], &["Authorization: NoOneKnowsThis opaque-data=here"], "")),
        ("lf line ends", with("OPTIONS", ruri, &[], &[], "").replace("\r\n", "\n")),
        ("tel uri", with("INVITE", "tel:+15550003333", &[], &[], "")),
        ("accept all", with("INVITE", ruri, &[], &["Accept: */*"], "")),
    ];
    for (name, m) in cases {
        let (got, resp) = verdict(m.as_bytes());
        assert_eq!(got, Want::Ok, "{name}: {}", excerpt(&resp.unwrap_or(m)));
    }
}

#[test]
fn accepted_messages_keep_their_meaning() {
    let p = policy();
    let Ok(Inbound::Request(r)) = from_datagram(ws_tortuous().as_bytes(), &p, "lt") else {
        panic!("accepted");
    };
    assert_eq!(headers::cseq(&r.headers).map(|c| c.seq), Some(17));
    assert_eq!(headers::max_forwards(&r.headers), Some(42));
    assert_eq!(headers::to_tag(&r.headers), Some("77xq"));
    assert_eq!(headers::from_tag(&r.headers), Some("c4r0l"));
    assert_eq!(headers::all_vias(&r.headers).len(), 3);
    assert_eq!(r.body, SDP.as_bytes());
    assert_eq!(
        r.uri.to_string(),
        "sip:+15550001111@gw.example.net;oddparam"
    );
    assert!(long_values().len() > 12_000);
    let long = from_datagram(long_values().as_bytes(), &p, "lt");
    let Ok(Inbound::Request(r)) = long else {
        panic!("accepted")
    };
    assert_eq!(headers::all_vias(&r.headers).len(), 35);
    // Trailing octets after the body are not part of the message.
    let two = format!(
        "{}{}",
        with("REGISTER", "sip:gw.example", &[], &[], ""),
        with("INVITE", "sip:1@gw", &[], &[], "")
    );
    let Ok(Inbound::Request(r)) = from_datagram(two.as_bytes(), &p, "lt") else {
        panic!("accepted")
    };
    assert_eq!((r.method, r.body.len()), (Method::Register, 0));
    let mp = with(
        "INVITE",
        "sip:1@gw",
        &[],
        &["Content-Type: multipart/mixed;boundary=sep42"],
        &multipart(&[("text/plain", "x"), ("application/sdp", SDP)]),
    );
    let Ok(Inbound::Request(r)) = from_datagram(mp.as_bytes(), &p, "lt") else {
        panic!("accepted")
    };
    assert_eq!(r.body, SDP.as_bytes());
    assert_eq!(
        headers::content_type(&r.headers).as_deref(),
        Some("application/sdp")
    );
    let escaped = with("INVITE", "sip:null-%00-%41@gw", &[], &[], "");
    let Ok(Inbound::Request(r)) = from_datagram(escaped.as_bytes(), &p, "lt") else {
        panic!("accepted")
    };
    assert_eq!(crate::call::callee_user(&r), "null-%00-A");
    let old = with(
        "INVITE",
        "sip:+15550003333@gw.example",
        &["Max-Forwards", "Via"],
        &["Via: SIP/2.0/UDP old.a.example"],
        "",
    )
    .replace("Content-Length: 0\r\n", "");
    assert!(matches!(
        from_datagram(old.as_bytes(), &p, "lt"),
        Ok(Inbound::Request(_))
    ));
    for resp in [
        "SIP/2.0 200 = 2**3 * 5**2 \u{43d}\u{43e} \u{441}\u{442}\u{43e}",
        "SIP/2.0 100 ",
    ] {
        let m = msg(
            &[
                resp,
                "Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bKr",
                "Call-ID: r@h",
                "CSeq: 35 INVITE",
                "From: <sip:a@h>;tag=1",
                "To: <sip:b@h>;tag=2",
                "Content-Length: 0",
            ],
            "",
        );
        assert!(
            matches!(
                from_datagram(m.as_bytes(), &p, "lt"),
                Ok(Inbound::Response(_))
            ),
            "{resp}"
        );
    }
}

#[test]
fn invalid_classes_get_their_status() {
    let ruri = "sip:+15550003333@gw.example";
    let cases: Vec<(&str, String, Want)> = vec![
        (
            "empty via params",
            with(
                "INVITE",
                ruri,
                &["Via"],
                &[
                    "Via: SIP/2.0/UDP 192.0.2.15;;,;,,",
                    "Content-Type: application/sdp",
                ],
                SDP,
            ),
            Want::Status(400),
        ),
        (
            "empty contact params",
            with(
                "INVITE",
                ruri,
                &[],
                &["Contact: \"Joe\" <sip:joe@a.example>;;;;"],
                "",
            ),
            Want::Status(400),
        ),
        (
            "content-length too big",
            with("INVITE", ruri, &[], &[], "").replace("Content-Length: 0", "Content-Length: 9999"),
            Want::Status(400),
        ),
        (
            "negative content-length",
            with("INVITE", ruri, &[], &[], "").replace("Content-Length: 0", "Content-Length: -999"),
            Want::Status(400),
        ),
        (
            "two content-lengths",
            with(
                "OPTIONS",
                ruri,
                &[],
                &["Content-Length: 13", "Content-Type: text/plain"],
                "12345",
            ),
            Want::Status(400),
        ),
        (
            "huge cseq",
            with(
                "REGISTER",
                "sip:gw.example",
                &["CSeq"],
                &["CSeq: 36893488147419103232 REGISTER"],
                "",
            ),
            Want::Status(400),
        ),
        (
            "max-forwards over 255",
            with(
                "REGISTER",
                "sip:gw.example",
                &["Max-Forwards"],
                &["Max-Forwards: 300"],
                "",
            ),
            Want::Status(400),
        ),
        (
            "unterminated quote",
            with(
                "INVITE",
                ruri,
                &["To"],
                &["To: \"Mr. J. User <sip:j@gw.example>"],
                "",
            ),
            Want::Status(400),
        ),
        (
            "<> request-uri",
            with("INVITE", "<sip:user@gw.example>", &[], &[], ""),
            Want::Status(400),
        ),
        (
            "lws in request-uri",
            with("INVITE", "sip:user@gw.example; lr", &[], &[], ""),
            Want::Status(400),
        ),
        (
            "double spaces",
            with("INVITE", ruri, &[], &[], "").replacen(' ', "  ", 2),
            Want::Status(400),
        ),
        (
            "trailing space",
            with("OPTIONS", ruri, &[], &[], "").replacen("SIP/2.0\r\n", "SIP/2.0  \r\n", 1),
            Want::Status(400),
        ),
        (
            "headers in request-uri",
            with(
                "INVITE",
                "sip:user@gw.example?Route=%3Csip:gw.example%3E",
                &[],
                &[],
                "",
            ),
            Want::Status(400),
        ),
        (
            "spaces in addr-spec",
            with(
                "OPTIONS",
                ruri,
                &["To"],
                &["To: \"Watson, T\" < sip:t@gw.example >"],
                "",
            ),
            Want::Status(400),
        ),
        (
            "comma in token display",
            with(
                "OPTIONS",
                ruri,
                &["From"],
                &["From: Bell, Alexander <sip:a@a.example>;tag=43"],
                "",
            ),
            Want::Status(400),
        ),
        (
            "version 7",
            with(
                "OPTIONS",
                ruri,
                &["Via"],
                &["Via: SIP/7.0/UDP c.a.example;branch=z9hG4bKv"],
                "",
            )
            .replace(" SIP/2.0\r\n", " SIP/7.0\r\n"),
            Want::Status(505),
        ),
        (
            "cseq mismatch",
            with("OPTIONS", ruri, &["CSeq"], &["CSeq: 8 INVITE"], ""),
            Want::Status(400),
        ),
        (
            "unknown method, cseq mismatch",
            with("NEWMETHOD", ruri, &["CSeq"], &["CSeq: 8 INVITE"], ""),
            Want::Status(400),
        ),
        ("wide range of characters", wide_chars(), Want::Status(501)),
        (
            "lower-case method is unknown",
            with("invite", ruri, &[], &[], ""),
            Want::Status(501),
        ),
        (
            "escaped method",
            with("FO%4FBAR", ruri, &[], &["C%6Fntact: <sip:x@a.example>"], ""),
            Want::Status(501),
        ),
        (
            "missing headers",
            with("INVITE", ruri, &["To", "From", "Call-ID"], &[], ""),
            Want::Status(400),
        ),
        (
            "unknown scheme",
            with(
                "OPTIONS",
                "nobodyKnowsThisScheme:totallyopaque",
                &[],
                &[],
                "",
            ),
            Want::Status(416),
        ),
        (
            "novel scheme",
            with("OPTIONS", "soap.beep://192.0.2.103:3002", &[], &[], ""),
            Want::Status(416),
        ),
        (
            "unknown extensions",
            with(
                "OPTIONS",
                ruri,
                &[],
                &[
                    "Require: nothingSupportsThis, nothingSupportsThisEither",
                    "Proxy-Require: noProxyDoes",
                ],
                "",
            ),
            Want::Status(420),
        ),
        (
            "unknown content type",
            with(
                "INVITE",
                ruri,
                &[],
                &["Content-Type: application/unknownformat"],
                "<audio><pcmu port=\"443\"/></audio>",
            ),
            Want::Status(415),
        ),
        (
            "multipart without sdp",
            with(
                "INVITE",
                ruri,
                &[],
                &["Content-Type: multipart/mixed;boundary=sep42"],
                &multipart(&[("text/plain", "x")]),
            ),
            Want::Status(415),
        ),
        (
            "multipart message",
            with(
                "MESSAGE",
                ruri,
                &[],
                &["Content-Type: multipart/mixed;boundary=sep42"],
                &multipart(&[("text/plain", "x")]),
            ),
            // MESSAGE is taken (as SMS), in text/plain only.
            Want::Status(415),
        ),
        (
            "repeated single headers",
            with(
                "INVITE",
                ruri,
                &[],
                &["CSeq: 59 INVITE", "To: <sip:other@gw.example>"],
                "",
            ),
            Want::Status(400),
        ),
        (
            "zero max-forwards invite",
            with("INVITE", ruri, &["Max-Forwards"], &["Max-Forwards: 0"], ""),
            Want::Status(483),
        ),
        (
            "accept without sdp",
            with(
                "INVITE",
                ruri,
                &[],
                &[
                    "Accept: text/nobodyKnowsThis",
                    "Content-Type: application/sdp",
                ],
                SDP,
            ),
            Want::Status(406),
        ),
        (
            "line without colon",
            with("OPTIONS", ruri, &[], &["Foobar roobar"], ""),
            Want::Status(400),
        ),
        (
            "bad header name",
            with("OPTIONS", ruri, &[], &["Bad Name: x"], ""),
            Want::Status(400),
        ),
        (
            "no version",
            with("INVITE", ruri, &[], &[], "").replacen(" SIP/2.0", "", 1),
            Want::Status(400),
        ),
        (
            "huge status code",
            msg(
                &[
                    "SIP/2.0 4294967301 big",
                    "Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bKr",
                    "Call-ID: r@h",
                    "CSeq: 1 INVITE",
                    "From: <sip:a@h>;tag=1",
                    "To: <sip:b@h>;tag=2",
                    "Content-Length: 0",
                ],
                "",
            ),
            Want::Drop,
        ),
    ];
    for (name, m, want) in cases {
        let (got, resp) = verdict(m.as_bytes());
        assert_eq!(got, want, "{name}: {}", excerpt(&resp.clone().unwrap_or(m)));
        if name == "unknown extensions" {
            let text = resp.unwrap_or_default();
            assert!(
                text.contains("Unsupported: nothingSupportsThis, nothingSupportsThisEither\r\n"),
                "{text}"
            );
        }
    }
}

/// One way a request can fail, in the order of RFC 3261 §8.2 that e173gw follows.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    Missing,
    NoHops,
    Loop,
    Scheme,
    Unknown,
    NotAllowed,
    Require,
    BodyType,
    Encoding,
    Accept,
}

impl Fault {
    const ALL: [Fault; 10] = [
        Fault::Missing,
        Fault::NoHops,
        Fault::Loop,
        Fault::Scheme,
        Fault::Unknown,
        Fault::NotAllowed,
        Fault::Require,
        Fault::BodyType,
        Fault::Encoding,
        Fault::Accept,
    ];

    fn status(self) -> u16 {
        match self {
            Fault::Missing => 400,
            Fault::NoHops => 483,
            Fault::Loop => 482,
            Fault::Scheme => 416,
            Fault::Unknown => 501,
            Fault::NotAllowed => 405,
            Fault::Require => 420,
            Fault::BodyType | Fault::Encoding => 415,
            Fault::Accept => 406,
        }
    }
}

/// A request with every fault in `faults`.
fn faulty(faults: &[Fault]) -> String {
    let has = |f: Fault| faults.contains(&f);
    let method = if has(Fault::Unknown) {
        "NEWMETHOD"
    } else if has(Fault::NotAllowed) {
        "SUBSCRIBE"
    } else {
        "INVITE"
    };
    let uri = if has(Fault::Scheme) {
        "foo:bar@x"
    } else {
        "sip:+15550003333@gw.example"
    };
    let mut drop = vec![];
    let mut extra = vec![];
    let mut body = "";
    if has(Fault::Missing) {
        drop.push("Call-ID");
    }
    if has(Fault::NoHops) {
        drop.push("Max-Forwards");
        extra.push("Max-Forwards: 0");
    }
    if has(Fault::Loop) {
        extra.push("Via: SIP/2.0/UDP gw.example;branch=z9hG4bK-e173gw-n1-9");
    }
    if has(Fault::Require) {
        extra.push("Require: nothing-here");
    }
    if has(Fault::BodyType) {
        extra.push("Content-Type: text/plain");
        body = "hello";
    } else if has(Fault::Encoding) {
        extra.push("Content-Type: application/sdp");
        body = SDP;
    }
    if has(Fault::Encoding) {
        extra.push("Content-Encoding: gzip");
    }
    if has(Fault::Accept) {
        extra.push("Accept: text/nobodyKnowsThis");
    }
    with(method, uri, &drop, &extra, body)
}

#[test]
fn the_first_failing_check_wins() {
    let mut checked = 0;
    for (i, a) in Fault::ALL.iter().enumerate() {
        for b in &Fault::ALL[i + 1..] {
            let methods = [*a, *b]
                .iter()
                .filter(|f| matches!(f, Fault::Unknown | Fault::NotAllowed | Fault::Accept))
                .count();
            if methods > 1 {
                continue; // Both change the method; 406 is for INVITEs only.
            }
            let m = faulty(&[*a, *b]);
            let (got, resp) = verdict(m.as_bytes());
            assert_eq!(
                got,
                Want::Status(a.status()),
                "{a:?} + {b:?}: {resp:?}\n{m}"
            );
            if (*a, *b) == (Fault::BodyType, Fault::Encoding) {
                assert!(resp.unwrap_or_default().contains("Accept: application/sdp"));
            }
            checked += 1;
        }
        let (alone, _) = verdict(faulty(&[*a]).as_bytes());
        assert_eq!(alone, Want::Status(a.status()), "{a:?} alone");
    }
    assert_eq!(checked, 42);
    assert_eq!(verdict(faulty(&[]).as_bytes()).0, Want::Ok);
}
