//! `e173gw check-number`: screen a number with the configured rules, without placing a
//! call, and print the verdict with the trace of every stage.

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
    let text = if a.json {
        serde_json::to_string_pretty(&v)?
    } else {
        render(&v)
    };
    Ok((v, text))
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
        Decision::Divert { reason } => format!("verdict: DIVERT to the agent ({reason})\n"),
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
