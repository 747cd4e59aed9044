//! The operations API end to end, against the real binary: every endpoint, the token on
//! writes (401 without, 403 wrong), bad input (400/404/422), and that a write takes
//! effect on calls (a blacklisted number is refused, a disabled modem is skipped, a
//! pinned sticky route is followed). Then the metrics during a SIPp run, and that every
//! metric the Grafana dashboard and the alert rules name is one the gateway exports.

#![allow(clippy::disallowed_methods)]

mod common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::gw::{http_request, in_dialog, invite, status_line, Gateway, Options, RawSip};
use common::root;
use common::sipp::{scenario, sipp};
use serde_json::Value;

const TOKEN: &str = "test-token-0123456789";

fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, Value) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    let (status, _, body) = http_request(addr, method, path, &headers, body);
    let v = serde_json::from_str(&body).unwrap_or(Value::String(body));
    (status, v)
}

fn get(gw: &Gateway, path: &str) -> (u16, Value) {
    call(gw.http, "GET", path, None, "")
}

fn write(gw: &Gateway, method: &str, path: &str, body: &str) -> (u16, Value) {
    call(gw.http, method, path, Some(TOKEN), body)
}

fn gateway(modems: usize, extra: &str) -> Gateway {
    Gateway::start(Options {
        modems,
        env: vec![("E173GW_HTTP__API_TOKEN".into(), TOKEN.into())],
        extra: extra.into(),
        ..Options::default()
    })
}

fn wait_available(gw: &Gateway, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, m) = get(gw, "/api/modems");
        let ready: Vec<String> = m
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["state"] == "available")
            .filter_map(|m| m["id"].as_str().map(str::to_string))
            .collect();
        if ready.len() >= n {
            return ready;
        }
        assert!(Instant::now() < deadline, "modems not available: {m}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn route_lines(gw: &Gateway, callee: &str) -> String {
    let (s, v) = get(
        gw,
        &format!("/api/dry-run?callee={callee}&caller=5511911110000"),
    );
    assert_eq!(s, 200, "{v}");
    v["route"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join("\n")
}

const SCREENING: &str = r#"
[filter]
default_region = "BR"
[[filter.stage]]
kind = "blacklist"
"#;

#[test]
fn writes_need_the_token_and_take_effect() {
    let gw = gateway(2, SCREENING);
    let ids = wait_available(&gw, 2);
    let (a, b) = (&ids[0], &ids[1]);

    // The OpenAPI document names every path.
    let (s, doc) = get(&gw, "/api/openapi.json");
    assert_eq!(s, 200);
    assert_eq!(doc["openapi"].as_str().map(|v| &v[..2]), Some("3."));
    for p in [
        "/api/modems",
        "/api/modems/{id}",
        "/api/modems/{id}/{action}",
        "/api/nodes",
        "/api/dry-run",
        "/api/config/reload",
        "/api/calls",
        "/api/records",
        "/api/records.csv",
        "/api/records/{call_id}",
        "/api/blacklist",
        "/api/sticky/{key}",
    ] {
        assert!(doc["paths"].get(p).is_some(), "{p} in the OpenAPI document");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());

    // One modem, and errors for ids that are not there or not ids.
    let (s, m) = get(&gw, &format!("/api/modems/{a}"));
    assert_eq!((s, m["id"].as_str()), (200, Some(a.as_str())));
    assert!(
        m["signal_dbm"].as_i64().is_some() && m["imsi"].is_string(),
        "{m}"
    );
    assert_eq!(get(&gw, "/api/modems/999999999999999").0, 404);
    assert_eq!(get(&gw, "/api/modems/not%20an%20id").0, 400);
    assert_eq!(get(&gw, "/api/nowhere").0, 404);

    // Writes: no token 401 (with a challenge), a wrong one 403, the right one 200.
    let disable = format!("/api/modems/{a}/disable");
    let (s, _, _) = http_request(gw.http, "POST", &disable, &[], "");
    assert_eq!(s, 401);
    let (_, head, _) = http_request(gw.http, "POST", &disable, &[], "");
    assert!(
        head.to_ascii_lowercase()
            .contains("www-authenticate: bearer"),
        "{head}"
    );
    assert_eq!(
        call(
            gw.http,
            "POST",
            &disable,
            Some("wrong-token-0123456789"),
            ""
        )
        .0,
        403
    );
    assert_eq!(
        get(&gw, &format!("/api/modems/{a}")).1["state"],
        "available",
        "refused writes change nothing"
    );
    let (s, m) = write(&gw, "POST", &disable, r#"{"reason":"SIM swap"}"#);
    assert_eq!((s, m["state"].as_str()), (200, Some("disabled")), "{m}");
    assert!(route_lines(&gw, "5511912345678")
        .contains(&format!("{a}: disabled by an operator: SIM swap")));
    assert!(route_lines(&gw, "5511912345678").contains(&format!("the call would take {b}")));
    // A real call goes to the other modem.
    let c = RawSip::new("127.0.0.1", gw.udp);
    c.send(&invite(
        c.local(),
        gw.udp,
        "5511912345678",
        "api-1@test",
        "z9hG4bK-a1",
        40_000,
    ));
    let (ok, _) = c.recv_until("SIP/2.0 200", Duration::from_secs(10));
    // Meanwhile the call shows as active, on modem b.
    let (_, active) = get(&gw, "/api/calls");
    let mine = active
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["call_id"] == "api-1@test")
        .cloned();
    let mine = mine.unwrap_or_else(|| panic!("the call in /api/calls: {active}"));
    assert_eq!(mine["modem"].as_str(), Some(b.as_str()), "{mine}");
    assert!(
        ["answered", "confirmed"].contains(&mine["state"].as_str().unwrap_or("")),
        "{mine}"
    );
    // Its ladder so far, asked of the live call.
    let (s, _, live) = http_request(gw.http, "GET", "/api/ladder?call_id=api-1@test", &[], "");
    assert_eq!(s, 200, "{live}");
    assert!(
        live.contains("INVITE sip:5511912345678") && live.contains("gateway -> modem    ATD"),
        "{live}"
    );
    c.send(&in_dialog("ACK", 1, c.local(), &ok, "z9hG4bK-a1a"));
    c.send(&in_dialog("BYE", 2, c.local(), &ok, "z9hG4bK-a1b"));
    c.recv_until("SIP/2.0 200", Duration::from_secs(5));
    let (s, m) = write(&gw, "POST", &format!("/api/modems/{a}/enable"), "");
    assert_eq!((s, m["state"].as_str()), (200, Some("available")), "{m}");
    // Rest, reset, and bad actions.
    let (s, m) = write(
        &gw,
        "POST",
        &format!("/api/modems/{a}/rest"),
        r#"{"seconds":120}"#,
    );
    assert_eq!((s, m["state"].as_str()), (200, Some("rested")), "{m}");
    assert!(m["rested_until_ms"].as_u64().is_some(), "{m}");
    for (path, body, want) in [
        (format!("/api/modems/{a}/rest"), r#"{"seconds":0}"#, 400),
        (format!("/api/modems/{a}/rest"), r#"{"secs":5}"#, 400),
        (format!("/api/modems/{a}/rest"), "{not json", 400),
        (format!("/api/modems/{a}/explode"), "", 404),
        (format!("/api/modems/{b}/reset"), r#"{"kind":"hard"}"#, 400),
        (format!("/api/modems/{b}/reset"), r#"{"kind":"soft"}"#, 200),
    ] {
        assert_eq!(write(&gw, "POST", &path, body).0, want, "{path} {body}");
    }

    // Blacklist: an entry refuses the next call at once; removing it lets calls through.
    assert_eq!(
        write(&gw, "POST", "/api/blacklist", r#"{"pattern":"55 11"}"#).0,
        400
    );
    assert_eq!(
        call(
            gw.http,
            "POST",
            "/api/blacklist",
            None,
            r#"{"pattern":"5511900007777"}"#
        )
        .0,
        401
    );
    let (s, e) = write(
        &gw,
        "POST",
        "/api/blacklist",
        r#"{"pattern":"5511900007777","reason":"fraud"}"#,
    );
    assert_eq!(
        (s, e["kind"].as_str(), e["party"].as_str()),
        (201, Some("exact"), Some("callee")),
        "{e}"
    );
    let (_, list) = get(&gw, "/api/blacklist");
    assert!(
        list.as_array()
            .is_some_and(|l| l.iter().any(|e| e["pattern"] == "5511900007777")),
        "{list}"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (_, v) = get(&gw, "/api/dry-run?callee=5511900007777");
        if v["decision"] == "reject" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new entry is not applied: {v}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    c.send(&invite(
        c.local(),
        gw.udp,
        "5511900007777",
        "api-2@test",
        "z9hG4bK-a2",
        40_002,
    ));
    let (refused, _) = c.recv_until("SIP/2.0 4", Duration::from_secs(5));
    assert_eq!(status_line(&refused), "SIP/2.0 403 Forbidden", "{refused}");
    let del = "/api/blacklist?pattern=5511900007777";
    assert_eq!(write(&gw, "DELETE", del, "").0, 204);
    assert_eq!(write(&gw, "DELETE", del, "").0, 404);
    assert_eq!(write(&gw, "DELETE", "/api/blacklist?pattern=x", "").0, 400);

    // Sticky routes: pin, read, follow, delete.
    let key = "5511955554444";
    assert_eq!(get(&gw, &format!("/api/sticky/{key}")).0, 404);
    let (s, v) = write(
        &gw,
        "PUT",
        &format!("/api/sticky/{key}"),
        &format!(r#"{{"target":"{b}","ttl_s":600}}"#),
    );
    assert_eq!((s, v["target"].as_str()), (200, Some(b.as_str())), "{v}");
    assert_eq!(
        get(&gw, &format!("/api/sticky/{key}")).1["target"].as_str(),
        Some(b.as_str())
    );
    assert!(
        route_lines(&gw, key).contains(&format!("sticky route: {b}")),
        "{}",
        route_lines(&gw, key)
    );
    assert_eq!(
        write(
            &gw,
            "PUT",
            &format!("/api/sticky/{key}"),
            r#"{"target":"a b"}"#
        )
        .0,
        400
    );
    assert_eq!(
        write(&gw, "DELETE", &format!("/api/sticky/{key}"), "").0,
        204
    );
    assert_eq!(get(&gw, &format!("/api/sticky/{key}")).0, 404);

    // Records: search, paging, one record, CSV; bad searches are 400.
    gw.wait_records(2, Duration::from_secs(10));
    let deadline = Instant::now() + Duration::from_secs(10);
    let page = loop {
        let (s, p) = get(&gw, "/api/records?limit=1");
        assert_eq!(s, 200, "{p}");
        if p["total"].as_u64() >= Some(2) {
            break p;
        }
        assert!(Instant::now() < deadline, "records not in the store: {p}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(page["records"].as_array().map(Vec::len), Some(1));
    let (_, second) = get(&gw, "/api/records?limit=1&offset=1");
    assert_ne!(
        page["records"][0]["call_id"], second["records"][0]["call_id"],
        "pages differ"
    );
    let (_, answered) = get(&gw, "/api/records?outcome=answered&number=5511912345678");
    assert_eq!(answered["total"], 1, "{answered}");
    assert_eq!(
        answered["records"][0]["target"]["modem"].as_str(),
        Some(b.as_str())
    );
    let (_, by_modem) = get(&gw, &format!("/api/records?modem={b}"));
    assert_eq!(by_modem["total"], 1, "{by_modem}");
    assert_eq!(get(&gw, "/api/records/api-1@test").1["sip_status"], 200);
    assert_eq!(get(&gw, "/api/records/nope@test").0, 404);
    for bad in [
        "outcome=maybe",
        "limit=0",
        "limit=5000",
        "from=10&to=5",
        "colour=red",
        "status=abc",
    ] {
        assert_eq!(get(&gw, &format!("/api/records?{bad}")).0, 400, "{bad}");
    }
    let (s, head, csv) = http_request(
        gw.http,
        "GET",
        "/api/records.csv?outcome=unanswered",
        &[],
        "",
    );
    assert_eq!(s, 200);
    assert!(
        head.to_ascii_lowercase().contains("content-type: text/csv"),
        "{head}"
    );
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("call_id,received,"), "{csv}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("api-2@test,") && l.contains(",403,screened,rejected,")),
        "{csv}"
    );
    assert!(!csv.contains("api-1@test"), "only unanswered calls: {csv}");

    // Nodes, readiness, the dry run's errors.
    let (_, nodes) = get(&gw, "/api/nodes");
    assert_eq!(nodes[0]["local"], true, "{nodes}");
    assert_eq!(nodes[0]["modems"], 2);
    assert_eq!(get(&gw, "/readyz").0, 200);
    assert_eq!(get(&gw, "/api/dry-run").0, 400);
    assert_eq!(get(&gw, "/api/dry-run?callee=").0, 400);

    // Config reload: a good file swaps the rules, a broken one is refused with its keys.
    assert_eq!(call(gw.http, "POST", "/api/config/reload", None, "").0, 401);
    let (s, v) = write(&gw, "POST", "/api/config/reload", "");
    assert_eq!((s, v["reloaded"].as_bool()), (200, Some(true)), "{v}");
    let cfg = gw.dir.path().join("gw.toml");
    let good = std::fs::read_to_string(&cfg).expect("config");
    std::fs::write(&cfg, format!("{good}\n[routing]\nbalance = \"sideways\"\n")).expect("write");
    let (s, v) = write(&gw, "POST", "/api/config/reload", "");
    assert_eq!((s, v["reloaded"].as_bool()), (422, Some(false)), "{v}");
    assert!(v["problems"].to_string().contains("routing.balance"), "{v}");
    std::fs::write(&cfg, good).expect("write");

    // Every write above left an audit line; refused writes too.
    let mut gw = gw;
    gw.run.wait_for("API write.", 10, Duration::from_secs(5));
    gw.run
        .wait_for("API write refused.", 3, Duration::from_secs(5));
    assert!(gw.run.seen.iter().any(|l| l.contains("API write.")
        && l.contains("blacklist add")
        && l.contains("5511900007777")));
}

/// Names of the samples and families a scrape shows.
fn exported(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for l in text.lines() {
        if let Some(rest) = l.strip_prefix("# TYPE ") {
            if let Some(n) = rest.split_whitespace().next() {
                names.insert(n.to_string());
            }
        } else if !l.starts_with('#') {
            let n = l.split(['{', ' ']).next().unwrap_or("");
            names.insert(n.to_string());
        }
    }
    names
}

/// Metric names in a dashboard or rules file.
fn named_in(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for prefix in ["e173gw_", "process_"] {
        let mut rest = text;
        while let Some(i) = rest.find(prefix) {
            let tail = &rest[i..];
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(tail.len());
            let before = rest[..i].chars().last();
            if !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                out.insert(tail[..end].to_string());
            }
            rest = &tail[end..];
        }
    }
    out
}

fn family(name: &str) -> &str {
    ["_bucket", "_count", "_sum", "_total"]
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .unwrap_or(name)
}

#[test]
fn metrics_follow_a_sipp_run_and_cover_the_dashboard_and_alerts() {
    // One modem more than SIPp's calls at once: the next call never waits for a modem
    // still hanging up.
    let gw = gateway(3, "[routing.limits.default]\ncalls_per_day = 500\n");
    wait_available(&gw, 3);
    let sc = scenario("uac_bye.xml");
    let out = sipp(
        &[
            "-sf",
            sc.to_str().expect("utf8"),
            "-s",
            "5511912345678",
            "-m",
            "10",
            "-r",
            "10",
            "-l",
            "2",
            "-d",
            "300",
        ],
        gw.udp,
    );
    assert!(out.status.success(), "sipp failed");
    gw.wait_records(10, Duration::from_secs(20));
    let deadline = Instant::now() + Duration::from_secs(10);
    while gw.metric("e173gw_call_outcomes_total{outcome=\"answered\"}") != Some(10.0) {
        assert!(Instant::now() < deadline, "{:?}", gw.http_get("/metrics"));
        std::thread::sleep(Duration::from_millis(100));
    }
    let m = |n: &str| gw.metric(n).unwrap_or_else(|| panic!("{n} missing"));
    assert_eq!(m("e173gw_calls_total"), 10.0);
    assert!(m("e173gw_sip_messages_total{method=\"INVITE\",direction=\"in\"}") >= 10.0);
    assert!(m("e173gw_sip_messages_total{method=\"BYE\",direction=\"in\"}") >= 10.0);
    assert!(
        m("e173gw_sip_responses_total{code=\"200\",direction=\"out\"}") >= 20.0,
        "INVITE and BYE"
    );
    assert!(m("e173gw_sip_responses_total{code=\"100\",direction=\"out\"}") >= 10.0);
    assert_eq!(m("e173gw_call_talk_seconds_count"), 10.0);
    assert_eq!(m("e173gw_call_setup_seconds_count"), 10.0);
    assert_eq!(m("e173gw_call_post_dial_delay_seconds_count"), 10.0);
    assert_eq!(m("e173gw_records_spooled_total"), 10.0);
    assert_eq!(
        m("e173gw_sip_handler_seconds_count"),
        m("e173gw_sip_received_total")
    );
    let (_, text) = gw.http_get("/metrics");
    let today: f64 = text
        .lines()
        .filter(|l| l.starts_with("e173gw_modem_calls_today{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(
        today, 10.0,
        "the modems' calls today add up to the calls made"
    );
    let left: f64 = text
        .lines()
        .filter(|l| l.starts_with("e173gw_modem_limit_left{") && l.contains("calls_per_day"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(left, 1490.0, "3 x 500 less the 10 made");
    assert_eq!(m("e173gw_ready"), 1.0);
    assert!(m("process_resident_memory_bytes") > 1e6);
    assert!(m("process_cpu_seconds_total") > 0.0);
    assert!(m("e173gw_http_requests_total{route=\"/metrics\",status=\"200\"}") >= 1.0);

    // Every e173gw_/process_ name the dashboard and the alert rules use is exported.
    // The shared store's exist with the production storage (Redis) only: those must at
    // least be named by the metrics code.
    let have = exported(&text);
    let code = std::fs::read_to_string(root().join("src/http/metrics.rs")).expect("source");
    let production_only = |n: &str| {
        n.starts_with("e173gw_shared_store_") && code.contains(&format!("\"{}\"", family(n)))
    };
    for file in [
        "docker/grafana/dashboards/e173gw.json",
        "docker/prometheus/alerts.yml",
    ] {
        let body = std::fs::read_to_string(root().join(file)).expect(file);
        let names = named_in(&body);
        assert!(names.len() >= 5, "{file}: {names:?}");
        for n in names {
            assert!(
                have.contains(&n) || have.contains(family(&n)) || production_only(&n),
                "{file} names {n}, which the gateway does not export"
            );
        }
    }
}

#[test]
fn cli_tables_read_the_api() {
    let gw = gateway(2, "");
    let ids = wait_available(&gw, 2);
    let addr = gw.http.to_string();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(common::bin())
            .args(args)
            .output()
            .expect("run e173gw");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, table, err) = run(&["modems", "--gateway", &addr]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("MODEM") && lines[0].contains("SIGNAL"),
        "{table}"
    );
    for id in &ids {
        assert!(
            lines.iter().any(|l| l.starts_with(id.as_str())
                && l.contains("available")
                && l.contains(" dBm")),
            "{table}"
        );
    }
    let (ok, json, _) = run(&["modems", "--gateway", &addr, "--json"]);
    assert!(ok);
    assert_eq!(
        serde_json::from_str::<Value>(&json)
            .ok()
            .and_then(|v| v.as_array().map(Vec::len)),
        Some(2)
    );
    let (ok, calls, _) = run(&["calls", "--gateway", &format!("http://{addr}/")]);
    assert!(ok);
    assert_eq!(calls, "no calls in progress\n");
    // A gateway that is not there: a clear error, not a panic.
    let (ok, _, err) = run(&["modems", "--gateway", "127.0.0.1:9"]);
    assert!(!ok && err.contains("did not answer"), "{err}");
}

/// One answered call from a raw SIP client, hung up by the caller after `hold`.
fn raw_call(gw: &Gateway, call_id: &str, number: &str, hold: Duration) {
    let c = RawSip::new("127.0.0.1", gw.udp);
    c.send(&invite(
        c.local(),
        gw.udp,
        number,
        call_id,
        "z9hG4bK-l1",
        40_010,
    ));
    let (ok, _) = c.recv_until("SIP/2.0 200", Duration::from_secs(10));
    c.send(&in_dialog("ACK", 1, c.local(), &ok, "z9hG4bK-l1a"));
    std::thread::sleep(hold);
    c.send(&in_dialog("BYE", 2, c.local(), &ok, "z9hG4bK-l1b"));
    c.recv_until("SIP/2.0 200", Duration::from_secs(5));
}

#[test]
fn ladders_of_traced_numbers() {
    let gw = Gateway::start(Options {
        modems: 1,
        env: vec![
            ("E173GW_HTTP__API_TOKEN".into(), TOKEN.into()),
            ("E173GW_HTTP__LADDER_CALLS".into(), "0".into()),
        ],
        ..Options::default()
    });
    let id = wait_available(&gw, 1).remove(0);
    let number = "5511912345678";
    raw_call(&gw, "plain@test", number, Duration::from_millis(200));
    gw.wait_records(1, Duration::from_secs(10));
    let (s, v) = get(&gw, "/api/ladder?call_id=plain@test");
    assert_eq!(
        s, 404,
        "recent calls are not kept with ladder_calls = 0: {v}"
    );

    assert_eq!(
        call(gw.http, "PUT", &format!("/api/trace/{number}"), None, "").0,
        401
    );
    assert_eq!(write(&gw, "PUT", "/api/trace/12ab", "").0, 400);
    let (s, v) = write(&gw, "PUT", &format!("/api/trace/{number}"), "");
    assert_eq!((s, v["traced"].as_bool()), (200, Some(true)), "{v}");
    assert_eq!(get(&gw, "/api/trace").1, serde_json::json!([number]));
    wait_available(&gw, 1);
    raw_call(&gw, "traced@test", number, Duration::from_millis(200));
    gw.wait_records(2, Duration::from_secs(10));

    // The text ladder: SIP and AT on one timeline, in order.
    let (s, _, text) = http_request(gw.http, "GET", "/api/ladder?call_id=traced@test", &[], "");
    assert_eq!(s, 200, "{text}");
    eprintln!("{text}");
    assert!(
        text.starts_with(&format!("call traced@test on modem {id}\n")),
        "{text}"
    );
    let order = [
        "trunk -> gateway  INVITE sip:5511912345678",
        "gateway -> modem    ATD",
        "gateway -> trunk    200 OK",
        "trunk -> gateway  ACK",
        "trunk -> gateway  BYE",
        "gateway -> trunk    200 OK",
    ];
    let mut at = 0;
    for want in order {
        let found = text[at..]
            .find(want)
            .unwrap_or_else(|| panic!("{want:?} after byte {at} in\n{text}"));
        at += found + want.len();
    }
    assert!(
        text.contains("modem -> gateway"),
        "the modem's answers: {text}"
    );
    // Mermaid and JSON.
    let (_, _, m) = http_request(
        gw.http,
        "GET",
        "/api/ladder?call_id=traced@test&format=mermaid",
        &[],
        "",
    );
    assert!(m.starts_with("sequenceDiagram\n"), "{m}");
    assert!(m.contains(&format!("participant M as Modem {id}")), "{m}");
    assert!(m.contains("T->>G: INVITE sip:5511912345678"), "{m}");
    assert!(m.contains("G-)M: ATD"), "{m}");
    let (_, j) = get(&gw, "/api/ladder?call_id=traced@test&format=json");
    assert!(j["steps"].as_array().is_some_and(|s| s.len() >= 8), "{j}");
    assert_eq!(
        get(&gw, "/api/ladder?call_id=traced@test&format=svg").0,
        400
    );
    assert_eq!(get(&gw, "/api/ladder").0, 400);

    assert_eq!(
        write(&gw, "DELETE", &format!("/api/trace/{number}"), "").0,
        204
    );
    assert_eq!(
        write(&gw, "DELETE", &format!("/api/trace/{number}"), "").0,
        404
    );
    assert_eq!(get(&gw, "/api/trace").1, serde_json::json!([]));
}
