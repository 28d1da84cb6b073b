//! Household and enterprise visits (入户走访) and the proof-of-visit verdict.

use crate::code::Code;
use chrono::{DateTime, Duration, Utc};
use geo::{Closest, ClosestPoint, Contains, Distance, Haversine, Point, Polygon};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::registry::GeoPoint;
use crate::text::LocalText;

/// Whom the officer visited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum VisitTarget {
    /// A household of the register.
    Household(String),
    /// A key enterprise.
    Enterprise(String),
}

/// Why the officer came.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum VisitPurpose {
    /// 上门服务: handle a police service.
    Service,
    /// 特殊群体关爱: special-group care.
    SpecialGroupCare,
    /// 隐患排查: hazard check.
    HazardCheck,
    /// 安全宣传: safety publicity.
    Publicity,
    /// 矛盾纠纷排查: dispute screening.
    DisputeScreening,
    /// 信息采集: information collection (一标三实).
    InformationCollection,
}

impl VisitPurpose {
    /// The purpose's name.
    pub fn name(self) -> LocalText {
        let (zh, en) = match self {
            VisitPurpose::Service => ("上门服务", "Service"),
            VisitPurpose::SpecialGroupCare => ("特殊群体关爱", "Special-group care"),
            VisitPurpose::HazardCheck => ("隐患排查", "Hazard check"),
            VisitPurpose::Publicity => ("安全宣传", "Safety publicity"),
            VisitPurpose::DisputeScreening => ("矛盾纠纷排查", "Dispute screening"),
            VisitPurpose::InformationCollection => ("信息采集", "Information collection"),
        };
        LocalText::new(zh, en)
    }
}

/// How the visit went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum VisitOutcome {
    /// 已见面: met the residents.
    Met,
    /// 无人在家: nobody home.
    NobodyHome,
    /// 拒绝接待: the residents declined.
    Declined,
}

impl VisitOutcome {
    /// The outcome's name.
    pub fn name(self) -> LocalText {
        let (zh, en) = match self {
            VisitOutcome::Met => ("已见面", "Met"),
            VisitOutcome::NobodyHome => ("无人在家", "Nobody home"),
            VisitOutcome::Declined => ("拒绝接待", "Declined"),
        };
        LocalText::new(zh, en)
    }
}

/// A GPS fix as the tablet reports it (WGS-84).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct GpsFix {
    /// Latitude in degrees.
    pub lat: f64,
    /// Longitude in degrees.
    pub lon: f64,
    /// Horizontal accuracy radius in metres (68 %).
    pub accuracy_m: f64,
    /// When the fix was taken (device clock).
    pub taken_at: DateTime<Utc>,
}

impl GpsFix {
    /// The fix as kept: a centimetre of position and accuracy ([`crate::precision`]).
    pub fn rounded(self) -> GpsFix {
        use crate::precision::{degrees, metres};
        GpsFix { lat: degrees(self.lat), lon: degrees(self.lon), accuracy_m: metres(self.accuracy_m), ..self }
    }
}

/// A position the officer placed by hand on the map when the tablet had no usable fix, with the
/// reason. It is recorded as such and never proves presence ([`ProofVerdict::ManualPin`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ManualPin {
    /// Latitude in degrees.
    pub lat: f64,
    /// Longitude in degrees.
    pub lon: f64,
    /// Why there is no GPS fix (e.g. "山谷里没有卫星信号").
    pub reason: String,
    /// When the pin was placed (device clock).
    pub placed_at: DateTime<Utc>,
}

impl ManualPin {
    /// The pin as kept: a centimetre of position ([`crate::precision`]).
    pub fn rounded(self) -> ManualPin {
        use crate::precision::degrees;
        ManualPin { lat: degrees(self.lat), lon: degrees(self.lon), ..self }
    }
}

/// Longest reason for a manual pin, in characters.
pub const MAX_PIN_REASON: usize = 200;

impl GpsFix {
    /// The position.
    pub fn point(&self) -> GeoPoint {
        GeoPoint { lat: self.lat, lon: self.lon }
    }
}

/// A visit record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Visit {
    /// UUIDv7 made on the device.
    pub id: Uuid,
    /// Device that recorded it.
    pub device_id: String,
    /// Officer who made the visit.
    pub officer_id: String,
    /// Village of the target.
    pub village: String,
    /// Household or enterprise visited.
    pub target: VisitTarget,
    /// Why the officer came (at least one).
    pub purposes: Vec<VisitPurpose>,
    /// How it went.
    pub outcome: VisitOutcome,
    /// People spoken to (走访人次); 0 when nobody was home.
    pub persons_met: u16,
    /// Start (device clock).
    pub started_at: DateTime<Utc>,
    /// End (device clock).
    pub ended_at: DateTime<Utc>,
    /// GPS fix, if the tablet had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<GpsFix>,
    /// A position placed by hand instead of a fix (never both).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<ManualPin>,
    /// Free-text note.
    #[serde(default)]
    pub note: String,
}

/// Longest plausible visit.
pub const MAX_VISIT: Duration = Duration::hours(12);

/// Why a visit record is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VisitError {
    /// No purpose chosen.
    #[error("choose at least one purpose for the visit")]
    NoPurpose,
    /// A purpose listed twice.
    #[error("purpose {0:?} is listed twice")]
    DuplicatePurpose(VisitPurpose),
    /// End before start.
    #[error("the visit ends before it starts")]
    EndsBeforeStart,
    /// Longer than [`MAX_VISIT`].
    #[error("a visit cannot last more than 12 hours")]
    TooLong,
    /// People met but nobody home, or met nobody though the visit says "met".
    #[error("persons met ({persons}) does not fit the outcome {outcome:?}")]
    PersonsMismatch {
        /// People met.
        persons: u16,
        /// Outcome.
        outcome: VisitOutcome,
    },
    /// Coordinates out of range or accuracy not positive.
    #[error("GPS fix is not a valid position (lat {lat}, lon {lon}, accuracy {accuracy_m} m)")]
    BadFix {
        /// Latitude.
        lat: f64,
        /// Longitude.
        lon: f64,
        /// Accuracy.
        accuracy_m: f64,
    },
    /// Both a GPS fix and a manual pin.
    #[error("a visit has a GPS fix or a manual pin, not both")]
    FixAndPin,
    /// A manual pin without a reason, or with one too long.
    #[error("say why the position was placed by hand (1 to 200 characters)")]
    PinReason,
    /// A manual pin off the globe.
    #[error("the manual pin is not a valid position (lat {lat}, lon {lon})")]
    BadPin {
        /// Latitude.
        lat: f64,
        /// Longitude.
        lon: f64,
    },
}

impl VisitError {
    /// Stable error code for the UI and the API.
    pub fn code(&self) -> Code {
        match self {
            VisitError::NoPurpose => Code::VisitNoPurpose,
            VisitError::DuplicatePurpose(_) => Code::VisitDuplicatePurpose,
            VisitError::EndsBeforeStart => Code::VisitEndsBeforeStart,
            VisitError::TooLong => Code::VisitTooLong,
            VisitError::PersonsMismatch { .. } => Code::VisitPersonsMismatch,
            VisitError::BadFix { .. } | VisitError::BadPin { .. } => Code::VisitBadFix,
            VisitError::FixAndPin => Code::VisitFixAndPin,
            VisitError::PinReason => Code::VisitPinReason,
        }
    }
}

impl Visit {
    /// Check the record's own rules.
    pub fn validate(&self) -> Result<(), VisitError> {
        if self.purposes.is_empty() {
            return Err(VisitError::NoPurpose);
        }
        for (i, p) in self.purposes.iter().enumerate() {
            if self.purposes[..i].contains(p) {
                return Err(VisitError::DuplicatePurpose(*p));
            }
        }
        if self.ended_at < self.started_at {
            return Err(VisitError::EndsBeforeStart);
        }
        if self.ended_at - self.started_at > MAX_VISIT {
            return Err(VisitError::TooLong);
        }
        let persons_ok = match self.outcome {
            VisitOutcome::Met => self.persons_met > 0,
            VisitOutcome::NobodyHome => self.persons_met == 0,
            VisitOutcome::Declined => true,
        };
        if !persons_ok {
            return Err(VisitError::PersonsMismatch { persons: self.persons_met, outcome: self.outcome });
        }
        if let Some(f) = &self.fix {
            let ok = (-90.0..=90.0).contains(&f.lat)
                && (-180.0..=180.0).contains(&f.lon)
                && f.accuracy_m.is_finite()
                && f.accuracy_m > 0.0;
            if !ok {
                return Err(VisitError::BadFix { lat: f.lat, lon: f.lon, accuracy_m: f.accuracy_m });
            }
        }
        if let Some(pin) = &self.pin {
            if self.fix.is_some() {
                return Err(VisitError::FixAndPin);
            }
            let reason = pin.reason.trim().chars().count();
            if reason == 0 || reason > MAX_PIN_REASON {
                return Err(VisitError::PinReason);
            }
            if !((-90.0..=90.0).contains(&pin.lat) && (-180.0..=180.0).contains(&pin.lon)) {
                return Err(VisitError::BadPin { lat: pin.lat, lon: pin.lon });
            }
        }
        Ok(())
    }
}

/// Thresholds of the proof-of-visit check.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ProofPolicy {
    /// Fixes less accurate than this prove nothing.
    pub max_accuracy_m: f64,
    /// A fix this close to the household's recorded position counts as at the door.
    pub household_radius_m: f64,
    /// A fix taken this long before the visit started or after it ended is stale.
    pub max_fix_age: Duration,
}

impl Default for ProofPolicy {
    fn default() -> Self {
        ProofPolicy { max_accuracy_m: 100.0, household_radius_m: 150.0, max_fix_age: Duration::minutes(10) }
    }
}

/// The proof-of-visit verdict.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum ProofVerdict {
    /// Within the set distance of the household's position.
    NearHousehold {
        /// Distance to the house in metres.
        distance_m: f64,
    },
    /// Inside the village boundary.
    InsideVillage,
    /// The tablet had no fix.
    NoFix,
    /// The fix was taken too long before or after the visit.
    StaleFix,
    /// The fix is too inaccurate to prove anything.
    PoorAccuracy {
        /// The fix's accuracy in metres.
        accuracy_m: f64,
    },
    /// No fix: the officer placed the position by hand (with a reason). It proves nothing; it says
    /// whether the pin lies inside the village boundary.
    ManualPin {
        /// The pin lies inside the village boundary.
        inside_village: bool,
    },
    /// Outside the village and away from the household.
    Outside {
        /// Distance to the village boundary in metres.
        distance_m: f64,
    },
}

impl ProofVerdict {
    /// What to show the officer.
    pub fn describe(&self) -> LocalText {
        match self {
            ProofVerdict::NearHousehold { distance_m } => {
                LocalText::new(format!("在户附近（{distance_m:.0} 米）"), format!("at the door ({distance_m:.0} m)"))
            }
            ProofVerdict::InsideVillage => LocalText::new("在村内", "inside the village"),
            ProofVerdict::ManualPin { inside_village: true } => {
                LocalText::new("手动标点（村内），未经定位证明", "manual pin inside the village, not proven by GPS")
            }
            ProofVerdict::ManualPin { inside_village: false } => {
                LocalText::new("手动标点（村外），未经定位证明", "manual pin outside the village, not proven by GPS")
            }
            ProofVerdict::NoFix => LocalText::new("无定位", "no GPS fix"),
            ProofVerdict::StaleFix => LocalText::new("定位过旧", "stale GPS fix"),
            ProofVerdict::PoorAccuracy { accuracy_m } => LocalText::new(
                format!("定位精度不足（{accuracy_m:.0} 米）"),
                format!("poor accuracy ({accuracy_m:.0} m)"),
            ),
            ProofVerdict::Outside { distance_m } => LocalText::new(
                format!("在村外（距村界 {distance_m:.0} 米）"),
                format!("outside the village ({distance_m:.0} m away)"),
            ),
        }
    }

    /// True when the verdict proves presence.
    pub fn is_proven(&self) -> bool {
        matches!(self, ProofVerdict::NearHousehold { .. } | ProofVerdict::InsideVillage)
    }
}

/// Decide whether a visit's fix proves the officer was there. The household position (when the
/// register has one) is checked first, then the village boundary.
pub fn proof_of_visit(
    visit: &Visit,
    village: &Polygon<f64>,
    household: Option<GeoPoint>,
    policy: &ProofPolicy,
) -> ProofVerdict {
    let Some(fix) = visit.fix else {
        return match &visit.pin {
            Some(pin) => ProofVerdict::ManualPin {
                inside_village: village.contains(&GeoPoint { lat: pin.lat, lon: pin.lon }.to_point()),
            },
            None => ProofVerdict::NoFix,
        };
    };
    if fix.taken_at < visit.started_at - policy.max_fix_age || fix.taken_at > visit.ended_at + policy.max_fix_age {
        return ProofVerdict::StaleFix;
    }
    if fix.accuracy_m.is_nan() || fix.accuracy_m > policy.max_accuracy_m {
        return ProofVerdict::PoorAccuracy { accuracy_m: fix.accuracy_m };
    }
    let here = fix.point().to_point();
    if let Some(home) = household {
        let distance_m = Haversine.distance(here, home.to_point());
        if distance_m <= policy.household_radius_m {
            return ProofVerdict::NearHousehold { distance_m: crate::precision::metres(distance_m) };
        }
    }
    if village.contains(&here) {
        return ProofVerdict::InsideVillage;
    }
    ProofVerdict::Outside { distance_m: crate::precision::metres(distance_to_polygon_m(here, village)) }
}

/// Great-circle distance in metres from a point to a polygon's boundary (0 inside).
pub fn distance_to_polygon_m(p: Point<f64>, polygon: &Polygon<f64>) -> f64 {
    if polygon.contains(&p) {
        return 0.0;
    }
    match polygon.exterior().closest_point(&p) {
        Closest::Intersection(q) | Closest::SinglePoint(q) => Haversine.distance(p, q),
        Closest::Indeterminate => f64::INFINITY,
    }
}
