//! Detail exports: one line per visit, per service request or per mediation of a period and scope,
//! as CSV or XLSX (`routes::supervisor::detail`, `routes::admin::detail`). Masked by default —
//! names keep the surname, ID numbers their first 6 and last 4, phones their first 3 and last 4,
//! addresses stop at the village or group, and free text (a visit's note, a dispute's facts),
//! which may name anyone, is left out. Only an administrator who gives a reason gets them
//! unmasked; every export is in the audit log with who, what, which range and scope, and why.
//!
//! The rows come from the database a page at a time in (day, id) order (`records.day`,
//! `requests.accepted_on`, migration 9), so memory stays flat however long the range. A visit's
//! proof of presence is decided again here from the fix it carries, the village boundary and the
//! household's position in the registry (`beibao_core::visit::proof_of_visit`): the export states
//! the server's verdict and whether the tablet's agreed, not the tablet's claim.

use std::collections::HashMap;

use beibao_core::identity::{mask_address, mask_applicant, mask_id_number, mask_mobile, mask_name};
use beibao_core::mediation::MediationKind;
use beibao_core::mediation::agreement::AgreementForm;
use beibao_core::ops::{MediationCase, StoredVisit};
use beibao_core::registry::{Household, Village};
use beibao_core::service_request::ServiceRequest;
use beibao_core::text::LocalText;
use beibao_core::visit::{ProofPolicy, VisitTarget, proof_of_visit};
use chrono::{NaiveDate, TimeZone as _};
use serde::{Deserialize, Serialize};

use axum::body::{Body, Bytes};
use rust_xlsxwriter::{Format, Workbook, XlsxError};
use tokio::sync::{OwnedSemaphorePermit, mpsc};

use crate::app::AppState;
use crate::report::{Level, Period, Scope};
use crate::storage::StorageError;

/// What a detail export lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum DetailKind {
    /// One line per visit (走访明细), by the day of the visit.
    Visits,
    /// One line per service request (服务明细), by the day it was accepted.
    Services,
    /// One line per mediation case (调解明细), by the day it was opened.
    Mediations,
}

impl DetailKind {
    /// The export's title.
    pub fn label(self) -> LocalText {
        match self {
            DetailKind::Visits => LocalText::new("走访明细", "Visits"),
            DetailKind::Services => LocalText::new("服务明细", "Service requests"),
            DetailKind::Mediations => LocalText::new("调解明细", "Mediations"),
        }
    }

    /// Its name in a query and a file name.
    pub fn as_str(self) -> &'static str {
        match self {
            DetailKind::Visits => "visits",
            DetailKind::Services => "services",
            DetailKind::Mediations => "mediations",
        }
    }
}

/// One line of a detail export as the database holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetailRow {
    /// The day it is listed on (a visit's, a request's acceptance, a case's opening; China time).
    pub day: NaiveDate,
    /// Record or request id.
    pub id: String,
    /// The officer's station when it was written.
    pub station: Option<String>,
    /// Its village.
    pub village: Option<String>,
    /// Its officer.
    pub officer: String,
    /// As the tablet sent it (JSON): a stored visit, a request as accepted, a mediation case.
    pub body: String,
    /// The household it names, as the registry holds it (JSON), when the registry has it.
    pub household: Option<String>,
    /// A request's state now.
    pub state: Option<String>,
    /// A request's last day on time.
    pub due_on: Option<NaiveDate>,
}

/// Lines read from the database at a time.
pub const PAGE: usize = 500;

fn ph(dollar: bool, n: usize) -> String {
    format!("{}{n}", if dollar { '$' } else { '?' })
}

/// A JSON text field of a stored document, in each backend's words (on PostgreSQL in the "C"
/// collation of the codes it is compared with).
fn json_text(doc: &str, path: &[&str], dollar: bool) -> String {
    if dollar {
        format!("(({doc})::jsonb #>> '{{{}}}') COLLATE \"C\"", path.join(","))
    } else {
        format!("json_extract({doc}, '$.{}')", path.join("."))
    }
}

/// The scope's columns ([`crate::report::scope_filter`]) for a kind.
pub fn scope_columns(of: DetailKind) -> [&'static str; 4] {
    match of {
        DetailKind::Services => ["q.station", "substr(q.village, 1, 9)", "q.village", "q.officer_id"],
        _ => ["r.station", "substr(r.village, 1, 9)", "r.village", "r.officer_id"],
    }
}

/// One page of a kind: days from `?1` to `?2`, after (`?3`, `?4`) in (day, id) order; `filter`
/// with placeholders from 5 ([`scope_columns`]); the limit at placeholder `limit`.
pub fn page_sql(of: DetailKind, filter: &str, dollar: bool, limit: usize) -> String {
    let (from, to, day, id, limit) = (ph(dollar, 1), ph(dollar, 2), ph(dollar, 3), ph(dollar, 4), ph(dollar, limit));
    let none = |t: &str| if dollar { format!("NULL::{t}") } else { "NULL".to_owned() };
    // After the last line sent, each backend in the form it seeks in the (day, id) index
    // (measured over a year's million visits: SQLite's row values read from the period's start
    // on every page; PostgreSQL's OR did).
    let after = |d: &str, i: &str| {
        if dollar {
            format!("({d}, {i}) > ({day}, {id})")
        } else {
            format!("({d} > {day} OR ({d} = {day} AND {i} > {id}))")
        }
    };
    match of {
        DetailKind::Services => format!(
            "SELECT q.accepted_on, q.id, q.station, q.village, q.officer_id, q.body, h.body, q.state, q.due_on
             FROM requests q
             LEFT JOIN places h ON h.kind = 'household' AND h.code = {household}
             WHERE q.accepted_on >= {from} AND q.accepted_on <= {to}
               AND {after}{filter}
             ORDER BY q.accepted_on, q.id LIMIT {limit}",
            household = json_text("q.body", &["household"], dollar),
            after = after("q.accepted_on", "q.id"),
        ),
        DetailKind::Visits | DetailKind::Mediations => format!(
            "SELECT r.day, r.id, r.station, r.village, r.officer_id, o.payload, h.body, {text}, {date}
             FROM records r JOIN ops o ON o.device_id = r.device_id AND o.seq = r.seq
             LEFT JOIN places h ON h.kind = 'household' AND {target_kind} = 'household' AND h.code = {target_id}
             WHERE r.kind = '{kind}' AND r.day >= {from} AND r.day <= {to}
               AND {after}{filter}
             ORDER BY r.day, r.id LIMIT {limit}",
            text = none("text"),
            date = none("date"),
            target_kind = json_text("o.payload", &["visit", "target", "kind"], dollar),
            target_id = json_text("o.payload", &["visit", "target", "id"], dollar),
            kind = if of == DetailKind::Visits { "visit" } else { "mediation" },
            after = after("r.day", "r.id"),
        ),
    }
}

/// What lines need besides their rows: whether to mask, the names of places and people, the
/// village boundaries, the services' names.
#[derive(Debug, Default)]
pub struct Context {
    /// Mask personal data and leave free text out.
    pub masked: bool,
    /// Station names by code.
    pub stations: HashMap<String, String>,
    /// Town names by code.
    pub towns: HashMap<String, String>,
    /// Officer names (with badge number) by id.
    pub officers: HashMap<String, String>,
    /// Villages by code (name and boundary).
    pub villages: HashMap<String, Village>,
    /// Service names by code (the newest catalog's).
    pub services: HashMap<String, String>,
    /// How a fix proves a visit.
    pub policy: ProofPolicy,
}

/// The columns of a kind's lines (the free-text column only unmasked).
pub fn headers(of: DetailKind, masked: bool) -> Vec<&'static str> {
    let mut h: Vec<&'static str> = match of {
        DetailKind::Visits => vec![
            "走访日期",
            "开始时间",
            "时长（分钟）",
            "派出所",
            "镇街",
            "村（社区）",
            "民警",
            "走访对象",
            "户主",
            "地址",
            "走访事由",
            "走访情况",
            "见面人数（人）",
            "重点人群户",
            "到访核验（服务器判定）",
            "平板判定一致",
        ],
        DetailKind::Services => vec![
            "受理日期",
            "服务事项",
            "办理方式",
            "当前状态",
            "按时办结期限",
            "派出所",
            "镇街",
            "村（社区）",
            "民警",
            "申请人",
            "身份证号",
            "联系电话",
        ],
        DetailKind::Mediations => vec![
            "受理日期",
            "调解类型",
            "状态",
            "调解结果",
            "协议形式",
            "协议编号",
            "达成日期",
            "履行期限",
            "派出所",
            "镇街",
            "村（社区）",
            "民警",
            "当事人",
        ],
    };
    if !masked {
        h.push(match of {
            DetailKind::Visits => "备注",
            DetailKind::Services => "材料",
            DetailKind::Mediations => "纠纷事实",
        });
    }
    h.push("记录编号");
    h
}

fn stored(what: &str, id: &str, e: serde_json::Error) -> StorageError {
    StorageError::Db(format!("stored {what} {id}: {e}"))
}

/// A day and time in China time, `2026-11-20 09:30`.
fn china_minute(at: chrono::DateTime<chrono::Utc>) -> String {
    beibao_core::calendar::china_offset().from_utc_datetime(&at.naive_utc()).format("%H:%M").to_string()
}

fn yes(b: bool) -> String {
    if b { "是" } else { "否" }.to_owned()
}

/// The place columns: station, town, village, officer (by name where known).
fn place(row: &DetailRow, cx: &Context) -> [String; 4] {
    let name = |m: &HashMap<String, String>, code: Option<&str>| match code {
        Some(c) => m.get(c).cloned().unwrap_or_else(|| c.to_owned()),
        None => String::new(),
    };
    let village = row.village.as_deref();
    [
        name(&cx.stations, row.station.as_deref()),
        name(&cx.towns, village.map(crate::report::town_of)),
        village.map(|v| cx.villages.get(v).map_or_else(|| v.to_owned(), |v| v.name.zh.clone())).unwrap_or_default(),
        name(&cx.officers, Some(&row.officer)),
    ]
}

impl Context {
    fn name(&self, name: &str) -> String {
        if self.masked { mask_name(name) } else { name.to_owned() }
    }
    fn address(&self, address: &str) -> String {
        if self.masked { mask_address(address) } else { address.to_owned() }
    }
    fn id_number(&self, id: &str) -> String {
        if self.masked { mask_id_number(id) } else { id.to_owned() }
    }
    fn phone(&self, phone: &str) -> String {
        if self.masked { mask_mobile(phone) } else { phone.to_owned() }
    }
}

/// A line's cells, in [`headers`] order.
pub fn cells(of: DetailKind, row: &DetailRow, cx: &Context) -> Result<Vec<String>, StorageError> {
    let household: Option<Household> = row
        .household
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| stored("household of", &row.id, e))?;
    let [station, town, village, officer] = place(row, cx);
    let (mut out, free) = match of {
        DetailKind::Visits => {
            let v: StoredVisit = serde_json::from_str(&row.body).map_err(|e| stored("visit", &row.id, e))?;
            let head = household.as_ref().and_then(|h| h.head().or(h.members.first()));
            let verdict = cx.villages.get(&v.visit.village).map(|village| {
                proof_of_visit(&v.visit, &village.geometry, household.as_ref().and_then(|h| h.location), &cx.policy)
            });
            let target = match &v.visit.target {
                VisitTarget::Household(h) | VisitTarget::Enterprise(h) => h.clone(),
            };
            (
                vec![
                    row.day.to_string(),
                    china_minute(v.visit.started_at),
                    (v.visit.ended_at - v.visit.started_at).num_minutes().max(0).to_string(),
                    station,
                    town,
                    village,
                    officer,
                    target,
                    head.map(|p| cx.name(&p.name)).unwrap_or_default(),
                    household.as_ref().map(|h| cx.address(&h.address)).unwrap_or_default(),
                    v.visit.purposes.iter().map(|p| p.name().zh).collect::<Vec<_>>().join("、"),
                    v.visit.outcome.name().zh,
                    v.visit.persons_met.to_string(),
                    yes(v.special_group),
                    verdict.map_or_else(|| "未知村界".to_owned(), |d| d.describe().zh),
                    verdict.map_or_else(String::new, |d| yes(same_verdict(&d, &v.verdict))),
                ],
                v.visit.note,
            )
        }
        DetailKind::Services => {
            let r: ServiceRequest = serde_json::from_str(&row.body).map_err(|e| stored("request", &row.id, e))?;
            let person = household.as_ref().and_then(|h| h.members.iter().find(|m| m.id == r.applicant));
            let state = match row.state.as_deref() {
                Some(s) => serde_json::from_value::<beibao_core::service_request::RequestState>(
                    serde_json::Value::String(s.to_owned()),
                )
                .map(|s| s.name().zh)
                .unwrap_or_else(|_| s.to_owned()),
                None => r.state.name().zh,
            };
            let service =
                cx.services.get(&r.service).map_or_else(|| r.service.clone(), |n| format!("{} {n}", r.service));
            let (applicant, id_number, phone) = match person {
                Some(p) => (cx.name(&p.name), cx.id_number(&p.id_number), p.phone.as_deref().map(|ph| cx.phone(ph))),
                None if cx.masked => (mask_applicant(&r.applicant), String::new(), None),
                None => (r.applicant.clone(), String::new(), None),
            };
            (
                vec![
                    row.day.to_string(),
                    service,
                    r.mode.name().zh,
                    state,
                    row.due_on.map(|d| d.to_string()).unwrap_or_default(),
                    station,
                    town,
                    village,
                    officer,
                    applicant,
                    id_number,
                    phone.unwrap_or_default(),
                ],
                r.materials.join("、"),
            )
        }
        DetailKind::Mediations => {
            let c: MediationCase = serde_json::from_str(&row.body).map_err(|e| stored("mediation", &row.id, e))?;
            let a = &c.agreement;
            let agreed = c.status == beibao_core::ops::CaseStatus::Finalized;
            (
                vec![
                    row.day.to_string(),
                    match c.kind {
                        MediationKind::People => "人民调解",
                        MediationKind::PublicSecurity => "治安调解",
                    }
                    .to_owned(),
                    c.status.name().zh,
                    c.outcome.map(|o| o.name().zh).unwrap_or_default(),
                    if agreed {
                        match a.form {
                            AgreementForm::Written => "书面",
                            AgreementForm::Oral => "口头",
                        }
                        .to_owned()
                    } else {
                        String::new()
                    },
                    a.serial.clone().unwrap_or_default(),
                    c.finalized_at.map(|at| beibao_core::calendar::china_date(at).to_string()).unwrap_or_default(),
                    a.performance.as_ref().map(|p| p.deadline.to_string()).unwrap_or_default(),
                    station,
                    town,
                    village,
                    officer,
                    a.parties.iter().map(|p| cx.name(&p.name)).collect::<Vec<_>>().join("、"),
                ],
                a.facts.clone(),
            )
        }
    };
    if !cx.masked {
        out.push(free);
    }
    out.push(row.id.clone());
    Ok(out)
}

/// The server's verdict and the tablet's are the same finding (distances aside).
fn same_verdict(a: &beibao_core::visit::ProofVerdict, b: &beibao_core::visit::ProofVerdict) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

/// What a detail export needs that does not change while it runs: the villages (names and
/// boundaries), station and town names, the newest catalog's service names. Officers' names are
/// read as their lines come ([`Job`]).
pub async fn context(state: &AppState, masked: bool) -> Result<Context, StorageError> {
    let storage = state.storage();
    let (villages, stations) = tokio::try_join!(storage.villages(), storage.stations())?;
    let mut towns: Vec<String> = villages.iter().map(|v| v.town.clone()).collect();
    towns.sort();
    towns.dedup();
    let towns = storage.names(Level::Town, &towns).await?.into_iter().map(|(k, v)| (k, v.zh)).collect();
    let services = state
        .catalogs()
        .last()
        .map(|c| c.services.iter().map(|s| (s.code.clone(), s.name.zh.clone())).collect())
        .unwrap_or_default();
    Ok(Context {
        masked,
        stations: stations.into_iter().map(|s| (s.code, s.name.zh)).collect(),
        towns,
        officers: HashMap::new(),
        villages: villages.into_iter().map(|v| (v.code.clone(), v)).collect(),
        services,
        policy: ProofPolicy::default(),
    })
}

/// A detail export being made.
#[derive(Debug)]
pub struct Job {
    /// The server (its storage).
    pub state: AppState,
    /// Of what.
    pub of: DetailKind,
    /// Days.
    pub period: Period,
    /// Within what.
    pub scope: Scope,
    /// Names, boundaries, masking.
    pub cx: Context,
    /// The line under the title: period, scope, masked or not.
    pub heading: String,
    /// When it was asked for.
    pub generated_at: chrono::DateTime<chrono::Utc>,
}

type Chunk = Result<Bytes, std::io::Error>;

fn body_of(rx: mpsc::Receiver<Chunk>) -> Body {
    Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) }))
}

impl Job {
    /// The next page's lines as cells, the officers named in it looked up once; `None` when
    /// the range is done.
    async fn next_page(
        &mut self,
        after: &mut Option<(NaiveDate, String)>,
    ) -> Result<Option<Vec<Vec<String>>>, StorageError> {
        if after.as_ref().is_some_and(|a| a.1.is_empty()) {
            return Ok(None);
        }
        let rows = self.state.storage().detail_page(self.of, self.period, &self.scope, after.clone(), PAGE).await?;
        let mut unknown: Vec<String> =
            rows.iter().filter(|r| !self.cx.officers.contains_key(&r.officer)).map(|r| r.officer.clone()).collect();
        if !unknown.is_empty() {
            unknown.sort();
            unknown.dedup();
            let names = self.state.storage().names(Level::Officer, &unknown).await?;
            for o in unknown {
                let name = names.get(&o).map_or_else(|| o.clone(), |n| n.zh.clone());
                self.cx.officers.insert(o, name);
            }
        }
        // A short page is the last: mark the range done (an empty id never follows a real one).
        *after = match rows.last() {
            Some(last) if rows.len() == PAGE => Some((last.day, last.id.clone())),
            _ => Some((self.period.to, String::new())),
        };
        if rows.is_empty() {
            return Ok(None);
        }
        rows.iter().map(|r| cells(self.of, r, &self.cx)).collect::<Result<Vec<_>, _>>().map(Some)
    }
}

/// The export as CSV (UTF-8 with a BOM), sent a page at a time as it is read.
pub fn stream_csv(mut job: Job, slot: OwnedSemaphorePermit) -> Body {
    let (tx, rx) = mpsc::channel::<Chunk>(4);
    tokio::spawn(async move {
        let _slot = slot;
        let line = |cells: &[String]| -> Result<Bytes, StorageError> {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(cells).map_err(|e| StorageError::Db(format!("csv: {e}")))?;
            w.into_inner().map(Bytes::from).map_err(|e| StorageError::Db(format!("csv: {e}")))
        };
        let head: Vec<String> = headers(job.of, job.cx.masked).into_iter().map(str::to_owned).collect();
        let mut first = crate::export::BOM.to_vec();
        let made: Result<(), StorageError> = async {
            first.extend_from_slice(&line(&head)?);
            if tx.send(Ok(Bytes::from(first))).await.is_err() {
                return Ok(());
            }
            let mut after = None;
            while let Some(page) = job.next_page(&mut after).await? {
                let mut chunk = Vec::new();
                for cells in &page {
                    chunk.extend_from_slice(&line(cells)?);
                }
                if tx.send(Ok(Bytes::from(chunk))).await.is_err() {
                    return Ok(()); // the client went away
                }
            }
            Ok(())
        }
        .await;
        if let Err(e) = made {
            tracing::warn!(error = %e, "detail export failed");
            let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
        }
    });
    body_of(rx)
}

/// Data rows a sheet takes before the next one starts (Excel's limit is 1,048,576 rows).
pub const SHEET_ROWS: u32 = 1_000_000;

/// The columns that hold counts (written as numbers).
fn numeric(header: &str) -> bool {
    header.ends_with("（分钟）") || header.ends_with("（人）")
}

/// The export as an XLSX workbook: the lines are written to a temporary file as they are read
/// (rust_xlsxwriter's constant-memory sheets), then the file is sent.
pub fn stream_xlsx(mut job: Job, slot: OwnedSemaphorePermit) -> Body {
    let (tx, rx) = mpsc::channel::<Chunk>(4);
    let (pages_tx, pages_rx) = mpsc::channel::<Vec<Vec<String>>>(2);
    let title = format!("背包警务{}", job.of.label().zh);
    let made_at = beibao_core::calendar::china_offset().from_utc_datetime(&job.generated_at.naive_utc());
    let heading = format!("{}　　生成时间：{}（北京时间）", job.heading, made_at.format("%Y-%m-%d %H:%M"));
    let head = headers(job.of, job.cx.masked);
    let writer_tx = tx.clone();
    let writer = tokio::task::spawn_blocking(move || {
        let sent = write_xlsx(&title, &heading, &head, pages_rx).and_then(|file| send_file(file, &writer_tx));
        if let Err(e) = sent {
            tracing::warn!(error = %e, "detail export failed");
            let _ = writer_tx.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
    });
    tokio::spawn(async move {
        let _slot = slot;
        let mut after = None;
        loop {
            match job.next_page(&mut after).await {
                Ok(Some(page)) => {
                    if pages_tx.send(page).await.is_err() {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "detail export failed");
                    let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                    writer.abort();
                    return;
                }
            }
        }
        drop(pages_tx);
        let _ = writer.await;
    });
    body_of(rx)
}

fn xlsx_error(e: XlsxError) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

/// Write the workbook from the pages as they come; the file it was saved to, at its start.
fn write_xlsx(
    title: &str,
    heading: &str,
    head: &[&str],
    mut pages: mpsc::Receiver<Vec<Vec<String>>>,
) -> Result<std::fs::File, std::io::Error> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold().set_font_size(14);
    let head_format = crate::export::header_format();
    let top = 3u32;
    let mut sheets = 0;
    let mut row = SHEET_ROWS;
    let new_sheet = |book: &mut Workbook, n: u32| -> Result<(), XlsxError> {
        let sheet = book.add_worksheet_with_constant_memory()?;
        let name = if n == 1 {
            title.replace("背包警务", "")
        } else {
            format!("{}（{n}）", title.replace("背包警务", ""))
        };
        sheet.set_name(name)?;
        for (i, h) in head.iter().enumerate() {
            let width = match *h {
                "记录编号" => 38.0,
                "地址" | "服务事项" | "走访事由" | "到访核验（服务器判定）" | "备注" | "纠纷事实" | "材料" => {
                    24.0
                }
                _ => 12.0,
            };
            sheet.set_column_width(i as u16, width)?;
        }
        sheet.write_string_with_format(0, 0, title, &bold)?;
        sheet.write_string(1, 0, heading)?;
        for (i, h) in head.iter().enumerate() {
            sheet.write_string_with_format(top, i as u16, *h, &head_format)?;
        }
        sheet.set_row_height(top, 36)?;
        sheet.set_freeze_panes(top + 1, 0)?;
        Ok(())
    };
    while let Some(page) = pages.blocking_recv() {
        for cells in page {
            if row >= SHEET_ROWS {
                sheets += 1;
                new_sheet(&mut book, sheets).map_err(xlsx_error)?;
                row = 0;
            }
            let sheet = book.worksheets_mut().last_mut().ok_or_else(|| std::io::Error::other("no sheet"))?;
            let at = top + 1 + row;
            for (i, (c, h)) in cells.iter().zip(head).enumerate() {
                match c.parse::<f64>() {
                    Ok(n) if numeric(h) => sheet.write_number(at, i as u16, n),
                    _ => sheet.write_string(at, i as u16, c),
                }
                .map_err(xlsx_error)?;
            }
            row += 1;
        }
    }
    if sheets == 0 {
        new_sheet(&mut book, 1).map_err(xlsx_error)?;
    }
    let mut file = tempfile::tempfile()?;
    book.save_to_writer(&mut file).map_err(xlsx_error)?;
    std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(0))?;
    Ok(file)
}

/// Send a file in chunks.
fn send_file(mut file: std::fs::File, tx: &mpsc::Sender<Chunk>) -> Result<(), std::io::Error> {
    loop {
        let mut buf = vec![0u8; 64 * 1024];
        let n = std::io::Read::read(&mut file, &mut buf)?;
        if n == 0 {
            return Ok(());
        }
        buf.truncate(n);
        if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_free_text_column_is_only_in_an_unmasked_export() {
        for of in [DetailKind::Visits, DetailKind::Services, DetailKind::Mediations] {
            let masked = headers(of, true);
            let full = headers(of, false);
            assert_eq!(full.len(), masked.len() + 1, "{of:?}");
            assert_eq!(masked.last(), Some(&"记录编号"));
        }
    }

    #[test]
    fn pages_are_read_in_day_and_id_order_on_both_backends() {
        let sqlite = page_sql(DetailKind::Visits, " AND r.station = ?5", false, 6);
        assert!(sqlite.contains("json_extract(o.payload, '$.visit.target.id')") && sqlite.contains("LIMIT ?6"));
        let pg = page_sql(DetailKind::Services, " AND q.station = $5", true, 6);
        assert!(pg.contains("((q.body)::jsonb #>> '{household}') COLLATE \"C\"") && pg.contains("LIMIT $6"), "{pg}");
        assert!(pg.contains("ORDER BY q.accepted_on, q.id"));
    }
}
