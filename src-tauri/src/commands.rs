//! The commands the UI calls. Each is async (Tauri runs it off the UI thread), takes the one
//! lock on the app's phase, and makes one call into beibao-field; CPU-heavy work (Argon2id at
//! unlock and first run) runs on a blocking thread.

use std::sync::Arc;

use beibao_core::activity::{Hazard, PublicitySession};
use beibao_core::catalog::FeeQuote;
use beibao_core::code::Code;
use beibao_core::mediation::Outcome;
use beibao_core::ops::StoredVisit;
use beibao_core::service_request::ServiceRequest;
use beibao_core::visit::{GpsFix, ProofVerdict, VisitTarget};
use beibao_field::{
    AcceptInput, AdvanceInput, AuditEntry, Background, ClueInput, DeliverInput, DraftSummary, EnterpriseScreen, Env,
    FieldError, FirstRunInput, HazardInput, HouseholdScreen, IdCheck, JudicialInput, MediationEdit, MediationScreen,
    OpenMediation, Problem, ProposalInput, PublicityInput, QuoteInput, RatingInput, RecurrenceInput, RequestScreen,
    Reveal, ServiceCard, Session, SignatureInput, SyncEvent, SyncStatus, SyncSummary, TabletPhase, TabletStatus, Today,
    TotalsScreen, VillageScreen, VisitDraft, VisitInput,
};
use beibao_store::Store;
use beibao_store::key::{KdfParams, OsEntropy};
use beibao_store::queries::HouseholdHit;
use beibao_store::system::{SystemClock, UuidV7Ids};
use beibao_sync::wire::EnrollCheckResponse;
use tauri::{AppHandle, Emitter, Manager, State};
use uuid::Uuid;

use crate::{App, Phase, Unlocked};

/// The event the background syncer reports on (payload: `SyncEvent`: progress, done, failed,
/// stopped), whoever asked for the pass.
pub const SYNC_EVENT: &str = "sync";

/// Failed passes a sync retries (with backoff) before it reports the failure.
const SYNC_RETRIES: u64 = 2;

fn env() -> Env {
    Env { clock: Arc::new(SystemClock), ids: Arc::new(UuidV7Ids) }
}

fn wrong_phase(message: &str) -> FieldError {
    FieldError::Invalid { code: Code::Invalid, field: "phase".into(), message: message.into() }
}

fn blocking_failed(e: impl std::fmt::Display) -> FieldError {
    FieldError::Store(beibao_store::StoreError::Io(format!("background task: {e}")))
}

/// Which screen to show, and what it needs.
#[tauri::command]
pub async fn status(app: State<'_, App>) -> Result<TabletStatus, FieldError> {
    let phase = app.phase.lock().await;
    let mut status = TabletStatus {
        phase: TabletPhase::Locked,
        reason: None,
        server_url: app.config.server_url.clone(),
        lockout_until: None,
        officer_id: None,
        officer: None,
        device_id: None,
        catalog_version: None,
        app_version: env!("CARGO_PKG_VERSION").to_owned(),
        lock_after_seconds: app.config.lock_after_seconds,
    };
    match &*phase {
        Phase::FirstRun { reason } => {
            status.phase = TabletPhase::FirstRun;
            status.reason = *reason;
        }
        Phase::Locked => {
            status.lockout_until = beibao_store::Store::lockout(&app.store_path(), chrono::Utc::now())?;
        }
        Phase::Unlocked(u) => {
            let session = &u.session;
            status.phase = TabletPhase::Unlocked;
            status.officer_id = Some(session.officer_id().to_owned());
            status.officer = session.officer_card()?;
            status.server_url = session.server_url()?.or(status.server_url);
            status.device_id = Some(session.device_id().to_owned());
            status.catalog_version = Some(session.catalog().version.clone());
        }
    }
    Ok(status)
}

/// Whom an enrollment code is for (the code stays unused).
#[tauri::command]
pub async fn check_enrollment(
    server_url: String,
    code: String,
    server_pin: Option<String>,
) -> Result<EnrollCheckResponse, FieldError> {
    beibao_field::check_enrollment(&server_url, &code, server_pin.as_deref()).await
}

/// Make the store for the confirmed officer under the PIN and enroll it.
#[tauri::command]
pub async fn first_run(
    handle: AppHandle,
    app: State<'_, App>,
    input: FirstRunInput,
) -> Result<TabletStatus, FieldError> {
    {
        let mut phase = app.phase.lock().await;
        if !matches!(*phase, Phase::FirstRun { .. }) {
            return Err(FieldError::Store(beibao_store::StoreError::AlreadyExists(app.store_path())));
        }
        let path = app.store_path();
        let (session, _) =
            beibao_field::first_run(&path, &input, KdfParams::RECOMMENDED, &mut OsEntropy, env()).await?;
        *phase = Phase::Unlocked(Box::new(start_sync(&handle, &app, session)?));
    }
    status(app).await
}

/// Unlock with the PIN (wrong PINs count towards the lockout, which survives a restart).
#[tauri::command]
pub async fn unlock(handle: AppHandle, app: State<'_, App>, pin: String) -> Result<TabletStatus, FieldError> {
    {
        let mut phase = app.phase.lock().await;
        match *phase {
            Phase::Locked => {}
            Phase::Unlocked(_) => return Err(wrong_phase("the tablet is unlocked already")),
            Phase::FirstRun { .. } => return Err(wrong_phase("set the tablet up first")),
        }
        let path = app.store_path();
        let session = tauri::async_runtime::spawn_blocking(move || beibao_field::unlock(&path, &pin, env()))
            .await
            .map_err(blocking_failed)??;
        *phase = Phase::Unlocked(Box::new(start_sync(&handle, &app, session)?));
    }
    status(app).await
}

/// The unlocked tablet: `session` and its background syncer, which reports on [`SYNC_EVENT`],
/// syncs every `sync_interval_seconds`, and starts a first pass now. A pass that finds the device
/// revoked sets the store aside (whoever asked for it).
fn start_sync(handle: &AppHandle, app: &App, session: Session) -> Result<Unlocked, FieldError> {
    let events = handle.clone();
    let sync = Background::start(
        &tokio::runtime::Handle::current(),
        session.syncer()?,
        beibao_field::SyncSettings::default(),
        std::time::Duration::from_secs(app.config.sync_interval_seconds),
        SYNC_RETRIES,
        move |e| {
            if matches!(e, SyncEvent::Failed { code: Code::Revoked, .. }) {
                let handle = events.clone();
                tauri::async_runtime::spawn(async move {
                    let _ = set_aside_revoked(&handle.state::<App>()).await;
                });
            }
            let _ = events.emit(SYNC_EVENT, e);
        },
    );
    sync.trigger();
    Ok(Unlocked { session, sync })
}

/// Move the app to `next`, locking the session it held (if any) and waiting for its syncer to stop.
async fn leave(phase: &mut Phase, next: Phase) -> Result<(), FieldError> {
    match std::mem::replace(phase, next) {
        Phase::Unlocked(u) => {
            let Unlocked { session, sync } = *u;
            let locked = session.lock();
            sync.stop().await;
            Ok(locked?)
        }
        _ => Ok(()),
    }
}

/// The server revoked this device (its keys are wiped): set the store aside and go back to first
/// run, saying why. Once, whichever pass found it.
async fn set_aside_revoked(app: &App) -> Result<(), FieldError> {
    let mut phase = app.phase.lock().await;
    if !matches!(*phase, Phase::Unlocked(_)) {
        return Ok(());
    }
    leave(&mut phase, Phase::FirstRun { reason: Some(Code::Revoked) }).await?;
    let suffix = format!("revoked-{}", chrono::Utc::now().format("%Y%m%dT%H%M%S"));
    Store::set_aside(&app.store_path(), &suffix)?;
    Ok(())
}

/// Lock: stop syncing and close the store.
#[tauri::command]
pub async fn lock(app: State<'_, App>) -> Result<(), FieldError> {
    let mut phase = app.phase.lock().await;
    if matches!(*phase, Phase::Unlocked(_)) {
        leave(&mut phase, Phase::Locked).await?;
    }
    Ok(())
}

/// Run `f` on the unlocked session (`locked` otherwise).
async fn with_session<T>(app: &App, f: impl FnOnce(&Session) -> Result<T, FieldError>) -> Result<T, FieldError> {
    match &*app.phase.lock().await {
        Phase::Unlocked(u) => f(&u.session),
        _ => Err(FieldError::Locked),
    }
}

/// Run `f` on the unlocked session, mutably (writes).
async fn with_session_mut<T>(
    app: &App,
    f: impl FnOnce(&mut Session) -> Result<T, FieldError>,
) -> Result<T, FieldError> {
    match &mut *app.phase.lock().await {
        Phase::Unlocked(u) => f(&mut u.session),
        _ => Err(FieldError::Locked),
    }
}

/// The Today screen.
#[tauri::command]
pub async fn today(app: State<'_, App>) -> Result<Today, FieldError> {
    with_session(&app, |s| s.today_screen()).await
}

/// A village: its boundary and households (or only `household`) with days since their last visit.
#[tauri::command]
pub async fn village(
    app: State<'_, App>,
    code: String,
    household: Option<String>,
) -> Result<VillageScreen, FieldError> {
    with_session(&app, |s| s.village_screen(&code, household.as_deref())).await
}

/// A household: members masked, groups, visits and services.
#[tauri::command]
pub async fn household(app: State<'_, App>, id: String) -> Result<HouseholdScreen, FieldError> {
    with_session(&app, |s| s.household_screen(&id)).await
}

/// An enterprise: what it is, where, its visits.
#[tauri::command]
pub async fn enterprise(app: State<'_, App>, code: String) -> Result<EnterpriseScreen, FieldError> {
    with_session(&app, |s| s.enterprise_screen(&code)).await
}

/// A member's full ID number or phone (written to the access log).
#[tauri::command]
pub async fn reveal(
    app: State<'_, App>,
    household: String,
    person: String,
    what: Reveal,
) -> Result<String, FieldError> {
    with_session_mut(&app, |s| s.reveal(&household, &person, what)).await
}

/// The tablet's access log: every unmasking of an ID number or phone, newest first.
#[tauri::command]
pub async fn access_log(app: State<'_, App>) -> Result<Vec<AuditEntry>, FieldError> {
    with_session(&app, |s| s.access_log(ACCESS_LOG_LINES)).await
}

/// How many lines of the access log Settings shows.
const ACCESS_LOG_LINES: usize = 100;

/// Search households (name, ID tail, address) within a village.
#[tauri::command]
pub async fn search(
    app: State<'_, App>,
    query: String,
    village: Option<String>,
) -> Result<Vec<HouseholdHit>, FieldError> {
    with_session(&app, |s| s.search(&query, village.as_deref())).await
}

/// Work under way: visit drafts and mediations not finalized.
#[tauri::command]
pub async fn drafts(app: State<'_, App>) -> Result<Vec<DraftSummary>, FieldError> {
    with_session(&app, |s| s.drafts()).await
}

/// The catalog's services (searched on the tablet).
#[tauri::command]
pub async fn services(app: State<'_, App>) -> Result<Vec<ServiceCard>, FieldError> {
    with_session(&app, |s| Ok(s.services())).await
}

/// The fee an applicant pays, with the waiver that applies.
#[tauri::command]
pub async fn quote(app: State<'_, App>, input: QuoteInput) -> Result<FeeQuote, FieldError> {
    with_session(&app, |s| s.quote(&input)).await
}

/// Accept a service request at the door.
#[tauri::command]
pub async fn accept_service(app: State<'_, App>, input: AcceptInput) -> Result<ServiceRequest, FieldError> {
    with_session_mut(&app, |s| s.accept_service(input)).await
}

/// A request with its timeline and next steps.
#[tauri::command]
pub async fn request(app: State<'_, App>, id: Uuid) -> Result<RequestScreen, FieldError> {
    with_session(&app, |s| s.request_screen(id)).await
}

/// Move a request one step (not delivery).
#[tauri::command]
pub async fn advance_service(app: State<'_, App>, input: AdvanceInput) -> Result<ServiceRequest, FieldError> {
    with_session_mut(&app, |s| s.advance_service(input)).await
}

/// Deliver with the recipient's signature (PNG).
#[tauri::command]
pub async fn deliver_service(app: State<'_, App>, input: DeliverInput) -> Result<ServiceRequest, FieldError> {
    with_session_mut(&app, |s| s.deliver_service(input)).await
}

/// Open a mediation (refused with every reason when it may not be mediated).
#[tauri::command]
pub async fn open_mediation(app: State<'_, App>, input: OpenMediation) -> Result<MediationScreen, FieldError> {
    with_session_mut(&app, |s| s.open_mediation(input).and_then(|c| s.mediation_screen(c.id))).await
}

/// A mediation with what it lacks and who has signed.
#[tauri::command]
pub async fn mediation(app: State<'_, App>, id: Uuid) -> Result<MediationScreen, FieldError> {
    with_session(&app, |s| s.mediation_screen(id)).await
}

/// One edit of a draft agreement (it clears the signatures).
#[tauri::command]
pub async fn edit_mediation(app: State<'_, App>, id: Uuid, edit: MediationEdit) -> Result<MediationScreen, FieldError> {
    with_session_mut(&app, |s| s.edit_mediation(id, edit).and_then(|c| s.mediation_screen(c.id))).await
}

/// A signature or thumbprint on the draft.
#[tauri::command]
pub async fn sign_mediation(
    app: State<'_, App>,
    id: Uuid,
    input: SignatureInput,
) -> Result<MediationScreen, FieldError> {
    with_session_mut(&app, |s| s.sign_mediation(id, input).and_then(|c| s.mediation_screen(c.id))).await
}

/// Finalize with an agreement: hashed, serial taken, device-signed, read-only.
#[tauri::command]
pub async fn finalize_mediation(
    app: State<'_, App>,
    id: Uuid,
    outcome: Outcome,
) -> Result<MediationScreen, FieldError> {
    with_session_mut(&app, |s| s.finalize_mediation(id, outcome).and_then(|c| s.mediation_screen(c.id))).await
}

/// End without an agreement, saying how.
#[tauri::command]
pub async fn end_mediation(app: State<'_, App>, id: Uuid, outcome: Outcome) -> Result<MediationScreen, FieldError> {
    with_session_mut(&app, |s| s.end_mediation(id, outcome).and_then(|c| s.mediation_screen(c.id))).await
}

/// The performance follow-up (履行回访) of a finalized agreement.
#[tauri::command]
pub async fn record_performance(
    app: State<'_, App>,
    id: Uuid,
    performed: bool,
    note: String,
) -> Result<MediationScreen, FieldError> {
    with_session_mut(&app, |s| s.record_performance(id, performed, note).and_then(|_| s.mediation_screen(id))).await
}

/// The 司法确认 application of a finalized people's-mediation agreement, or the court's ruling.
#[tauri::command]
pub async fn record_judicial_confirmation(
    app: State<'_, App>,
    input: JudicialInput,
) -> Result<MediationScreen, FieldError> {
    let id = input.mediation;
    with_session_mut(&app, |s| s.record_judicial_confirmation(input).and_then(|_| s.mediation_screen(id))).await
}

/// A resolved dispute that came back (反弹) or turned criminal (民转刑).
#[tauri::command]
pub async fn record_recurrence(app: State<'_, App>, input: RecurrenceInput) -> Result<MediationScreen, FieldError> {
    let id = input.mediation;
    with_session_mut(&app, |s| s.record_recurrence(input).and_then(|_| s.mediation_screen(id))).await
}

/// A 一标三实 correction proposed at the door, for the station to review.
#[tauri::command]
pub async fn propose_correction(app: State<'_, App>, input: ProposalInput) -> Result<(), FieldError> {
    with_session_mut(&app, |s| s.propose_correction(input).map(|_| ())).await
}

/// A clue reported from a village.
#[tauri::command]
pub async fn report_clue(app: State<'_, App>, input: ClueInput) -> Result<(), FieldError> {
    with_session_mut(&app, |s| s.report_clue(input).map(|_| ())).await
}

/// What an ID number says, checked as typed.
#[tauri::command]
pub async fn check_id(app: State<'_, App>, number: String) -> Result<IdCheck, FieldError> {
    with_session(&app, |s| beibao_field::check_id_number(&number, s.today())).await
}

/// An image the tablet holds (a photo taken at the door, a signature), as raw bytes (an
/// ArrayBuffer in the page, not a JSON array).
#[tauri::command]
pub async fn blob(app: State<'_, App>, sha256: String) -> Result<tauri::ipc::Response, FieldError> {
    with_session(&app, |s| s.blob(&sha256)).await.map(tauri::ipc::Response::new)
}

/// The printed agreement of a finalized mediation (the PDF kept as a blob at finalize), raw bytes.
#[tauri::command]
pub async fn agreement_document(app: State<'_, App>, id: Uuid) -> Result<tauri::ipc::Response, FieldError> {
    with_session(&app, |s| s.agreement_document(id)).await.map(tauri::ipc::Response::new)
}

/// The resident's satisfaction answer.
#[tauri::command]
pub async fn rate(app: State<'_, App>, input: RatingInput) -> Result<(), FieldError> {
    with_session_mut(&app, |s| s.rate(input).map(|_| ())).await
}

/// Start a visit now: a draft on the tablet.
#[tauri::command]
pub async fn start_visit(app: State<'_, App>, target: VisitTarget) -> Result<VisitDraft, FieldError> {
    with_session_mut(&app, |s| s.start_visit(target, vec![])).await
}

/// Save a visit draft as it changes.
#[tauri::command]
pub async fn save_visit_draft(app: State<'_, App>, draft: VisitDraft) -> Result<VisitDraft, FieldError> {
    with_session_mut(&app, |s| s.save_visit_draft(draft)).await
}

/// A saved visit draft.
#[tauri::command]
pub async fn visit_draft(app: State<'_, App>, id: Uuid) -> Result<VisitDraft, FieldError> {
    with_session(&app, |s| s.visit_draft(id)).await
}

/// The proof-of-visit verdict the draft would get if saved now.
#[tauri::command]
pub async fn visit_verdict(app: State<'_, App>, draft: VisitDraft) -> Result<ProofVerdict, FieldError> {
    with_session(&app, |s| s.visit_verdict(&draft)).await
}

/// Record a finished visit (its draft removed).
#[tauri::command]
pub async fn record_visit(app: State<'_, App>, input: VisitInput) -> Result<StoredVisit, FieldError> {
    with_session_mut(&app, |s| s.record_visit(input)).await
}

/// Throw a draft away.
#[tauri::command]
pub async fn discard_draft(app: State<'_, App>, id: Uuid) -> Result<(), FieldError> {
    with_session_mut(&app, |s| s.discard_draft(id)).await
}

/// The officer's own indicators for today, this week and this month.
#[tauri::command]
pub async fn totals(app: State<'_, App>) -> Result<TotalsScreen, FieldError> {
    with_session(&app, |s| s.totals_screen()).await
}

/// Log a safety-publicity session held now.
#[tauri::command]
pub async fn log_publicity(app: State<'_, App>, input: PublicityInput) -> Result<PublicitySession, FieldError> {
    with_session_mut(&app, |s| s.log_publicity(input)).await
}

/// Log a hazard found now.
#[tauri::command]
pub async fn log_hazard(app: State<'_, App>, input: HazardInput) -> Result<Hazard, FieldError> {
    with_session_mut(&app, |s| s.log_hazard(input)).await
}

/// Change the PIN (the old one is checked like an unlock). The tablet stays unlocked.
#[tauri::command]
pub async fn change_pin(app: State<'_, App>, old_pin: String, new_pin: String) -> Result<(), FieldError> {
    let phase = app.phase.lock().await;
    if !matches!(*phase, Phase::Unlocked(_)) {
        return Err(FieldError::Locked);
    }
    let path = app.store_path();
    tauri::async_runtime::spawn_blocking(move || {
        beibao_field::change_pin(&path, &old_pin, &new_pin, &SystemClock, &mut OsEntropy)
    })
    .await
    .map_err(blocking_failed)?
}

/// The tablet's position now: the configured fixed position when there is one (desktop, tests,
/// demos), else the platform's (Android, iOS: `crate::position`); `no_fix` when there is none —
/// no provider, location refused, no fix in time — and the officer places a pin.
#[tauri::command]
pub async fn locate(app: State<'_, App>, handle: tauri::AppHandle) -> Result<GpsFix, FieldError> {
    if let Some(f) = app.config.fake_fix {
        return Ok(GpsFix { lat: f.lat, lon: f.lon, accuracy_m: f.accuracy_m, taken_at: chrono::Utc::now() });
    }
    let no_fix = |why: &str| FieldError::Invalid { code: Code::NoFix, field: "fix".into(), message: why.into() };
    #[cfg(mobile)]
    {
        return match tauri::async_runtime::spawn_blocking(move || crate::position::platform_fix(&handle)).await {
            Ok(Ok(Some(fix))) => Ok(fix),
            Ok(Ok(None)) => Err(no_fix("location is not allowed for this app")),
            Ok(Err(e)) => Err(no_fix(&format!("no position fix: {e}"))),
            Err(e) => Err(no_fix(&format!("no position fix: {e}"))),
        };
    }
    #[cfg(not(mobile))]
    {
        let _ = handle;
        Err(no_fix("no position fix on this device"))
    }
}

/// Where sync stands.
#[tauri::command]
pub async fn sync_status(app: State<'_, App>) -> Result<SyncStatus, FieldError> {
    with_session(&app, |s| s.sync_status()).await
}

/// Sync now: a pass of the background syncer (push, upload, pull), its progress as [`SYNC_EVENT`]
/// events; the answer when it ends. The sync runs on a connection of its own, so the screens stay
/// usable; locking stops it. A revoked device has wiped its keys: its store is set aside and the
/// app returns to first run, saying why.
#[tauri::command]
pub async fn sync_now(app: State<'_, App>) -> Result<SyncSummary, Problem> {
    let asker = match &*app.phase.lock().await {
        Phase::Unlocked(u) => u.sync.handle(),
        _ => return Err(Problem::from(&FieldError::Locked)),
    };
    let result = asker.sync_now().await;
    if let Err(p) = &result
        && p.code == Code::Revoked
    {
        set_aside_revoked(&app).await.map_err(|e| Problem::from(&e))?;
    }
    result
}

/// Sync soon (the platform says the network is back): a background pass, reported as events.
#[tauri::command]
pub async fn sync_soon(app: State<'_, App>) -> Result<(), FieldError> {
    match &*app.phase.lock().await {
        Phase::Unlocked(u) => {
            u.sync.trigger();
            Ok(())
        }
        _ => Err(FieldError::Locked),
    }
}
