//! The services screens: the catalog as the app lists it (searched on the tablet), a fee quoted
//! for an applicant before accepting, and one request with its timeline and next steps.

use beibao_core::catalog::FeeQuote;
use beibao_core::catalog::{DayBasis, Days, Mode, Service, Waiver};
use beibao_core::registry::SpecialGroup;
use beibao_core::service_request::{RequestState, ServiceRequest, next_states};
use beibao_store::queries::{self, TimelineStep};
use beibao_store::records as rec;
use beibao_store::registry as reg;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{FieldError, Session};

/// Text in both languages, flat for the app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Words {
    /// zh-CN.
    pub zh: String,
    /// English.
    pub en: String,
}

impl From<&beibao_core::text::LocalText> for Words {
    fn from(t: &beibao_core::text::LocalText) -> Words {
        Words { zh: t.zh.clone(), en: t.en.clone() }
    }
}

/// One item of a service's materials checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MaterialLine {
    /// Code (what is ticked).
    pub code: String,
    /// What to bring.
    pub name: Words,
    /// Needed only in this case (e.g. "applicant under 16"); otherwise always.
    pub condition: Option<Words>,
}

/// One chargeable item of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FeeLine {
    /// Code.
    pub code: String,
    /// What is charged for.
    pub name: Words,
    /// The official fee in fen.
    pub fen: u32,
}

/// A processing time: days, calendar or working.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DaysLine {
    /// Number of days (0 = same day).
    pub days: u16,
    /// Working days (else calendar days).
    pub working: bool,
}

impl From<Days> for DaysLine {
    fn from(d: Days) -> DaysLine {
        DaysLine { days: d.days, working: d.basis == DayBasis::Working }
    }
}

/// A service as the app lists and shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ServiceCard {
    /// Code (`HZ01`…).
    pub code: String,
    /// Category code: `HZ`, `CRJ`, `JG`, `ZA`, `WA`.
    pub category: String,
    /// Name.
    pub name: Words,
    /// Allowed modes, the usual one first.
    pub modes: Vec<Mode>,
    /// Materials checklist.
    pub materials: Vec<MaterialLine>,
    /// Chargeable items (none: free).
    pub fees: Vec<FeeLine>,
    /// Reductions by special group.
    pub waivers: Vec<Waiver>,
    /// A remark on the fee.
    pub fee_note: Option<Words>,
    /// Typical processing time.
    pub typical: DaysLine,
    /// Statutory time limit, where the law sets one.
    pub statutory: Option<DaysLine>,
    /// Photo and fingerprints need the capture device.
    pub needs_biometrics: bool,
    /// Door delivery (送证上门) is usual for special groups.
    pub door_delivery_ok: bool,
    /// A remark on the service.
    pub note: Option<Words>,
}

impl From<&Service> for ServiceCard {
    fn from(s: &Service) -> ServiceCard {
        ServiceCard {
            code: s.code.clone(),
            category: s.category.code().to_owned(),
            name: (&s.name).into(),
            modes: s.modes.clone(),
            materials: s
                .materials
                .iter()
                .map(|m| MaterialLine {
                    code: m.code.clone(),
                    name: (&m.name).into(),
                    condition: m.condition.as_ref().map(Words::from),
                })
                .collect(),
            fees: s
                .fee
                .options
                .iter()
                .map(|o| FeeLine { code: o.code.clone(), name: (&o.name).into(), fen: o.fen })
                .collect(),
            waivers: s.fee.waivers.clone(),
            fee_note: s.fee.note.as_ref().map(Words::from),
            typical: s.typical.into(),
            statutory: s.statutory.map(DaysLine::from),
            needs_biometrics: s.needs_biometrics,
            door_delivery_ok: s.door_delivery_ok,
            note: s.note.as_ref().map(Words::from),
        }
    }
}

/// What the app asks to quote a fee before accepting.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct QuoteInput {
    /// Service code.
    pub service: String,
    /// The applicant's household, when in the register.
    pub household: Option<String>,
    /// The applicant (a person id of the register, or a name).
    pub applicant: String,
    /// Fee item, for services with several.
    pub fee_option: Option<String>,
}

/// One service request as its screen shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RequestScreen {
    /// The request.
    pub request: ServiceRequest,
    /// The service's name.
    pub name: Words,
    /// The applicant's name (the register's, or as given).
    pub applicant_name: String,
    /// The household's address, when in the register.
    pub address: Option<String>,
    /// 送证上门: the household has an elderly-alone, disabled or bed-bound member, so the
    /// document is taken to the door.
    pub door_delivery: bool,
    /// Acceptance, each step and each desk move, in time order.
    pub timeline: Vec<TimelineStep>,
    /// The steps the officer may take now (delivery needs the recipient's signature).
    pub next: Vec<RequestState>,
    /// When the typical processing time runs out (China date), for a request still open.
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub due: Option<NaiveDate>,
    /// Working days from today to `due` (negative once overdue).
    pub working_days_left: Option<i64>,
}

/// Groups whose households get the document taken to the door (送证上门).
fn needs_door_delivery(g: SpecialGroup) -> bool {
    matches!(g, SpecialGroup::ElderlyAlone | SpecialGroup::Disabled | SpecialGroup::Bedridden)
}

impl Session {
    /// The catalog's services, in catalog order (the app searches them on the tablet).
    pub fn services(&self) -> Vec<ServiceCard> {
        self.catalog().services.iter().map(ServiceCard::from).collect()
    }

    /// The fee an applicant pays for a service, with the waiver their household's special groups
    /// (or their own) earn.
    pub fn quote(&self, input: &QuoteInput) -> Result<FeeQuote, FieldError> {
        let catalog = self.catalog();
        let service =
            catalog.service(&input.service).ok_or_else(|| FieldError::not_found("service", &input.service))?;
        if let Some(h) = &input.household {
            self.household_assigned(h)?;
        }
        let groups = self.applicant_groups(input.household.as_deref(), &input.applicant)?;
        service
            .quote(input.fee_option.as_deref(), &groups)
            .map_err(|e| FieldError::invalid(e.code(), "fee_option", e.to_string()))
    }

    /// A request: what, for whom, its timeline (with desk moves pulled), its next steps.
    pub fn request_screen(&self, id: Uuid) -> Result<RequestScreen, FieldError> {
        let conn = self.store.conn();
        let request = rec::request(conn, id)?.ok_or_else(|| FieldError::not_found("service request", id))?;
        let catalog = self.catalog();
        let service = catalog.service(&request.service);
        let household = match &request.household {
            Some(h) => reg::household(conn, h)?,
            None => None,
        };
        let applicant_name = household
            .as_ref()
            .and_then(|h| h.members.iter().find(|m| m.id == request.applicant))
            .map_or_else(|| request.applicant.clone(), |m| m.name.clone());
        let door_delivery = household.as_ref().is_some_and(|h| h.groups().into_iter().any(needs_door_delivery));
        let timeline = queries::request_timeline(conn, &request)?;
        let next = next_states(request.mode, request.state);
        let today = self.today();
        let due = service
            .filter(|_| !request.state.is_terminal())
            .map(|s| s.typical.due_from(beibao_core::calendar::china_date(request.accepted_at), &self.calendar()));
        let working_days_left = due.map(|d| queries::working_days_left(&self.calendar(), today, d));
        Ok(RequestScreen {
            name: service.map_or_else(
                || Words { zh: request.service.clone(), en: request.service.clone() },
                |s| (&s.name).into(),
            ),
            applicant_name,
            address: household.map(|h| h.address),
            door_delivery,
            timeline,
            next,
            due,
            working_days_left,
            request,
        })
    }
}
