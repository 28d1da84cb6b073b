//! `beibao-server`: serve the API, and the administrator's verbs.

use beibao_core::code::Code;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use beibao_core::bundled;
use beibao_core::calendar::PublishedCalendar;
use beibao_core::catalog::Catalog;
use beibao_core::change::{AssignmentChange, AssignmentKind};
use beibao_core::clock::Clock;
use beibao_core::registry::{Officer, OfficerRank};
use beibao_server::AppState;
use beibao_server::admin::{new_account, open_storage, seed};
use beibao_server::app::{Limits, OsRandom};
use beibao_server::storage::{Role, StorageError};
use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "beibao-server", about = "Beibao central endpoint: sync API and administration")]
struct Cli {
    /// SQLite file, or a postgres:// URL.
    #[arg(long, global = true, env = "BEIBAO_DATABASE", default_value = "data/beibao.db")]
    database: String,
    /// PostgreSQL connections to keep (default: 4 per core of this machine, 4 to 32).
    #[arg(long, global = true, env = "BEIBAO_PG_POOL")]
    pg_pool: Option<usize>,
    /// Answer as JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RoleArg {
    Admin,
    Supervisor,
    Desk,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RankArg {
    Officer,
    Auxiliary,
}

/// An officer and a village or an enterprise (`assign`, `unassign`).
#[derive(Debug, Args)]
struct PlaceArgs {
    /// Officer id.
    #[arg(long)]
    officer: String,
    /// Village code.
    #[arg(long, conflicts_with = "enterprise", required_unless_present = "enterprise")]
    village: Option<String>,
    /// Enterprise code.
    #[arg(long)]
    enterprise: Option<String>,
}

impl PlaceArgs {
    /// The officer, the kind and the code (clap makes it exactly one of the two).
    fn parts(self) -> (String, AssignmentKind, String) {
        match (self.village, self.enterprise) {
            (Some(v), _) => (self.officer, AssignmentKind::Village, v),
            (None, e) => (self.officer, AssignmentKind::Enterprise, e.unwrap_or_default()),
        }
    }
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Serve the API.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8440")]
        listen: String,
        /// Requests per device per second.
        #[arg(long, default_value_t = 50.0)]
        rate: f64,
        /// The built web console (`ui/dist`, made by `make ui`), served under /console/.
        #[arg(long, env = "BEIBAO_CONSOLE_DIR")]
        console: Option<PathBuf>,
        /// The server stands behind a reverse proxy or load balancer that appends the client's
        /// address to `X-Forwarded-For`: login limits per address count that address. Never set
        /// it when clients reach the server directly (they could name any address).
        #[arg(long)]
        behind_proxy: bool,
        /// Connections held at once (past it, new ones wait to be accepted).
        #[arg(long, default_value_t = 1024)]
        max_connections: usize,
        /// Serve https with this certificate chain (PEM; the bureau's CA issues it). Its
        /// fingerprint is printed at start: tablets pin it at enrollment.
        #[arg(long, requires = "tls_key", env = "BEIBAO_TLS_CERT")]
        tls_cert: Option<PathBuf>,
        /// The certificate's private key (PEM).
        #[arg(long, requires = "tls_cert", env = "BEIBAO_TLS_KEY")]
        tls_key: Option<PathBuf>,
        /// Behind a TLS terminator: the SHA-256 fingerprint of the certificate it presents, for
        /// enrollment codes to carry (tablets pin it). Taken from --tls-cert when that is given.
        #[arg(long, conflicts_with = "tls_cert", env = "BEIBAO_TLS_PIN")]
        tls_pin: Option<String>,
    },
    /// Seed from a fixtures directory: its stations and officers kept by the server, its registry
    /// (towns, villages, households, enterprises, assignments) offered to pull, its catalog published.
    Seed {
        /// The fixtures directory (catalog, registry).
        #[arg(long, env = "BEIBAO_FIXTURES")]
        fixtures: PathBuf,
    },
    /// Add an officer to the server's registry (then issue their tablet an enrollment code).
    AddOfficer {
        /// Officer id.
        #[arg(long)]
        id: String,
        /// Name.
        #[arg(long)]
        name: String,
        /// Badge number (警号).
        #[arg(long, default_value = "")]
        badge: String,
        /// `officer` (民警) or `auxiliary` (辅警).
        #[arg(long, value_enum, default_value = "officer")]
        rank: RankArg,
        /// Station code.
        #[arg(long)]
        station: String,
        /// Mobile phone.
        #[arg(long, default_value = "")]
        phone: String,
    },
    /// Move an officer to another station: the requests they accepted show at its desk from then on.
    MoveOfficer {
        /// Officer id.
        #[arg(long)]
        id: String,
        /// The new station's code.
        #[arg(long)]
        station: String,
    },
    /// Assign a village (with its households) or an enterprise to an officer; their tablets pull it.
    Assign {
        #[command(flatten)]
        place: PlaceArgs,
        /// Since when (YYYY-MM-DD; default today in China).
        #[arg(long)]
        since: Option<chrono::NaiveDate>,
    },
    /// End an assignment: the officer's tablets drop it from the day (what was recorded stays).
    Unassign {
        #[command(flatten)]
        place: PlaceArgs,
        /// The last day (YYYY-MM-DD; default today in China).
        #[arg(long)]
        until: Option<chrono::NaiveDate>,
    },
    /// An officer's assignments.
    Assignments {
        /// Officer id.
        #[arg(long)]
        officer: String,
    },
    /// The officers of a station.
    Officers {
        /// Station code.
        #[arg(long)]
        station: String,
    },
    /// Create an account.
    CreateAccount {
        /// Login name.
        #[arg(long)]
        username: String,
        /// Role.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Station (desk accounts).
        #[arg(long)]
        station: Option<String>,
        /// Password (at least 10 characters).
        #[arg(long, env = "BEIBAO_ACCOUNT_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// Issue a one-time enrollment code for an officer's tablet.
    EnrollCode {
        /// Officer id.
        #[arg(long)]
        officer: String,
        /// Hours the code stays valid.
        #[arg(long, default_value_t = 72)]
        hours: i64,
    },
    /// Revoke a device: its next contact gets 401 `revoked` and it wipes its keys.
    Revoke {
        /// Device id.
        #[arg(long)]
        device: String,
    },
    /// Publish a catalog version (a services.json); published versions are immutable.
    PublishCatalog {
        /// The catalog file.
        #[arg(long)]
        file: PathBuf,
    },
    /// Publish a working-day calendar (a cn-holidays.json): every tablet pulls it and counts
    /// working days with it from then on.
    PublishCalendar {
        /// The calendar file.
        #[arg(long)]
        file: PathBuf,
    },
    /// List rejected ops, newest first.
    Rejected {
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// The audit log, newest first: logins, reads of personal data, moves made at the desk.
    Audit {
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// What the server holds.
    Status,
}

struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Log lines to stderr, at the level `BEIBAO_LOG` names (`error`, `warn`, `info` — the default —,
/// `debug`, `trace`, `off`); each line of a request carries its id.
fn init_logging() {
    let level = std::env::var("BEIBAO_LOG")
        .ok()
        .and_then(|v| v.parse::<tracing_subscriber::filter::LevelFilter>().ok())
        .unwrap_or(tracing_subscriber::filter::LevelFilter::INFO);
    tracing_subscriber::fmt().with_max_level(level).with_writer(std::io::stderr).with_ansi(false).init();
}

/// The catalog compiled into this build (published when the database holds none).
fn bundled_catalog() -> Result<Catalog, StorageError> {
    bundled::catalog().map_err(|e| StorageError::refused(Code::BadCatalog, format!("the bundled catalog: {e}")))
}

/// A calendar file, checked under every calendar rule.
fn read_calendar(file: &std::path::Path) -> Result<PublishedCalendar, StorageError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| StorageError::refused(Code::File, format!("{}: {e}", file.display())))?;
    PublishedCalendar::from_json(&text)
        .map_err(|e| StorageError::refused(Code::BadCalendar, format!("{}: {e}", file.display())))
}

fn fail(code: Code, msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("error[{code}]: {msg}");
    ExitCode::FAILURE
}

fn storage_fail(e: StorageError) -> ExitCode {
    match e {
        StorageError::Refused(code, m) => fail(code, m),
        StorageError::Db(m) => fail(Code::StorageUnavailable, m),
    }
}

fn print<T: serde::Serialize>(json: bool, value: &T, text: impl FnOnce() -> String) {
    if json {
        println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
    } else {
        println!("{}", text());
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let storage = match open_storage(&cli.database, cli.pg_pool).await {
        Ok(s) => s,
        Err(e) => return storage_fail(e),
    };
    let now = Utc::now();
    let result: Result<(), StorageError> = async {
        match cli.cmd {
            Cmd::Serve { listen, rate, console, behind_proxy, max_connections, tls_cert, tls_key, tls_pin } => {
                if let Some(dir) = &console {
                    beibao_server::routes::console::is_built(dir)
                        .map_err(|m| StorageError::refused(Code::InvalidArgument, m))?;
                }
                if storage.calendar_version().await?.is_none() {
                    let calendar = bundled::published_calendar()
                        .map_err(|e| StorageError::refused(Code::BadCalendar, format!("the bundled calendar: {e}")))?;
                    storage.publish_calendar(&calendar, now).await?;
                }
                let limits = Limits {
                    rate_per_s: rate,
                    burst: rate * 2.0,
                    trust_forwarded: behind_proxy,
                    max_connections,
                    ..Limits::default()
                };
                let mut state =
                    AppState::new(storage, &bundled_catalog()?, Arc::new(SystemClock), Arc::new(OsRandom), limits).await?;
                if let Some(dir) = console {
                    state = state.with_console(dir);
                }
                let listener = tokio::net::TcpListener::bind(&listen)
                    .await
                    .map_err(|e| StorageError::refused(Code::InvalidArgument, format!("{listen}: {e}")))?;
                let tls = match (tls_cert, tls_key) {
                    (Some(cert), Some(key)) => {
                        let read = |p: &PathBuf| {
                            std::fs::read(p).map_err(|e| {
                                StorageError::refused(Code::InvalidArgument, format!("{}: {e}", p.display()))
                            })
                        };
                        let (config, pin) = beibao_server::http::tls_config(&read(&cert)?, &read(&key)?)
                            .map_err(|m| StorageError::refused(Code::InvalidArgument, m))?;
                        println!("证书指纹 / certificate fingerprint (tablets pin it): sha256/{pin}");
                        state = state.with_tls_pin(pin);
                        Some(config)
                    }
                    _ => None,
                };
                if let Some(pin) = tls_pin {
                    let pin = beibao_sync::trust::normalize_pin(&pin).ok_or_else(|| {
                        StorageError::refused(Code::InvalidArgument, format!("--tls-pin `{pin}` is not a SHA-256 fingerprint"))
                    })?;
                    state = state.with_tls_pin(pin);
                }
                let scheme = if tls.is_some() { "https" } else { "http" };
                tracing::info!(backend = state.storage().backend(), "listening on {scheme}://{listen} (console: /console/)");
                let served = match tls {
                    Some(config) => beibao_server::serve_tls(listener, state, config).await,
                    None => beibao_server::serve(listener, state).await,
                };
                served.map_err(|e| StorageError::Db(e.to_string()))?;
            }
            Cmd::Seed { fixtures } => {
                let f = beibao_fixtures::load(&fixtures).map_err(|e| StorageError::refused(Code::Fixtures, e.to_string()))?;
                storage.publish_catalog(&f.catalog, now).await?;
                let calendar = read_calendar(&fixtures.join("calendar/cn-holidays.json"))?;
                storage.publish_calendar(&calendar, now).await?;
                let n = seed(&*storage, &f.registry, now).await?;
                let (stations, officers) = (f.registry.stations.len(), f.registry.officers.len());
                print(cli.json, &serde_json::json!({ "changes": n, "stations": stations, "officers": officers }), || {
                    format!("已导入 {stations} 个派出所、{officers} 名警员，发布登记数据 {n} 条变更 / {n} registry changes offered to pull")
                });
            }
            Cmd::AddOfficer { id, name, badge, rank, station, phone } => {
                let rank = match rank {
                    RankArg::Officer => OfficerRank::Officer,
                    RankArg::Auxiliary => OfficerRank::Auxiliary,
                };
                let officer = Officer { id: id.clone(), name, badge, rank, station: station.clone(), phone };
                storage.add_officer(&officer, now).await?;
                print(cli.json, &officer, || format!("已添加警员 {id}（{station}）"));
            }
            Cmd::MoveOfficer { id, station } => {
                storage.move_officer(&id, &station, now).await?;
                print(cli.json, &serde_json::json!({ "officer": id, "station": station }), || {
                    format!("警员 {id} 已调至 {station}")
                });
            }
            Cmd::Assign { place, since } => {
                let (officer, kind, target) = place.parts();
                let since = since.unwrap_or_else(|| beibao_core::calendar::china_date(now));
                let a = AssignmentChange { officer: officer.clone(), kind, target: target.clone(), since, until: None };
                let n = storage.assign(&a, now).await?;
                print(cli.json, &serde_json::json!({ "assignment": a, "changes": n }), || {
                    format!("已将 {target} 分配给警员 {officer}（自 {since} 起），{n} 条变更待平板拉取 / assigned; {n} changes offered")
                });
            }
            Cmd::Unassign { place, until } => {
                let (officer, kind, target) = place.parts();
                let until = until.unwrap_or_else(|| beibao_core::calendar::china_date(now));
                storage.unassign(&officer, kind, &target, until, now).await?;
                print(cli.json, &serde_json::json!({ "officer": officer, "kind": kind, "target": target, "until": until }), || {
                    format!("警员 {officer} 的 {target} 分配截至 {until} / assignment ended")
                });
            }
            Cmd::Assignments { officer } => {
                if storage.officer(&officer).await?.is_none() {
                    return Err(StorageError::refused(Code::UnknownOfficer, format!("no officer {officer}")));
                }
                let list = storage.assignments_of(&officer).await?;
                print(cli.json, &list, || {
                    if list.is_empty() {
                        return format!("警员 {officer} 没有分配 / no assignments");
                    }
                    list.iter()
                        .map(|a| format!("{} {} since {}", beibao_server::plan::kind_name(a.kind), a.target, a.since))
                        .collect::<Vec<_>>()
                        .join("\n")
                });
            }
            Cmd::Officers { station } => {
                let officers = storage.officers_of(&station).await?;
                print(cli.json, &officers, || {
                    if officers.is_empty() {
                        return format!("{station} 没有警员 / no officers");
                    }
                    officers.iter().map(|o| format!("{} {} {}", o.id, o.name, o.badge)).collect::<Vec<_>>().join("\n")
                });
            }
            Cmd::CreateAccount { username, role, station, password } => {
                let role = match role {
                    RoleArg::Admin => Role::Admin,
                    RoleArg::Supervisor => Role::Supervisor,
                    RoleArg::Desk => Role::Desk,
                };
                if let Some(code) = &station {
                    let stations = storage.stations().await?;
                    if !stations.iter().any(|s| &s.code == code) {
                        let known: Vec<&str> = stations.iter().map(|s| s.code.as_str()).collect();
                        return Err(StorageError::refused(
                            Code::UnknownStation,
                            format!("no station `{code}`; the stations are {} (seed first)", known.join(", ")),
                        ));
                    }
                }
                let account = new_account(&username, role, station.as_deref(), &password)?;
                storage.create_account(&account, now).await?;
                print(cli.json, &serde_json::json!({ "username": username, "role": role }), || {
                    format!("已创建账号 {username} ({})", role.as_str())
                });
            }
            Cmd::EnrollCode { officer, hours } => {
                let state = AppState::new(
                    storage,
                    &bundled_catalog()?,
                    Arc::new(SystemClock),
                    Arc::new(OsRandom),
                    Limits::default(),
                )
                .await?;
                let code = state.issue_enrollment_code(&officer, chrono::Duration::hours(hours)).await?;
                print(cli.json, &serde_json::json!({ "officer": officer, "code": code, "hours": hours }), || {
                    format!("{code}\n(警员 {officer} 的一次性注册码，{hours} 小时内有效 / one-time code, valid {hours} h)")
                });
            }
            Cmd::Revoke { device } => {
                if !storage.revoke(&device, now).await? {
                    return Err(StorageError::refused(Code::NotFound, format!("no device {device}")));
                }
                print(cli.json, &serde_json::json!({ "revoked": device }), || format!("已吊销设备 {device}"));
            }
            Cmd::PublishCatalog { file } => {
                let text = std::fs::read_to_string(&file)
                    .map_err(|e| StorageError::refused(Code::File, format!("{}: {e}", file.display())))?;
                let catalog = Catalog::from_json(&text).map_err(|e| StorageError::refused(Code::BadCatalog, e.to_string()))?;
                let cursor = storage.publish_catalog(&catalog, now).await?;
                print(cli.json, &serde_json::json!({ "version": catalog.version, "cursor": cursor }), || {
                    format!(
                        "已发布服务目录 {} (cursor {cursor})，运行中的服务器 30 秒内生效 / catalog {} published; running servers take it in within 30 s",
                        catalog.version, catalog.version
                    )
                });
            }
            Cmd::PublishCalendar { file } => {
                let calendar = read_calendar(&file)?;
                let version = calendar.version.clone();
                let cursor = storage.publish_calendar(&calendar, now).await?;
                print(cli.json, &serde_json::json!({ "version": version, "cursor": cursor }), || match cursor {
                    Some(c) => format!("已发布工作日历 {version} (cursor {c}) / calendar published"),
                    None => format!("工作日历 {version} 已发布过 / calendar {version} was published before"),
                });
            }
            Cmd::Rejected { limit } => {
                let ops = storage.rejected_ops(limit).await?;
                print(cli.json, &ops, || {
                    if ops.is_empty() {
                        return "没有被拒绝的操作 / no rejected ops".to_owned();
                    }
                    ops.iter()
                        .map(|o| format!("{} {} #{} {} [{}] {}", o.received_at, o.device_id, o.seq, o.kind, o.code, o.message))
                        .collect::<Vec<_>>()
                        .join("\n")
                });
            }
            Cmd::Audit { limit } => {
                let log = storage.audit_log(limit).await?;
                print(cli.json, &log, || {
                    if log.is_empty() {
                        return "审计日志为空 / the audit log is empty".to_owned();
                    }
                    log.iter()
                        .map(|e| format!("{} {} {} {}", e.at.to_rfc3339(), e.actor, e.action, e.subject))
                        .collect::<Vec<_>>()
                        .join("\n")
                });
            }
            Cmd::Status => {
                let c = storage.counts().await?;
                print(cli.json, &c, || {
                    let records: Vec<String> = c.records.iter().map(|(k, n)| format!("{k}={n}")).collect();
                    format!(
                        "devices={} ops: applied={} duplicate={} rejected={}\nrecords: {}\nrequests={} request_events={} changes={} blobs={}",
                        c.devices,
                        c.ops_applied,
                        c.ops_duplicate,
                        c.ops_rejected,
                        records.join(" "),
                        c.requests,
                        c.request_events,
                        c.changes,
                        c.blobs
                    )
                });
            }
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => storage_fail(e),
    }
}
