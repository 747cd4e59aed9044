//! Real-world SDP bodies shared by the parser and negotiation tests.

/// SIPp's built-in `uac` scenario after substitution of `[local_ip]`, `[media_ip]` and
/// `[media_port]`.
pub(super) const SIPP_OFFER: &str = "v=0\r\n\
o=user1 53655765 2353687637 IN IP4 127.0.0.1\r\n\
s=-\r\n\
c=IN IP4 127.0.0.1\r\n\
t=0 0\r\n\
m=audio 6000 RTP/AVP 0\r\n\
a=rtpmap:0 PCMU/8000\r\n";

/// A pjsip softphone: PCMA first, G.729, telephone-event 101, media-level `c=`, `b=`
/// lines and attributes the gateway does not use. `\n` line ends.
pub(super) const SOFTPHONE_OFFER: &str = "v=0
o=- 3904567890 3904567890 IN IP4 192.168.1.20
s=pjmedia
b=AS:84
t=0 0
a=X-nat:0
m=audio 4000 RTP/AVP 8 0 18 101
c=IN IP4 192.168.1.20
b=TIAS:64000
a=rtcp:4001 IN IP4 192.168.1.20
a=sendrecv
a=rtpmap:8 PCMA/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:18 G729/8000
a=fmtp:18 annexb=no
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=ssrc:1234567 cname:6a1f3c2b
";

/// A browser-style offer listing Opus and G.722 before PCMU and PCMA.
pub(super) const MULTI_CODEC_OFFER: &str = "v=0\r\n\
o=Zoiper 0 11 IN IP4 203.0.113.7\r\n\
s=Z\r\n\
c=IN IP4 203.0.113.7\r\n\
t=0 0\r\n\
m=audio 52000 RTP/AVP 96 9 0 8 3 101\r\n\
a=rtpmap:96 opus/48000/2\r\n\
a=fmtp:96 useinbandfec=1\r\n\
a=rtpmap:9 G722/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=ptime:20\r\n";

/// Only G.729: no common codec.
pub(super) const G729_ONLY_OFFER: &str = "v=0\r\n\
o=cisco 1 1 IN IP4 198.51.100.2\r\n\
s=SIP Call\r\n\
c=IN IP4 198.51.100.2\r\n\
t=0 0\r\n\
m=audio 17000 RTP/AVP 18\r\n\
a=rtpmap:18 G729/8000\r\n\
a=fmtp:18 annexb=no\r\n";

/// IPv6 everywhere, A-law and telephone-event.
pub(super) const IPV6_OFFER: &str = "v=0\r\n\
o=alice 2890844526 2890844526 IN IP6 2001:db8::1\r\n\
s=-\r\n\
c=IN IP6 2001:db8::1\r\n\
t=0 0\r\n\
m=audio 49170 RTP/AVP 8 101\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n";

/// The softphone's hold re-INVITE: version + 1 and `a=sendonly`.
pub(super) const HOLD_REINVITE: &str = "v=0
o=- 3904567890 3904567891 IN IP4 192.168.1.20
s=pjmedia
b=AS:84
t=0 0
a=X-nat:0
m=audio 4000 RTP/AVP 8 0 18 101
c=IN IP4 192.168.1.20
a=sendonly
a=rtpmap:8 PCMA/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:18 G729/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
";

/// RFC 2543 hold: `c=0.0.0.0`, no direction attribute.
pub(super) const OLD_HOLD_REINVITE: &str = "v=0\r\n\
o=user1 53655765 2353687638 IN IP4 127.0.0.1\r\n\
s=-\r\n\
c=IN IP4 0.0.0.0\r\n\
t=0 0\r\n\
m=audio 6000 RTP/AVP 0\r\n\
a=rtpmap:0 PCMU/8000\r\n";

/// Every fixture, named.
pub(super) const ALL: &[(&str, &str)] = &[
    ("sipp", SIPP_OFFER),
    ("softphone", SOFTPHONE_OFFER),
    ("multi codec", MULTI_CODEC_OFFER),
    ("g729 only", G729_ONLY_OFFER),
    ("ipv6", IPV6_OFFER),
    ("hold", HOLD_REINVITE),
    ("old hold", OLD_HOLD_REINVITE),
];
