//! The officer's use cases: plain functions over the tablet store with an injected clock and id
//! source. Every CLI verb (and later every Tauri command) is a one-line call into here. Each use case
//! validates its input with beibao-core's rules and returns a [`FieldError`] with a stable code.

mod enroll;
mod error;
mod mediation;
mod records;
mod screens;
mod services;
mod sync;

use std::path::Path;
use std::sync::{Arc, RwLock};

use beibao_core::calendar::{WorkCalendar, china_date};
use beibao_core::catalog::Catalog;
use beibao_core::clock::{Clock, IdSource};
use beibao_core::code::Code;
use beibao_core::indicators::{self, Indicator, IndicatorValue};
use beibao_fixtures::Fixtures;
use beibao_store::key::{Entropy, KdfParams};
use beibao_store::outbox::{self, Pending};
use beibao_store::queries::{self, DayItem, HouseholdHit};
use beibao_store::records::audit;
use beibao_store::registry::{self as reg, SeedCounts};
use beibao_store::{Store, StoreError};
use chrono::NaiveDate;
use serde::Serialize;

pub use crate::enroll::{FirstRunInput, OfficerCard, TabletPhase, TabletStatus, check_enrollment, first_run};
pub use crate::error::{FieldError, Problem};
pub use crate::mediation::MediationEdit;
pub use crate::mediation::{
    GuardianNeed, IdCheck, JudicialInput, MediationScreen, OpenMediation, RecurrenceInput, SignatureInput, SignerLine,
    check_id_number,
};
pub use crate::records::{
    AcceptInput, AdvanceInput, Attachment, DeliverInput, MAX_ATTACHMENT_BYTES, RatingInput, VisitDraft, VisitInput,
};
pub use crate::screens::{
    ClueInput, EnterpriseScreen, HazardInput, HouseholdScreen, MemberView, ProposalInput, PublicityInput, Reveal,
    ServiceLine, TotalLine, TotalsScreen, VillageScreen, VisitLine,
};
pub use crate::services::{DaysLine, FeeLine, MaterialLine, QuoteInput, RequestScreen, ServiceCard, Words};
pub use crate::sync::{Background, PassResult, SyncEvent, SyncHandle, SyncSummary, Syncer};
pub use beibao_store::drafts::{DraftKind, DraftSummary};
pub use beibao_store::records::AuditEntry;
pub use beibao_store::sync::SyncStatus;
pub use beibao_sync::{Progress, Settings as SyncSettings};

/// The installed catalog, shared by the session and its syncer (a pull may install a newer one).
pub(crate) type SharedCatalog = Arc<RwLock<Arc<Catalog>>>;
/// The installed working-day calendar, shared the same way.
pub(crate) type SharedCalendar = Arc<RwLock<Arc<WorkCalendar>>>;

/// An unlocked tablet: the store, the officer and device it belongs to, and the injected clock and ids.
pub struct Session {
    store: Store,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdSource>,
    calendar: SharedCalendar,
    catalog: SharedCatalog,
    officer_id: String,
    device_id: String,
    // `true` once the session locks; dropped with the session. Syncers watch it and stop.
    locked: tokio::sync::watch::Sender<bool>,
    // The font agreements are printed in: looked for at the first finalize, in `font_paths` first
    // (the app's resources), then where beibao-print knows to look.
    font: Option<beibao_print::CjkFont>,
    font_paths: Vec<std::path::PathBuf>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("officer_id", &self.officer_id).field("device_id", &self.device_id).finish()
    }
}

/// The injected clock and id source.
#[derive(Clone)]
pub struct Env {
    /// Where "now" comes from.
    pub clock: Arc<dyn Clock>,
    /// Where record ids come from.
    pub ids: Arc<dyn IdSource>,
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Env(..)")
    }
}

/// What [`init`] made.
#[derive(Debug, Clone, Serialize)]
pub struct InitReport {
    /// The officer.
    pub officer_id: String,
    /// The new device id.
    pub device_id: String,
    /// Catalog version installed.
    pub catalog_version: String,
    /// What was seeded.
    pub seeded: SeedCounts,
}

/// Create an encrypted store for one officer, with the catalog and calendar this app carries. The
/// officer's villages, households and enterprises arrive by pull after enrollment (the server
/// checks the officer then).
pub fn init(
    path: &Path,
    pin: &str,
    officer_id: &str,
    kdf: KdfParams,
    entropy: &mut dyn Entropy,
    env: Env,
) -> Result<(Session, InitReport), FieldError> {
    let catalog =
        beibao_core::bundled::catalog().map_err(|e| StoreError::Corrupt(format!("the bundled catalog: {e}")))?;
    create(path, pin, officer_id, &catalog, None, kdf, entropy, env)
}

/// Create a store seeded from a fixtures directory's register (demos and tests: the product's
/// register comes from the server by pull). The officer must be in the register.
pub fn init_from_fixtures(
    path: &Path,
    pin: &str,
    officer_id: &str,
    fixtures: &Fixtures,
    kdf: KdfParams,
    entropy: &mut dyn Entropy,
    env: Env,
) -> Result<(Session, InitReport), FieldError> {
    if !fixtures.registry.officers.iter().any(|o| o.id == officer_id) {
        return Err(FieldError::not_found("officer", officer_id));
    }
    create(path, pin, officer_id, &fixtures.catalog, Some(&fixtures.registry), kdf, entropy, env)
}

#[allow(clippy::too_many_arguments)]
fn create(
    path: &Path,
    pin: &str,
    officer_id: &str,
    catalog: &Catalog,
    registry: Option<&beibao_core::registry::Registry>,
    kdf: KdfParams,
    entropy: &mut dyn Entropy,
    env: Env,
) -> Result<(Session, InitReport), FieldError> {
    let Env { clock, ids } = env;
    if officer_id.trim().is_empty() {
        return Err(FieldError::invalid(Code::Required, "officer", "the officer's id"));
    }
    let published = beibao_core::bundled::published_calendar()
        .map_err(|e| StoreError::Corrupt(format!("the bundled calendar: {e}")))?;
    let calendar = published.calendar();
    let mut store = Store::create(path, pin, kdf, entropy)?;
    let now = clock.now();
    let device_id = format!("dev-{}", ids.next_id());
    // The device's Ed25519 key is made here, on the tablet, and never leaves the encrypted store.
    let mut seed = [0u8; 32];
    entropy.fill(&mut seed);
    let seeded = store.write(|tx| {
        reg::set_meta(tx, "officer_id", officer_id)?;
        reg::set_meta(tx, "device_id", &device_id)?;
        reg::install_calendar(tx, &published)?;
        beibao_store::sync::set_device_key(tx, &seed)?;
        reg::install_catalog(tx, catalog, now)?;
        let seeded = match registry {
            Some(registry) => reg::seed_for_officer(tx, registry, officer_id)?,
            None => SeedCounts::default(),
        };
        audit(tx, now, officer_id, "init", Some(&device_id))?;
        Ok(seeded)
    })?;
    let report = InitReport {
        officer_id: officer_id.to_owned(),
        device_id: device_id.clone(),
        catalog_version: catalog.version.clone(),
        seeded,
    };
    let session = Session {
        store,
        clock,
        ids,
        calendar: Arc::new(RwLock::new(Arc::new(calendar))),
        catalog: Arc::new(RwLock::new(Arc::new(catalog.clone()))),
        officer_id: officer_id.to_owned(),
        device_id,
        locked: tokio::sync::watch::Sender::new(false),
        font: None,
        font_paths: Vec::new(),
    };
    Ok((session, report))
}

/// Unlock the store with the officer's PIN.
pub fn unlock(path: &Path, pin: &str, env: Env) -> Result<Session, FieldError> {
    let Env { clock, ids } = env;
    let mut store = Store::unlock(path, pin, clock.now())?;
    let meta = |key: &str| -> Result<String, FieldError> {
        reg::meta(store.conn(), key)?.ok_or_else(|| StoreError::Corrupt(format!("meta `{key}` missing")).into())
    };
    let officer_id = meta("officer_id")?;
    let device_id = meta("device_id")?;
    let catalog = reg::catalog(store.conn())?.ok_or_else(|| StoreError::Corrupt("no catalog installed".into()))?;
    // A store made before the calendar was kept in it works with the one this app carries.
    let calendar = match reg::calendar(store.conn())? {
        Some((calendar, _)) => calendar,
        None => {
            beibao_core::bundled::calendar().map_err(|e| StoreError::Corrupt(format!("the bundled calendar: {e}")))?
        }
    };
    let calendar = Arc::new(RwLock::new(Arc::new(calendar)));
    let now = clock.now();
    store.write(|tx| audit(tx, now, &officer_id, "unlock", None))?;
    let catalog = Arc::new(RwLock::new(Arc::new(catalog)));
    let locked = tokio::sync::watch::Sender::new(false);
    Ok(Session {
        store,
        clock,
        ids,
        calendar,
        catalog,
        officer_id,
        device_id,
        locked,
        font: None,
        font_paths: Vec::new(),
    })
}

/// Change the PIN: the database key is re-wrapped under the new PIN (the database itself is not
/// rewritten). The old PIN is checked like an unlock (wrong ones count towards the lockout).
pub fn change_pin(
    path: &Path,
    old_pin: &str,
    new_pin: &str,
    clock: &dyn Clock,
    entropy: &mut dyn Entropy,
) -> Result<(), FieldError> {
    if old_pin == new_pin {
        return Err(FieldError::invalid(Code::Invalid, "new_pin", "the new PIN is the same as the old one"));
    }
    Ok(Store::change_pin(path, old_pin, new_pin, clock.now(), entropy)?)
}

/// Special-group households are due a visit after this many days (issue 10: "not visited in 30 days").
pub const SPECIAL_GROUP_DAYS: u64 = 30;

/// What the Today screen shows.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Today {
    /// The officer.
    pub officer_id: String,
    /// Today in China.
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub date: NaiveDate,
    /// Assigned villages and enterprises.
    pub places: Vec<queries::AssignedPlace>,
    /// Special-group households not visited in [`SPECIAL_GROUP_DAYS`] days.
    pub special_due: Vec<HouseholdHit>,
    /// Visits today, deliveries, follow-ups, deadlines.
    pub items: Vec<DayItem>,
    /// What waits to be synced.
    pub pending: Pending,
}

/// One indicator with its value.
#[derive(Debug, Clone, Serialize)]
pub struct Total {
    /// The indicator.
    pub indicator: Indicator,
    /// Its value.
    pub value: IndicatorValue,
}

impl Session {
    /// Lock: stop every syncer of this session and close the store.
    pub fn lock(mut self) -> Result<(), FieldError> {
        self.locked.send_replace(true);
        let now = self.clock.now();
        let officer = self.officer_id.clone();
        self.store.write(|tx| audit(tx, now, &officer, "lock", None))?;
        Ok(self.store.lock()?)
    }

    /// The officer.
    pub fn officer_id(&self) -> &str {
        &self.officer_id
    }

    /// The device.
    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    /// The installed working-day calendar (the newest pulled, once a sync has installed one).
    pub fn calendar(&self) -> Arc<WorkCalendar> {
        self.calendar.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The installed catalog (the newest pulled, once a sync has installed one).
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The store (reads).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Today in China.
    pub fn today(&self) -> NaiveDate {
        china_date(self.clock.now())
    }

    /// Search households by name, ID tail or address.
    pub fn search(&self, query: &str, village: Option<&str>) -> Result<Vec<HouseholdHit>, FieldError> {
        // One Chinese character (a surname) is a useful search; one Latin letter or digit is not.
        let q = query.trim();
        if q.is_empty() || (q.chars().count() < 2 && q.is_ascii()) {
            return Err(FieldError::invalid(Code::QueryTooShort, "query", "type a name, 2+ characters or the ID tail"));
        }
        Ok(queries::search_households(self.store.conn(), query, village, 50)?)
    }

    /// Special-group households of the officer's villages not visited in `days` days.
    pub fn special_groups_due(&self, days: u64) -> Result<Vec<HouseholdHit>, FieldError> {
        Ok(queries::special_groups_not_visited(self.store.conn(), &self.officer_id, self.today(), days)?)
    }

    /// The Today screen in one read: the officer's villages and enterprises with days since the
    /// last visit, special-group households not visited in 30 days, the day's items, and what
    /// waits to be synced.
    pub fn today_screen(&self) -> Result<Today, FieldError> {
        Ok(Today {
            officer_id: self.officer_id.clone(),
            date: self.today(),
            places: queries::assigned_places(self.store.conn(), &self.officer_id, self.today())?,
            special_due: self.special_groups_due(SPECIAL_GROUP_DAYS)?,
            items: self.day()?,
            pending: self.pending()?,
        })
    }

    /// The officer's day.
    pub fn day(&self) -> Result<Vec<DayItem>, FieldError> {
        Ok(queries::officer_day(self.store.conn(), self.today(), &self.catalog(), &self.calendar())?)
    }

    /// Own totals for every indicator over China dates `[from, to]`.
    pub fn totals(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<Total>, FieldError> {
        if to < from {
            return Err(FieldError::invalid(Code::PeriodReversed, "to", "the period ends before it starts"));
        }
        let counts = queries::totals(self.store.conn(), &self.officer_id, from, to, &self.catalog(), &self.calendar())?;
        Ok(indicators::all()
            .into_iter()
            .map(|indicator| {
                let value = indicator.evaluate(&counts);
                Total { indicator, value }
            })
            .collect())
    }

    /// What waits to be synced.
    pub fn pending(&self) -> Result<Pending, FieldError> {
        Ok(outbox::pending_stats(self.store.conn())?)
    }

    /// Work under way (visits being filled in, mediations not yet finalized), newest first.
    pub fn drafts(&self) -> Result<Vec<DraftSummary>, FieldError> {
        Ok(beibao_store::drafts::list(self.store.conn())?)
    }

    /// Throw a draft away (a visit draft, or a mediation that was never finalized or ended).
    pub fn discard_draft(&mut self, id: uuid::Uuid) -> Result<(), FieldError> {
        let (now, officer) = (self.clock.now(), self.officer_id.clone());
        let found = self.store.write(|tx| {
            let found = beibao_store::drafts::discard(tx, id)?;
            if found {
                audit(tx, now, &officer, "draft_discard", Some(&id.to_string()))?;
            }
            Ok(found)
        })?;
        if found { Ok(()) } else { Err(FieldError::not_found("draft", id)) }
    }
}
