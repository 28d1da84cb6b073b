//! Mediation on the spot: open (with the eligibility check), fill in, sign, finalize.

use beibao_core::calendar::china_date;
use beibao_core::code::Code;
use beibao_core::identity::IdNumber;
use beibao_core::mediation::agreement::{
    Agreement, AgreementForm, AgreementGps, GuardianRule, Incident, Mark, Mediator, Party, Performance,
    SignatureCapture, Signer, StrokePoint, guardian_rule,
};
use beibao_core::mediation::deadlines::for_case;
use beibao_core::mediation::eligibility::{Eligibility, EligibilityInput, check};
use beibao_core::mediation::{MediationKind, Outcome};
use beibao_print::AgreementDocument;
use beibao_store::StoreError;
use beibao_store::records::{
    self as rec, CaseStatus, CourtRuling, Followup, JudicialConfirmation, MediationCase, Recurrence, RecurrenceKind,
};
use beibao_store::registry as reg;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{FieldError, Session};

/// Whether 司法确认 applies: a finalized written 人民调解 agreement (it has a window to apply in).
fn confirmable(case: &MediationCase) -> bool {
    for_case(case).is_some_and(|d| d.judicial_confirmation.is_some())
}

/// One change to a draft agreement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "edit", rename_all = "snake_case")]
pub enum MediationEdit {
    /// Add a party (ID validated; a minor needs a guardian).
    AddParty {
        /// The party.
        party: Party,
    },
    /// Remove the party at this position (with their responsibility line, if any).
    RemoveParty {
        /// Position in the party list.
        index: usize,
    },
    /// Facts, matters in dispute, each party's responsibility.
    Facts {
        /// Main facts.
        facts: String,
        /// Matters in dispute.
        issues: String,
        /// One per party.
        responsibilities: Vec<String>,
    },
    /// The incident (治安调解).
    Incident {
        /// The incident.
        incident: Incident,
    },
    /// Agreed terms.
    Terms {
        /// Terms.
        terms: Vec<String>,
    },
    /// Performance method, place and deadline.
    Performance {
        /// Performance.
        performance: Performance,
    },
    /// Mediators.
    Mediators {
        /// Mediators.
        mediators: Vec<Mediator>,
    },
    /// Witnesses and others present.
    Witnesses {
        /// Names.
        witnesses: Vec<String>,
    },
    /// Place and GPS.
    Place {
        /// Place description.
        place: String,
        /// Position.
        gps: Option<AgreementGps>,
    },
    /// Written or oral.
    Form {
        /// Form.
        form: AgreementForm,
    },
    /// The parties were told of their rights (Art.30).
    RightsNotified,
    /// The mediating authority.
    Authority {
        /// Name.
        authority: String,
    },
}

/// What the officer gives to open a mediation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OpenMediation {
    /// 人民调解 or 治安调解.
    pub kind: MediationKind,
    /// Village code where the dispute is.
    pub village: String,
    /// The answers of the eligibility check.
    pub eligibility: EligibilityInput,
    /// The day the case was accepted.
    pub accepted_on: NaiveDate,
}

/// One signature or thumbprint captured on the pad: the strokes as drawn and the PNG.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SignatureInput {
    /// Who signs.
    pub signer: Signer,
    /// Signature or thumbprint.
    pub mark: Mark,
    /// The strokes (a signature has at least one, none empty).
    pub strokes: Vec<Vec<StrokePoint>>,
    /// The image.
    pub png: Vec<u8>,
}

/// What an ID number typed on the tablet says (GB 11643), for the form to show as it is typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct IdCheck {
    /// The number as stored (upper-case X).
    pub number: String,
    /// Date of birth.
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub birth: NaiveDate,
    /// Age today.
    pub age: u32,
    /// Under 16: a parent or guardian must attend; 16–17: unless self-supporting.
    pub guardian: GuardianNeed,
}

/// Whether a party needs a guardian at the mediation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum GuardianNeed {
    /// Under 16.
    Required,
    /// 16 or 17: unless they live on their own income.
    UnlessSelfSupporting,
    /// An adult.
    No,
}

/// One signature the agreement needs, and whether it is there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SignerLine {
    /// Who.
    pub signer: Signer,
    /// Their name.
    pub name: String,
    /// Signed (or thumbprinted) on the current text.
    pub signed: bool,
}

/// A mediation as its screen shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MediationScreen {
    /// The case.
    pub case: MediationCase,
    /// Village name (zh-CN).
    pub village_zh: String,
    /// What is still missing or wrong before it can be finalized (a draft), else empty.
    pub issues: Vec<beibao_core::mediation::agreement::FieldIssue>,
    /// Every signature the written agreement needs, in order: each party (and their guardian),
    /// then each mediator.
    pub signers: Vec<SignerLine>,
    /// The performance follow-up (履行回访) of a finalized agreement, once recorded.
    pub followup: Option<Followup>,
    /// For a finalized written 人民调解 agreement: the last day the parties may apply for 司法确认
    /// (30 days from the agreement taking effect, taken as the day it was concluded).
    pub judicial_last_day: Option<NaiveDate>,
    /// The 司法确认 application (and ruling), once recorded.
    pub judicial: Option<JudicialConfirmation>,
    /// Recurrences (反弹, 民转刑) of a finalized case, oldest first.
    pub recurrences: Vec<Recurrence>,
    /// The tablet's day (the forms' default dates, and their upper bound).
    pub today: NaiveDate,
    /// Copies the agreement is printed in (N+1 written, 1 oral).
    pub copies: usize,
}

/// The parties' joint 司法确认 application, or the court's ruling on it (the same record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct JudicialInput {
    /// The mediation.
    pub mediation: Uuid,
    /// The day the parties applied.
    pub applied_on: NaiveDate,
    /// The court.
    pub court: String,
    /// The ruling, once known.
    #[serde(default)]
    pub ruling: Option<CourtRuling>,
    /// The day of the ruling.
    #[serde(default)]
    pub ruled_on: Option<NaiveDate>,
    /// Note.
    #[serde(default)]
    pub note: String,
}

/// A mediated dispute that came back (反弹) or turned criminal (民转刑).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct RecurrenceInput {
    /// The original mediation.
    pub mediation: Uuid,
    /// Rebound or civil-to-criminal.
    pub kind: RecurrenceKind,
    /// When it happened.
    pub occurred_on: NaiveDate,
    /// What happened.
    pub note: String,
}

/// Check an ID number as typed: the failing rule's code, or what it says.
pub fn check_id_number(raw: &str, today: NaiveDate) -> Result<IdCheck, FieldError> {
    let id = IdNumber::parse(raw, today).map_err(|e| FieldError::invalid(e.code(), "id_number", e.to_string()))?;
    let guardian = match guardian_rule(&id, today) {
        GuardianRule::Required => GuardianNeed::Required,
        GuardianRule::RequiredUnlessSelfSupporting => GuardianNeed::UnlessSelfSupporting,
        GuardianRule::NotRequired => GuardianNeed::No,
    };
    Ok(IdCheck { number: id.as_str().to_owned(), birth: id.birth_date(), age: id.age_on(today), guardian })
}

impl Session {
    /// A mediation with what it still lacks and who has signed.
    pub fn mediation_screen(&self, id: Uuid) -> Result<MediationScreen, FieldError> {
        let case = self.mediation(id)?;
        let village = reg::village(self.store.conn(), &case.village)?;
        let a = &case.agreement;
        let signed = |who: Signer| a.signatures.iter().any(|s| s.signer == who);
        let mut signers = Vec::new();
        for (i, p) in a.parties.iter().enumerate() {
            signers.push(SignerLine {
                signer: Signer::Party(i),
                name: p.name.clone(),
                signed: signed(Signer::Party(i)),
            });
            if let Some(g) = &p.guardian {
                let who = Signer::Guardian(i);
                signers.push(SignerLine { signer: who, name: g.name.clone(), signed: signed(who) });
            }
        }
        for (i, m) in a.mediators.iter().enumerate() {
            let who = Signer::Mediator(i);
            signers.push(SignerLine { signer: who, name: m.name.clone(), signed: signed(who) });
        }
        let issues = if case.status == CaseStatus::Draft { a.issues() } else { vec![] };
        // What follows an agreement exists only for a finalized case: a draft's screen (returned
        // after every edit and signature) reads none of it.
        let finalized = case.status == CaseStatus::Finalized;
        let (followup, judicial, recurrences) = if finalized {
            let conn = self.store.conn();
            (rec::followup(conn, id)?, rec::judicial_confirmation(conn, id)?, rec::recurrences(conn, id)?)
        } else {
            (None, None, Vec::new())
        };
        let judicial_last_day = for_case(&case).and_then(|d| d.judicial_confirmation);
        Ok(MediationScreen {
            village_zh: village.map(|v| v.name.zh).unwrap_or_default(),
            issues,
            signers,
            followup,
            judicial_last_day,
            judicial,
            recurrences,
            today: self.today(),
            copies: a.copies(),
            case,
        })
    }

    /// Open a mediation: refused with every reason when the dispute may not be mediated. The case
    /// is a draft on the tablet until it is finalized or ended.
    pub fn open_mediation(&mut self, input: OpenMediation) -> Result<MediationCase, FieldError> {
        let OpenMediation { kind, village, eligibility, accepted_on } = input;
        let village = village.as_str();
        if eligibility.kind != kind {
            return Err(FieldError::invalid(
                Code::KindMismatch,
                "eligibility.kind",
                "the check is for another template",
            ));
        }
        if let Eligibility::Blocked(reasons) = check(&eligibility) {
            return Err(FieldError::MediationBlocked(reasons));
        }
        let v = reg::village(self.store.conn(), village)?.ok_or_else(|| FieldError::not_found("village", village))?;
        self.assigned(village)?;
        let now = self.clock.now();
        let case = MediationCase {
            id: self.ids.next_id(),
            device_id: self.device_id.clone(),
            officer_id: self.officer_id.clone(),
            kind,
            village: v.code.clone(),
            accepted_on,
            opened_at: now,
            eligibility,
            status: CaseStatus::Draft,
            outcome: None,
            agreement: Agreement::blank(kind, &v.code, &v.name.zh, now),
            content_hash: None,
            finalized_at: None,
            device_signature: None,
            document: None,
        };
        let officer = self.officer_id.clone();
        self.store.write(|tx| {
            rec::save_draft(tx, &case)?;
            rec::audit(tx, now, &officer, "mediation_open", Some(&case.id.to_string()))
        })?;
        Ok(case)
    }

    /// A mediation (draft, finalized or ended).
    pub fn mediation(&self, id: Uuid) -> Result<MediationCase, FieldError> {
        rec::mediation(self.store.conn(), id)?.ok_or_else(|| FieldError::not_found("mediation", id))
    }

    fn draft(&self, id: Uuid) -> Result<MediationCase, FieldError> {
        let case = rec::mediation(self.store.conn(), id)?.ok_or_else(|| FieldError::not_found("mediation", id))?;
        if case.status != CaseStatus::Draft {
            return Err(beibao_store::StoreError::ReadOnly(format!("mediation {id}")).into());
        }
        Ok(case)
    }

    /// Apply one edit to a draft agreement.
    pub fn edit_mediation(&mut self, id: Uuid, edit: MediationEdit) -> Result<MediationCase, FieldError> {
        let mut case = self.draft(id)?;
        let a = &mut case.agreement;
        match edit {
            MediationEdit::AddParty { party } => {
                let on = self.today();
                let parsed = IdNumber::parse(&party.id_number, on)
                    .map_err(|e| FieldError::invalid(e.code(), "party.id_number", e.to_string()))?;
                let needs_guardian = match guardian_rule(&parsed, on) {
                    GuardianRule::Required => true,
                    GuardianRule::RequiredUnlessSelfSupporting => !party.self_supporting,
                    GuardianRule::NotRequired => false,
                };
                if needs_guardian && party.guardian.is_none() {
                    return Err(FieldError::invalid(
                        Code::GuardianRequired,
                        "party.guardian",
                        format!("the party is {}: a parent or guardian must attend", parsed.age_on(on)),
                    ));
                }
                let mut party = party;
                party.id_number = parsed.as_str().to_owned();
                a.parties.push(party);
            }
            MediationEdit::RemoveParty { index } => {
                if index >= a.parties.len() {
                    return Err(FieldError::not_found("party", index));
                }
                a.parties.remove(index);
                if index < a.responsibilities.len() {
                    a.responsibilities.remove(index);
                }
            }
            MediationEdit::Facts { facts, issues, responsibilities } => {
                a.facts = facts;
                a.issues = issues;
                a.responsibilities = responsibilities;
            }
            MediationEdit::Incident { incident } => a.incident = Some(incident),
            MediationEdit::Terms { terms } => a.terms = terms,
            MediationEdit::Performance { performance } => a.performance = Some(performance),
            MediationEdit::Mediators { mediators } => a.mediators = mediators,
            MediationEdit::Witnesses { witnesses } => a.witnesses = witnesses,
            MediationEdit::Place { place, gps } => {
                a.place = place;
                a.gps = gps;
            }
            MediationEdit::Form { form } => a.form = form,
            MediationEdit::RightsNotified => a.rights_notified = true,
            MediationEdit::Authority { authority } => a.authority = authority,
        }
        // Any edit invalidates signatures given to an earlier text.
        a.signatures.clear();
        self.store.write(|tx| rec::save_draft(tx, &case))?;
        Ok(case)
    }

    /// Capture one signature or thumbprint (PNG plus strokes) on the draft: the image and the
    /// draft are saved in one transaction.
    pub fn sign_mediation(&mut self, id: Uuid, input: SignatureInput) -> Result<MediationCase, FieldError> {
        let SignatureInput { signer, mark, strokes, png } = input;
        if !png.starts_with(b"\x89PNG\r\n\x1a\n") {
            return Err(FieldError::invalid(Code::SignatureNotPng, "png", "the signature must be a PNG image"));
        }
        if mark == Mark::Signature && (strokes.is_empty() || strokes.iter().any(Vec::is_empty)) {
            return Err(FieldError::invalid(Code::SignatureEmpty, "strokes", "the signature has no strokes"));
        }
        let mut case = self.draft(id)?;
        let now = self.clock.now();
        self.store.write(|tx| {
            let sha = rec::put_blob(tx, "image/png", &png, now)?;
            case.agreement.signatures.retain(|s| s.signer != signer);
            case.agreement.signatures.push(SignatureCapture {
                signer,
                mark,
                strokes,
                image_sha256: sha,
                signed_at: now,
            });
            rec::save_draft(tx, &case)
        })?;
        Ok(case)
    }

    /// Finalize with an agreement outcome: every required field checked, content hashed, row
    /// made read-only, op enqueued.
    pub fn finalize_mediation(&mut self, id: Uuid, outcome: Outcome) -> Result<MediationCase, FieldError> {
        let mut case = self.draft(id)?;
        if !matches!(outcome, Outcome::WrittenAgreement | Outcome::OralAgreement | Outcome::SettledAndApproved)
            || !outcome.applies_to(case.kind)
        {
            return Err(FieldError::invalid(
                Code::OutcomeNotAgreement,
                "outcome",
                "finalize takes an agreement outcome of this template",
            ));
        }
        let form = if outcome == Outcome::OralAgreement { AgreementForm::Oral } else { AgreementForm::Written };
        if case.agreement.form != form {
            return Err(FieldError::invalid(
                Code::OutcomeFormMismatch,
                "outcome",
                "the outcome does not match the agreement's form",
            ));
        }
        let now = self.clock.now();
        case.agreement.concluded_at = case.agreement.signatures.iter().map(|s| s.signed_at).max().unwrap_or(now);
        // Every required field first, so the officer sees all issues before a serial is taken.
        case.agreement.clone().finalize().map_err(FieldError::Incomplete)?;
        case.status = CaseStatus::Finalized;
        case.outcome = Some(outcome);
        case.finalized_at = Some(now);
        let op = self.ids.next_id();
        // An enrolled tablet numbers its agreements and prints them: the font is found before the
        // serial is taken, so a tablet that cannot print takes no number.
        let font = match beibao_store::sync::enrollment(self.store.conn())? {
            Some(_) => Some(self.print_font()?),
            None => None,
        };
        let village_name = reg::village(self.store.conn(), &case.village)?.map(|v| v.name.zh);
        // In one transaction: take the next 协议书 serial of the device's block (when enrolled),
        // hash the agreement with it, sign the hash with the device key, print the agreement and
        // keep the PDF as a blob, close the case.
        let case = self.store.write(|tx| {
            if case.agreement.serial.is_none() {
                case.agreement.serial = beibao_store::sync::next_serial(tx)?;
            }
            let hash = case.agreement.content_hash().map_err(|e| StoreError::Corrupt(e.to_string()))?;
            if let Some(seed) = beibao_store::sync::device_key(tx)? {
                let key = beibao_sync::wire::signing_key(&seed);
                case.device_signature =
                    Some(beibao_sync::wire::sign_hex(&key, &beibao_sync::wire::agreement_message(&hash)));
            }
            if let (Some(font), Some(_)) = (&font, &case.agreement.serial) {
                let doc = AgreementDocument {
                    agreement: &case.agreement,
                    content_hash: &hash,
                    village_name: village_name.as_deref(),
                };
                let pdf = beibao_print::agreement_pdf(&doc, font)
                    .map_err(|e| StoreError::Corrupt(format!("the agreement could not be printed: {e}")))?;
                case.document = Some(rec::put_blob(tx, "application/pdf", &pdf, now)?);
            }
            case.content_hash = Some(hash);
            rec::close_case(tx, &case, op, now)?;
            Ok(case)
        })?;
        Ok(case)
    }

    /// Record the parties' 司法确认 application of a finalized written 人民调解 agreement, or the
    /// court's ruling on it (人民调解法 Art.33): applied within 30 days of the agreement, ruled on or
    /// after the application, neither in the future.
    pub fn record_judicial_confirmation(&mut self, input: JudicialInput) -> Result<JudicialConfirmation, FieldError> {
        let case = self.mediation(input.mediation)?;
        if !confirmable(&case) {
            return Err(FieldError::invalid(
                Code::NotFinalized,
                "mediation",
                "司法确认 is applied for on a finalized written people's-mediation agreement",
            ));
        }
        let today = self.today();
        if input.applied_on > today || input.ruled_on.is_some_and(|d| d > today) {
            return Err(FieldError::invalid(Code::PeriodReversed, "applied_on", "a day in the future"));
        }
        let now = self.clock.now();
        // One record per agreement: the ruling completes the application, and is final.
        let id = match rec::judicial_confirmation(self.store.conn(), case.id)? {
            Some(j) if j.ruling.is_some() => {
                return Err(FieldError::invalid(Code::ReadOnly, "ruling", "the court has ruled on this application"));
            }
            Some(j) => j.id,
            None => self.ids.next_id(),
        };
        let j = JudicialConfirmation {
            id,
            mediation: case.id,
            device_id: self.device_id.clone(),
            officer_id: self.officer_id.clone(),
            village: case.village.clone(),
            effective_on: china_date(case.agreement.concluded_at),
            applied_on: input.applied_on,
            court: input.court.trim().to_owned(),
            ruling: input.ruling,
            ruled_on: input.ruled_on,
            note: input.note.trim().to_owned(),
            recorded_at: now,
        };
        j.validate()?;
        let op = self.ids.next_id();
        self.store.write(|tx| rec::upsert_judicial_confirmation(tx, &j, op, now))?;
        Ok(j)
    }

    /// Record that a resolved dispute came back or turned criminal, linked to its mediation.
    pub fn record_recurrence(&mut self, input: RecurrenceInput) -> Result<Recurrence, FieldError> {
        let case = self.mediation(input.mediation)?;
        if case.status != CaseStatus::Finalized {
            return Err(FieldError::invalid(
                Code::NotFinalized,
                "mediation",
                "a recurrence follows a dispute resolved by agreement",
            ));
        }
        let now = self.clock.now();
        let r = Recurrence {
            id: self.ids.next_id(),
            mediation: case.id,
            device_id: self.device_id.clone(),
            officer_id: self.officer_id.clone(),
            village: case.village.clone(),
            kind: input.kind,
            occurred_on: input.occurred_on,
            note: input.note.trim().to_owned(),
            recorded_at: now,
        };
        r.validate()?;
        if r.occurred_on < china_date(case.agreement.concluded_at) {
            return Err(FieldError::invalid(Code::PeriodReversed, "occurred_on", "before the agreement"));
        }
        let op = self.ids.next_id();
        self.store.write(|tx| rec::insert_recurrence(tx, &r, op, now))?;
        Ok(r)
    }

    /// Where agreements are printed from: the app's own copy of the font, when it ships one.
    pub fn set_font_paths(&mut self, paths: Vec<std::path::PathBuf>) {
        self.font_paths = paths;
        self.font = None;
    }

    /// The printed agreement of a finalized mediation (PDF bytes, as filed and synced).
    pub fn agreement_document(&self, id: Uuid) -> Result<Vec<u8>, FieldError> {
        let case = rec::mediation(self.store.conn(), id)?.ok_or_else(|| FieldError::not_found("mediation", id))?;
        let sha = case.document.ok_or_else(|| {
            FieldError::invalid(Code::NotFinalized, "document", "only a finalized agreement with a serial is printed")
        })?;
        rec::blob(self.store.conn(), &sha)?.ok_or_else(|| FieldError::not_found("document", sha))
    }

    fn print_font(&mut self) -> Result<beibao_print::CjkFont, FieldError> {
        if let Some(font) = &self.font {
            return Ok(font.clone());
        }
        let font = beibao_print::CjkFont::locate(&self.font_paths)
            .map_err(|e| FieldError::invalid(Code::PrintFailed, "document", e.to_string()))?;
        self.font = Some(font.clone());
        Ok(font)
    }

    /// End a mediation without an agreement (failed, referred, refused).
    pub fn end_mediation(&mut self, id: Uuid, outcome: Outcome) -> Result<MediationCase, FieldError> {
        let mut case = self.draft(id)?;
        if outcome.is_resolved() || !outcome.applies_to(case.kind) {
            return Err(FieldError::invalid(Code::OutcomeIsAgreement, "outcome", "use finalize for an agreement"));
        }
        let now = self.clock.now();
        case.status = CaseStatus::Ended;
        case.outcome = Some(outcome);
        case.finalized_at = Some(now);
        let op = self.ids.next_id();
        self.store.write(|tx| rec::close_case(tx, &case, op, now))?;
        Ok(case)
    }

    /// Record whether a finalized agreement was performed.
    pub fn record_performance(&mut self, id: Uuid, performed: bool, note: String) -> Result<Followup, FieldError> {
        let case = rec::mediation(self.store.conn(), id)?.ok_or_else(|| FieldError::not_found("mediation", id))?;
        if case.status != CaseStatus::Finalized {
            return Err(FieldError::invalid(
                Code::NotFinalized,
                "mediation",
                "only a finalized agreement is followed up",
            ));
        }
        let f = Followup {
            id: self.ids.next_id(),
            mediation: id,
            performed,
            checked_on: china_date(self.clock.now()),
            note,
        };
        let (op, now) = (self.ids.next_id(), self.clock.now());
        self.store.write(|tx| rec::insert_followup(tx, &f, op, now))?;
        Ok(f)
    }
}
