//! `e173gw check-number`: screen a number with the configured rules, without placing a
//! call, and print the verdict with the trace of every stage; then, for a number that
//! would be routed, ask the running gateway (its `/route` page) which SIM would take it
//! and why ("why this SIM" as a dry run: nothing is leased or counted).

use std::time::Duration;

use e173gw_actors::filter::screen_once;
use e173gw_core::filter::{Decision, Request, Verdict};

use crate::settings::Settings;

/// What to screen.
#[derive(clap::Args, Debug)]
pub struct CheckNumberArgs {
    /// The called number, as a trunk would send it.
    #[arg(long)]
    pub callee: String,
    /// The calling number.
    #[arg(long, default_value = "")]
    pub caller: String,
    /// The trunk the call comes in on (per-trunk rules and region).
    #[arg(long)]
    pub trunk: Option<String>,
    /// Print the verdict as JSON.
    #[arg(long)]
    pub json: bool,
    /// The running gateway's HTTP address (`host:port`) to ask for the route; default:
    /// `[http] listen` of the config. `off` does not ask.
    #[arg(long)]
    pub gateway: Option<String>,
}

/// Why a number could not be checked.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The store could not be opened.
    #[error("storage: {0}")]
    Storage(#[from] crate::storage::StorageError),
    /// A lookup provider could not be set up.
    #[error("filter provider: {0}")]
    Provider(#[from] crate::providers::ProviderError),
    /// The verdict could not be printed as JSON.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

/// Screens the number; the verdict and the text to print.
pub async fn check(s: &Settings, a: &CheckNumberArgs) -> Result<(Verdict, String), CheckError> {
    let opened = crate::storage::open(&s.config.storage, &s.base_dir).await?;
    let now_ms = e173gw_actors::wall_ms();
    let req = Request {
        caller: a.caller.clone(),
        callee: a.callee.clone(),
        trunk: a.trunk.clone(),
        now_ms,
    };
    let v = screen_once(
        s.rules.clone(),
        &opened.stores,
        &crate::app::lookups(&s.rules)?,
        req,
        Duration::from_millis(s.config.filter.budget_ms),
    )
    .await;
    let gateway = match a.gateway.as_deref() {
        Some("off") => None,
        Some(g) => Some(g.to_string()),
        None => s
            .config
            .http
            .addr()
            .filter(|a| a.port() != 0)
            .map(|a| a.to_string()),
    };
    let route = match (&v.decision, gateway) {
        (Decision::Allow, Some(g)) => {
            let asked = route_dry_run(&g, a, v.annotations.operator.as_deref()).await;
            Some((g, asked))
        }
        _ => None,
    };
    let text = if a.json {
        let mut j = serde_json::to_value(&v)?;
        if let (Some((g, r)), Some(o)) = (&route, j.as_object_mut()) {
            o.insert(
                "route".into(),
                match r {
                    Ok(lines) => serde_json::json!({"gateway": g, "lines": lines}),
                    Err(e) => serde_json::json!({"gateway": g, "error": e}),
                },
            );
        }
        serde_json::to_string_pretty(&j)?
    } else {
        let mut t = render(&v);
        match &route {
            Some((g, Ok(lines))) => {
                t.push_str(&format!("route (dry run on the gateway at {g}):\n"));
                for l in lines {
                    t.push_str(&format!("  {l}\n"));
                }
            }
            Some((g, Err(e))) => {
                t.push_str(&format!("route: the gateway at {g} did not answer: {e}\n"))
            }
            None if v.decision == Decision::Allow => t.push_str(
                "route: not asked (no --gateway, and [http] listen names no fixed port)\n",
            ),
            None => {}
        }
        t
    };
    Ok((v, text))
}

/// Asks the running gateway at `addr` how it would route the call now.
async fn route_dry_run(
    addr: &str,
    a: &CheckNumberArgs,
    operator: Option<&str>,
) -> Result<Vec<String>, String> {
    let client = crate::providers::http::client_builder(Duration::from_secs(3))
        .build()
        .map_err(|e| e.to_string())?;
    let url = reqwest::Url::parse_with_params(
        &format!("http://{addr}/route"),
        &[
            ("callee", a.callee.as_str()),
            ("caller", a.caller.as_str()),
            ("trunk", a.trunk.as_deref().unwrap_or_default()),
            ("operator", operator.unwrap_or_default()),
        ],
    )
    .map_err(|e| e.to_string())?;
    let body = client
        .get(url)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    let v: serde_json::Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
    match v["route"].as_array() {
        Some(lines) => Ok(lines
            .iter()
            .filter_map(|l| l.as_str().map(str::to_string))
            .collect()),
        None => Err(v["error"]
            .as_str()
            .unwrap_or("unexpected answer")
            .to_string()),
    }
}

/// The verdict for people: one line per stage, the annotations, the decision.
pub fn render(v: &Verdict) -> String {
    let mut out = String::new();
    if v.trace.is_empty() {
        out.push_str("no screening stages configured\n");
    }
    for (i, t) in v.trace.iter().enumerate() {
        out.push_str(&format!("{}. {t}\n", i + 1));
    }
    let a = &v.annotations;
    let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
    out.push_str(&format!(
        "number: e164={} national={} type={} region={} operator={} tags={}\n",
        opt(&a.e164),
        opt(&a.national),
        opt(&a.number_type),
        opt(&a.region),
        opt(&a.operator),
        if a.tags.is_empty() {
            "-".to_string()
        } else {
            a.tags.join(",")
        }
    ));
    out.push_str(&match &v.decision {
        Decision::Allow => "verdict: ALLOW\n".to_string(),
        Decision::Reject { status, reason } => format!("verdict: REJECT {status} {reason}\n"),
        Decision::Divert { reason, .. } => format!("verdict: DIVERT to the agent ({reason})\n"),
    });
    out
}

/// The exit status for a verdict: 0 allowed, 1 rejected, 2 diverted.
pub fn exit_code(v: &Verdict) -> u8 {
    match v.decision {
        Decision::Allow => 0,
        Decision::Reject { .. } => 1,
        Decision::Divert { .. } => 2,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;
    use std::time::Duration;

    use actix::Actor;

    use e173gw_actors::filter::{screen_once, FilterActor, Lookups, Screen, SwapRules};
    use e173gw_core::config::filter::FilterConfig;
    use e173gw_core::config::storage::StorageConfig;
    use e173gw_core::filter::{Decision, Request, Rules};
    use e173gw_core::ports::{BlacklistEntry, MatchKind, PartyScope};

    fn rules() -> Arc<Rules> {
        #[derive(serde::Deserialize)]
        struct W {
            filter: FilterConfig,
        }
        let w: W =
            toml::from_str("[filter]\n[[filter.stage]]\nkind = \"blacklist\"\n").expect("toml");
        Arc::new(Rules::check_and_build(&w.filter, Path::new("."), 1).expect("rules"))
    }

    fn req(callee: &str) -> Request {
        Request {
            caller: String::new(),
            callee: callee.into(),
            trunk: None,
            now_ms: e173gw_actors::wall_ms(),
        }
    }

    #[test]
    fn the_stores_blacklist_applies_and_the_actor_follows_its_changes() {
        let dir = tempfile::tempdir().expect("tmp");
        let cfg = StorageConfig {
            sqlite_path: dir.path().join("gw.db"),
            ..StorageConfig::default()
        };
        actix::System::new().block_on(async move {
            let stores = crate::storage::open(&cfg, dir.path())
                .await
                .expect("store")
                .stores;
            let entry = BlacklistEntry {
                pattern: "+5511900000777".into(),
                kind: MatchKind::Exact,
                party: PartyScope::Callee,
                reason: "added through the store".into(),
                created_ms: 0,
                expires_ms: None,
            };
            stores.blacklist.add(&entry).await.expect("add");
            let budget = Duration::from_millis(500);
            let v = screen_once(
                rules(),
                &stores,
                &Lookups::default(),
                req("11900000777"),
                budget,
            )
            .await;
            assert_eq!(
                v.decision,
                Decision::Reject {
                    status: 403,
                    reason: "added through the store".into()
                }
            );
            // The actor reads the store at start and again with new rules.
            let filter =
                FilterActor::new(rules(), stores.clone(), Lookups::default(), budget).start();
            let decide = |n: &'static str| {
                let f = filter.clone();
                async move {
                    f.send(Screen(req(n)))
                        .await
                        .expect("filter")
                        .decision
                        .name()
                }
            };
            tokio::time::sleep(Duration::from_millis(200)).await;
            assert_eq!(decide("11900000777").await, "reject");
            stores
                .blacklist
                .remove("+5511900000777", MatchKind::Exact, PartyScope::Callee)
                .await
                .expect("remove");
            filter.send(SwapRules(rules(), None)).await.expect("swap");
            tokio::time::sleep(Duration::from_millis(200)).await;
            assert_eq!(decide("11900000777").await, "allow");
            stores.blacklist.add(&entry).await.expect("add again");
            filter.send(SwapRules(rules(), None)).await.expect("swap");
            tokio::time::sleep(Duration::from_millis(200)).await;
            assert_eq!(decide("11900000777").await, "reject");
        });
    }
}
