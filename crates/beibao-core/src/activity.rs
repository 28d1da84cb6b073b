//! Other field records: safety-publicity sessions, hazards found and fixed, satisfaction ratings.

use crate::code::Code;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::text::LocalText;

/// Topic of a safety-publicity session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum PublicityTopic {
    /// 反诈.
    AntiFraud,
    /// 防溺水.
    DrowningPrevention,
    /// 消防.
    FireSafety,
    /// 交通安全.
    TrafficSafety,
    /// 禁毒.
    AntiDrug,
    /// 缉枪治爆.
    GunsAndExplosives,
    /// 其他.
    Other,
}

impl PublicityTopic {
    /// The topic's name.
    pub fn name(self) -> LocalText {
        let (zh, en) = match self {
            PublicityTopic::AntiFraud => ("反诈", "Anti-fraud"),
            PublicityTopic::DrowningPrevention => ("防溺水", "Drowning prevention"),
            PublicityTopic::FireSafety => ("消防", "Fire safety"),
            PublicityTopic::TrafficSafety => ("交通安全", "Traffic safety"),
            PublicityTopic::AntiDrug => ("禁毒", "Anti-drug"),
            PublicityTopic::GunsAndExplosives => ("缉枪治爆", "Guns and explosives"),
            PublicityTopic::Other => ("其他", "Other"),
        };
        LocalText::new(zh, en)
    }
}

/// A safety-publicity session (安全宣传).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicitySession {
    /// UUIDv7 made on the device.
    pub id: Uuid,
    /// Device.
    pub device_id: String,
    /// Officer.
    pub officer_id: String,
    /// Village.
    pub village: String,
    /// Topic.
    pub topic: PublicityTopic,
    /// When.
    pub held_at: DateTime<Utc>,
    /// People attending.
    pub attendees: u32,
    /// Leaflets handed out.
    pub leaflets: u32,
    /// Note.
    #[serde(default)]
    pub note: String,
}

/// Kinds of hazards (隐患).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum HazardKind {
    /// 九小场所 fire safety.
    SmallVenueFire,
    /// 出租房.
    RentedHousing,
    /// 电动车充电.
    EbikeCharging,
    /// 道路交通.
    Road,
    /// 其他.
    Other,
}

/// A hazard found in a village, closed when fixed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hazard {
    /// UUIDv7 made on the device.
    pub id: Uuid,
    /// Device.
    pub device_id: String,
    /// Officer.
    pub officer_id: String,
    /// Village.
    pub village: String,
    /// Kind.
    pub kind: HazardKind,
    /// Where exactly.
    pub place: String,
    /// What is wrong.
    pub description: String,
    /// When found.
    pub found_at: DateTime<Utc>,
    /// Rectification deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<NaiveDate>,
    /// When fixed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_at: Option<DateTime<Utc>>,
}

/// What a 一标三实 entry is about: the standard address, or the actual population, housing or units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum InfoCategory {
    /// 标准地址: a door number, a street name.
    Address,
    /// 实有人口: a resident moved in or out, a phone, a name.
    Resident,
    /// 实有房屋: a house built, let, empty.
    House,
    /// 实有单位: a shop, a workshop, a company.
    Unit,
}

/// A correction or addition to the registry proposed at the door (一标三实). The station reviews it
/// before the registry changes; the officer's count of information collected is read from these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct RegistryProposal {
    /// UUIDv7 made on the device.
    pub id: Uuid,
    /// Device.
    pub device_id: String,
    /// Officer.
    pub officer_id: String,
    /// Village.
    pub village: String,
    /// Address, resident, house or unit.
    pub category: InfoCategory,
    /// The household it concerns, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub household: Option<String>,
    /// Whom or what it is about (a person's name, a door number, a unit's name).
    pub subject: String,
    /// What the registry should say.
    pub proposed: String,
    /// Note.
    #[serde(default)]
    pub note: String,
    /// When proposed.
    pub proposed_at: DateTime<Utc>,
}

impl RegistryProposal {
    /// Check the record: the village, what it is about and what it proposes, within bounds.
    pub fn validate(&self) -> Result<(), ActivityError> {
        required_within(&[
            ("village", &self.village, 32),
            ("subject", &self.subject, 100),
            ("proposed", &self.proposed, 500),
        ])?;
        within(&[("note", &self.note, 500)])
    }
}

/// What a clue is about (线索上报).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ClueCategory {
    /// 涉枪涉爆.
    GunsExplosives,
    /// 涉毒.
    Drugs,
    /// 涉赌.
    Gambling,
    /// 电信网络诈骗.
    Fraud,
    /// 涉黑涉恶.
    GangCrime,
    /// 矛盾纠纷苗头: a dispute that may turn violent.
    DisputeRisk,
    /// Anything else.
    Other,
}

/// A clue or piece of information reported from the village (线索上报), beyond the ZA06 service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ClueReport {
    /// UUIDv7 made on the device.
    pub id: Uuid,
    /// Device.
    pub device_id: String,
    /// Officer.
    pub officer_id: String,
    /// Village.
    pub village: String,
    /// What it is about.
    pub category: ClueCategory,
    /// What was learnt.
    pub summary: String,
    /// Where.
    #[serde(default)]
    pub place: String,
    /// When reported.
    pub reported_at: DateTime<Utc>,
}

impl ClueReport {
    /// Check the record: the village and what was learnt, within bounds.
    pub fn validate(&self) -> Result<(), ActivityError> {
        required_within(&[("village", &self.village, 32), ("summary", &self.summary, 1000)])?;
        within(&[("place", &self.place, 200)])
    }
}

/// Each text is not blank and not longer than its bound (characters).
fn required_within(fields: &[(&'static str, &str, usize)]) -> Result<(), ActivityError> {
    if let Some((name, _, _)) = fields.iter().find(|(_, v, _)| v.trim().is_empty()) {
        return Err(ActivityError::Required(name));
    }
    within(fields)
}

/// Each text is not longer than its bound (characters).
fn within(fields: &[(&'static str, &str, usize)]) -> Result<(), ActivityError> {
    match fields.iter().find(|(_, v, max)| v.chars().count() > *max) {
        Some((name, _, _)) => Err(ActivityError::Implausible(name)),
        None => Ok(()),
    }
}

/// The three answers of the satisfaction question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Satisfaction {
    /// 满意.
    Satisfied,
    /// 基本满意.
    BasicallySatisfied,
    /// 不满意.
    Dissatisfied,
}

impl Satisfaction {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Satisfaction::Satisfied => "satisfied",
            Satisfaction::BasicallySatisfied => "basically_satisfied",
            Satisfaction::Dissatisfied => "dissatisfied",
        }
    }
}

/// What a rating is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum RatingSubject {
    /// A visit.
    Visit(Uuid),
    /// A service request.
    ServiceRequest(Uuid),
    /// A mediation.
    Mediation(Uuid),
}

/// A resident's satisfaction rating after a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rating {
    /// UUIDv7 made on the device.
    pub id: Uuid,
    /// Device.
    pub device_id: String,
    /// Officer.
    pub officer_id: String,
    /// What was rated.
    pub subject: RatingSubject,
    /// The answer.
    pub rating: Satisfaction,
    /// What the resident added in their own words (at most [`RATING_COMMENT_MAX`] characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// When.
    pub rated_at: DateTime<Utc>,
}

/// The longest comment a resident may leave with a rating, in characters.
pub const RATING_COMMENT_MAX: usize = 500;

impl Rating {
    /// Check the record: a comment, when given, is not blank and not longer than
    /// [`RATING_COMMENT_MAX`] characters.
    pub fn validate(&self) -> Result<(), ActivityError> {
        if let Some(c) = &self.comment
            && (c.trim().is_empty() || c.chars().count() > RATING_COMMENT_MAX)
        {
            return Err(ActivityError::Implausible("comment"));
        }
        Ok(())
    }
}

/// Why an activity record is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActivityError {
    /// A required text is empty.
    #[error("{0} is required")]
    Required(&'static str),
    /// A count is out of range.
    #[error("{0} is not plausible")]
    Implausible(&'static str),
    /// A date lies before the record's start.
    #[error("{0} lies before the hazard was found")]
    BeforeFound(&'static str),
    /// Dates in the wrong order (a ruling before the application, an event in the future).
    #[error("{0} is out of order with the record's other dates")]
    OutOfOrder(&'static str),
    /// Past a legal window (司法确认: 30 days from the agreement taking effect).
    #[error("{0} is past the legal window")]
    WindowClosed(&'static str),
}

impl ActivityError {
    /// Stable error code for the UI and the API.
    pub fn code(&self) -> Code {
        match self {
            ActivityError::Required(_) => Code::Required,
            ActivityError::Implausible(_) => Code::Implausible,
            ActivityError::BeforeFound(_) => Code::BeforeFound,
            ActivityError::OutOfOrder(_) => Code::PeriodReversed,
            ActivityError::WindowClosed(_) => Code::WindowClosed,
        }
    }
}

impl PublicitySession {
    /// Check the record.
    pub fn validate(&self) -> Result<(), ActivityError> {
        if self.village.trim().is_empty() {
            return Err(ActivityError::Required("village"));
        }
        if self.attendees == 0 || self.attendees > 5_000 {
            return Err(ActivityError::Implausible("attendees"));
        }
        if self.leaflets > 100_000 {
            return Err(ActivityError::Implausible("leaflets"));
        }
        Ok(())
    }
}

impl Hazard {
    /// Check the record.
    pub fn validate(&self) -> Result<(), ActivityError> {
        if self.village.trim().is_empty() {
            return Err(ActivityError::Required("village"));
        }
        if self.place.trim().is_empty() {
            return Err(ActivityError::Required("place"));
        }
        if self.description.trim().is_empty() {
            return Err(ActivityError::Required("description"));
        }
        if let Some(d) = self.deadline
            && d < crate::calendar::china_date(self.found_at)
        {
            return Err(ActivityError::BeforeFound("deadline"));
        }
        if let Some(f) = self.fixed_at
            && f < self.found_at
        {
            return Err(ActivityError::BeforeFound("fixed_at"));
        }
        Ok(())
    }
}
