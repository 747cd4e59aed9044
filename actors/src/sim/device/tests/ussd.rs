//! USSD: configured replies in each encoding, the balance they quote, menus that wait for
//! a choice, `AT+CUSD=2`, and the fixed reply of unlisted codes.

use e173gw_core::sms::ussd::{self as ussd_codec, UssdEncoding};

use super::*;

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn menus(c: &mut SimConfig) {
    let cfg: SimConfig = toml::from_str(
        r#"
        [[ussd]]
        code = "*100#"
        reply = "Saldo R$ {balance} valido ate 10/12"
        [[ussd]]
        code = "*111#"
        reply = "1 Saldo 2 Pacotes"
        encoding = "text"
        mode = 1
        delay_ms = 100
        [[ussd]]
        code = "*111#>1"
        reply = "Seu saldo: R$ {balance}"
        encoding = "ucs2"
        delay_ms = 100
        [[ussd]]
        code = "*111#>2"
        reply = "1 Diario 2 Semanal"
        mode = 1
        delay_ms = 100
        [[ussd]]
        code = "*111#>2>1"
        reply = "Pacote diário ativado"
        encoding = "ucs2"
        delay_ms = 100
        "#,
    )
    .expect("ussd entries");
    c.ussd = cfg.ussd;
}

fn gsm(text: &str) -> String {
    ussd_codec::request(text, UssdEncoding::Gsm7Hex)
        .expect("gsm")
        .0
}

fn ucs2(text: &str) -> String {
    ussd_codec::request(text, UssdEncoding::Ucs2Hex)
        .expect("ucs2")
        .0
}

/// `AT+CUSD=1,"<GSM 7-bit hex of text>",15`.
fn ask(text: &str) -> &'static str {
    leak(format!("AT+CUSD=1,\"{}\",15\r", gsm(text)))
}

fn quiet() -> Device {
    let mut d = device(NO_RULES, timing(), menus);
    d.input(0, b"ATE0\r");
    d.take_output();
    d
}

#[test]
fn configured_replies_quote_the_balance() {
    let mut d = quiet();
    run(
        "balance",
        &mut d,
        &[
            S::Tx(0, ask("*100#")),
            S::Rx(499, "\r\nOK\r\n"),
            S::Rx(
                500,
                leak(format!(
                    "\r\n+CUSD: 0,\"{}\",15\r\n",
                    gsm("Saldo R$ 10,00 valido ate 10/12")
                )),
            ),
            S::Op(600, |d, _| d.set_balance("0,50")),
            // The same code in UCS-2, and as plain text.
            S::Tx(600, leak(format!("AT+CUSD=1,\"{}\",72\r", ucs2("*100#")))),
            S::Tx(700, "AT+CUSD=1,\"*100#\",15\r"),
            S::Rx(1199, "\r\nOK\r\n\r\nOK\r\n"),
            S::Rx(
                1200,
                leak(format!(
                    "\r\n+CUSD: 0,\"{}\",15\r\n",
                    gsm("Saldo R$ 0,50 valido ate 10/12")
                )),
            ),
        ],
    );
    let st = d.status();
    assert_eq!((st.ussd.balance.as_str(), st.ussd.pending), ("0,50", false));
    assert_eq!(st.counters.ussd_requests, 3);
}

#[test]
fn menus_wait_for_a_choice() {
    let mut d = quiet();
    run(
        "menu",
        &mut d,
        &[
            S::Tx(0, ask("*111#")),
            S::Rx(100, "\r\nOK\r\n\r\n+CUSD: 1,\"1 Saldo 2 Pacotes\",15\r\n"),
            S::Tx(200, ask("2")),
            S::Rx(
                300,
                leak(format!(
                    "\r\nOK\r\n\r\n+CUSD: 1,\"{}\",15\r\n",
                    gsm("1 Diario 2 Semanal")
                )),
            ),
            S::Tx(400, ask("1")),
            S::Rx(
                500,
                leak(format!(
                    "\r\nOK\r\n\r\n+CUSD: 0,\"{}\",72\r\n",
                    ucs2("Pacote diário ativado")
                )),
            ),
            // The session is over: "1" alone is no code, so the fixed reply answers it.
            S::Tx(600, "AT+CUSD=1,\"1\",15\r"),
            S::Rx(
                1100,
                leak(format!(
                    "\r\nOK\r\n\r\n+CUSD: 0,\"{}\",15\r\n",
                    gsm("1: Saldo R 10,00. Numero +5511987650000")
                )),
            ),
        ],
    );
    assert_eq!(d.status().ussd.session, None);

    let mut d = quiet();
    run(
        "choice one",
        &mut d,
        &[
            S::Tx(0, "AT+CUSD=1,\"*111#\"\r"),
            S::Rx(100, "\r\nOK\r\n\r\n+CUSD: 1,\"1 Saldo 2 Pacotes\",15\r\n"),
            S::Op(100, |d, _| d.set_balance("3,20")),
            S::Tx(200, ask("1")),
            S::Rx(
                300,
                leak(format!(
                    "\r\nOK\r\n\r\n+CUSD: 0,\"{}\",72\r\n",
                    ucs2("Seu saldo: R$ 3,20")
                )),
            ),
        ],
    );
}

#[test]
fn cancel_ends_an_open_or_coming_session() {
    let mut d = quiet();
    run(
        "cancel",
        &mut d,
        &[
            S::Tx(0, ask("*111#")),
            S::Rx(100, "\r\nOK\r\n\r\n+CUSD: 1,\"1 Saldo 2 Pacotes\",15\r\n"),
            S::Op(100, |d, _| {
                assert_eq!(d.status().ussd.session.as_deref(), Some("*111#"))
            }),
            S::Tx(150, "AT+CUSD=2\r"),
            S::Rx(150, "\r\nOK\r\n\r\n+CUSD: 2\r\n"),
            S::Tx(160, "AT+CUSD=2\r"),
            S::Rx(160, "\r\nOK\r\n"),
            // A reply on its way is called off too.
            S::Tx(200, ask("*100#")),
            S::Tx(300, "AT+CUSD=2\r"),
            S::Rx(300, "\r\nOK\r\n\r\nOK\r\n\r\n+CUSD: 2\r\n"),
            S::Rx(5000, ""),
            // Presentation on/off, a bad mode, no network.
            S::Tx(5000, "AT+CUSD=1\rAT+CUSD=0\rAT+CUSD=7\r"),
            S::Rx(5000, "\r\nOK\r\n\r\nOK\r\n\r\nERROR\r\n"),
            S::Op(5000, |d, t| d.set_rssi(t, 0)),
            S::Tx(5000, "AT+CMEE=1\r"),
            S::Tx(5000, ask("*100#")),
            S::Rx(
                5000,
                "\r\n^RSSI:0\r\n\r\n^SRVST:0\r\n\r\nOK\r\n\r\n+CME ERROR: 30\r\n",
            ),
        ],
    );
}

#[test]
fn unlisted_codes_get_the_fixed_reply() {
    let mut d = device(NO_RULES, timing(), |_| {});
    d.input(0, b"ATE0\r");
    d.take_output();
    let (req, _) = ussd_codec::request("*100#", UssdEncoding::Gsm7Hex).expect("gsm");
    d.input(0, format!("AT+CUSD=1,\"{req}\",15\r").as_bytes());
    assert_eq!(d.take_output(), b"\r\nOK\r\n");
    d.poll(499);
    assert!(d.take_output().is_empty());
    d.poll(500);
    let out = String::from_utf8_lossy(&d.take_output()).to_string();
    let hex = out
        .strip_prefix("\r\n+CUSD: 0,\"")
        .and_then(|s| s.strip_suffix("\",15\r\n"))
        .expect("cusd");
    let text = ussd_codec::reply(hex, Some(15));
    assert_eq!(
        text,
        format!("*100#: Saldo R 10,00. Numero {}", d.identity().number)
    );
}
