//! `e173gw modems` and `e173gw calls`: readable tables from a running gateway's API.

use std::time::Duration;

use serde_json::Value;

/// Where the gateway is, and how to print.
#[derive(clap::Args, Debug)]
pub struct OpsArgs {
    /// The gateway's HTTP address (`host:port` or a URL).
    #[arg(long, env = "E173GW_HTTP", default_value = "127.0.0.1:9180")]
    pub gateway: String,
    /// Print the API's JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Why the table could not be printed.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// The gateway did not answer.
    #[error("the gateway at {0} did not answer: {1}")]
    Unreachable(String, String),
    /// It answered with an error.
    #[error("the gateway answered {0}: {1}")]
    Status(u16, String),
    /// The answer was not what the API documents.
    #[error("unexpected answer: {0}")]
    Body(String),
}

fn base(gateway: &str) -> String {
    let g = gateway.trim_end_matches('/');
    if g.starts_with("http://") || g.starts_with("https://") {
        g.to_string()
    } else {
        format!("http://{g}")
    }
}

/// GETs `path` from the gateway as JSON.
pub async fn fetch(gateway: &str, path: &str) -> Result<Value, OpsError> {
    let url = format!("{}{path}", base(gateway));
    let client = crate::providers::http::client_builder(Duration::from_secs(5))
        .build()
        .map_err(|e| OpsError::Unreachable(url.clone(), e.to_string()))?;
    let resp = client
        .get(&url)
        .send()
        .await
        .map_err(|e| OpsError::Unreachable(url.clone(), e.to_string()))?;
    let status = resp.status().as_u16();
    let body = resp
        .text()
        .await
        .map_err(|e| OpsError::Unreachable(url.clone(), e.to_string()))?;
    if status != 200 {
        return Err(OpsError::Status(status, body));
    }
    serde_json::from_str(&body).map_err(|e| OpsError::Body(e.to_string()))
}

/// Lays rows out under headers, each column as wide as its widest cell.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut width: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if let Some(w) = width.get_mut(i) {
                *w = (*w).max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                let pad = width[i].saturating_sub(c.chars().count());
                s.push_str(c);
                s.push_str(&" ".repeat(pad + 2));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(headers.to_vec());
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The modems table.
pub fn modems_table(modems: &Value) -> Result<String, OpsError> {
    let list = modems
        .as_array()
        .ok_or_else(|| OpsError::Body("a list of modems".into()))?;
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|m| {
            let signal = match m["signal_dbm"].as_i64() {
                Some(d) => format!("{d} dBm"),
                None => "-".into(),
            };
            let left = match (
                m["left"]["calls_per_day"].as_u64(),
                m["left"]["minutes_per_day"].as_u64(),
            ) {
                (Some(c), Some(n)) => format!("{c} calls, {n} min"),
                (Some(c), None) => format!("{c} calls"),
                (None, Some(n)) => format!("{n} min"),
                (None, None) => "-".into(),
            };
            let why = if m["state"] == "available" {
                text(&m["last_error"])
            } else {
                text(&m["reason"])
            };
            vec![
                text(&m["id"]),
                text(&m["state"]),
                signal,
                text(&m["operator"]),
                text(&m["calls_today"]),
                left,
                why,
            ]
        })
        .collect();
    Ok(table(
        &[
            "MODEM",
            "STATE",
            "SIGNAL",
            "OPERATOR",
            "CALLS TODAY",
            "LEFT TODAY",
            "REASON / LAST ERROR",
        ],
        &rows,
    ))
}

/// The calls table, ages from `now_ms`.
pub fn calls_table(calls: &Value, now_ms: u64) -> Result<String, OpsError> {
    let list = calls
        .as_array()
        .ok_or_else(|| OpsError::Body("a list of calls".into()))?;
    if list.is_empty() {
        return Ok("no calls in progress\n".into());
    }
    let age = |ms: Option<u64>| {
        ms.map_or("-".into(), |t| {
            format!("{} s", now_ms.saturating_sub(t).div_ceil(1000))
        })
    };
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|c| {
            vec![
                text(&c["call_id"]),
                text(&c["caller"]),
                text(&c["callee"]),
                text(&c["trunk"]),
                text(&c["state"]),
                text(&c["modem"]),
                age(c["received_ms"].as_u64()),
            ]
        })
        .collect();
    Ok(table(
        &["CALL-ID", "FROM", "TO", "TRUNK", "STATE", "MODEM", "AGE"],
        &rows,
    ))
}

/// Prints the modems (`what` = "modems") or the calls in progress ("calls").
pub async fn run(what: &str, a: &OpsArgs) -> Result<String, OpsError> {
    let path = if what == "modems" {
        "/api/modems"
    } else {
        "/api/calls"
    };
    let v = fetch(&a.gateway, path).await?;
    if a.json {
        return serde_json::to_string_pretty(&v)
            .map(|s| s + "\n")
            .map_err(|e| OpsError::Body(e.to_string()));
    }
    if what == "modems" {
        modems_table(&v)
    } else {
        calls_table(&v, e173gw_actors::wall_ms())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tables_line_up() {
        let t = table(
            &["A", "LONG HEADER", "C"],
            &[
                vec!["x".into(), "y".into(), "last".into()],
                vec!["wider".into(), "".into(), "z".into()],
            ],
        );
        assert_eq!(
            t,
            "A      LONG HEADER  C\nx      y            last\nwider               z\n"
        );
    }

    #[test]
    fn modems_and_calls() {
        let m = json!([
            {"id": "354911021000005", "state": "available", "signal_dbm": -79, "operator": "TIM",
             "calls_today": 3, "left": {"calls_per_day": 197, "minutes_per_day": null},
             "reason": "registered and idle", "last_error": null},
            {"id": "354911021000013", "state": "unplugged", "signal_dbm": null, "operator": null,
             "calls_today": 0, "left": {}, "reason": "waiting for the device to appear", "last_error": "x"}
        ]);
        let t = modems_table(&m).expect("table");
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("MODEM"));
        assert!(
            lines[1].contains("-79 dBm") && lines[1].contains("197 calls"),
            "{t}"
        );
        assert!(
            lines[2].contains("unplugged")
                && lines[2].ends_with("waiting for the device to appear"),
            "{t}"
        );
        assert!(modems_table(&json!({"error": "x"})).is_err());
        let c = json!([{"call_id": "a@b", "caller": "1", "callee": "2", "trunk": "t",
                        "state": "confirmed", "modem": "m1", "received_ms": 1_000}]);
        let t = calls_table(&c, 62_000).expect("table");
        assert!(
            t.lines()
                .nth(1)
                .is_some_and(|l| l.contains("confirmed") && l.ends_with("61 s")),
            "{t}"
        );
        assert_eq!(
            calls_table(&json!([]), 0).expect("table"),
            "no calls in progress\n"
        );
        assert_eq!(base("127.0.0.1:9180"), "http://127.0.0.1:9180");
        assert_eq!(base("http://h:1/"), "http://h:1");
    }
}
