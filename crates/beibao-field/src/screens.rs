//! What the app's village and household screens show, read in one call each, and the unmasking of
//! a person's ID number or phone (recorded in the tablet's access log).

use beibao_core::activity::{
    ClueCategory, ClueReport, Hazard, HazardKind, InfoCategory, PublicitySession, PublicityTopic, RegistryProposal,
};
use beibao_core::code::Code;
use beibao_core::identity::{IdNumber, mask_id_number, mask_mobile};
use beibao_core::indicators::IndicatorValue;
use beibao_core::registry::{Person, Relation, SpecialGroup};
use beibao_core::service_request::RequestState;
use beibao_core::visit::{ProofPolicy, ProofVerdict, Visit, VisitOutcome, VisitPurpose, proof_of_visit};
use beibao_store::queries::{self, MapHousehold, MediationLine};
use beibao_store::records::{AuditEntry, audit};
use beibao_store::registry as reg;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{FieldError, Session, VisitDraft};

/// How many visits and services a household screen lists.
const HISTORY: usize = 50;

/// The village screen: its boundary for the offline map and every household with its last visit.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VillageScreen {
    /// Village code.
    pub code: String,
    /// Name (zh-CN).
    pub name_zh: String,
    /// Name (English).
    pub name_en: String,
    /// The boundary's outer ring, `[lon, lat]` pairs (WGS-84).
    pub boundary: Vec<[f64; 2]>,
    /// The village centre, `[lon, lat]`.
    pub centroid: [f64; 2],
    /// Households by id.
    pub households: Vec<MapHousehold>,
}

/// A member as the household screen shows them: ID number and phone masked.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MemberView {
    /// Person id (to unmask).
    pub id: String,
    /// Name.
    pub name: String,
    /// Relation to the head (`head`, `spouse`, `child`, `parent`, `grandchild`, `other`).
    pub relation: String,
    /// ID number masked (first 6 and last 4 kept).
    pub id_masked: String,
    /// Age today, when the ID number reads.
    pub age: Option<u32>,
    /// Mobile masked (first 3 and last 4 kept), if any.
    pub phone_masked: Option<String>,
    /// Special groups.
    pub groups: Vec<SpecialGroup>,
}

/// One past visit.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VisitLine {
    /// Visit id.
    pub id: Uuid,
    /// Start.
    pub started_at: DateTime<Utc>,
    /// Outcome.
    pub outcome: VisitOutcome,
    /// Purposes.
    pub purposes: Vec<VisitPurpose>,
    /// Proof-of-visit verdict.
    pub verdict: ProofVerdict,
}

/// One service request of the household.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ServiceLine {
    /// Request id.
    pub id: Uuid,
    /// Service code.
    pub service: String,
    /// Service name (zh-CN).
    pub name_zh: String,
    /// Service name (English).
    pub name_en: String,
    /// Current state.
    pub state: RequestState,
    /// When it was accepted.
    pub accepted_at: DateTime<Utc>,
}

impl From<beibao_core::ops::StoredVisit> for VisitLine {
    fn from(s: beibao_core::ops::StoredVisit) -> VisitLine {
        VisitLine {
            id: s.visit.id,
            started_at: s.visit.started_at,
            outcome: s.visit.outcome,
            purposes: s.visit.purposes,
            verdict: s.verdict,
        }
    }
}

/// The household screen.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HouseholdScreen {
    /// Household id.
    pub id: String,
    /// Village code.
    pub village: String,
    /// Village name (zh-CN).
    pub village_zh: String,
    /// Village name (English).
    pub village_en: String,
    /// Address.
    pub address: String,
    /// The members' special groups.
    pub groups: Vec<SpecialGroup>,
    /// Members, the head first.
    pub members: Vec<MemberView>,
    /// Visits, newest first (at most 50).
    pub visits: Vec<VisitLine>,
    /// Service requests, newest first (at most 50).
    pub services: Vec<ServiceLine>,
    /// Mediations with a member among the parties, newest first (at most 50).
    pub mediations: Vec<MediationLine>,
}

/// The enterprise screen: what it is, where, and its visits.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EnterpriseScreen {
    /// Enterprise code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Industry (zh-CN).
    pub industry_zh: String,
    /// Industry (English).
    pub industry_en: String,
    /// Why it is a key enterprise (zh-CN).
    pub reason_zh: String,
    /// Why it is a key enterprise (English).
    pub reason_en: String,
    /// Address.
    pub address: String,
    /// Contact phone, masked (first 3 and last 4 kept).
    pub phone_masked: String,
    /// Its village's code.
    pub village: String,
    /// Village name (zh-CN).
    pub village_zh: String,
    /// Village name (English).
    pub village_en: String,
    /// The village boundary's outer ring, `[lon, lat]` pairs (a visit's map).
    pub boundary: Vec<[f64; 2]>,
    /// Where it is, `[lon, lat]`.
    pub location: [f64; 2],
    /// Whole China days since the last visit, if any.
    pub days_since_visit: Option<i64>,
    /// Visits, newest first (at most 50).
    pub visits: Vec<VisitLine>,
}

/// What to unmask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Reveal {
    /// The citizen ID number.
    IdNumber,
    /// The mobile phone.
    Phone,
}

impl Reveal {
    fn action(self) -> &'static str {
        match self {
            Reveal::IdNumber => "unmask_id_number",
            Reveal::Phone => "unmask_phone",
        }
    }
}

impl Session {
    /// The household must be in one of the officer's villages (a service accepted for it).
    pub(crate) fn household_assigned(&self, household: &str) -> Result<(), FieldError> {
        let h = reg::household(self.store.conn(), household)?
            .ok_or_else(|| FieldError::not_found("household", household))?;
        self.assigned(&h.village)
    }

    /// The village must be one of the officer's (a household screen, an unmasking).
    pub(crate) fn assigned(&self, village: &str) -> Result<(), FieldError> {
        if queries::assigned_village(self.store.conn(), &self.officer_id, village)? {
            Ok(())
        } else {
            Err(FieldError::invalid(Code::NotAssigned, "village", "this village is not assigned to you"))
        }
    }

    /// The village screen of one of the officer's villages: every household, or only `only`
    /// (a visit's map: the boundary and the one house).
    pub fn village_screen(&self, code: &str, only: Option<&str>) -> Result<VillageScreen, FieldError> {
        let conn = self.store.conn();
        let village = reg::village(conn, code)?.ok_or_else(|| FieldError::not_found("village", code))?;
        self.assigned(code)?;
        Ok(VillageScreen {
            code: village.code,
            name_zh: village.name.zh,
            name_en: village.name.en,
            boundary: village.geometry.exterior().coords().map(|c| [c.x, c.y]).collect(),
            centroid: [village.centroid.lon, village.centroid.lat],
            households: queries::village_households(conn, code, only, self.today())?,
        })
    }

    /// The household screen: members masked, special groups, visits and services.
    pub fn household_screen(&self, id: &str) -> Result<HouseholdScreen, FieldError> {
        let conn = self.store.conn();
        let h = reg::household(conn, id)?.ok_or_else(|| FieldError::not_found("household", id))?;
        self.assigned(&h.village)?;
        let village = reg::village(conn, &h.village)?.ok_or_else(|| FieldError::not_found("village", &h.village))?;
        let today = self.today();
        let groups = h.groups().into_iter().collect();
        let mut people: Vec<&Person> = h.members.iter().collect();
        people.sort_by_key(|m| m.relation != Relation::Head);
        let members: Vec<MemberView> = people
            .into_iter()
            .map(|m| MemberView {
                id: m.id.clone(),
                name: m.name.clone(),
                relation: serde_json::to_value(m.relation)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                id_masked: mask_id_number(&m.id_number),
                age: IdNumber::parse(&m.id_number, today).ok().map(|n| n.age_on(today)),
                phone_masked: m.phone.as_deref().map(mask_mobile),
                groups: m.groups.clone(),
            })
            .collect();
        let visits = queries::household_visits(conn, id, HISTORY)?.into_iter().map(VisitLine::from).collect();
        let id_numbers: Vec<&str> = h.members.iter().map(|m| m.id_number.as_str()).collect();
        let mediations = queries::mediations_of(conn, &h.village, &id_numbers, HISTORY)?;
        let catalog = self.catalog();
        let services = queries::household_requests(conn, id, HISTORY)?
            .into_iter()
            .map(|r| {
                let name = catalog.service(&r.service).map(|s| s.name.clone());
                ServiceLine {
                    id: r.id,
                    name_zh: name.as_ref().map_or_else(|| r.service.clone(), |n| n.zh.clone()),
                    name_en: name.map_or_else(|| r.service.clone(), |n| n.en),
                    service: r.service,
                    state: r.state,
                    accepted_at: r.accepted_at,
                }
            })
            .collect();
        Ok(HouseholdScreen {
            id: h.id,
            village: h.village,
            village_zh: village.name.zh,
            village_en: village.name.en,
            address: h.address,
            groups,
            members,
            visits,
            services,
            mediations,
        })
    }

    /// The enterprise screen of one of the officer's enterprises.
    pub fn enterprise_screen(&self, code: &str) -> Result<EnterpriseScreen, FieldError> {
        let conn = self.store.conn();
        if !queries::assigned_enterprise(conn, &self.officer_id, code)? {
            return Err(FieldError::invalid(Code::NotAssigned, "enterprise", "this enterprise is not assigned to you"));
        }
        let e = reg::enterprise(conn, code)?.ok_or_else(|| FieldError::not_found("enterprise", code))?;
        let village = reg::village(conn, &e.village)?.ok_or_else(|| FieldError::not_found("village", &e.village))?;
        let visits: Vec<VisitLine> =
            queries::enterprise_visits(conn, code, HISTORY)?.into_iter().map(VisitLine::from).collect();
        let today = self.today();
        let days_since_visit =
            visits.first().map(|v| (today - beibao_core::calendar::china_date(v.started_at)).num_days());
        Ok(EnterpriseScreen {
            code: e.code,
            name: e.name,
            industry_zh: e.industry.zh,
            industry_en: e.industry.en,
            reason_zh: e.reason.zh,
            reason_en: e.reason.en,
            address: e.address,
            phone_masked: mask_mobile(&e.phone),
            village: village.code,
            village_zh: village.name.zh,
            village_en: village.name.en,
            boundary: village.geometry.exterior().coords().map(|c| [c.x, c.y]).collect(),
            location: [e.location.lon, e.location.lat],
            days_since_visit,
            visits,
        })
    }

    /// A member's full ID number or phone, for the officer the village is assigned to. Every
    /// unmasking is written to the tablet's access log (who, when, whose, which field).
    pub fn reveal(&mut self, household: &str, person: &str, what: Reveal) -> Result<String, FieldError> {
        let h = reg::household(self.store.conn(), household)?
            .ok_or_else(|| FieldError::not_found("household", household))?;
        self.assigned(&h.village)?;
        let member =
            h.members.into_iter().find(|m| m.id == person).ok_or_else(|| FieldError::not_found("person", person))?;
        let value = match what {
            Reveal::IdNumber => member.id_number,
            Reveal::Phone => member.phone.ok_or_else(|| FieldError::not_found("phone of", person))?,
        };
        let (now, officer) = (self.clock.now(), self.officer_id.clone());
        self.store.write(|tx| audit(tx, now, &officer, what.action(), Some(person)))?;
        Ok(value)
    }

    /// The tablet's access log: who saw which person's full ID number or phone, and when, newest
    /// first (the officer, or an inspector handed the tablet, reads it in Settings).
    pub fn access_log(&self, limit: usize) -> Result<Vec<AuditEntry>, FieldError> {
        self.audit_log(Some("unmask_*"), limit)
    }

    /// The newest lines of the tablet's audit log (only the actions matching the GLOB pattern
    /// `action` when given), newest first.
    pub fn audit_log(&self, action: Option<&str>, limit: usize) -> Result<Vec<AuditEntry>, FieldError> {
        Ok(beibao_store::records::audit_entries(self.store.conn(), action, limit)?)
    }

    /// The proof-of-visit verdict a draft would get if it were saved now (shown before saving).
    pub fn visit_verdict(&self, draft: &VisitDraft) -> Result<ProofVerdict, FieldError> {
        let (village, home, _) = self.place_of(&draft.target)?;
        let visit = Visit {
            id: draft.id,
            device_id: self.device_id.clone(),
            officer_id: self.officer_id.clone(),
            village: village.code.clone(),
            target: draft.target.clone(),
            purposes: draft.purposes.clone(),
            outcome: draft.outcome.unwrap_or(VisitOutcome::Met),
            persons_met: draft.persons_met.unwrap_or(0),
            started_at: draft.started_at,
            ended_at: self.clock.now().max(draft.started_at),
            fix: draft.fix,
            pin: draft.pin.clone(),
            note: String::new(),
        };
        Ok(proof_of_visit(&visit, &village.geometry, home, &ProofPolicy::default()))
    }
}

/// One indicator's value for a period, with its name and unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TotalLine {
    /// Indicator code (REFERENCE §5).
    pub code: String,
    /// Name (zh-CN).
    pub name_zh: String,
    /// Name (English).
    pub name_en: String,
    /// Unit (zh-CN).
    pub unit_zh: String,
    /// Unit (English).
    pub unit_en: String,
    /// The value.
    pub value: IndicatorValue,
}

/// The officer's own indicators for today, this week (from Monday) and this month, China dates.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TotalsScreen {
    /// Today.
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub today: NaiveDate,
    /// Today's values.
    pub day: Vec<TotalLine>,
    /// Monday to today.
    pub week: Vec<TotalLine>,
    /// The 1st to today.
    pub month: Vec<TotalLine>,
}

/// A safety-publicity session as the officer enters it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct PublicityInput {
    /// One of the officer's villages.
    pub village: String,
    /// Topic.
    pub topic: PublicityTopic,
    /// People who attended.
    pub attendees: u32,
    /// Leaflets handed out.
    pub leaflets: u32,
    /// Note.
    #[serde(default)]
    pub note: String,
}

/// A hazard as the officer enters it on the spot.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct HazardInput {
    /// One of the officer's villages.
    pub village: String,
    /// Kind.
    pub kind: HazardKind,
    /// Where (a household address, a shop…).
    pub place: String,
    /// What is wrong.
    pub description: String,
    /// Fix by (China date), if one was set.
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub deadline: Option<NaiveDate>,
}

/// A 一标三实 correction or addition, proposed at the door for the station to review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ProposalInput {
    /// One of the officer's villages.
    pub village: String,
    /// Address, resident, house or unit.
    pub category: InfoCategory,
    /// The household it concerns, if any (of that village).
    #[serde(default)]
    pub household: Option<String>,
    /// Whom or what it is about.
    pub subject: String,
    /// What the registry should say.
    pub proposed: String,
    /// Note.
    #[serde(default)]
    pub note: String,
}

/// A clue reported from one of the officer's villages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ClueInput {
    /// One of the officer's villages.
    pub village: String,
    /// What it is about.
    pub category: ClueCategory,
    /// What was learnt.
    pub summary: String,
    /// Where.
    #[serde(default)]
    pub place: String,
}

impl Session {
    fn total_lines(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<TotalLine>, FieldError> {
        Ok(self
            .totals(from, to)?
            .into_iter()
            .map(|t| TotalLine {
                code: t.indicator.code.to_owned(),
                name_zh: t.indicator.name.zh,
                name_en: t.indicator.name.en,
                unit_zh: t.indicator.unit.zh,
                unit_en: t.indicator.unit.en,
                value: t.value,
            })
            .collect())
    }

    /// The Totals screen: own indicators for today, this week and this month.
    pub fn totals_screen(&self) -> Result<TotalsScreen, FieldError> {
        let today = self.today();
        let monday = today - chrono::Days::new(u64::from(today.weekday().num_days_from_monday()));
        let first = today.with_day(1).unwrap_or(today);
        Ok(TotalsScreen {
            today,
            day: self.total_lines(today, today)?,
            week: self.total_lines(monday, today)?,
            month: self.total_lines(first, today)?,
        })
    }

    /// Log a publicity session held now in one of the officer's villages.
    pub fn log_publicity(&mut self, input: PublicityInput) -> Result<PublicitySession, FieldError> {
        self.assigned(&input.village)?;
        self.record_publicity(PublicitySession {
            id: Uuid::nil(),
            device_id: String::new(),
            officer_id: String::new(),
            village: input.village,
            topic: input.topic,
            held_at: self.clock.now(),
            attendees: input.attendees,
            leaflets: input.leaflets,
            note: input.note,
        })
    }

    /// Propose a 一标三实 correction (the station reviews it before the registry changes).
    pub fn propose_correction(&mut self, input: ProposalInput) -> Result<RegistryProposal, FieldError> {
        self.assigned(&input.village)?;
        if let Some(h) = &input.household {
            let household =
                reg::household(self.store.conn(), h)?.ok_or_else(|| FieldError::not_found("household", h))?;
            if household.village != input.village {
                return Err(FieldError::invalid(Code::Invalid, "household", "the household is in another village"));
            }
        }
        let p = RegistryProposal {
            id: self.ids.next_id(),
            device_id: self.device_id.clone(),
            officer_id: self.officer_id.clone(),
            village: input.village,
            category: input.category,
            household: input.household,
            subject: input.subject.trim().to_owned(),
            proposed: input.proposed.trim().to_owned(),
            note: input.note.trim().to_owned(),
            proposed_at: self.clock.now(),
        };
        p.validate()?;
        let (op, now) = (self.ids.next_id(), self.clock.now());
        self.store.write(|tx| beibao_store::records::insert_registry_proposal(tx, &p, op, now))?;
        Ok(p)
    }

    /// Report a clue (线索上报).
    pub fn report_clue(&mut self, input: ClueInput) -> Result<ClueReport, FieldError> {
        self.assigned(&input.village)?;
        let c = ClueReport {
            id: self.ids.next_id(),
            device_id: self.device_id.clone(),
            officer_id: self.officer_id.clone(),
            village: input.village,
            category: input.category,
            summary: input.summary.trim().to_owned(),
            place: input.place.trim().to_owned(),
            reported_at: self.clock.now(),
        };
        c.validate()?;
        let (op, now) = (self.ids.next_id(), self.clock.now());
        self.store.write(|tx| beibao_store::records::insert_clue_report(tx, &c, op, now))?;
        Ok(c)
    }

    /// Log a hazard found now in one of the officer's villages.
    pub fn log_hazard(&mut self, input: HazardInput) -> Result<Hazard, FieldError> {
        self.assigned(&input.village)?;
        self.record_hazard(Hazard {
            id: Uuid::nil(),
            device_id: String::new(),
            officer_id: String::new(),
            village: input.village,
            kind: input.kind,
            place: input.place,
            description: input.description,
            found_at: self.clock.now(),
            deadline: input.deadline,
            fixed_at: None,
        })
    }
}
