//! `/api/calls` (calls in progress) and `/api/records` (call records: search by time
//! range, number, modem, trunk, status and outcome, newest first, in pages; one record;
//! the same search as CSV).

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use e173gw_actors::board::ActiveCall;
use e173gw_actors::ingress::ListCalls;
use e173gw_core::ports::RecordQuery;
use e173gw_core::record::{CallRecord, RecordTarget};

use super::ApiError;
use crate::http::Sources;

/// A call in progress.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActiveCallView {
    /// SIP Call-ID.
    pub call_id: String,
    /// Trunk.
    pub trunk: String,
    /// Calling number.
    pub caller: String,
    /// Called number.
    pub callee: String,
    /// INVITE received (Unix ms).
    pub received_ms: u64,
    /// `screening`, `routing`, `connecting`, `early`, `answered`, `confirmed`, `ending`.
    pub state: String,
    /// In that state since (Unix ms).
    pub state_since_ms: u64,
    /// The modem it is on.
    pub modem: Option<String>,
}

impl From<ActiveCall> for ActiveCallView {
    fn from(c: ActiveCall) -> Self {
        Self {
            call_id: c.call_id,
            trunk: c.trunk,
            caller: c.caller,
            callee: c.callee,
            received_ms: c.received_ms,
            state: c.state.into(),
            state_since_ms: c.state_since_ms,
            modem: c.modem,
        }
    }
}

/// Calls in progress, oldest first.
#[utoipa::path(get, path = "/api/calls", tag = "calls",
    responses((status = 200, body = [ActiveCallView])))]
pub(super) async fn active(src: web::Data<Sources>) -> Result<HttpResponse, ApiError> {
    let calls = src.ingress.send(ListCalls).await?;
    let v: Vec<ActiveCallView> = calls.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(v))
}

/// A record search.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct Search {
    /// Received at or after (Unix ms).
    from: Option<u64>,
    /// Received before (Unix ms).
    to: Option<u64>,
    /// Caller or callee.
    number: Option<String>,
    /// Calling number.
    caller: Option<String>,
    /// Called number.
    callee: Option<String>,
    /// Modem id.
    modem: Option<String>,
    /// Trunk name.
    trunk: Option<String>,
    /// Final SIP status.
    status: Option<u16>,
    /// `answered` or `unanswered`.
    outcome: Option<String>,
    /// Page size, 1..=1000 (default 100).
    limit: Option<u32>,
    /// Records to skip (default 0).
    offset: Option<u32>,
}

const MAX_OFFSET: u32 = 1_000_000;

impl Search {
    fn query(self) -> Result<RecordQuery, ApiError> {
        let answered = match self.outcome.as_deref() {
            None | Some("") => None,
            Some("answered") => Some(true),
            Some("unanswered") => Some(false),
            Some(o) => {
                return Err(ApiError::BadRequest(format!(
                    "outcome {o:?}: must be answered or unanswered"
                )))
            }
        };
        if let (Some(f), Some(t)) = (self.from, self.to) {
            if f > t {
                return Err(ApiError::BadRequest("from is after to".into()));
            }
        }
        let limit = self.limit.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return Err(ApiError::BadRequest("limit: must be 1..=1000".into()));
        }
        let offset = self.offset.unwrap_or(0);
        if offset > MAX_OFFSET {
            return Err(ApiError::BadRequest(format!(
                "offset: at most {MAX_OFFSET} (narrow the time range)"
            )));
        }
        let text = |name: &str, v: Option<String>| match v {
            Some(v) => super::check_text(name, &v, 64).map(|()| Some(v).filter(|s| !s.is_empty())),
            None => Ok(None),
        };
        Ok(RecordQuery {
            number: text("number", self.number)?,
            caller: text("caller", self.caller)?,
            callee: text("callee", self.callee)?,
            trunk: text("trunk", self.trunk)?,
            modem: text("modem", self.modem)?,
            sip_status: self.status,
            from_ms: self.from,
            to_ms: self.to,
            answered,
            limit,
            offset,
        })
    }
}

/// One page of records.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordPage {
    /// Records matching the search, in all pages.
    pub total: u64,
    /// Skipped.
    pub offset: u32,
    /// Page size.
    pub limit: u32,
    /// The records, newest first (the call record as the store keeps it).
    #[schema(value_type = Vec<Object>)]
    pub records: Vec<CallRecord>,
}

/// Searches the call records.
#[utoipa::path(get, path = "/api/records", tag = "calls", params(Search),
    responses((status = 200, body = RecordPage), (status = 400, body = super::ErrorBody),
              (status = 503, body = super::ErrorBody)))]
pub(super) async fn records(
    src: web::Data<Sources>,
    q: web::Query<Search>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner().query()?;
    let store = &src.stores.records;
    let (total, records) = tokio::join!(store.count(&q), store.search(&q));
    Ok(HttpResponse::Ok().json(RecordPage {
        total: total?,
        offset: q.offset,
        limit: q.limit,
        records: records?,
    }))
}

/// Most rows one CSV export writes.
const CSV_MAX: u32 = 100_000;

/// The CSV header.
pub const CSV_HEADER: &str = "call_id,received,trunk,caller,callee,target,modem,sip_status,end_reason,outcome,q850,post_dial_delay_ms,talk_s";

fn csv_field(s: &str) -> String {
    // A leading = + - @ would be a formula to a spreadsheet.
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// A time as RFC 3339 UTC with milliseconds.
pub fn rfc3339(ms: u64) -> String {
    let days = (ms / 86_400_000) as i64;
    let (y, m, d) = e173gw_core::ports::civil_from_days(days);
    let t = ms % 86_400_000;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        t / 3_600_000,
        t / 60_000 % 60,
        t / 1000 % 60,
        t % 1000
    )
}

/// One record as a CSV line (no line end).
pub fn csv_line(r: &CallRecord) -> String {
    let (target, modem) = match &r.target {
        RecordTarget::None => ("none", String::new()),
        RecordTarget::Modem { modem, .. } => ("modem", modem.clone()),
        RecordTarget::Agent { uri } => ("agent", uri.clone()),
        RecordTarget::Peer { node, modem, .. } => ("peer", format!("{node}/{modem}")),
    };
    let end = serde_json::to_value(r.end_reason)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    [
        csv_field(&r.call_id),
        rfc3339(r.received_ms),
        csv_field(r.trunk.as_deref().unwrap_or("")),
        csv_field(&r.caller),
        csv_field(&r.callee),
        target.to_string(),
        csv_field(&modem),
        r.sip_status.to_string(),
        end,
        r.outcome().as_str().to_string(),
        r.q850.map(|c| c.to_string()).unwrap_or_default(),
        r.post_dial_delay_ms
            .map(|c| c.to_string())
            .unwrap_or_default(),
        (r.talk_ms / 1000).to_string(),
    ]
    .join(",")
}

/// The search as CSV, every page (at most 100 000 rows; `limit` and `offset` are ignored).
#[utoipa::path(get, path = "/api/records.csv", tag = "calls", params(Search),
    responses((status = 200, description = "text/csv with a header line", content_type = "text/csv", body = String),
              (status = 400, body = super::ErrorBody)))]
pub(super) async fn records_csv(
    src: web::Data<Sources>,
    q: web::Query<Search>,
) -> Result<HttpResponse, ApiError> {
    let mut q = q.into_inner().query()?;
    q.limit = 1000;
    q.offset = 0;
    let mut out = String::with_capacity(4096);
    out.push_str(CSV_HEADER);
    out.push_str("\r\n");
    while q.offset < CSV_MAX {
        let page = src.stores.records.search(&q).await?;
        for r in &page {
            out.push_str(&csv_line(r));
            out.push_str("\r\n");
        }
        if page.len() < q.limit as usize {
            break;
        }
        q.offset += q.limit;
    }
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"e173gw-records.csv\"",
        ))
        .body(out))
}

/// One call's record.
#[utoipa::path(get, path = "/api/records/{call_id}", tag = "calls",
    params(("call_id" = String, Path, description = "SIP Call-ID")),
    responses((status = 200, description = "The call record", body = Object),
              (status = 404, body = super::ErrorBody)))]
pub(super) async fn record(
    src: web::Data<Sources>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    match src.stores.records.get(&id).await? {
        Some(r) => Ok(HttpResponse::Ok().json(r)),
        None => Err(ApiError::NotFound(format!(
            "no record of call {:?}",
            id.as_str()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_are_checked() {
        let ok = |s: Search| s.query().ok();
        let q = ok(Search {
            outcome: Some("answered".into()),
            number: Some("".into()),
            limit: Some(5),
            offset: Some(10),
            ..Search::default()
        })
        .expect("valid");
        assert_eq!(
            (q.answered, q.number, q.limit, q.offset),
            (Some(true), None, 5, 10)
        );
        assert_eq!(ok(Search::default()).map(|q| q.limit), Some(100));
        for bad in [
            Search {
                outcome: Some("busy".into()),
                ..Search::default()
            },
            Search {
                limit: Some(0),
                ..Search::default()
            },
            Search {
                limit: Some(1001),
                ..Search::default()
            },
            Search {
                offset: Some(MAX_OFFSET + 1),
                ..Search::default()
            },
            Search {
                from: Some(10),
                to: Some(5),
                ..Search::default()
            },
            Search {
                caller: Some("1".repeat(65)),
                ..Search::default()
            },
            Search {
                modem: Some("a\nb".into()),
                ..Search::default()
            },
        ] {
            let shown = format!("{bad:?}");
            assert!(
                matches!(bad.query(), Err(ApiError::BadRequest(_))),
                "{shown}"
            );
        }
    }

    #[test]
    fn csv_lines_quote_and_defuse() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=1+2"), "'=1+2");
        assert_eq!(csv_field("-x,y"), "\"'-x,y\"");
        let mut r = e173gw_core::record::CallStart {
            call_id: "c1@h".into(),
            trunk: Some("carrier".into()),
            caller: "5511".into(),
            callee: "=cmd".into(),
            received_ms: 1_795_370_400_123,
        }
        .refused(403);
        r.end_reason = e173gw_core::record::EndReason::Screened;
        assert_eq!(
            csv_line(&r),
            "c1@h,2026-11-22T18:00:00.123Z,carrier,5511,'=cmd,none,,403,screened,rejected,,,0"
        );
        assert_eq!(
            csv_line(&r).split(',').count(),
            CSV_HEADER.split(',').count()
        );
    }
}
