//! The supervisors' API: the indicators for a period grouped by station, town, village or
//! officer with drill-down (a row's code narrows the scope, the next level groups it), the
//! indicators week by week, and the same report as CSV or XLSX. A station supervisor sees their
//! station; a bureau supervisor the district. Every figure is a SQL aggregate over the facts the
//! records added ([`crate::storage::Reports`]), each indicator evaluated by its one definition in
//! `beibao_core::indicators`. Reports hold counts only; every export is written to the audit
//! log with who, what range and what scope.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use beibao_core::code::Code;
use beibao_core::mediation::MediationKind;
use beibao_core::text::LocalText;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::detail::{self, DetailKind};
use crate::due;
use crate::http::{AdminAuth, ApiError, SupervisorAuth, Wants};
use crate::report::{self, Level, Period, Report, Scope, Trend};
use crate::storage::{AuditEntry, StorageError};

/// What a report is of.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// A named period: `2026-11-30`, `2026-W48`, `2026-11`, `2026-Q4`, `2026`. Or give `from`
    /// and `to`.
    pub period: Option<String>,
    /// First day of a custom period (with `to`).
    pub from: Option<NaiveDate>,
    /// Last day of a custom period (with `from`).
    pub to: Option<NaiveDate>,
    /// The level of the rows (default `station`).
    #[param(value_type = Option<String>)]
    pub level: Option<Level>,
    /// Only this station.
    pub station: Option<String>,
    /// Only this town.
    pub town: Option<String>,
    /// Only this village.
    pub village: Option<String>,
    /// Only this officer.
    pub officer: Option<String>,
    /// For an export: `csv` or `xlsx`.
    pub format: Option<String>,
}

/// The longest code a scope field takes.
const MAX_CODE: usize = 64;

impl ReportQuery {
    pub(crate) fn period(&self) -> Result<Period, ApiError> {
        let p = match (&self.period, self.from, self.to) {
            (Some(name), None, None) => Period::parse(name),
            (None, Some(from), Some(to)) => Period::range(from, to),
            _ => Err("give either period=<2026-11, 2026-W48, 2026-Q4, 2026 or a day> or both from= and to=".into()),
        };
        p.map_err(|m| ApiError::new(StatusCode::BAD_REQUEST, Code::BadQuery, m))
    }

    /// The scope asked for, within `station` for an account held to one.
    pub(crate) fn scope(&self, station: Option<&str>) -> Result<Scope, ApiError> {
        for v in [&self.station, &self.town, &self.village, &self.officer].into_iter().flatten() {
            if v.is_empty() || v.len() > MAX_CODE {
                return Err(ApiError::bad_query(format!("a scope code is 1–{MAX_CODE} characters")));
            }
        }
        let scope = Scope {
            station: self.station.clone(),
            town: self.town.clone(),
            village: self.village.clone(),
            officer: self.officer.clone(),
        };
        Ok(scope.within(station)?)
    }
}

fn parse_query(query: Result<Query<ReportQuery>, QueryRejection>) -> Result<ReportQuery, ApiError> {
    query.map(|Query(q)| q).map_err(|e| {
        ApiError::bad_query(format!(
            "?period=…|from=…&to=…[&level=station|town|village|officer][&station=…&town=…&village=…&officer=…]: {}",
            e.body_text()
        ))
    })
}

/// The report for a period, level and scope (shared by the JSON answer and the exports).
pub async fn build_report(
    state: &AppState,
    period: Period,
    level: Level,
    scope: Scope,
) -> Result<Report, StorageError> {
    let storage = state.storage();
    let (aggregates, villages) =
        tokio::try_join!(storage.aggregates(period, level, &scope), storage.villages_in_scope(level, &scope))?;
    let mut codes: Vec<String> = aggregates
        .iter()
        .filter_map(|a| a.group.clone())
        .chain(villages.iter().filter_map(|v| v.0.clone()))
        .filter(|c| c != report::TOTAL)
        .collect();
    codes.sort();
    codes.dedup();
    let names = storage.names(level, &codes).await?;
    Ok(report::build(period, level, scope, aggregates, villages, &names))
}

#[utoipa::path(get, path = "/supervisor/report", tag = "console", params(ReportQuery), security(("bearer" = [])),
    responses((status = 200, body = Report),
        (status = 400, description = "`bad_query`", body = beibao_sync::wire::ErrorBody),
        (status = 401, description = "`unauthenticated`, `session_expired`", body = beibao_sync::wire::ErrorBody),
        (status = 403, description = "`forbidden` (not a supervisor, or another station)", body = beibao_sync::wire::ErrorBody),
        (status = 429, description = "`rate_limited`", body = beibao_sync::wire::ErrorBody)))]
pub(crate) async fn report(
    State(state): State<AppState>,
    who: SupervisorAuth,
    wants: Wants,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = parse_query(query)?;
    if q.format.is_some() {
        return Err(ApiError::bad_query("format= is for /supervisor/export"));
    }
    let (period, scope) = (q.period()?, q.scope(who.station.as_deref())?);
    let report = build_report(&state, period, q.level.unwrap_or(Level::Station), scope).await?;
    Ok(wants.reply(&report))
}

#[utoipa::path(get, path = "/supervisor/trend", tag = "console", params(ReportQuery), security(("bearer" = [])),
    responses((status = 200, body = Trend),
        (status = 400, description = "`bad_query`", body = beibao_sync::wire::ErrorBody),
        (status = 401, description = "`unauthenticated`, `session_expired`", body = beibao_sync::wire::ErrorBody),
        (status = 403, description = "`forbidden`", body = beibao_sync::wire::ErrorBody),
        (status = 429, description = "`rate_limited`", body = beibao_sync::wire::ErrorBody)))]
pub(crate) async fn trend(
    State(state): State<AppState>,
    who: SupervisorAuth,
    wants: Wants,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = parse_query(query)?;
    if q.format.is_some() || q.level.is_some() {
        return Err(ApiError::bad_query("a trend is of the whole scope: no level=, no format="));
    }
    let (period, scope) = (q.period()?, q.scope(who.station.as_deref())?);
    let storage = state.storage();
    let (weekly, villages) =
        tokio::try_join!(storage.weekly(period, &scope), storage.villages_in_scope(Level::Station, &scope))?;
    let in_scope = villages.iter().find(|v| v.0.as_deref() == Some(report::TOTAL)).map_or(0, |v| v.1);
    Ok(wants.reply(&report::trend(period, scope, weekly, in_scope)))
}

/// How long a special-group household may go without a visit (REFERENCE §5, the tablet's Today).
pub const SPECIAL_GROUP_DAYS: u64 = 30;

/// Every village of a scope, for the coverage map.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Coverage {
    /// Today in Shanting (the days are counted to it).
    pub today: NaiveDate,
    /// The scope.
    #[schema(value_type = Object)]
    pub scope: Scope,
    /// By code.
    pub villages: Vec<VillageCoverage>,
}

/// A village's coverage.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VillageCoverage {
    /// Code.
    pub code: String,
    /// Name.
    #[schema(value_type = Object)]
    pub name: LocalText,
    /// Days since its last household visit (`null`: never visited).
    pub days_since_visit: Option<i64>,
    /// Households with 孤寡老人, 留守儿童, 残疾人 or 特困 members.
    pub special_households: i64,
    /// Of those, not visited in the last 30 days.
    pub special_not_visited: i64,
    /// The boundary (GeoJSON geometry, WGS-84).
    #[schema(value_type = Object)]
    #[cfg_attr(feature = "ts", ts(type = "GeoJSON.Polygon"))]
    pub geometry: serde_json::Value,
}

#[utoipa::path(get, path = "/supervisor/coverage", tag = "console", params(ReportQuery), security(("bearer" = [])),
    responses((status = 200, body = Coverage),
        (status = 400, description = "`bad_query`", body = beibao_sync::wire::ErrorBody),
        (status = 401, description = "`unauthenticated`, `session_expired`", body = beibao_sync::wire::ErrorBody),
        (status = 403, description = "`forbidden`", body = beibao_sync::wire::ErrorBody),
        (status = 429, description = "`rate_limited`", body = beibao_sync::wire::ErrorBody)))]
pub(crate) async fn coverage(
    State(state): State<AppState>,
    who: SupervisorAuth,
    wants: Wants,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = parse_query(query)?;
    if q.period.is_some()
        || q.from.is_some()
        || q.to.is_some()
        || q.level.is_some()
        || q.format.is_some()
        || q.officer.is_some()
    {
        return Err(ApiError::bad_query("coverage is as of today, by village: only station= town= village="));
    }
    let scope = q.scope(who.station.as_deref())?;
    let today = beibao_core::calendar::china_date(state.now());
    let since = today.checked_sub_days(chrono::Days::new(SPECIAL_GROUP_DAYS)).unwrap_or(today);
    let rows = state.storage().coverage(&scope, since).await?;
    let villages = rows
        .into_iter()
        .map(|r| {
            let body: serde_json::Value = serde_json::from_str(&r.body)
                .map_err(|e| ApiError::from(StorageError::Db(format!("stored village {}: {e}", r.code))))?;
            let name = serde_json::from_value(body["name"].clone())
                .unwrap_or_else(|_| LocalText::new(r.code.clone(), r.code.clone()));
            Ok(VillageCoverage {
                days_since_visit: r.last_visit.map(|d| (today - d).num_days().max(0)),
                special_households: r.special,
                special_not_visited: r.special_not_visited,
                geometry: body["geometry"].clone(),
                name,
                code: r.code,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(wants.reply(&Coverage { today, scope, villages }))
}

/// A scope's mediation deadlines as of today (REFERENCE §2: the follow-up after the performance
/// deadline, the 30-day window for 司法确认): per village, and the open cases, earliest first.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MediationDeadlines {
    /// Today in Shanting.
    pub today: NaiveDate,
    /// The last day "due soon" looks to (today + 7 days).
    pub until: NaiveDate,
    /// The scope.
    #[schema(value_type = Object)]
    pub scope: Scope,
    /// The villages with anything to count, by code.
    pub villages: Vec<VillageDue>,
    /// The open cases: a follow-up due by `until` (or overdue), or a 司法确认 window closing by it.
    pub cases: Vec<DueCase>,
    /// More cases are open than listed (the counts are whole).
    pub more: bool,
}

/// A village's mediation deadlines.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VillageDue {
    /// Code.
    pub code: String,
    /// Name.
    #[schema(value_type = Object)]
    pub name: LocalText,
    /// Follow-ups past their day and not done.
    pub follow_ups_overdue: i64,
    /// Follow-ups due from today to `until`.
    pub follow_ups_due: i64,
    /// 司法确认 windows closing from today to `until`, not applied for.
    pub confirmations_closing: i64,
    /// Agreements their last follow-up found not performed.
    pub not_performed: i64,
}

/// An open case: ids, place, officer and dates only (no party's name).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DueCase {
    /// The mediation.
    pub mediation: String,
    /// Village code.
    pub village: String,
    /// Its name.
    #[schema(value_type = Object)]
    pub village_name: LocalText,
    /// Officer id.
    pub officer: String,
    /// Their name.
    #[schema(value_type = Object)]
    pub officer_name: LocalText,
    /// 人民调解 or 治安调解.
    #[schema(value_type = String)]
    pub kind: MediationKind,
    /// The day the agreement was concluded.
    pub concluded_on: NaiveDate,
    /// Its performance deadline.
    pub performance_on: Option<NaiveDate>,
    /// The follow-up's day, while not done.
    pub follow_up_on: Option<NaiveDate>,
    /// The last day to apply for 司法确认, while not applied for.
    pub confirm_by: Option<NaiveDate>,
    /// The follow-up's day has passed.
    pub overdue: bool,
}

#[utoipa::path(get, path = "/supervisor/mediations", tag = "console", params(ReportQuery), security(("bearer" = [])),
    responses((status = 200, body = MediationDeadlines),
        (status = 400, description = "`bad_query`", body = beibao_sync::wire::ErrorBody),
        (status = 401, description = "`unauthenticated`, `session_expired`", body = beibao_sync::wire::ErrorBody),
        (status = 403, description = "`forbidden`", body = beibao_sync::wire::ErrorBody),
        (status = 429, description = "`rate_limited`", body = beibao_sync::wire::ErrorBody)))]
pub(crate) async fn mediations(
    State(state): State<AppState>,
    who: SupervisorAuth,
    wants: Wants,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = parse_query(query)?;
    if q.period.is_some() || q.from.is_some() || q.to.is_some() || q.level.is_some() || q.format.is_some() {
        return Err(ApiError::bad_query("mediation deadlines are as of today: only station= town= village= officer="));
    }
    let scope = q.scope(who.station.as_deref())?;
    let today = beibao_core::calendar::china_date(state.now());
    let until = today + chrono::Days::new(due::HORIZON_DAYS);
    let storage = state.storage();
    let (rows, mut open) = storage.mediation_due(&scope, today, until, due::MAX_CASES + 1).await?;
    let more = open.len() > due::MAX_CASES;
    open.truncate(due::MAX_CASES);
    let mut village_codes: Vec<String> = rows.iter().map(|r| r.village.clone()).collect();
    village_codes.extend(open.iter().map(|c| c.village.clone()));
    village_codes.sort();
    village_codes.dedup();
    let mut officer_codes: Vec<String> = open.iter().map(|c| c.officer.clone()).collect();
    officer_codes.sort();
    officer_codes.dedup();
    let (villages, officers) =
        tokio::try_join!(storage.names(Level::Village, &village_codes), storage.names(Level::Officer, &officer_codes))?;
    let named = |names: &std::collections::HashMap<String, LocalText>, code: &str| {
        names.get(code).cloned().unwrap_or_else(|| LocalText::new(code, code))
    };
    let villages_due = rows
        .into_iter()
        .map(|r| VillageDue {
            name: named(&villages, &r.village),
            code: r.village,
            follow_ups_overdue: r.overdue,
            follow_ups_due: r.due_soon,
            confirmations_closing: r.closing,
            not_performed: r.not_performed,
        })
        .collect();
    let cases = open
        .into_iter()
        .map(|c| DueCase {
            village_name: named(&villages, &c.village),
            officer_name: named(&officers, &c.officer),
            overdue: c.follow_up_on.is_some_and(|d| d < today),
            mediation: c.mediation,
            village: c.village,
            officer: c.officer,
            kind: c.kind,
            concluded_on: c.concluded_on,
            performance_on: c.performance_on,
            follow_up_on: c.follow_up_on,
            confirm_by: c.confirm_by,
        })
        .collect();
    Ok(wants.reply(&MediationDeadlines { today, until, scope, villages: villages_due, cases, more }))
}

/// The levels an export's workbook has a sheet for: the one asked for and every level below.
fn levels_from(level: Level) -> Vec<Level> {
    let mut out = vec![level];
    while let Some(next) = out.last().and_then(|l| l.below()) {
        out.push(next);
    }
    out
}

#[utoipa::path(get, path = "/supervisor/export", tag = "console", params(ReportQuery), security(("bearer" = [])),
    responses((status = 200, description = "the report as `text/csv` (UTF-8 with BOM) or an XLSX workbook (a sheet per level from `level` down)"),
        (status = 400, description = "`bad_query`", body = beibao_sync::wire::ErrorBody),
        (status = 401, description = "`unauthenticated`, `session_expired`", body = beibao_sync::wire::ErrorBody),
        (status = 403, description = "`forbidden`", body = beibao_sync::wire::ErrorBody),
        (status = 429, description = "`rate_limited`", body = beibao_sync::wire::ErrorBody)))]
pub(crate) async fn export(
    State(state): State<AppState>,
    who: SupervisorAuth,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = parse_query(query)?;
    let (period, scope) = (q.period()?, q.scope(who.station.as_deref())?);
    let level = q.level.unwrap_or(Level::Station);
    let xlsx = match q.format.as_deref() {
        Some("csv") => false,
        Some("xlsx") => true,
        _ => return Err(ApiError::bad_query("format=csv or format=xlsx")),
    };
    let failed = |e: String| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, Code::Internal, e);
    let (bytes, mime, ext) = if xlsx {
        let mut reports = Vec::new();
        for l in levels_from(level) {
            reports.push(build_report(&state, period, l, scope.clone()).await?);
        }
        let scope_names = scope_names(&state, &scope).await?;
        let text = crate::export::scope_text(&scope_names);
        let now = state.now();
        let bytes = tokio::task::spawn_blocking(move || crate::export::xlsx(&reports, &text, now))
            .await
            .map_err(|e| failed(format!("export: {e}")))?
            .map_err(|e| failed(format!("xlsx: {e}")))?;
        (bytes, crate::export::XLSX, "xlsx")
    } else {
        let report = build_report(&state, period, level, scope.clone()).await?;
        (crate::export::csv(&report).map_err(|e| failed(format!("csv: {e}")))?, crate::export::CSV, "csv")
    };
    let subject = format!(
        "{ext} level={} {}..{} station={} town={} village={} officer={}",
        level.column(),
        period.from,
        period.to,
        scope.station.as_deref().unwrap_or("*"),
        scope.town.as_deref().unwrap_or("*"),
        scope.village.as_deref().unwrap_or("*"),
        scope.officer.as_deref().unwrap_or("*"),
    );
    let entry = AuditEntry { at: state.now(), actor: who.actor(), action: "export_totals".into(), subject };
    state.storage().audit(&entry).await?;
    let file = format!("beibao-{}-{}-{}.{ext}", level.column(), period.from, period.to);
    Ok(crate::export::file_response(bytes, mime, &file))
}

/// The names of a scope's fields, for the sheets' heading.
pub(crate) async fn scope_names(state: &AppState, scope: &Scope) -> Result<Vec<(Level, String)>, StorageError> {
    let mut out = Vec::new();
    let fields = [
        (Level::Station, &scope.station),
        (Level::Town, &scope.town),
        (Level::Village, &scope.village),
        (Level::Officer, &scope.officer),
    ];
    for (level, code) in fields {
        if let Some(code) = code {
            let names = state.storage().names(level, std::slice::from_ref(code)).await?;
            out.push((level, names.get(code).map_or_else(|| code.clone(), |n| n.zh.clone())));
        }
    }
    Ok(out)
}

// --- detail exports: a line per visit, service request or mediation (crate::detail) ---

/// What a detail export is of. The administrator's (unmasked) export takes the same query, so
/// both handlers are here.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DetailQuery {
    /// `visits`, `services` or `mediations`.
    #[param(value_type = String)]
    pub of: DetailKind,
    /// A named period (as for reports), or give `from` and `to`.
    pub period: Option<String>,
    /// First day of a custom period (with `to`).
    pub from: Option<NaiveDate>,
    /// Last day of a custom period (with `from`).
    pub to: Option<NaiveDate>,
    /// Only this station.
    pub station: Option<String>,
    /// Only this town.
    pub town: Option<String>,
    /// Only this village.
    pub village: Option<String>,
    /// Only this officer.
    pub officer: Option<String>,
    /// `csv` or `xlsx`.
    pub format: Option<String>,
    /// Administrators only: names, ID numbers, phones and addresses in full, with the free text.
    pub unmasked: Option<bool>,
    /// Why the export is unmasked (required with `unmasked=true`; kept in the audit log).
    pub reason: Option<String>,
}

/// The shortest and longest reason an unmasked export takes, in characters.
pub const REASON_CHARS: (usize, usize) = (4, 200);

impl DetailQuery {
    fn report(&self) -> ReportQuery {
        ReportQuery {
            period: self.period.clone(),
            from: self.from,
            to: self.to,
            level: None,
            station: self.station.clone(),
            town: self.town.clone(),
            village: self.village.clone(),
            officer: self.officer.clone(),
            format: None,
        }
    }
}

fn parse_detail(query: Result<Query<DetailQuery>, QueryRejection>) -> Result<DetailQuery, ApiError> {
    query.map(|Query(q)| q).map_err(|e| {
        ApiError::bad_query(format!(
            "?of=visits|services|mediations&period=…|from=…&to=…&format=csv|xlsx[&station=…&town=…&village=…&officer=…]: {}",
            e.body_text()
        ))
    })
}

#[utoipa::path(get, path = "/supervisor/detail", tag = "console", params(DetailQuery), security(("bearer" = [])),
    responses((status = 200, description = "a line per visit, service request or mediation, masked (names keep the surname, ID numbers their first 6 and last 4, no free text), as `text/csv` (UTF-8 with BOM) or XLSX; streamed"),
        (status = 400, description = "`bad_query`", body = beibao_sync::wire::ErrorBody),
        (status = 401, description = "`unauthenticated`, `session_expired`", body = beibao_sync::wire::ErrorBody),
        (status = 403, description = "`forbidden` (not a supervisor, another station, or `unmasked`: only an administrator)", body = beibao_sync::wire::ErrorBody),
        (status = 429, description = "`rate_limited` (two detail exports already running)", body = beibao_sync::wire::ErrorBody)))]
pub(crate) async fn detail(
    State(state): State<AppState>,
    who: SupervisorAuth,
    query: Result<Query<DetailQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = parse_detail(query)?;
    if q.unmasked.is_some() || q.reason.is_some() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            Code::Forbidden,
            "a supervisor's detail export is masked; an administrator exports it unmasked, with a reason",
        ));
    }
    detail_export(state, who.actor(), who.station.as_deref(), q).await
}

#[utoipa::path(get, path = "/admin/detail", tag = "console", params(DetailQuery), security(("bearer" = [])),
    responses((status = 200, description = "as `/supervisor/detail`, district-wide; with `unmasked=true` and a `reason`, personal data in full and the free text (audited with the reason)"),
        (status = 400, description = "`bad_query` (`unmasked` without a reason of 4–200 characters)", body = beibao_sync::wire::ErrorBody),
        (status = 401, description = "`unauthenticated`, `session_expired`", body = beibao_sync::wire::ErrorBody),
        (status = 403, description = "`forbidden` (not an administrator)", body = beibao_sync::wire::ErrorBody),
        (status = 429, description = "`rate_limited`", body = beibao_sync::wire::ErrorBody)))]
pub(crate) async fn admin_detail(
    State(state): State<AppState>,
    who: AdminAuth,
    query: Result<Query<DetailQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = parse_detail(query)?;
    let reason = q.reason.as_deref().map(str::trim).unwrap_or_default();
    let n = reason.chars().count();
    if q.unmasked == Some(true) && !(REASON_CHARS.0..=REASON_CHARS.1).contains(&n) {
        return Err(ApiError::bad_query(format!(
            "an unmasked export needs a reason of {}–{} characters (reason=…): it is kept in the audit log",
            REASON_CHARS.0, REASON_CHARS.1
        )));
    }
    if q.unmasked != Some(true) && q.reason.is_some() {
        return Err(ApiError::bad_query("reason= goes with unmasked=true"));
    }
    detail_export(state, format!("admin:{}", who.account.username), None, q).await
}

/// Check the query, write the audit entry, and answer with the file as it is made.
async fn detail_export(
    state: AppState,
    actor: String,
    station: Option<&str>,
    q: DetailQuery,
) -> Result<Response, ApiError> {
    let r = q.report();
    let (period, scope) = (r.period()?, r.scope(station)?);
    let xlsx = match q.format.as_deref() {
        Some("csv") => false,
        Some("xlsx") => true,
        _ => return Err(ApiError::bad_query("format=csv or format=xlsx")),
    };
    let masked = q.unmasked != Some(true);
    let Some(slot) = state.export_slot() else {
        return Err(ApiError::rate_limited("two detail exports are running; try again when one is done"));
    };
    let cx = detail::context(&state, masked).await?;
    let ext = if xlsx { "xlsx" } else { "csv" };
    let subject = format!(
        "{ext} of={} {}..{} station={} town={} village={} officer={} {}",
        q.of.as_str(),
        period.from,
        period.to,
        scope.station.as_deref().unwrap_or("*"),
        scope.town.as_deref().unwrap_or("*"),
        scope.village.as_deref().unwrap_or("*"),
        scope.officer.as_deref().unwrap_or("*"),
        if masked {
            "masked".to_owned()
        } else {
            format!("unmasked reason={}", q.reason.as_deref().unwrap_or("").trim())
        },
    );
    let entry = AuditEntry { at: state.now(), actor, action: "export_detail".into(), subject };
    state.storage().audit(&entry).await?;
    let heading = format!(
        "统计期间：{} 至 {}　　范围：{}　　{}",
        period.from,
        period.to,
        crate::export::scope_text(&scope_names(&state, &scope).await?),
        if masked { "已脱敏" } else { "未脱敏（含个人信息，注意保密）" }
    );
    let file = format!(
        "beibao-{}-{}-{}{}.{ext}",
        q.of.as_str(),
        period.from,
        period.to,
        if masked { "" } else { "-unmasked" }
    );
    let job = detail::Job { state: state.clone(), of: q.of, period, scope, cx, heading, generated_at: state.now() };
    let body = if xlsx { detail::stream_xlsx(job, slot) } else { detail::stream_csv(job, slot) };
    Ok(crate::export::file_response(body, if xlsx { crate::export::XLSX } else { crate::export::CSV }, &file))
}
