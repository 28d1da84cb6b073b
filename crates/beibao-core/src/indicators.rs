//! The indicators supervisors report (REFERENCE §5), as data and formulas over counts. One
//! definition serves the tablet's own totals, the server's reports and the exports. Totals carry
//! counts only, never personal data.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::text::LocalText;

/// A count that the store or the server tallies over a period and a scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum CountKey {
    /// Distinct households with at least one visit.
    HouseholdsVisited,
    /// People spoken to over all visits.
    PersonsMet,
    /// Visits to households with 孤寡老人, 留守儿童, 残疾人 or 特困 members.
    SpecialGroupVisits,
    /// Service requests accepted.
    ServicesAccepted,
    /// Service requests completed on site.
    ServicesCompletedOnSite,
    /// Service requests carried back.
    ServicesCarriedBack,
    /// Documents delivered with a signed receipt.
    DoorDeliveries,
    /// Requests closed.
    ServicesClosed,
    /// Requests closed within their typical time.
    ServicesClosedOnTime,
    /// Disputes found in screening.
    DisputesLogged,
    /// Mediations resolved (written or oral agreement, or settlement).
    DisputesResolved,
    /// Mediations concluded (any outcome; ongoing excluded).
    MediationsConcluded,
    /// Agreements performed by their deadline.
    AgreementsPerformed,
    /// Agreements whose deadline has passed.
    AgreementsDue,
    /// Agreements confirmed by a court.
    JudicialConfirmations,
    /// Disputes re-opened or escalated to criminal cases.
    Recurrences,
    /// Safety-publicity sessions.
    PublicitySessions,
    /// Attendees of publicity sessions.
    PublicityAttendees,
    /// Leaflets handed out.
    LeafletsHandedOut,
    /// Hazards logged.
    HazardsFound,
    /// Hazards closed.
    HazardsFixed,
    /// People, houses and units added or updated (一标三实).
    InformationCollected,
    /// Clue reports submitted.
    CluesReported,
    /// Anti-fraud app installs assisted.
    AntiFraudInstalls,
    /// Minutes spent on visits and patrols.
    PresenceMinutes,
    /// Villages in scope.
    VillagesInScope,
    /// Satisfaction ratings of 满意.
    RatingsSatisfied,
    /// Satisfaction ratings given.
    Ratings,
}

/// How an indicator is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Formula {
    /// A count.
    Count {
        /// The count.
        of: CountKey,
    },
    /// A percentage `numerator ÷ denominator × 100`; undefined when the denominator is 0.
    Percent {
        /// Numerator.
        numerator: CountKey,
        /// Denominator.
        denominator: CountKey,
    },
    /// A ratio `numerator ÷ denominator` (e.g. hours per village), with a scale applied to the numerator.
    Ratio {
        /// Numerator.
        numerator: CountKey,
        /// Denominator.
        denominator: CountKey,
        /// The numerator is divided by this first (60 turns minutes into hours).
        numerator_divisor: u32,
    },
}

/// One indicator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Indicator {
    /// Stable code.
    pub code: &'static str,
    /// Name.
    pub name: LocalText,
    /// Unit.
    pub unit: LocalText,
    /// Formula.
    pub formula: Formula,
}

/// Tallies by key; absent keys count 0.
pub type Counts = BTreeMap<CountKey, u64>;

/// The value of an indicator.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IndicatorValue {
    /// A count.
    Count {
        /// The value.
        value: u64,
    },
    /// A ratio; `value` is `None` when the denominator is 0 (shown as "—", never as 0 % or 100 %).
    Rate {
        /// Numerator.
        numerator: u64,
        /// Denominator.
        denominator: u64,
        /// Percentage or ratio.
        value: Option<f64>,
    },
}

impl Indicator {
    /// Evaluate over counts.
    pub fn evaluate(&self, counts: &Counts) -> IndicatorValue {
        let get = |k: &CountKey| counts.get(k).copied().unwrap_or(0);
        match self.formula {
            Formula::Count { of } => IndicatorValue::Count { value: get(&of) },
            Formula::Percent { numerator, denominator } => {
                let (n, d) = (get(&numerator), get(&denominator));
                let value = (d > 0).then(|| n as f64 * 100.0 / d as f64);
                IndicatorValue::Rate { numerator: n, denominator: d, value }
            }
            Formula::Ratio { numerator, denominator, numerator_divisor } => {
                let (n, d) = (get(&numerator), get(&denominator));
                let value = (d > 0).then(|| n as f64 / f64::from(numerator_divisor.max(1)) / d as f64);
                IndicatorValue::Rate { numerator: n, denominator: d, value }
            }
        }
    }

    /// The counts the indicator reads.
    pub fn inputs(&self) -> Vec<CountKey> {
        match self.formula {
            Formula::Count { of } => vec![of],
            Formula::Percent { numerator, denominator } | Formula::Ratio { numerator, denominator, .. } => {
                vec![numerator, denominator]
            }
        }
    }
}

fn count(code: &'static str, zh: &str, en: &str, unit: (&str, &str), of: CountKey) -> Indicator {
    Indicator {
        code,
        name: LocalText::new(zh, en),
        unit: LocalText::new(unit.0, unit.1),
        formula: Formula::Count { of },
    }
}

fn percent(code: &'static str, zh: &str, en: &str, numerator: CountKey, denominator: CountKey) -> Indicator {
    Indicator {
        code,
        name: LocalText::new(zh, en),
        unit: LocalText::new("%", "%"),
        formula: Formula::Percent { numerator, denominator },
    }
}

/// The indicator set of the app, in report order.
pub fn all() -> Vec<Indicator> {
    use CountKey as K;
    let hu = ("户", "households");
    let ci = ("次", "times");
    let jian = ("件", "items");
    let qi = ("起", "cases");
    let ren = ("人", "people");
    vec![
        count("households_visited", "走访户数", "Households visited", hu, K::HouseholdsVisited),
        count("person_visits", "走访人次", "Person-visits", ("人次", "person-visits"), K::PersonsMet),
        count("special_group_visits", "特殊群体走访数", "Special-group visits", ci, K::SpecialGroupVisits),
        count("services_handled", "帮代办件数", "Services handled", jian, K::ServicesAccepted),
        count("services_on_site", "现场办结件数", "Services completed on site", jian, K::ServicesCompletedOnSite),
        count("services_carried_back", "带回办理件数", "Services carried back", jian, K::ServicesCarriedBack),
        count("door_deliveries", "送证上门数", "Door deliveries", jian, K::DoorDeliveries),
        percent(
            "on_site_rate",
            "现场办结率",
            "On-the-spot completion rate",
            K::ServicesCompletedOnSite,
            K::ServicesAccepted,
        ),
        percent("on_time_rate", "按时办结率", "On-time rate", K::ServicesClosedOnTime, K::ServicesClosed),
        count("disputes_logged", "排查矛盾纠纷数", "Disputes logged", qi, K::DisputesLogged),
        count("disputes_resolved", "化解矛盾纠纷数", "Disputes resolved", qi, K::DisputesResolved),
        percent(
            "mediation_success_rate",
            "调解成功率",
            "Mediation success rate",
            K::DisputesResolved,
            K::MediationsConcluded,
        ),
        percent(
            "agreement_performance_rate",
            "协议履行率",
            "Agreement performance rate",
            K::AgreementsPerformed,
            K::AgreementsDue,
        ),
        count("judicial_confirmations", "司法确认数", "Judicial confirmations", jian, K::JudicialConfirmations),
        count("recurrences", "反弹/民转刑数", "Recurrences and civil-to-criminal conversions", qi, K::Recurrences),
        count("publicity_sessions", "安全宣传次数", "Safety-publicity sessions", ci, K::PublicitySessions),
        count("publicity_attendees", "宣传受众人数", "Publicity attendees", ren, K::PublicityAttendees),
        count("leaflets", "发放宣传资料份数", "Leaflets handed out", ("份", "copies"), K::LeafletsHandedOut),
        count("hazards_found", "隐患排查数", "Hazards found", ("处", "sites"), K::HazardsFound),
        count("hazards_fixed", "隐患整改数", "Hazards fixed", ("处", "sites"), K::HazardsFixed),
        count(
            "information_collected",
            "采集基础信息数",
            "Information collected",
            ("条", "records"),
            K::InformationCollected,
        ),
        count("clue_reports", "上报线索/信息数", "Clue reports", ("条", "reports"), K::CluesReported),
        count("anti_fraud_installs", "反诈APP安装数", "Anti-fraud app installs", ren, K::AntiFraudInstalls),
        Indicator {
            code: "police_presence",
            name: LocalText::new("见警率（在村时长）", "Police visibility (hours in villages)"),
            unit: LocalText::new("小时/村", "hours per village"),
            formula: Formula::Ratio {
                numerator: K::PresenceMinutes,
                denominator: K::VillagesInScope,
                numerator_divisor: 60,
            },
        },
        percent("satisfaction_rate", "群众满意率", "Satisfaction rate", K::RatingsSatisfied, K::Ratings),
    ]
}

/// The indicator with this code.
pub fn by_code(code: &str) -> Option<Indicator> {
    all().into_iter().find(|i| i.code == code)
}
