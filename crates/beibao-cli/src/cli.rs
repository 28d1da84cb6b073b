//! Argument parsing and dispatch.

use std::path::PathBuf;
use std::sync::Arc;

use beibao_core::activity::{
    Hazard, HazardKind, PublicitySession, PublicityTopic, Rating, RatingSubject, Satisfaction,
};
use beibao_core::clock::{Clock, FixedClock};
use beibao_core::code::Code;
use beibao_core::indicators::IndicatorValue;
use beibao_core::mediation::agreement::{Mark, Signer, StrokePoint};
use beibao_core::mediation::eligibility::{CaseType, EligibilityInput};
use beibao_core::mediation::{MediationKind, Outcome};
use beibao_core::service_request::RequestState;
use beibao_core::visit::{GpsFix, VisitOutcome, VisitPurpose, VisitTarget};
use beibao_field::{
    AcceptInput, AdvanceInput, DeliverInput, Env, FieldError, MediationEdit, OpenMediation, Session, SignatureInput,
    VisitInput,
};
use beibao_store::key::{KdfParams, OsEntropy};
use beibao_store::system::{SystemClock, UuidV7Ids};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use clap::{Parser, Subcommand};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

/// The officer's tablet, headless.
#[derive(Debug, Parser)]
#[command(name = "beibao", version, about = "背包警务 — the officer's tablet, headless")]
pub struct Args {
    /// The store file.
    #[arg(long, global = true, default_value = "beibao.db", env = "BEIBAO_STORE")]
    store: PathBuf,
    /// The officer's PIN (6–12 digits).
    #[arg(long, global = true, env = "BEIBAO_PIN", hide_env_values = true)]
    pin: Option<String>,
    /// Use this instant as "now" (RFC 3339), for demos and tests.
    #[arg(long, global = true)]
    now: Option<DateTime<Utc>>,
    /// Print JSON.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create an encrypted store for an officer and seed it from the fixtures.
    Init {
        /// Officer id, e.g. OF-03-01.
        #[arg(long)]
        officer: String,
        /// Seed the officer's register from a fixtures directory (demos and tests; the product's
        /// register arrives by pull after `enroll`).
        #[arg(long = "from-fixtures", value_name = "DIR")]
        from_fixtures: Option<PathBuf>,
        /// Cheap key derivation, for tests only.
        #[arg(long, hide = true)]
        insecure_fast_kdf: bool,
    },
    /// Record a household or enterprise visit.
    Visit {
        /// Household id.
        #[arg(long, conflicts_with = "enterprise")]
        household: Option<String>,
        /// Enterprise code.
        #[arg(long)]
        enterprise: Option<String>,
        /// Purposes (repeat): service, special_group_care, hazard_check, publicity, dispute_screening,
        /// information_collection.
        #[arg(long = "purpose", value_parser = by_name::<VisitPurpose>, required = true)]
        purposes: Vec<VisitPurpose>,
        /// Outcome: met, nobody_home, declined.
        #[arg(long, value_parser = by_name::<VisitOutcome>, default_value = "met")]
        outcome: VisitOutcome,
        /// People spoken to.
        #[arg(long, default_value_t = 1)]
        persons: u16,
        /// Minutes the visit lasted (ends at --now).
        #[arg(long, default_value_t = 20)]
        minutes: i64,
        /// GPS latitude.
        #[arg(long, requires = "lon")]
        lat: Option<f64>,
        /// GPS longitude.
        #[arg(long, requires = "lat")]
        lon: Option<f64>,
        /// GPS accuracy in metres.
        #[arg(long, default_value_t = 10.0)]
        accuracy: f64,
        /// Note.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Service requests.
    #[command(subcommand)]
    Service(ServiceCmd),
    /// Mediation.
    #[command(subcommand)]
    Mediation(MediationCmd),
    /// Record a safety-publicity session.
    Publicity {
        /// Village code.
        #[arg(long)]
        village: String,
        /// Topic: anti_fraud, drowning_prevention, fire_safety, traffic_safety, anti_drug,
        /// guns_and_explosives, other.
        #[arg(long, value_parser = by_name::<PublicityTopic>)]
        topic: PublicityTopic,
        /// Attendees.
        #[arg(long)]
        attendees: u32,
        /// Leaflets handed out.
        #[arg(long, default_value_t = 0)]
        leaflets: u32,
    },
    /// Record a hazard, or close one with --fix.
    Hazard {
        /// Village code.
        #[arg(long, required_unless_present = "fix")]
        village: Option<String>,
        /// Where.
        #[arg(long, default_value = "")]
        place: String,
        /// What is wrong.
        #[arg(long, default_value = "")]
        description: String,
        /// Rectification deadline.
        #[arg(long)]
        deadline: Option<NaiveDate>,
        /// Close the hazard with this id.
        #[arg(long)]
        fix: Option<Uuid>,
    },
    /// Record a satisfaction rating of a visit, request or mediation.
    Rating {
        /// `visit`, `service` or `mediation`.
        #[arg(long)]
        subject: String,
        /// Its id.
        #[arg(long)]
        id: Uuid,
        /// The answer: satisfied, basically_satisfied, dissatisfied.
        #[arg(long, value_parser = by_name::<Satisfaction>)]
        rating: Satisfaction,
    },
    /// Search households by name, ID tail or address.
    Search {
        /// What to look for.
        query: String,
        /// Within one village.
        #[arg(long)]
        village: Option<String>,
    },
    /// The officer's day: visits, deliveries, follow-ups, deadlines.
    Day,
    /// Special-group households not visited in N days.
    Due {
        /// Days.
        #[arg(long, default_value_t = 30)]
        days: u64,
    },
    /// Own totals for every indicator.
    Totals {
        /// First day (default: the first of this month).
        #[arg(long)]
        from: Option<NaiveDate>,
        /// Last day (default: today).
        #[arg(long)]
        to: Option<NaiveDate>,
    },
    /// What waits to be synced.
    Outbox,
    /// Enroll this tablet with the central server using a one-time code.
    Enroll {
        /// Server address, e.g. http://127.0.0.1:8440.
        #[arg(long, env = "BEIBAO_SERVER")]
        server: String,
        /// The one-time code an administrator issued.
        #[arg(long)]
        code: String,
    },
    /// Sync now: push records, upload signature images, pull changes.
    Sync {
        /// Failed passes to retry (with backoff) before giving up.
        #[arg(long, default_value_t = 5)]
        retries: u64,
    },
    /// Where sync stands.
    SyncStatus,
    /// Change the PIN.
    ChangePin {
        /// The new PIN.
        #[arg(long)]
        new_pin: String,
    },
}

#[derive(Debug, Subcommand)]
enum ServiceCmd {
    /// Accept a request at the door.
    Accept {
        /// Service code, e.g. HZ01.
        #[arg(long)]
        code: String,
        /// Household id.
        #[arg(long)]
        household: Option<String>,
        /// Applicant (person id or name).
        #[arg(long)]
        applicant: String,
        /// Ticked materials, comma-separated.
        #[arg(long, value_delimiter = ',')]
        materials: Vec<String>,
        /// Mode: on_site, carry_back, appointment, delivery.
        #[arg(long)]
        mode: Option<String>,
        /// Fee item, for services with several.
        #[arg(long)]
        fee_option: Option<String>,
    },
    /// Move a request one step.
    Advance {
        /// Request id.
        #[arg(long)]
        id: Uuid,
        /// Target state, e.g. carried_back, submitted, withdrawn.
        #[arg(long)]
        to: String,
        /// Reason (rejection, withdrawal).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Deliver with the recipient's signature (PNG file).
    Deliver {
        /// Request id.
        #[arg(long)]
        id: Uuid,
        /// Signature PNG.
        #[arg(long)]
        signature: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum MediationCmd {
    /// Open a mediation (runs the eligibility check).
    Open {
        /// people (人民调解) or public_security (治安调解).
        #[arg(long)]
        kind: String,
        /// Village code.
        #[arg(long)]
        village: String,
        /// Case type (治安调解), e.g. assault, property_damage.
        #[arg(long)]
        case_type: Option<String>,
        /// Accepted on (default: today).
        #[arg(long)]
        accepted_on: Option<NaiveDate>,
        /// Facts of the eligibility check as JSON (EligibilityInput); default: two consenting parties.
        #[arg(long)]
        eligibility: Option<PathBuf>,
    },
    /// Apply edits from a JSON file (a list of MediationEdit).
    Edit {
        /// Case id.
        #[arg(long)]
        id: Uuid,
        /// JSON file.
        #[arg(long)]
        file: PathBuf,
    },
    /// Capture a signature: `party:0`, `guardian:1`, `mediator:0`.
    Sign {
        /// Case id.
        #[arg(long)]
        id: Uuid,
        /// Who signs.
        #[arg(long)]
        signer: String,
        /// Signature PNG.
        #[arg(long)]
        png: PathBuf,
        /// Strokes JSON ([[{x,y,t}…]…]); a thumbprint when absent.
        #[arg(long)]
        strokes: Option<PathBuf>,
    },
    /// Finalize with an agreement outcome (written_agreement, oral_agreement, settled_and_approved).
    Finalize {
        /// Case id.
        #[arg(long)]
        id: Uuid,
        /// Outcome.
        #[arg(long, default_value = "written_agreement")]
        outcome: String,
    },
    /// End without an agreement (failed_informed_of_remedies, referred_to_police, …).
    End {
        /// Case id.
        #[arg(long)]
        id: Uuid,
        /// Outcome.
        #[arg(long)]
        outcome: String,
    },
}

/// A failure with its stable code.
#[derive(Debug)]
pub struct CliError {
    /// Stable code.
    pub code: Code,
    /// Message.
    pub message: String,
}

impl From<FieldError> for CliError {
    fn from(e: FieldError) -> Self {
        CliError { code: e.code(), message: e.to_string() }
    }
}

fn usage(code: Code, message: impl Into<String>) -> CliError {
    CliError { code, message: message.into() }
}

/// A clap value parser for the core's enums, by their serde (snake_case) names.
fn by_name<T: DeserializeOwned>(s: &str) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|_| format!("`{s}` is not a valid value"))
}

/// Parse a snake_case name into one of the core's enums.
fn named<T: DeserializeOwned>(what: &str, s: &str) -> Result<T, CliError> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|_| usage(Code::InvalidArgument, format!("`{s}` is not a valid {what}")))
}

fn read_json<T: DeserializeOwned>(path: &PathBuf) -> Result<T, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| usage(Code::File, format!("{}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| usage(Code::InvalidJson, format!("{}: {e}", path.display())))
}

fn read_bytes(path: &PathBuf) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| usage(Code::File, format!("{}: {e}", path.display())))
}

fn env(now: Option<DateTime<Utc>>) -> Env {
    let clock: Arc<dyn Clock> = match now {
        Some(t) => Arc::new(FixedClock::new(t)),
        None => Arc::new(SystemClock),
    };
    Env { clock, ids: Arc::new(UuidV7Ids) }
}

fn pin(args: &Args) -> Result<String, CliError> {
    args.pin.clone().ok_or_else(|| usage(Code::PinRequired, "give the PIN with --pin or BEIBAO_PIN"))
}

fn open(args: &Args, env: &Env) -> Result<Session, CliError> {
    Ok(beibao_field::unlock(&args.store, &pin(args)?, env.clone())?)
}

fn out<T: Serialize>(json: bool, value: &T, text: impl FnOnce(&T) -> String) -> Result<String, CliError> {
    if json {
        serde_json::to_string_pretty(value).map_err(|e| usage(Code::Internal, e.to_string()))
    } else {
        Ok(text(value))
    }
}

/// Run one command.
pub fn run(args: Args, rt: &tokio::runtime::Runtime) -> Result<String, CliError> {
    let env = env(args.now);
    let json = args.json;
    match &args.command {
        Command::Init { officer, from_fixtures, insecure_fast_kdf } => {
            let kdf = if *insecure_fast_kdf { KdfParams::TEST_ONLY } else { KdfParams::RECOMMENDED };
            let pin = pin(&args)?;
            let (_, report) = match from_fixtures {
                Some(dir) => {
                    let fx = beibao_fixtures::load(dir).map_err(|e| usage(Code::Fixtures, e.to_string()))?;
                    beibao_field::init_from_fixtures(&args.store, &pin, officer, &fx, kdf, &mut OsEntropy, env)?
                }
                None => beibao_field::init(&args.store, &pin, officer, kdf, &mut OsEntropy, env)?,
            };
            out(json, &report, |r| {
                format!(
                    "已创建加密存储 {} · 民警 {} · 设备 {} · 目录 {} · 村居 {} · 户 {} · 人 {} · 企业 {}",
                    args.store.display(),
                    r.officer_id,
                    r.device_id,
                    r.catalog_version,
                    r.seeded.villages,
                    r.seeded.households,
                    r.seeded.persons,
                    r.seeded.enterprises
                )
            })
        }
        Command::Visit { household, enterprise, purposes, outcome, persons, minutes, lat, lon, accuracy, note } => {
            let target = match (household, enterprise) {
                (Some(h), None) => VisitTarget::Household(h.clone()),
                (None, Some(e)) => VisitTarget::Enterprise(e.clone()),
                _ => return Err(usage(Code::InvalidArgument, "give --household or --enterprise")),
            };
            let end = env.clock.now();
            let fix = lat.zip(*lon).map(|(lat, lon)| GpsFix { lat, lon, accuracy_m: *accuracy, taken_at: end });
            let stored = open(&args, &env)?.record_visit(VisitInput {
                id: None,
                target,
                purposes: purposes.clone(),
                started_at: end - Duration::minutes(*minutes),
                ended_at: end,
                outcome: *outcome,
                persons_met: *persons,
                fix,
                pin: None,
                note: note.clone(),
            })?;
            out(json, &stored, |s| format!("走访已记录 {} · 核验：{}", s.visit.id, s.verdict.describe().zh))
        }
        Command::Service(cmd) => {
            let mut session = open(&args, &env)?;
            let request = match cmd {
                ServiceCmd::Accept { code, household, applicant, materials, mode, fee_option } => session
                    .accept_service(AcceptInput {
                        service: code.clone(),
                        mode: mode.as_deref().map(|m| named("mode", m)).transpose()?,
                        household: household.clone(),
                        applicant: applicant.clone(),
                        materials: materials.clone(),
                        fee_option: fee_option.clone(),
                        attachments: vec![],
                    })?,
                ServiceCmd::Advance { id, to, reason } => {
                    let to: RequestState = named("state", to)?;
                    session.advance_service(AdvanceInput { id: *id, to, reason: reason.clone() })?
                }
                ServiceCmd::Deliver { id, signature } => {
                    session.deliver_service(DeliverInput { id: *id, signature_png: read_bytes(signature)? })?
                }
            };
            out(json, &request, |r| {
                format!(
                    "{} {} · {} · 应缴 ¥{:.2} · {}",
                    r.service,
                    r.id,
                    r.state.name().zh,
                    f64::from(r.fee.payable_fen) / 100.0,
                    r.applicant
                )
            })
        }
        Command::Mediation(cmd) => {
            let mut session = open(&args, &env)?;
            let case = match cmd {
                MediationCmd::Open { kind, village, case_type, accepted_on, eligibility } => {
                    let kind: MediationKind = named("mediation kind", kind)?;
                    let input = match eligibility {
                        Some(path) => read_json(path)?,
                        None => EligibilityInput::consenting(
                            kind,
                            case_type.as_deref().map(|c| named::<CaseType>("case type", c)).transpose()?,
                        ),
                    };
                    let on = accepted_on.unwrap_or_else(|| session.today());
                    session.open_mediation(OpenMediation {
                        kind,
                        village: village.clone(),
                        eligibility: input,
                        accepted_on: on,
                    })?
                }
                MediationCmd::Edit { id, file } => {
                    let edits: Vec<MediationEdit> = read_json(file)?;
                    let mut case = None;
                    for edit in edits {
                        case = Some(session.edit_mediation(*id, edit)?);
                    }
                    case.ok_or_else(|| usage(Code::InvalidJson, "the file lists no edit"))?
                }
                MediationCmd::Sign { id, signer, png, strokes } => {
                    let signer = parse_signer(signer)?;
                    let (mark, strokes): (Mark, Vec<Vec<StrokePoint>>) = match strokes {
                        Some(path) => (Mark::Signature, read_json(path)?),
                        None => (Mark::Thumbprint, vec![]),
                    };
                    session.sign_mediation(*id, SignatureInput { signer, mark, strokes, png: read_bytes(png)? })?
                }
                MediationCmd::Finalize { id, outcome } => {
                    session.finalize_mediation(*id, named::<Outcome>("outcome", outcome)?)?
                }
                MediationCmd::End { id, outcome } => {
                    session.end_mediation(*id, named::<Outcome>("outcome", outcome)?)?
                }
            };
            out(json, &case, |c| {
                format!(
                    "{} {} · {} · 当事人 {} · 签名 {}{}",
                    c.kind.name().zh,
                    c.id,
                    match c.status {
                        beibao_store::records::CaseStatus::Draft => "草稿",
                        beibao_store::records::CaseStatus::Finalized => "已签署定稿",
                        beibao_store::records::CaseStatus::Ended => "已结束",
                    },
                    c.agreement.parties.len(),
                    c.agreement.signatures.len(),
                    c.content_hash.as_deref().map(|h| format!(" · 哈希 {h}")).unwrap_or_default()
                )
            })
        }
        Command::Publicity { village, topic, attendees, leaflets } => {
            let mut session = open(&args, &env)?;
            let p = session.record_publicity(PublicitySession {
                id: Uuid::nil(),
                device_id: String::new(),
                officer_id: String::new(),
                village: village.clone(),
                topic: *topic,
                held_at: env.clock.now(),
                attendees: *attendees,
                leaflets: *leaflets,
                note: String::new(),
            })?;
            out(json, &p, |p| {
                format!("宣传已记录 {} · {} · {} 人 · {} 份", p.id, p.topic.name().zh, p.attendees, p.leaflets)
            })
        }
        Command::Hazard { village, place, description, deadline, fix } => {
            let mut session = open(&args, &env)?;
            let h = match fix {
                Some(id) => session.fix_hazard(*id)?,
                None => session.record_hazard(Hazard {
                    id: Uuid::nil(),
                    device_id: String::new(),
                    officer_id: String::new(),
                    village: village.clone().unwrap_or_default(),
                    kind: HazardKind::SmallVenueFire,
                    place: place.clone(),
                    description: description.clone(),
                    found_at: env.clock.now(),
                    deadline: *deadline,
                    fixed_at: None,
                })?,
            };
            out(json, &h, |h| {
                format!("隐患 {} · {} · {}", h.id, h.place, if h.fixed_at.is_some() { "已整改" } else { "待整改" })
            })
        }
        Command::Rating { subject, id, rating } => {
            let mut session = open(&args, &env)?;
            let subject = match subject.as_str() {
                "visit" => RatingSubject::Visit(*id),
                "service" => RatingSubject::ServiceRequest(*id),
                "mediation" => RatingSubject::Mediation(*id),
                other => {
                    return Err(usage(Code::InvalidArgument, format!("`{other}`: rate a visit, service or mediation")));
                }
            };
            let r = session.record_rating(Rating {
                id: Uuid::nil(),
                device_id: String::new(),
                officer_id: String::new(),
                subject,
                rating: *rating,
                comment: None,
                rated_at: env.clock.now(),
            })?;
            out(json, &r, |r| format!("评价已记录 {} · {}", r.id, r.rating.as_str()))
        }
        Command::Search { query, village } => {
            let hits = open(&args, &env)?.search(query, village.as_deref())?;
            out(json, &hits, |hits| {
                let mut s = format!("{} 户", hits.len());
                for h in hits {
                    s.push_str(&format!(
                        "\n{}  {}  {}  户主 {}  [{}]",
                        h.id, h.village_name, h.address, h.head, h.groups
                    ));
                }
                s
            })
        }
        Command::Day => {
            let items = open(&args, &env)?.day()?;
            out(json, &items, |items| {
                let mut s = format!("今日工作 {} 项", items.len());
                for i in items {
                    s.push_str(&format!("\n{:<10}{}  {}  {}", i.kind, i.when, i.title, i.id));
                }
                s
            })
        }
        Command::Due { days } => {
            let hits = open(&args, &env)?.special_groups_due(*days)?;
            out(json, &hits, |hits| format!("{days} 天未走访的特殊群体户: {}", hits.len()))
        }
        Command::Totals { from, to } => {
            let session = open(&args, &env)?;
            let today = session.today();
            let from = from.unwrap_or_else(|| today.with_day0(0).unwrap_or(today));
            let to = to.unwrap_or(today);
            let totals = session.totals(from, to)?;
            out(json, &totals, |totals| {
                let mut s = format!("{from} — {to}");
                for t in totals {
                    let v = match t.value {
                        IndicatorValue::Count { value } => value.to_string(),
                        IndicatorValue::Rate { value: Some(v), numerator, denominator } => {
                            format!("{v:.1} ({numerator}/{denominator})")
                        }
                        IndicatorValue::Rate { value: None, .. } => "—".to_owned(),
                    };
                    s.push_str(&format!("\n{:<16}{} {}", t.indicator.name.zh, v, t.indicator.unit.zh));
                }
                s
            })
        }
        Command::Outbox => {
            let p = open(&args, &env)?.pending()?;
            out(json, &p, |p| {
                format!("待同步: {} 条记录 ({} 字节) · {} 个附件 ({} 字节)", p.ops, p.op_bytes, p.blobs, p.blob_bytes)
            })
        }
        Command::Enroll { server, code } => {
            let e = rt.block_on(open(&args, &env)?.syncer()?.enroll(server, code, &Default::default()))?;
            out(json, &e, |e| {
                format!(
                    "已注册到 {} · 协议书编号段 {}{:06}–{:06}",
                    e.server_url, e.serial_prefix, e.serial_next, e.serial_end
                )
            })
        }
        Command::Sync { retries } => {
            // The session stays open while its syncer runs (a syncer stops when its session goes).
            let session = open(&args, &env)?;
            let mut syncer = session.syncer()?;
            let s = rt.block_on(syncer.sync_now(beibao_field::SyncSettings::default(), *retries, &mut |_| {}))?;
            out(json, &s, |s| {
                format!(
                    "同步完成: 上传 {} 条 (重复 {} · 被拒 {}) · 附件 {} 个 · 下载变更 {} 条 · 重试 {} 次",
                    s.applied, s.duplicates, s.rejected, s.blobs, s.pulled, s.retries
                )
            })
        }
        Command::SyncStatus => {
            let s = open(&args, &env)?.sync_status()?;
            out(json, &s, |s| {
                format!(
                    "服务器: {} · 待同步 {} 条 ({} 字节) · 附件 {} 个 · 已确认至 #{} · 被拒 {} 条{}",
                    s.server_url.as_deref().unwrap_or("未注册"),
                    s.pending_ops,
                    s.pending_bytes,
                    s.pending_blobs,
                    s.last_acked_seq,
                    s.rejected,
                    if s.revoked { " · 设备已吊销" } else { "" }
                )
            })
        }
        Command::ChangePin { new_pin } => {
            beibao_field::change_pin(&args.store, &pin(&args)?, new_pin, env.clock.as_ref(), &mut OsEntropy)?;
            out(json, &serde_json::json!({"changed": true}), |_| "PIN 已更改".to_owned())
        }
    }
}

fn parse_signer(s: &str) -> Result<Signer, CliError> {
    let (who, n) =
        s.split_once(':').ok_or_else(|| usage(Code::InvalidArgument, "signer is party:N, guardian:N or mediator:N"))?;
    let n: usize = n.parse().map_err(|_| usage(Code::InvalidArgument, "signer index must be a number"))?;
    match who {
        "party" => Ok(Signer::Party(n)),
        "guardian" => Ok(Signer::Guardian(n)),
        "mediator" => Ok(Signer::Mediator(n)),
        _ => Err(usage(Code::InvalidArgument, "signer is party:N, guardian:N or mediator:N")),
    }
}
