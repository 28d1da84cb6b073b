//! The mediation agreement: its content, the required fields of each template, the guardian rule,
//! and the content hash that makes a signed agreement immutable.

use crate::code::Code;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::MediationKind;
use crate::calendar::china_date;
use crate::canonical::{self, CanonicalError};
use crate::identity::{IdNumber, Phone};

/// Schema tag hashed with every agreement, so a future layout can never collide with this one.
pub const AGREEMENT_SCHEMA: &str = "beibao.agreement.v1";

/// A party's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum PartyRole {
    /// 申请人 (人民调解).
    Applicant,
    /// 被申请人 (人民调解).
    Respondent,
    /// 被侵害人 (治安调解).
    Victim,
    /// 违法行为人 (治安调解); may not be represented by a proxy.
    Offender,
}

/// A parent or guardian attending for a minor party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Guardian {
    /// Name.
    pub name: String,
    /// Relation to the party (父亲, 母亲…).
    pub relation: String,
    /// Phone.
    pub phone: String,
}

/// A proxy with a written authorisation (the victim only, 公通字〔2007〕81号 Art.7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Proxy {
    /// Name.
    pub name: String,
    /// ID number.
    pub id_number: String,
    /// Scope of the written authorisation.
    pub authorization_scope: String,
}

/// A party to the dispute (当事人的基本情况, 人民调解法 Art.29).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Party {
    /// Role.
    pub role: PartyRole,
    /// Name.
    pub name: String,
    /// Citizen ID number; sex, birth date and age are derived from it.
    pub id_number: String,
    /// Address.
    pub address: String,
    /// Phone.
    pub phone: String,
    /// Guardian, required for a party under 16 (and 16–17 unless self-supporting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardian: Option<Guardian>,
    /// Aged 16–17, lives mainly on own earnings and agreed not to notify the guardian (程序规定).
    #[serde(default)]
    pub self_supporting: bool,
    /// Proxy, if the party is represented.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<Proxy>,
}

/// A mediator's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum MediatorRole {
    /// 主持民警: the officer hosting a 治安调解.
    HostOfficer,
    /// 人民调解员.
    Mediator,
    /// 特邀调解员.
    InvitedMediator,
}

/// A mediator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Mediator {
    /// Name.
    pub name: String,
    /// Role.
    pub role: MediatorRole,
}

/// The incident of a 治安调解 (time, place, people, cause, course, circumstances, result).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Incident {
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Where.
    pub place: String,
    /// Cause (起因).
    pub cause: String,
    /// Course (经过).
    pub course: String,
    /// Circumstances (情节).
    pub circumstances: String,
    /// Result (后果): injuries, damage.
    pub result: String,
}

/// How, where and by when the terms are performed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Performance {
    /// Method (履行方式).
    pub method: String,
    /// Place (履行地点).
    pub place: String,
    /// Deadline (履行期限).
    pub deadline: NaiveDate,
}

/// Where the agreement was made, in integer micro-degrees (WGS-84) so the hash never depends on
/// how a platform prints floating-point numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct AgreementGps {
    /// Latitude × 10⁶.
    pub lat_e6: i64,
    /// Longitude × 10⁶.
    pub lon_e6: i64,
    /// Accuracy in whole metres.
    pub accuracy_m: u32,
}

impl AgreementGps {
    /// From degrees and metres, rounded to the micro-degree (about 0.1 m).
    pub fn from_degrees(lat: f64, lon: f64, accuracy_m: f64) -> AgreementGps {
        AgreementGps {
            lat_e6: (lat * 1e6).round() as i64,
            lon_e6: (lon * 1e6).round() as i64,
            accuracy_m: accuracy_m.max(0.0).round() as u32,
        }
    }
}

/// One point of a signature stroke: device-independent pixels and milliseconds since the stroke began.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StrokePoint {
    /// x.
    pub x: i32,
    /// y.
    pub y: i32,
    /// Milliseconds since the first point of the stroke.
    pub t: u32,
}

/// Who signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", content = "index", rename_all = "snake_case")]
pub enum Signer {
    /// The party at this position.
    Party(usize),
    /// The guardian of the party at this position.
    Guardian(usize),
    /// The mediator at this position.
    Mediator(usize),
}

/// Signature or thumbprint (签名、盖章或者按指印).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    /// Handwritten signature on the tablet.
    Signature,
    /// Thumbprint, photographed.
    Thumbprint,
}

/// A captured signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct SignatureCapture {
    /// Who signed.
    pub signer: Signer,
    /// Signature or thumbprint.
    pub mark: Mark,
    /// Strokes of a handwritten signature (empty for a thumbprint).
    pub strokes: Vec<Vec<StrokePoint>>,
    /// SHA-256 of the PNG of the signature or thumbprint.
    pub image_sha256: String,
    /// When it was captured.
    pub signed_at: DateTime<Utc>,
}

/// Written or oral agreement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum AgreementForm {
    /// 书面协议.
    Written,
    /// 口头协议 (人民调解法 Art.28): the content is recorded; takes effect the day it is reached.
    Oral,
}

/// The content of a mediation agreement: everything that is signed and hashed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Agreement {
    /// Template.
    pub kind: MediationKind,
    /// Written or oral.
    pub form: AgreementForm,
    /// Serial number from the device's reserved block (协议书编号), once assigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// Mediating authority: the police station, or the people's mediation committee.
    pub authority: String,
    /// Mediators (for 治安调解 the host officer among them).
    pub mediators: Vec<Mediator>,
    /// Witnesses and others present (村委会成员, 特邀人员…).
    #[serde(default)]
    pub witnesses: Vec<String>,
    /// Parties.
    pub parties: Vec<Party>,
    /// Main facts of the dispute.
    pub facts: String,
    /// Matters in dispute.
    pub issues: String,
    /// Each party's responsibility, in party order (人民调解).
    #[serde(default)]
    pub responsibilities: Vec<String>,
    /// The incident (治安调解).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<Incident>,
    /// Agreed terms.
    pub terms: Vec<String>,
    /// Performance method, place and deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performance: Option<Performance>,
    /// Village code where mediated.
    pub village: String,
    /// Place description.
    pub place: String,
    /// GPS position where mediated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gps: Option<AgreementGps>,
    /// When the agreement was reached.
    pub concluded_at: DateTime<Utc>,
    /// The parties were told of the nature, principles and effect of mediation and their rights (Art.30).
    pub rights_notified: bool,
    /// Signatures and thumbprints.
    #[serde(default)]
    pub signatures: Vec<SignatureCapture>,
}

/// A field that is missing or wrong, with a stable code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FieldIssue {
    /// Path of the field, e.g. `parties[1].phone`.
    pub field: String,
    /// Stable code: `required`, `invalid`, `guardian_required`, `signature_required`…
    pub code: Code,
    /// Detail for the log and the English UI.
    pub detail: String,
}

/// Whether a party needs a guardian present, on the day of mediation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardianRule {
    /// Adult.
    NotRequired,
    /// Under 16: the guardian must attend.
    Required,
    /// 16 or 17: required unless self-supporting and the party agreed not to notify.
    RequiredUnlessSelfSupporting,
}

/// The guardian rule for someone of this ID number on `on`.
pub fn guardian_rule(id: &IdNumber, on: NaiveDate) -> GuardianRule {
    match id.age_on(on) {
        0..=15 => GuardianRule::Required,
        16 | 17 => GuardianRule::RequiredUnlessSelfSupporting,
        _ => GuardianRule::NotRequired,
    }
}

/// A finalized agreement: content plus its hash; read-only from here on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalizedAgreement {
    /// The content.
    pub agreement: Agreement,
    /// SHA-256 (lower-case hex) of the canonical JSON.
    pub content_hash: String,
}

#[derive(Serialize)]
struct Hashed<'a> {
    schema: &'static str,
    agreement: &'a Agreement,
}

impl Agreement {
    /// A written agreement of `kind` with nothing filled in yet, made in `village` (at `place`)
    /// and dated `at`: what a mediation starts from.
    pub fn blank(kind: MediationKind, village: &str, place: &str, at: DateTime<Utc>) -> Agreement {
        Agreement {
            kind,
            form: AgreementForm::Written,
            serial: None,
            authority: String::new(),
            mediators: vec![],
            witnesses: vec![],
            parties: vec![],
            facts: String::new(),
            issues: String::new(),
            responsibilities: vec![],
            incident: None,
            terms: vec![],
            performance: None,
            village: village.to_owned(),
            place: place.to_owned(),
            gps: None,
            concluded_at: at,
            rights_notified: false,
            signatures: vec![],
        }
    }

    /// Canonical JSON of the agreement (with its schema tag): the bytes that are hashed and signed.
    pub fn canonical_json(&self) -> Result<String, CanonicalError> {
        canonical::to_canonical_json(&Hashed { schema: AGREEMENT_SCHEMA, agreement: self })
    }

    /// SHA-256 of [`Agreement::canonical_json`], lower-case hex. Printed as a QR code on the agreement.
    pub fn content_hash(&self) -> Result<String, CanonicalError> {
        Ok(canonical::sha256_hex(self.canonical_json()?.as_bytes()))
    }

    /// Copies to print: a written agreement one per party plus one for the authority (N+1; 一式三份
    /// for two parties); the record of an oral agreement is filed once.
    pub fn copies(&self) -> usize {
        match self.form {
            AgreementForm::Written => self.parties.len() + 1,
            AgreementForm::Oral => 1,
        }
    }

    /// Every missing or wrong field under the template's rules (empty when complete).
    pub fn issues(&self) -> Vec<FieldIssue> {
        let mut out = Vec::new();
        let on = china_date(self.concluded_at);
        let mut push = |field: String, code: Code, detail: &str| {
            out.push(FieldIssue { field, code, detail: detail.to_owned() });
        };
        let blank = |s: &str| s.trim().is_empty();
        let written = self.form == AgreementForm::Written;
        let security = self.kind == MediationKind::PublicSecurity;

        if security && !written {
            push("form".into(), Code::OralNotAllowed, "治安调解 needs a written agreement signed by both parties");
        }
        if blank(&self.authority) {
            push("authority".into(), Code::Required, "name of the mediating authority");
        }
        if self.mediators.is_empty() {
            push("mediators".into(), Code::Required, "at least one mediator");
        }
        for (i, m) in self.mediators.iter().enumerate() {
            if blank(&m.name) {
                push(format!("mediators[{i}].name"), Code::Required, "mediator's name");
            }
        }
        if security && !self.mediators.iter().any(|m| m.role == MediatorRole::HostOfficer) {
            push("mediators".into(), Code::HostOfficerRequired, "治安调解 is hosted by a police officer");
        }
        if self.parties.len() < 2 {
            push("parties".into(), Code::Required, "at least two parties");
        }
        for (i, p) in self.parties.iter().enumerate() {
            let f = |name: &str| format!("parties[{i}].{name}");
            if blank(&p.name) {
                push(f("name"), Code::Required, "party's name");
            }
            if blank(&p.address) {
                push(f("address"), Code::Required, "party's address");
            }
            match Phone::parse(&p.phone) {
                Ok(_) => {}
                Err(e) if blank(&p.phone) => push(f("phone"), Code::Required, &e.to_string()),
                Err(e) => push(f("phone"), Code::Invalid, &e.to_string()),
            }
            match IdNumber::parse(&p.id_number, on) {
                Err(e) if blank(&p.id_number) => push(f("id_number"), Code::Required, &e.to_string()),
                Err(e) => push(f("id_number"), Code::Invalid, &e.to_string()),
                Ok(id) => {
                    let needs = match guardian_rule(&id, on) {
                        GuardianRule::Required => true,
                        GuardianRule::RequiredUnlessSelfSupporting => !p.self_supporting,
                        GuardianRule::NotRequired => false,
                    };
                    if needs && p.guardian.is_none() {
                        let detail = format!("party is {} on {on}: a parent or guardian must attend", id.age_on(on));
                        push(f("guardian"), Code::GuardianRequired, &detail);
                    }
                }
            }
            if let Some(g) = &p.guardian
                && (blank(&g.name) || blank(&g.relation) || Phone::parse(&g.phone).is_err())
            {
                push(f("guardian"), Code::Invalid, "guardian needs name, relation and a valid phone");
            }
            if let Some(proxy) = &p.proxy {
                if security && p.role == PartyRole::Offender {
                    push(f("proxy"), Code::ProxyNotAllowed, "the offender may not be represented by a proxy");
                }
                if blank(&proxy.authorization_scope) || blank(&proxy.name) {
                    push(f("proxy"), Code::Invalid, "a proxy needs a name and the scope of the written authorisation");
                }
            }
        }
        if blank(&self.facts) {
            push("facts".into(), Code::Required, "main facts of the dispute");
        }
        if self.kind == MediationKind::People {
            if blank(&self.issues) {
                push("issues".into(), Code::Required, "matters in dispute");
            }
            if written
                && (self.responsibilities.len() != self.parties.len() || self.responsibilities.iter().any(|r| blank(r)))
            {
                push("responsibilities".into(), Code::Required, "each party's responsibility, one per party");
            }
            if !self.rights_notified {
                push(
                    "rights_notified".into(),
                    Code::Required,
                    "parties must be told of their rights before mediation (Art.30)",
                );
            }
        }
        if security {
            match &self.incident {
                None => push("incident".into(), Code::Required, "time, place, cause, course, circumstances and result"),
                Some(inc) => {
                    for (name, value) in [
                        ("place", &inc.place),
                        ("cause", &inc.cause),
                        ("course", &inc.course),
                        ("circumstances", &inc.circumstances),
                        ("result", &inc.result),
                    ] {
                        if blank(value) {
                            push(format!("incident.{name}"), Code::Required, "incident detail");
                        }
                    }
                    if inc.occurred_at > self.concluded_at {
                        push(
                            "incident.occurred_at".into(),
                            Code::Invalid,
                            "the incident cannot happen after the agreement",
                        );
                    }
                }
            }
        }
        if self.terms.is_empty() || self.terms.iter().any(|t| blank(t)) {
            push("terms".into(), Code::Required, "the agreed terms (recorded for an oral agreement too)");
        }
        match (&self.performance, written) {
            (None, true) => push("performance".into(), Code::Required, "performance method, place and deadline"),
            (Some(perf), _) => {
                if blank(&perf.method) {
                    push("performance.method".into(), Code::Required, "performance method");
                }
                if blank(&perf.place) {
                    push("performance.place".into(), Code::Required, "performance place");
                }
                if perf.deadline < on {
                    push("performance.deadline".into(), Code::Invalid, "the deadline lies before the agreement");
                }
            }
            (None, false) => {}
        }
        if blank(&self.village) {
            push("village".into(), Code::Required, "village where mediated");
        }
        if blank(&self.place) {
            push("place".into(), Code::Required, "place where mediated");
        }
        if written {
            self.signature_issues(&mut out);
        }
        out
    }

    fn signature_issues(&self, out: &mut Vec<FieldIssue>) {
        let signed = |who: Signer| self.signatures.iter().any(|s| s.signer == who && !s.image_sha256.trim().is_empty());
        let mut need = |who: Signer, field: String, detail: &str| {
            if !signed(who) {
                out.push(FieldIssue { field, code: Code::SignatureRequired, detail: detail.to_owned() });
            }
        };
        for (i, p) in self.parties.iter().enumerate() {
            need(Signer::Party(i), format!("signatures.party[{i}]"), "every party signs or thumbprints");
            if p.guardian.is_some() {
                need(Signer::Guardian(i), format!("signatures.guardian[{i}]"), "the attending guardian signs");
            }
        }
        for i in 0..self.mediators.len() {
            need(Signer::Mediator(i), format!("signatures.mediator[{i}]"), "every mediator signs");
        }
        for (i, s) in self.signatures.iter().enumerate() {
            let exists = match s.signer {
                Signer::Party(p) => p < self.parties.len(),
                Signer::Guardian(p) => self.parties.get(p).is_some_and(|p| p.guardian.is_some()),
                Signer::Mediator(m) => m < self.mediators.len(),
            };
            let shaped = match s.mark {
                Mark::Signature => !s.strokes.is_empty() && s.strokes.iter().all(|st| !st.is_empty()),
                Mark::Thumbprint => true,
            };
            if !exists {
                out.push(FieldIssue {
                    field: format!("signatures[{i}]"),
                    code: Code::Invalid,
                    detail: "signer does not exist".into(),
                });
            } else if !shaped {
                out.push(FieldIssue {
                    field: format!("signatures[{i}]"),
                    code: Code::Invalid,
                    detail: "a signature needs its strokes".into(),
                });
            }
        }
    }

    /// Finalize: refuse with every issue, or hash the content. The result is read-only.
    pub fn finalize(self) -> Result<FinalizedAgreement, Vec<FieldIssue>> {
        let issues = self.issues();
        if !issues.is_empty() {
            return Err(issues);
        }
        let content_hash = self
            .content_hash()
            .map_err(|e| vec![FieldIssue { field: "$".into(), code: Code::NotCanonical, detail: e.to_string() }])?;
        Ok(FinalizedAgreement { agreement: self, content_hash })
    }
}

impl FinalizedAgreement {
    /// Re-hash and compare: true when the content is untouched.
    pub fn verify(&self) -> bool {
        self.agreement.content_hash().is_ok_and(|h| h == self.content_hash)
    }

    /// Copies to print (see [`Agreement::copies`]).
    pub fn copies(&self) -> usize {
        self.agreement.copies()
    }
}

/// When an agreement takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Effect {
    /// In effect from this instant.
    Effective {
        /// From when.
        at: DateTime<Utc>,
    },
    /// Signed, waiting for the seal (the committee's or the police's).
    SealPending,
}

/// The effect of a finalized agreement given when the seal was applied: an oral agreement takes
/// effect when reached (Art.30); a written one once all have signed and the seal is on (Art.29).
pub fn effect(agreement: &Agreement, seal_applied_at: Option<DateTime<Utc>>) -> Effect {
    match (agreement.form, seal_applied_at) {
        (AgreementForm::Oral, _) => Effect::Effective { at: agreement.concluded_at },
        (AgreementForm::Written, Some(at)) => Effect::Effective { at: at.max(agreement.concluded_at) },
        (AgreementForm::Written, None) => Effect::SealPending,
    }
}
