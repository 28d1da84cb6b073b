//! What a push does, decided once for both storage backends: a pure function from the batch and
//! the facts the storage read (inside its transaction) to the results and effects it then writes
//! in the same transaction.

use beibao_core::code::Code;
use std::collections::{HashMap, HashSet};

use beibao_core::activity::RatingSubject;
use beibao_core::calendar::WorkCalendar;
use beibao_core::catalog::Catalog;
use beibao_core::catalog::Mode;
use beibao_core::change::{AssignmentChange, AssignmentKind, ChangeBody};
use beibao_core::clock::Received;
use beibao_core::mediation::MediationKind;
use beibao_core::mediation::deadlines::{self, AgreementDeadlines};
use beibao_core::ops::{OpKind, OpRecord, Rejection};
use beibao_core::registry::Officer;
use beibao_core::service_request::{MergeOutcome, RequestState, Transition, merge};
use beibao_core::tally::{self, Fact};
use beibao_sync::wire::{self, OpResult, OpStatus, WireOp};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::storage::{BlobRow, Enrollment, SERIAL_BLOCK, StorageError};

/// An enrolled device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Device {
    /// Device id.
    pub id: String,
    /// Officer it is bound to.
    pub officer_id: String,
    /// Ed25519 public key, hex.
    pub public_key: String,
    /// Highest seq applied.
    pub last_seq: i64,
    /// Revoked.
    pub revoked: bool,
    /// When it was enrolled (server clock): no record of it is older.
    pub enrolled_at: DateTime<Utc>,
}

/// A request as the server holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFacts {
    /// Handling mode.
    pub mode: Mode,
    /// Current state.
    pub state: RequestState,
    /// Service code.
    pub service: String,
    /// The day it was accepted (China time).
    pub accepted_on: NaiveDate,
    /// The last day it closes on time ([`beibao_core::tally::due_on`]).
    pub due: Option<NaiveDate>,
    /// The officer it belongs to (only their devices move it).
    pub officer: String,
}

/// A mediation as the server holds it, for the records that name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediationFacts {
    /// The device that pushed it.
    pub device: String,
    /// Its village.
    pub village: String,
    /// The agreement's performance deadline ([`beibao_core::tally::performance_deadline`]).
    pub deadline: Option<NaiveDate>,
}

/// What a record changes in the supervisors' list of mediation deadlines (`mediation_due`, one
/// row per finalized case): a case sets what it leaves to do; a follow-up or a 司法确认 marks it
/// done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Due {
    /// A finalized case (the record itself, in its village): what it leaves to do, by when.
    Case {
        /// 人民调解 or 治安调解.
        kind: MediationKind,
        /// The day the agreement was concluded.
        concluded_on: NaiveDate,
        /// Its deadlines ([`beibao_core::mediation::deadlines::for_case`]).
        deadlines: AgreementDeadlines,
    },
    /// A follow-up of a case: the day it was checked, and whether it found the agreement performed.
    FollowedUp {
        /// The mediation.
        mediation: String,
        /// Day checked.
        on: NaiveDate,
        /// Performed.
        performed: bool,
    },
    /// The parties applied for 司法确认 of a case's agreement.
    Confirmed {
        /// The mediation.
        mediation: String,
        /// Day applied.
        on: NaiveDate,
    },
}

/// What a record changes in the list of mediation deadlines, if anything.
pub fn due_of(rec: &OpRecord) -> Option<Due> {
    match rec {
        OpRecord::Mediation(c) => deadlines::for_case(c).map(|deadlines| Due::Case {
            kind: c.kind,
            concluded_on: beibao_core::calendar::china_date(c.agreement.concluded_at),
            deadlines,
        }),
        OpRecord::MediationFollowup(f) => {
            Some(Due::FollowedUp { mediation: f.mediation.to_string(), on: f.checked_on, performed: f.performed })
        }
        OpRecord::JudicialConfirmation(j) => {
            Some(Due::Confirmed { mediation: j.mediation.to_string(), on: j.applied_on })
        }
        _ => None,
    }
}

/// What the storage read before deciding, inside its transaction.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Stored results of ops of this batch the device already pushed (seq ≤ last_seq).
    pub stored: HashMap<i64, OpResult>,
    /// op_ids of this batch already held under any seq.
    pub seen_op_ids: HashSet<String>,
    /// Requests the batch's events refer to.
    pub requests: HashMap<String, RequestFacts>,
    /// Mediations the batch's follow-ups, 司法确认 and recurrences name.
    pub mediations: HashMap<String, MediationFacts>,
    /// The officers of the records the batch writes that are already held.
    pub owners: HashMap<(OpKind, String), String>,
    /// Request events of the batch already held (each is recorded once).
    pub events: HashSet<String>,
}

/// What the storage needs to read for a batch.
#[derive(Debug, Clone, Default)]
pub struct Needs {
    /// Seqs at or below the device's last seq.
    pub seqs: Vec<i64>,
    /// All op ids of the batch.
    pub op_ids: Vec<String>,
    /// Requests referred to by events.
    pub requests: Vec<String>,
    /// Mediations named by follow-ups, 司法确认 and recurrences.
    pub mediations: Vec<String>,
    /// Where the facts count (crate::rollup): the households of new requests,
    pub households: Vec<String>,
    /// what ratings are about,
    pub abouts: Vec<String>,
    /// and the records the batch writes (kind, id): their owners and the facts they hold.
    pub records: Vec<(OpKind, String)>,
    /// The ids of the batch's request events.
    pub events: Vec<String>,
}

/// One effect to write.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// A record kept as the tablet made it (visit, mediation, follow-up, publicity, hazard,
    /// rating). Its body is the op's payload, stored once with the op: the record points at the
    /// op (device, seq), and a hazard recorded again by its id (its fix) points at the later op.
    Record {
        /// Kind.
        kind: OpKind,
        /// Record id.
        id: String,
        /// Village, where the record has one (a follow-up's is its mediation's).
        village: Option<String>,
        /// What it adds to the indicator counts: replaces what an earlier op of the same record
        /// added.
        facts: Vec<Fact>,
        /// For a record without a village of its own (a rating): the record or request whose
        /// village its facts count in.
        about: Option<String>,
        /// What it changes in the supervisors' list of mediation deadlines.
        due: Option<Due>,
    },
    /// A new service request.
    Request {
        /// Id.
        id: String,
        /// Service code.
        service: String,
        /// Mode (snake_case).
        mode: String,
        /// State (snake_case).
        state: String,
        /// JSON body.
        body: String,
        /// The household it was made for (the village its facts count in).
        household: Option<String>,
        /// The day it was accepted (China time).
        accepted_on: NaiveDate,
        /// The last day it closes on time.
        due_on: Option<NaiveDate>,
        /// What it adds to the indicator counts.
        facts: Vec<Fact>,
    },
    /// A transition of a request: the event is always kept; `new_state` is set when it moved.
    RequestEvent {
        /// Event id.
        id: String,
        /// Request id.
        request: String,
        /// `applied`, `already_there` or `conflict:<reason>`.
        outcome: String,
        /// The request's state after it, when it moved.
        new_state: Option<String>,
        /// JSON body.
        body: String,
        /// What the move adds to the indicator counts (closed, on time, delivered), counted in
        /// the request's village.
        facts: Vec<Fact>,
    },
}

/// One op's decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The op as sent.
    pub seq: i64,
    /// Its id.
    pub op_id: String,
    /// Its kind as sent.
    pub kind: String,
    /// Its payload hash as sent.
    pub sha256: String,
    /// Its payload.
    pub payload: String,
    /// The result.
    pub result: OpResult,
    /// Effects when applied.
    pub effects: Vec<Effect>,
    /// True when the result was stored by an earlier attempt (nothing to write).
    pub replay: bool,
}

/// A batch refused as a whole (nothing written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchError {
    /// The batch does not start where the server expects.
    Gap {
        /// The seq expected next.
        expect_seq: i64,
    },
    /// The batch is malformed (not contiguous, empty, too many ops).
    Invalid(String),
}

fn name<T: Serialize>(v: T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// The server's reading of a transition against a request's current state, by the merge rule:
/// the stored outcome (`applied`, `already_there`, `conflict:<reason>`) and the new state when the
/// request moved. Used for the tablets' events and the station desk's alike.
pub fn merge_outcome(mode: Mode, current: RequestState, t: &Transition) -> (String, Option<RequestState>) {
    match merge(mode, current, t) {
        MergeOutcome::Apply { to } => ("applied".to_owned(), Some(to)),
        MergeOutcome::AlreadyThere => ("already_there".to_owned(), None),
        MergeOutcome::Conflict { reason } => (format!("conflict:{}", name(reason)), None),
    }
}

/// Check the batch's shape before any read.
pub fn check_shape(ops: &[WireOp]) -> Result<(), BatchError> {
    if ops.is_empty() {
        return Err(BatchError::Invalid("a batch needs at least one op".into()));
    }
    if ops.len() > wire::MAX_BATCH_OPS {
        return Err(BatchError::Invalid(format!("at most {} ops per batch", wire::MAX_BATCH_OPS)));
    }
    for pair in ops.windows(2) {
        if pair[0].seq.checked_add(1) != Some(pair[1].seq) {
            return Err(BatchError::Invalid(format!(
                "seq {} follows {}: a batch is contiguous",
                pair[1].seq, pair[0].seq
            )));
        }
    }
    if ops[0].seq < 1 {
        return Err(BatchError::Invalid("seq starts at 1".into()));
    }
    Ok(())
}

impl Needs {
    /// What to read when the device's last seq is not yet known (read in the same round trip as
    /// the device's lock): every seq, op id and request the batch names.
    pub fn superset(ops: &[WireOp], checks: &[Check]) -> Needs {
        let mut n = Needs::default();
        for (op, check) in ops.iter().zip(checks) {
            n.op_ids.push(op.op_id.clone());
            n.seqs.push(op.seq);
            n.requests.extend(request_named(check));
            n.mediations.extend(check.as_ref().ok().and_then(|c| mediation_of(&c.record)));
            n.placing(check);
        }
        n
    }

    fn placing(&mut self, check: &Check) {
        let Ok(c) = check else { return };
        match &c.record {
            OpRecord::ServiceRequest(r) => self.households.extend(r.household.clone()),
            OpRecord::RequestEvent(e) => self.events.push(e.id.to_string()),
            rec => {
                self.records.push((rec.kind(), rec.id().to_string()));
                self.abouts.extend(about_of(rec));
            }
        }
    }
}

/// What a rating is about (its facts count in that record's or request's village).
fn about_of(rec: &OpRecord) -> Option<String> {
    match rec {
        OpRecord::Rating(r) => Some(match r.subject {
            RatingSubject::Visit(id) | RatingSubject::ServiceRequest(id) | RatingSubject::Mediation(id) => {
                id.to_string()
            }
        }),
        _ => None,
    }
}

/// The service request an op creates or moves.
fn request_named(check: &Check) -> Option<String> {
    match check.as_ref().map(|c| &c.record) {
        Ok(OpRecord::RequestEvent(e)) => Some(e.request.to_string()),
        Ok(OpRecord::ServiceRequest(r)) => Some(r.id.to_string()),
        _ => None,
    }
}

/// The mediation a follow-up, a 司法确认 or a recurrence is about.
fn mediation_of(rec: &OpRecord) -> Option<String> {
    match rec {
        OpRecord::MediationFollowup(f) => Some(f.mediation.to_string()),
        OpRecord::JudicialConfirmation(j) => Some(j.mediation.to_string()),
        OpRecord::Recurrence(r) => Some(r.mediation.to_string()),
        _ => None,
    }
}

/// Refuse a batch that starts after a gap in the device's seqs.
pub fn check_gap(ops: &[WireOp], last_seq: i64) -> Result<(), BatchError> {
    let next = last_seq.saturating_add(1);
    if ops[0].seq > next {
        return Err(BatchError::Gap { expect_seq: next });
    }
    Ok(())
}

/// What to read for this batch, given the device's last seq. Refuses a batch that starts after a
/// gap.
pub fn needs(ops: &[WireOp], checks: &[Check], last_seq: i64) -> Result<Needs, BatchError> {
    check_gap(ops, last_seq)?;
    let mut n = Needs::default();
    for (op, check) in ops.iter().zip(checks) {
        n.op_ids.push(op.op_id.clone());
        if op.seq <= last_seq {
            n.seqs.push(op.seq);
        } else {
            n.requests.extend(request_named(check));
            n.mediations.extend(check.as_ref().ok().and_then(|c| mediation_of(&c.record)));
            n.placing(check);
        }
    }
    Ok(n)
}

fn reject(op: &WireOp, r: Rejection) -> OpResult {
    OpResult {
        seq: op.seq,
        op_id: op.op_id.clone(),
        status: OpStatus::Rejected,
        code: Some(r.code),
        message: Some(r.message),
    }
}

/// Decide every op of the batch in seq order. Earlier ops of the batch are visible to later ones
/// (a request created and moved in one batch).
pub fn decide(ops: &[WireOp], checks: &[Check], device: &Device, facts: &Facts) -> Vec<Decision> {
    let mut held = Held {
        requests: facts.requests.clone(),
        mediations: facts.mediations.clone(),
        owners: facts.owners.clone(),
        events: facts.events.clone(),
    };
    let mut seen = facts.seen_op_ids.clone();
    let mut out = Vec::with_capacity(ops.len());
    for (op, check) in ops.iter().zip(checks) {
        let mut d = Decision {
            seq: op.seq,
            op_id: op.op_id.clone(),
            kind: op.kind.clone(),
            sha256: op.sha256.clone(),
            payload: op.payload.get().to_owned(),
            result: OpResult {
                seq: op.seq,
                op_id: op.op_id.clone(),
                status: OpStatus::Applied,
                code: None,
                message: None,
            },
            effects: Vec::new(),
            replay: false,
        };
        if op.seq <= device.last_seq {
            d.replay = true;
            d.result = match facts.stored.get(&op.seq) {
                Some(r) if r.op_id == op.op_id => r.clone(),
                _ => reject(
                    op,
                    Rejection::new(Code::SeqReused, format!("seq {} was already used by another op", op.seq)),
                ),
            };
            out.push(d);
            continue;
        }
        if !seen.insert(op.op_id.clone()) {
            d.result.status = OpStatus::Duplicate;
            out.push(d);
            continue;
        }
        match check.as_ref().map_err(Clone::clone).and_then(|c| effects(op, c, device, &mut held)) {
            Ok(effects) => d.effects = effects,
            Err(r) => d.result = reject(op, r),
        }
        out.push(d);
    }
    out
}

/// What the batch's ops see of the server, earlier ops of the batch included.
struct Held {
    requests: HashMap<String, RequestFacts>,
    mediations: HashMap<String, MediationFacts>,
    owners: HashMap<(OpKind, String), String>,
    events: HashSet<String>,
}

/// The stateless verdict on one op, made before the transaction (in parallel across requests):
/// its parsed record, or why it is refused.
pub type Check = Result<Checked, Rejection>;

/// An op that passed its stateless checks.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// The parsed record.
    pub record: OpRecord,
    /// For a service request: the last day it closes on time, by the newest catalog that knows
    /// the service and the working-day calendar.
    pub due: Option<NaiveDate>,
}

/// Check one op on its own: size, payload hash, kind, shape, author = this device, the record's
/// rules, and a finalized agreement's signature against the device's enrolled key.
///
/// `catalogs` are the published versions, oldest first. A record passes when the newest allows
/// it, or an earlier one does: a tablet offline for days handles services under the catalog it
/// holds, and work done at a villager's door under a version since replaced is not refused for
/// it. The refusal given is the newest catalog's.
///
/// Times the device stamped are believed when they could be true; a record stamped under a
/// clock that was wrong is counted (its days, a request's deadline) at the times `received`
/// puts it (see [`beibao_core::clock::Received::correction`]); its body is stored as sent.
pub fn check_op(
    op: &WireOp,
    device: &Device,
    catalogs: &[Catalog],
    calendar: &WorkCalendar,
    received: &Received,
) -> Check {
    if op.payload.get().len() > wire::MAX_OP_BYTES {
        return Err(Rejection::new(Code::OpTooLarge, format!("payload over {} bytes", wire::MAX_OP_BYTES)));
    }
    if !op.hash_ok() {
        return Err(Rejection::new(Code::HashMismatch, "the payload does not hash to its sha256"));
    }
    let kind = OpKind::parse(&op.kind).ok_or_else(|| Rejection::new(Code::UnknownKind, format!("`{}`", op.kind)))?;
    let mut rec = OpRecord::parse(kind, op.payload.get())?;
    if let Some((dev, officer)) = rec.author()
        && (dev != device.id || officer != device.officer_id)
    {
        return Err(Rejection::new(
            Code::WrongDevice,
            format!("the record names {dev}/{officer}; this device is {}/{}", device.id, device.officer_id),
        ));
    }
    let mut refusal = None;
    for catalog in catalogs.iter().rev() {
        match rec.check(catalog) {
            Ok(()) => {
                refusal = None;
                break;
            }
            Err(r) => {
                refusal.get_or_insert(r);
            }
        }
    }
    if catalogs.is_empty() {
        refusal = Some(Rejection::new(Code::NoCatalog, "the server has no published catalog"));
    }
    if let Some(r) = refusal {
        return Err(r);
    }
    if let OpRecord::Mediation(c) = &rec
        && let (Some(hash), Some(sig)) = (&c.content_hash, &c.device_signature)
    {
        wire::verify(&device.public_key, &wire::agreement_message(hash), sig)
            .map_err(|e| Rejection::new(Code::BadAgreementSignature, e))?;
    }
    // Judged as sent (its times against each other); counted where its times could be true.
    let stamps = rec.device_times();
    if let (Some(earliest), Some(latest)) = (stamps.iter().min(), stamps.iter().max()) {
        let by = received.correction(*earliest, *latest);
        if !by.is_zero() {
            rec.shift_device_times(by);
        }
    }
    let due = match &rec {
        OpRecord::ServiceRequest(r) => catalogs.iter().rev().find_map(|c| tally::due_on(r, c, calendar)),
        _ => None,
    };
    Ok(Checked { record: rec, due })
}

/// Whether a refusal comes from the catalog (a service or a way of handling it that the
/// catalogs held do not know): a newer published version may allow it.
pub fn by_catalog(code: Code) -> bool {
    matches!(code, Code::UnknownService | Code::ModeNotAllowed)
}

/// [`check_op`] for every op of a batch.
pub fn check_all(
    ops: &[WireOp],
    device: &Device,
    catalogs: &[Catalog],
    calendar: &WorkCalendar,
    received: &Received,
) -> Vec<Check> {
    ops.iter().map(|op| check_op(op, device, catalogs, calendar, received)).collect()
}

/// The effects of a checked record, given the requests and mediations as they stand (earlier ops
/// of the batch included).
fn effects(op: &WireOp, checked: &Checked, device: &Device, held: &mut Held) -> Result<Vec<Effect>, Rejection> {
    let rec = &checked.record;
    let Held { requests, mediations, owners, events } = held;
    let officer = device.officer_id.as_str();
    let device = device.id.as_str();
    // A record is written only by its officer's devices: one held under another officer is
    // theirs, whatever this op says (it would repoint their record at this device).
    if !matches!(rec, OpRecord::ServiceRequest(_) | OpRecord::RequestEvent(_)) {
        let key = (rec.kind(), rec.id().to_string());
        match owners.get(&key) {
            Some(owner) if owner != officer => {
                return Err(Rejection::new(
                    Code::Forbidden,
                    format!("{} {} is another officer's record", rec.kind().as_str(), key.1),
                ));
            }
            Some(_) => {}
            None => {
                owners.insert(key, officer.to_owned());
            }
        }
    }
    // A follow-up, a 司法确认 or a recurrence is about a mediation this device pushed (earlier, or
    // earlier in this batch): no device writes about another officer's case.
    let named = match mediation_of(rec) {
        Some(id) => match mediations.get(&id) {
            Some(m) if m.device == device => Some(m.clone()),
            _ => return Err(Rejection::new(Code::UnknownMediation, format!("no mediation {id} of this device"))),
        },
        None => None,
    };
    let kind = rec.kind();
    let record = |village: Option<&str>, facts: Vec<Fact>| Effect::Record {
        kind,
        id: rec.id().to_string(),
        village: village.map(str::to_owned),
        facts,
        about: about_of(rec),
        due: due_of(rec),
    };
    let facts = tally::of_record(rec);
    Ok(match rec {
        OpRecord::Visit(v) => vec![record(Some(&v.visit.village), facts)],
        OpRecord::Publicity(p) => vec![record(Some(&p.village), facts)],
        OpRecord::Hazard(h) => vec![record(Some(&h.village), facts)],
        OpRecord::JudicialConfirmation(j) => vec![record(Some(&j.village), facts)],
        OpRecord::Recurrence(r) => vec![record(Some(&r.village), facts)],
        OpRecord::RegistryProposal(p) => vec![record(Some(&p.village), facts)],
        OpRecord::ClueReport(c) => vec![record(Some(&c.village), facts)],
        OpRecord::Rating(_) => vec![record(None, facts)],
        OpRecord::MediationFollowup(f) => {
            let m = named.as_ref();
            vec![record(m.map(|m| m.village.as_str()), tally::of_followup(f, m.and_then(|m| m.deadline)))]
        }
        OpRecord::Mediation(c) => {
            mediations.insert(
                c.id.to_string(),
                MediationFacts {
                    device: device.to_owned(),
                    village: c.village.clone(),
                    deadline: tally::performance_deadline(c),
                },
            );
            vec![record(Some(&c.village), facts)]
        }
        OpRecord::ServiceRequest(r) => {
            let id = r.id.to_string();
            if requests.contains_key(&id) {
                return Err(Rejection::new(Code::RequestExists, format!("request {id} already exists")));
            }
            requests.insert(
                id.clone(),
                RequestFacts {
                    mode: r.mode,
                    state: r.state,
                    service: r.service.clone(),
                    accepted_on: beibao_core::calendar::china_date(r.accepted_at),
                    due: checked.due,
                    officer: officer.to_owned(),
                },
            );
            let body = op.payload.get().to_owned();
            vec![Effect::Request {
                id,
                service: r.service.clone(),
                mode: name(r.mode),
                state: name(r.state),
                body,
                household: r.household.clone(),
                accepted_on: beibao_core::calendar::china_date(r.accepted_at),
                due_on: checked.due,
                facts: tally::of_request(r, checked.due),
            }]
        }
        OpRecord::RequestEvent(e) => {
            let id = e.request.to_string();
            let Some(facts) = requests.get_mut(&id) else {
                return Err(Rejection::new(Code::UnknownRequest, format!("no request {id}")));
            };
            if facts.officer != officer {
                return Err(Rejection::new(Code::Forbidden, format!("request {id} is another officer's")));
            }
            if !events.insert(e.id.to_string()) {
                return Err(Rejection::new(Code::EventExists, format!("event {} is already recorded", e.id)));
            }
            let (outcome, moved) = merge_outcome(facts.mode, facts.state, &e.transition);
            if let Some(to) = moved {
                facts.state = to;
            }
            let body = op.payload.get().to_owned();
            vec![Effect::RequestEvent {
                id: e.id.to_string(),
                request: id,
                outcome,
                new_state: moved.map(name),
                body,
                facts: moved.map(|to| move_facts(to, e.at, facts)).unwrap_or_default(),
            }]
        }
    })
}

/// What a request's move to `to` at `at` adds to the counts, from a tablet or the desk alike.
pub fn move_facts(to: RequestState, at: DateTime<Utc>, r: &RequestFacts) -> Vec<Fact> {
    match to {
        RequestState::Closed => tally::of_close(at, r.due),
        RequestState::CompletedOnSite => tally::of_completion(&r.service, r.accepted_on, at, r.due),
        RequestState::Delivered => tally::of_delivery(at),
        _ => Vec::new(),
    }
}

// --- enrollment, blob chunks, desk moves, officers: decided here, read and written by a backend ---

/// An enrollment code as a backend holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeFacts {
    /// The officer it was issued for.
    pub officer_id: String,
    /// When it stops being valid.
    pub expires_at: DateTime<Utc>,
    /// Already redeemed.
    pub used: bool,
}

/// Whether a tablet may redeem a code (`code` as stored, `None` when unknown; `device_exists`
/// when the device id is enrolled already). Refusals: `enrollment_code_invalid`,
/// `enrollment_code_used`, `enrollment_code_expired`, `officer_mismatch`, `device_exists`.
pub fn enrollment(
    code: Option<&CodeFacts>,
    device_exists: bool,
    e: &Enrollment,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let code = usable_code(code, now)?;
    if code.officer_id != e.officer_id {
        return Err(StorageError::refused(
            Code::OfficerMismatch,
            format!("the code is for officer {}, the tablet belongs to {}", code.officer_id, e.officer_id),
        ));
    }
    if device_exists {
        return Err(StorageError::refused(Code::DeviceExists, format!("device {} is already enrolled", e.device_id)));
    }
    Ok(())
}

/// A code that may still be redeemed (`enrollment_code_invalid`, `enrollment_code_used`,
/// `enrollment_code_expired` otherwise): what a tablet asks before it makes its store.
pub fn usable_code(code: Option<&CodeFacts>, now: DateTime<Utc>) -> Result<&CodeFacts, StorageError> {
    let Some(code) = code else {
        return Err(StorageError::refused(Code::EnrollmentCodeInvalid, "no such enrollment code"));
    };
    if code.used {
        return Err(StorageError::refused(Code::EnrollmentCodeUsed, "this enrollment code was already used"));
    }
    if code.expires_at < now {
        return Err(StorageError::refused(Code::EnrollmentCodeExpired, "this enrollment code has expired"));
    }
    Ok(code)
}

/// The serial block of the next device, after the highest block end reserved so far (0 when none).
pub fn serial_block(max_end: i64) -> (i64, i64) {
    let start = max_end + 1;
    (start, start + SERIAL_BLOCK - 1)
}

/// What to do with a blob chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunk {
    /// The blob is whole already: nothing to write, answer its status.
    Whole(BlobRow),
    /// The chunk is not where the server's bytes end: refuse, naming the held offset.
    Elsewhere(u64),
    /// Store the chunk (`create`: make the blob's row first; `restart`: drop what is held and
    /// take the new declared size first); the blob then holds `received` bytes, and when `last`
    /// the whole is hashed before it is marked complete.
    Write {
        /// The blob has no row yet.
        create: bool,
        /// An unfinished upload declared with another size is dropped for this one.
        restart: bool,
        /// Bytes held after this chunk.
        received: u64,
        /// This chunk ends the blob.
        last: bool,
    },
}

/// Decide a chunk of `len` bytes at `offset` of a blob of `total` bytes against the row held.
/// A declared size binds nobody else: an unfinished upload declared with another size (by any
/// device: one that got it wrong, or squats the hash) gives way to an upload starting at byte
/// 0; the hash, checked when the last byte arrives, is what decides. Refusals: `blob_size` (a
/// resumed upload whose size changed, or a chunk past the size).
pub fn blob_chunk(row: Option<BlobRow>, total: u64, offset: u64, len: u64) -> Result<Chunk, StorageError> {
    let held = row.unwrap_or(BlobRow { total, offset: 0, complete: false });
    if held.complete {
        return Ok(Chunk::Whole(held));
    }
    let restart = held.total != total;
    if restart && offset != 0 {
        return Err(StorageError::refused(
            Code::BlobSize,
            format!("the blob is being uploaded as {} bytes; start again from offset 0", held.total),
        ));
    }
    if !restart && offset != held.offset {
        return Ok(Chunk::Elsewhere(held.offset));
    }
    let received = offset
        .checked_add(len)
        .filter(|r| *r <= total)
        .ok_or_else(|| StorageError::refused(Code::BlobSize, "the chunk runs past the declared size"))?;
    Ok(Chunk::Write { create: row.is_none(), restart, received, last: received == total })
}

/// A desk move, as it is written: the request event (always kept), the new state and the change
/// the request's officer pulls (when it moved), and the audit line.
#[derive(Debug, Clone, PartialEq)]
pub struct DeskWrite {
    /// The merge rule's reading.
    pub outcome: MergeOutcome,
    /// The outcome as stored (`applied`, `already_there`, `conflict:<reason>`).
    pub stored: String,
    /// The state the request moves to.
    pub new_state: Option<RequestState>,
    /// The event's body (the transition).
    pub event_body: String,
    /// The pull change for the request's officer, when it moved.
    pub change: Option<wire::RequestStateChange>,
    /// What the move adds to the indicator counts.
    pub facts: Vec<Fact>,
    /// The audit entry's subject.
    pub audit_subject: String,
}

/// Decide a desk move of request `id` (as the server holds it) by `by`.
pub fn desk_move(
    id: &str,
    request: &RequestFacts,
    t: &Transition,
    by: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> DeskWrite {
    let (mode, current) = (request.mode, request.state);
    let outcome = merge(mode, current, t);
    let (stored, new_state) = merge_outcome(mode, current, t);
    let change = new_state.map(|to| wire::RequestStateChange {
        request: id.to_owned(),
        state: to,
        by: by.to_owned(),
        at: Some(now),
        reason: t.reason.clone(),
    });
    DeskWrite {
        audit_subject: format!("{id} {stored}"),
        outcome,
        stored,
        new_state,
        event_body: serde_json::to_string(t).unwrap_or_default(),
        facts: new_state.map(|to| move_facts(to, now, request)).unwrap_or_default(),
        change,
    }
}

/// Whether an officer may be added as given: an id, a name and a station, each 1–64 characters.
pub fn new_officer(o: &Officer) -> Result<(), StorageError> {
    for (what, v) in [("id", &o.id), ("name", &o.name), ("station", &o.station)] {
        if v.trim().is_empty() || v.chars().count() > 64 {
            return Err(StorageError::refused(Code::Invalid, format!("an officer's {what} is 1–64 characters")));
        }
    }
    Ok(())
}

/// Whether an assignment may be made, and what the officer's tablets then pull: the place's
/// changes as the backend read them (a village and its households, or an enterprise; `None` when
/// the server has no such place) followed by the assignment itself.
pub fn assignment(
    a: &AssignmentChange,
    officer_known: bool,
    already: bool,
    place: Option<Vec<ChangeBody>>,
) -> Result<Vec<ChangeBody>, StorageError> {
    if !officer_known {
        return Err(StorageError::refused(Code::UnknownOfficer, format!("no officer {}", a.officer)));
    }
    let Some(mut changes) = place else {
        return Err(StorageError::refused(
            Code::UnknownPlace,
            format!("no {} `{}` in the registry", kind_name(a.kind), a.target),
        ));
    };
    if already {
        return Err(StorageError::refused(
            Code::AlreadyAssigned,
            format!("{} is already assigned {} {}", a.officer, kind_name(a.kind), a.target),
        ));
    }
    changes.push(ChangeBody::Assignment(AssignmentChange { until: None, ..a.clone() }));
    Ok(changes)
}

/// Whether an assignment may end on `until`, and the change the officer's tablets pull.
pub fn unassignment(
    current: Option<AssignmentChange>,
    until: NaiveDate,
    who: (&str, AssignmentKind, &str),
) -> Result<ChangeBody, StorageError> {
    let (officer, kind, target) = who;
    let Some(a) = current else {
        return Err(StorageError::refused(
            Code::NotAssigned,
            format!("{officer} is not assigned {} {target}", kind_name(kind)),
        ));
    };
    if until < a.since {
        return Err(StorageError::refused(
            Code::Invalid,
            format!("the assignment began on {}; it cannot end on {until}", a.since),
        ));
    }
    Ok(ChangeBody::Assignment(AssignmentChange { until: Some(until), ..a }))
}

/// `village` or `enterprise`, as stored.
pub fn kind_name(kind: AssignmentKind) -> &'static str {
    match kind {
        AssignmentKind::Village => "village",
        AssignmentKind::Enterprise => "enterprise",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 1, h, 0, 0).single().expect("time")
    }

    fn refused<T: std::fmt::Debug>(r: Result<T, StorageError>) -> Code {
        match r {
            Err(StorageError::Refused(code, _)) => code,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    /// A follow-up (or a 司法确认, a recurrence) about another device's mediation, or about none the
    /// server holds, is refused; about this device's own, applied.
    #[test]
    fn a_record_about_a_mediation_must_name_one_this_device_pushed() {
        use beibao_core::ops::Followup;
        let device = Device {
            id: "dev-b".into(),
            officer_id: "OF-03-02".into(),
            public_key: String::new(),
            last_seq: 0,
            revoked: false,
            enrolled_at: at(0),
        };
        let (mine, theirs, nowhere) = (uuid::Uuid::from_u128(1), uuid::Uuid::from_u128(2), uuid::Uuid::from_u128(3));
        let followup = |mediation: uuid::Uuid, n: u128| {
            Ok(Checked {
                record: OpRecord::MediationFollowup(Box::new(Followup {
                    id: uuid::Uuid::from_u128(100 + n),
                    mediation,
                    performed: true,
                    checked_on: at(1).date_naive(),
                    note: String::new(),
                })),
                due: None,
            })
        };
        let ops: Vec<WireOp> = (1..=3)
            .map(|seq| WireOp::new(seq, &format!("op-{seq}"), "mediation_followup", &"0".repeat(64), "{}").expect("op"))
            .collect();
        let checks = vec![followup(mine, 1), followup(theirs, 2), followup(nowhere, 3)];
        let n = needs(&ops, &checks, 0).expect("needs");
        assert_eq!(
            n.mediations,
            vec![mine.to_string(), theirs.to_string(), nowhere.to_string()],
            "read before deciding"
        );
        let mut facts = Facts::default();
        let deadline = at(1).date_naive();
        let case = |device: &str| MediationFacts {
            device: device.into(),
            village: "370406102001".into(),
            deadline: Some(deadline),
        };
        facts.mediations.insert(mine.to_string(), case("dev-b"));
        facts.mediations.insert(theirs.to_string(), case("dev-a"));
        let d = decide(&ops, &checks, &device, &facts);
        assert_eq!((d[0].result.status, d[0].result.code), (OpStatus::Applied, None));
        // The follow-up counts its agreement as performed once, on the deadline, in its village.
        match &d[0].effects[..] {
            [Effect::Record { village, facts, .. }] => {
                assert_eq!(village.as_deref(), Some("370406102001"));
                assert_eq!(
                    facts[..],
                    [Fact {
                        key: beibao_core::indicators::CountKey::AgreementsPerformed,
                        day: deadline,
                        value: 1,
                        subject: Some(mine.to_string()),
                    }]
                );
            }
            other => panic!("one record, got {other:?}"),
        }
        assert_eq!((d[1].result.status, d[1].result.code), (OpStatus::Rejected, Some(Code::UnknownMediation)));
        assert_eq!((d[2].result.status, d[2].result.code), (OpStatus::Rejected, Some(Code::UnknownMediation)));
    }

    #[test]
    fn an_enrollment_needs_a_known_unused_live_code_for_the_same_officer_and_a_new_device() {
        let e = Enrollment {
            code_hash: "h".into(),
            device_id: "dev-1".into(),
            officer_id: "OF-03-01".into(),
            public_key: "k".into(),
        };
        let code = CodeFacts { officer_id: "OF-03-01".into(), expires_at: at(12), used: false };
        assert!(enrollment(Some(&code), false, &e, at(11)).is_ok());
        assert_eq!(refused(enrollment(None, false, &e, at(11))), Code::EnrollmentCodeInvalid);
        let used = CodeFacts { used: true, ..code.clone() };
        assert_eq!(refused(enrollment(Some(&used), false, &e, at(11))), Code::EnrollmentCodeUsed);
        assert_eq!(refused(enrollment(Some(&code), false, &e, at(13))), Code::EnrollmentCodeExpired);
        let other = CodeFacts { officer_id: "OF-03-02".into(), ..code.clone() };
        assert_eq!(refused(enrollment(Some(&other), false, &e, at(11))), Code::OfficerMismatch);
        assert_eq!(refused(enrollment(Some(&code), true, &e, at(11))), Code::DeviceExists);
        assert_eq!(serial_block(0), (1, SERIAL_BLOCK));
        assert_eq!(serial_block(SERIAL_BLOCK), (SERIAL_BLOCK + 1, 2 * SERIAL_BLOCK));
    }

    #[test]
    fn a_blob_chunk_is_written_only_where_the_held_bytes_end_and_within_the_declared_size() {
        assert_eq!(
            blob_chunk(None, 10, 0, 4).expect("first"),
            Chunk::Write { create: true, restart: false, received: 4, last: false }
        );
        let held = BlobRow { total: 10, offset: 4, complete: false };
        assert_eq!(
            blob_chunk(Some(held), 10, 4, 6).expect("last"),
            Chunk::Write { create: false, restart: false, received: 10, last: true }
        );
        // Another size declared for an unfinished upload binds nobody: an upload from byte 0
        // replaces it; resuming under a changed size is refused.
        assert_eq!(
            blob_chunk(Some(held), 11, 0, 5).expect("a fresh upload with its own size"),
            Chunk::Write { create: false, restart: true, received: 5, last: false }
        );
        assert_eq!(blob_chunk(Some(held), 10, 0, 4).expect("again"), Chunk::Elsewhere(4));
        assert_eq!(refused(blob_chunk(Some(held), 11, 4, 6)), Code::BlobSize);
        assert_eq!(refused(blob_chunk(Some(held), 10, 4, 7)), Code::BlobSize);
        assert_eq!(refused(blob_chunk(Some(held), 10, 4, u64::MAX)), Code::BlobSize);
        let whole = BlobRow { total: 10, offset: 10, complete: true };
        assert_eq!(blob_chunk(Some(whole), 10, 0, 10).expect("whole"), Chunk::Whole(whole));
    }

    /// A carried-back ID card application as the server holds it.
    fn held(state: RequestState, due: Option<NaiveDate>) -> RequestFacts {
        RequestFacts {
            mode: Mode::CarryBack,
            state,
            service: "HZ01".into(),
            accepted_on: at(0).date_naive(),
            due,
            officer: "OF-1".into(),
        }
    }

    #[test]
    fn a_desk_move_writes_its_event_always_and_a_change_only_when_the_request_moved() {
        let step = |from, to| Transition { from, to, reason: None, recipient_signature: None };
        let w = desk_move(
            "r1",
            &held(RequestState::CarriedBack, None),
            &step(RequestState::CarriedBack, RequestState::Submitted),
            "desk:d",
            chrono::DateTime::UNIX_EPOCH,
        );
        assert!(w.facts.is_empty(), "a step that closes nothing counts nothing");
        assert_eq!(w.outcome, MergeOutcome::Apply { to: RequestState::Submitted });
        assert_eq!((w.stored.as_str(), w.audit_subject.as_str()), ("applied", "r1 applied"));
        let change = w.change.expect("a change for the officer");
        assert_eq!(
            (change.request.as_str(), change.state, change.by.as_str()),
            ("r1", RequestState::Submitted, "desk:d")
        );
        let again = desk_move(
            "r1",
            &held(RequestState::Submitted, None),
            &step(RequestState::CarriedBack, RequestState::Submitted),
            "desk:d",
            chrono::DateTime::UNIX_EPOCH,
        );
        assert_eq!((again.outcome, again.new_state, again.change), (MergeOutcome::AlreadyThere, None, None));
        let jump = desk_move(
            "r1",
            &held(RequestState::Submitted, None),
            &step(RequestState::Made, RequestState::CarriedBack),
            "d",
            chrono::DateTime::UNIX_EPOCH,
        );
        assert!(matches!(jump.outcome, MergeOutcome::Conflict { .. }) && jump.stored.starts_with("conflict:"));
        assert!(jump.change.is_none() && jump.new_state.is_none());
        assert!(!jump.event_body.is_empty(), "the conflict is kept with its transition");
    }

    /// The desk closing a request counts it closed on the day it did, and on time when that day
    /// is not past the request's due day.
    #[test]
    fn a_desk_close_counts_closed_and_on_time_by_the_due_day() {
        use beibao_core::indicators::CountKey;
        let step = Transition {
            from: RequestState::Delivered,
            to: RequestState::Closed,
            reason: None,
            recipient_signature: None,
        };
        let close =
            |due: Option<NaiveDate>| desk_move("r1", &held(RequestState::Delivered, due), &step, "desk:d", at(1)).facts;
        let today = beibao_core::calendar::china_date(at(1));
        let keys = |f: Vec<Fact>| f.into_iter().map(|f| (f.key, f.day)).collect::<Vec<_>>();
        assert_eq!(
            keys(close(Some(today))),
            [(CountKey::ServicesClosed, today), (CountKey::ServicesClosedOnTime, today)]
        );
        assert_eq!(keys(close(today.pred_opt())), [(CountKey::ServicesClosed, today)]);
        assert_eq!(
            keys(close(None)),
            [(CountKey::ServicesClosed, today)],
            "a service no catalog knows is never on time"
        );
    }

    #[test]
    fn seqs_at_the_end_of_the_range_are_refused_or_gapped_never_overflowed() {
        let op = |seq: i64| WireOp::new(seq, &format!("op-{seq}"), "visit", &"0".repeat(64), "{}").expect("op");
        assert!(matches!(check_shape(&[op(i64::MAX), op(i64::MIN)]), Err(BatchError::Invalid(_))));
        assert!(matches!(check_shape(&[op(i64::MAX - 1), op(i64::MAX)]), Ok(())));
        assert!(matches!(check_gap(&[op(i64::MAX)], 1), Err(BatchError::Gap { expect_seq: 2 })));
        assert!(matches!(check_gap(&[op(i64::MAX)], i64::MAX), Ok(())), "a replay of the last seq");
    }
}
