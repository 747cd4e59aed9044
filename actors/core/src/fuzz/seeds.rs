//! Seed inputs, written from RFC 3261 / RFC 4566 and from the E173 dialect.

/// An offer with the usual audio codecs and DTMF.
pub(super) const SDP_OFFER: &str = "v=0\r\no=alice 2890844526 2890844526 IN IP4 127.0.0.1\r\n\
s=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0 8 96 101\r\n\
a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:96 opus/48000/2\r\n\
a=fmtp:96 useinbandfec=1\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n\
a=ptime:20\r\na=sendrecv\r\nm=video 51372 RTP/AVP 31\r\na=rtpmap:31 H261/90000\r\n";

/// An offer with little in it.
pub(super) const SDP_SMALL: &str =
    "v=0\no=- 1 1 IN IP6 ::1\ns= \nc=IN IP6 ::1\nt=0 0\nm=audio 4000 RTP/AVP 8\n";

fn with_body(head: &str, body: &str) -> Vec<u8> {
    format!("{head}Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

/// SIP messages, requests and responses, plain and unusual but valid.
pub(super) fn sip() -> Vec<Vec<u8>> {
    let invite = "INVITE sip:5511912345678@127.0.0.1:5060;user=phone SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK776asdhds;rport\r\n\
Max-Forwards: 70\r\nTo: <sip:5511912345678@127.0.0.1>\r\n\
From: \"Alice \\\"A\\\"\"<sip:5511988887777@127.0.0.1>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33\r\nCSeq: 314159 INVITE\r\n\
Contact: <sip:alice@127.0.0.1:5070;transport=udp>\r\nContent-Type: application/sdp\r\n";
    let folded = "OPTIONS sip:%61lice%00@127.0.0.1 SIP/2.0\r\n\
v  :  SIP/2.0/UDP 127.0.0.1:5070 ; branch = z9hG4bKfold , SIP / 2.0 / SCTP b.example\r\n\
 ;branch=z9hG4bK2\r\nVia: SIP/2.0/TLS c.example:5061;branch=z9hG4bK3\r\n\
V: SIP/2.0/FOO d.example;branch=z9hG4bK4\r\nMax-Forwards: 70\r\n\
t: sip:100@127.0.0.1\r\nf: tok en <sip:a@127.0.0.1>;tag=x\r\ni: fold@x\r\n\
CSeq:\r\n  1 OPTIONS\r\nX-Unknown-Header!%'`~: caf\u{e9} \u{20ac}\r\n";
    let multipart = "INVITE tel:+5511912345678 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKmp\r\nMax-Forwards: 70\r\n\
To: <tel:+5511912345678>\r\nFrom: <sip:b@127.0.0.1>;tag=2\r\nCall-ID: mp@x\r\n\
CSeq: 1 INVITE\r\nContent-Type: multipart/mixed;boundary=unique\r\n";
    let mp_body = format!(
        "--unique\r\nContent-Type: application/sdp\r\n\r\n{SDP_OFFER}\r\n--unique\r\n\
Content-Type: text/plain\r\n\r\nhello\r\n--unique--\r\n"
    );
    let ok = "SIP/2.0 200 OK\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKgw1;received=127.0.0.1;rport=5060\r\n\
To: <sip:agent@127.0.0.1>;tag=as1\r\nFrom: <sip:5511988887777@127.0.0.1>;tag=gw\r\n\
Call-ID: leg2@127.0.0.1\r\nCSeq: 1 INVITE\r\nContact: <sip:agent@127.0.0.1:5080>\r\n\
Content-Type: application/sdp\r\n";
    let bye = "BYE sip:gw@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKb\r\n\
Max-Forwards: 70\r\nTo: <sip:a@127.0.0.1>;tag=x\r\nFrom: <sip:b@127.0.0.1>;tag=y\r\n\
Call-ID: a84b4c76e66710@pc33\r\nCSeq: 314160 BYE\r\n";
    let mut vias = String::from("ACK sip:a@127.0.0.1 SIP/2.0\r\n");
    for i in 0..32 {
        let form = ["Via", "v", "V ", "via"][i % 4];
        vias.push_str(&format!(
            "{form}: SIP/2.0/UDP h{i}.example;branch=z9hG4bK{i}\r\n"
        ));
    }
    vias.push_str(
        "To: <sip:a@127.0.0.1>\r\nFrom: <sip:b@127.0.0.1>;tag=1\r\nCall-ID: v@x\r\nCSeq: 1 ACK\r\n",
    );
    vec![
        with_body(invite, SDP_OFFER),
        with_body(folded, ""),
        with_body(multipart, &mp_body),
        with_body(ok, SDP_SMALL),
        with_body(bye, ""),
        with_body(&vias, ""),
        with_body("SIP/2.0 486  \r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKgw2\r\nTo: <sip:a@b>;tag=1\r\nFrom: <sip:c@d>;tag=2\r\nCall-ID: r@x\r\nCSeq: 2 INVITE\r\n", ""),
    ]
}

/// Lines of the E173 serial dialect (DIALECT.md): responses, URCs and noise.
pub(super) const AT_LINES: &[&str] = &[
    "\r\nOK\r\n",
    "\r\nERROR\r\n",
    "\r\n+CME ERROR: 10\r\n",
    "\r\n+CME ERROR: SIM not inserted\r\n",
    "\r\nRING\r\n",
    "\r\n+CLIP: \"+5511988887777\",145,,,,0\r\n",
    "\r\n^ORIG:1,0\r\n",
    "\r\n^CONF:1\r\n",
    "\r\n^CONN:1,0\r\n",
    "\r\n^CEND:1,0,104,16\r\n",
    "\r\n^CEND:1,5,8,17\r\n",
    "\r\nBUSY\r\n",
    "\r\nNO CARRIER\r\n",
    "\r\nNO ANSWER\r\n",
    "\r\n+CLCC: 1,0,3,0,0,\"5511912345678\",129\r\n",
    "\r\n^RSSI:17\r\n",
    "\r\n^BOOT:12345678,0,0,0,72\r\n",
    "\r\n^MODE:5,4\r\n",
    "\r\n+CSQ: 20,99\r\n",
    "\r\n+CREG: 2,1,\"00C1\",\"1A2B\"\r\n",
    "\r\n+COPS: 0,0,\"TIM BRASIL\",2\r\n",
    "\r\n353143041234567\r\n",
    "\r\n724021234567890\r\n",
    "\r\n^ICCID: 89550212345678901234\r\n",
    "\r\n+CPIN: READY\r\n",
    "\r\n+CUSD: 0,\"C8329BFD06\",15\r\n",
    "\r\n+CMTI: \"SM\",3\r\n",
    "\r\n^CVOICE: 0,8000,16,20\r\n",
    "\r\n^SRVST:2\r\n",
    "\r\n^SIMST:1\r\n",
    "\r\n^DSFLOWRPT:0000,0,0,0,0,0,0\r\n",
    "AT+CSQ\r\r\n+CSQ: 31,99\r\n\r\nOK\r\n",
    "\r\n> ",
];
