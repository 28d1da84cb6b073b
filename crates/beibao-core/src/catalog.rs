//! The service catalog: 38 police services in 5 categories (REFERENCE §1), versioned.
//!
//! The catalog is data (`fixtures/catalog/services.json`); this module defines its shape, the rules a
//! catalog must pass to be loaded, and the fee quote with waivers for low-income groups.

use crate::code::Code;
use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::calendar::WorkCalendar;
use crate::registry::SpecialGroup;
use crate::text::LocalText;

/// The five business lines of a police station.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Category {
    /// 户政: household registration and ID cards (`HZ`).
    #[serde(rename = "HZ")]
    HouseholdRegistration,
    /// 出入境: exit-entry (`CRJ`).
    #[serde(rename = "CRJ")]
    ExitEntry,
    /// 交管: traffic administration (`JG`).
    #[serde(rename = "JG")]
    Traffic,
    /// 治安: public order and community (`ZA`).
    #[serde(rename = "ZA")]
    PublicOrder,
    /// 网安/反诈: cyber security and anti-fraud (`WA`).
    #[serde(rename = "WA")]
    CyberAntiFraud,
}

impl Category {
    /// All categories, in catalog order.
    pub const ALL: [Category; 5] = [
        Category::HouseholdRegistration,
        Category::ExitEntry,
        Category::Traffic,
        Category::PublicOrder,
        Category::CyberAntiFraud,
    ];

    /// The code prefix of the category's services (`HZ`, `CRJ`, `JG`, `ZA`, `WA`).
    pub fn code(self) -> &'static str {
        match self {
            Category::HouseholdRegistration => "HZ",
            Category::ExitEntry => "CRJ",
            Category::Traffic => "JG",
            Category::PublicOrder => "ZA",
            Category::CyberAntiFraud => "WA",
        }
    }

    /// The category for a code prefix.
    pub fn from_code(code: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.code() == code)
    }

    /// The category's name.
    pub fn name(self) -> LocalText {
        let (zh, en) = match self {
            Category::HouseholdRegistration => ("户政", "Household registration & ID"),
            Category::ExitEntry => ("出入境", "Exit-entry"),
            Category::Traffic => ("交管", "Traffic administration"),
            Category::PublicOrder => ("治安", "Public order & community"),
            Category::CyberAntiFraud => ("网安/反诈", "Cyber security & anti-fraud"),
        };
        LocalText::new(zh, en)
    }
}

/// How a service is handled at the door.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// 现场办结: finished at the door.
    OnSite,
    /// 现场受理-带回: materials taken at the door, carried back to the station (帮代办).
    CarryBack,
    /// 预约/预审: the officer pre-checks materials or books a slot; the resident attends in person.
    Appointment,
    /// 送达: delivery of a finished document only.
    Delivery,
}

impl Mode {
    /// The mode's name.
    pub fn name(self) -> LocalText {
        let (zh, en) = match self {
            Mode::OnSite => ("现场办结", "Completed on site"),
            Mode::CarryBack => ("现场受理-带回", "Accepted on site, carried back"),
            Mode::Appointment => ("预约/预审", "Appointment / pre-check"),
            Mode::Delivery => ("送达", "Delivery"),
        };
        LocalText::new(zh, en)
    }
}

/// Whether a number of days counts calendar days or working days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayBasis {
    /// Calendar days (自然日).
    Calendar,
    /// Working days (工作日), per the working-day calendar.
    Working,
}

/// A processing time: a number of calendar or working days (0 = same day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Days {
    /// Number of days.
    pub days: u16,
    /// Calendar or working days.
    pub basis: DayBasis,
}

impl Days {
    /// The date `self` after `start` (working days skip holidays and weekends, counting 调休).
    pub fn due_from(self, start: NaiveDate, calendar: &WorkCalendar) -> NaiveDate {
        match self.basis {
            DayBasis::Calendar => start + chrono::Days::new(u64::from(self.days)),
            DayBasis::Working => calendar.add_working_days(start, u32::from(self.days)),
        }
    }
}

/// One item of a service's materials checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Material {
    /// Stable code, unique within the service (e.g. `hukou_book`).
    pub code: String,
    /// What to bring.
    pub name: LocalText,
    /// When set, the item is needed only in this case (e.g. "applicant under 16").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<LocalText>,
}

/// One chargeable item of a service (most services have one; plates and permits have several).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeOption {
    /// Stable code, unique within the service.
    pub code: String,
    /// What is charged for.
    pub name: LocalText,
    /// Official fee in fen (1 yuan = 100 fen).
    pub fen: u32,
}

/// A fee reduction for a special group (e.g. 低保 and 特困 get a free ID card).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    /// The group the reduction is for.
    pub group: SpecialGroup,
    /// Share of the fee still payable, in percent: 0 = free, 50 = half fee.
    pub payable_percent: u8,
}

/// A service's fee schedule. No options means the service is free of charge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fee {
    /// The chargeable items; empty = free.
    pub options: Vec<FeeOption>,
    /// Reductions by group.
    pub waivers: Vec<Waiver>,
    /// The pricing document the fee rests on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis: Option<String>,
    /// A remark shown with the fee (postage only, set locally, fines are not fees…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<LocalText>,
}

/// What a resident pays for one fee option after waivers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FeeQuote {
    /// The option charged, or `None` for a free service.
    pub option: Option<String>,
    /// The official fee in fen.
    pub gross_fen: u32,
    /// What the resident pays, in fen.
    pub payable_fen: u32,
    /// The waiver applied, if any.
    pub waiver: Option<Waiver>,
}

/// Why a fee cannot be quoted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeeError {
    /// The service charges for several items and none was chosen.
    #[error("service {service} charges for several items; choose one of: {}", options.join(", "))]
    OptionRequired {
        /// Service code.
        service: String,
        /// The codes to choose from.
        options: Vec<String>,
    },
    /// The chosen item is not one of the service's fee options.
    #[error("service {service} has no fee item `{option}`")]
    UnknownOption {
        /// Service code.
        service: String,
        /// The code given.
        option: String,
    },
}

impl FeeError {
    /// Stable error code for the UI and the API.
    pub fn code(&self) -> Code {
        match self {
            FeeError::OptionRequired { .. } => Code::FeeOptionRequired,
            FeeError::UnknownOption { .. } => Code::FeeOptionUnknown,
        }
    }
}

/// One police service of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Code: category prefix + two digits (`HZ01`, `CRJ05`…).
    pub code: String,
    /// Business line.
    pub category: Category,
    /// Name of the service.
    pub name: LocalText,
    /// Materials checklist.
    pub materials: Vec<Material>,
    /// Allowed handling modes; the first is the usual one.
    pub modes: Vec<Mode>,
    /// Fee schedule with waivers.
    pub fee: Fee,
    /// Typical processing time.
    pub typical: Days,
    /// Statutory time limit, where the law sets one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statutory: Option<Days>,
    /// Needs photo and fingerprints taken by a capture device.
    pub needs_biometrics: bool,
    /// Needs a photo of the applicant.
    pub needs_photo: bool,
    /// Door delivery (送证上门) is usual for special groups.
    pub door_delivery_ok: bool,
    /// A carried-back item needs a return visit to hand over the result.
    pub requires_return_visit: bool,
    /// A remark on the service (legal time limits, scope…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<LocalText>,
}

impl Service {
    /// The usual handling mode (the first allowed one).
    pub fn primary_mode(&self) -> Mode {
        self.modes[0]
    }

    /// True when the service costs nothing.
    pub fn is_free(&self) -> bool {
        self.fee.options.iter().all(|o| o.fen == 0)
    }

    /// Quote the fee for one option (may be omitted when the service has at most one) for an
    /// applicant in the given special groups. The most favourable waiver applies.
    pub fn quote(&self, option: Option<&str>, groups: &[SpecialGroup]) -> Result<FeeQuote, FeeError> {
        let chosen = match (option, self.fee.options.as_slice()) {
            (None, []) => {
                return Ok(FeeQuote { option: None, gross_fen: 0, payable_fen: 0, waiver: None });
            }
            (None, [only]) => only,
            (None, many) => {
                return Err(FeeError::OptionRequired {
                    service: self.code.clone(),
                    options: many.iter().map(|o| o.code.clone()).collect(),
                });
            }
            (Some(code), options) => options
                .iter()
                .find(|o| o.code == code)
                .ok_or_else(|| FeeError::UnknownOption { service: self.code.clone(), option: code.to_owned() })?,
        };
        let waiver =
            self.fee.waivers.iter().filter(|w| groups.contains(&w.group)).min_by_key(|w| w.payable_percent).copied();
        let percent = waiver.map_or(100, |w| u32::from(w.payable_percent));
        // Round half up to the fen: a half fee of an odd amount never undercharges by rounding down twice.
        let payable_fen = (chosen.fen * percent).div_ceil(100);
        Ok(FeeQuote { option: Some(chosen.code.clone()), gross_fen: chosen.fen, payable_fen, waiver })
    }
}

/// A loaded, validated catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// Catalog version, e.g. `2026.1`. Published versions are immutable.
    pub version: String,
    /// The day this version was published.
    pub published_on: NaiveDate,
    /// The services, in catalog order.
    pub services: Vec<Service>,
}

/// Why a catalog was rejected. Every variant names the entry at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// The text is not JSON of the catalog's shape.
    #[error("catalog is not valid JSON of the expected shape: {0}")]
    Malformed(String),
    /// An entry does not have the shape of a service.
    #[error("catalog entry #{index} ({code}): {reason}")]
    MalformedEntry {
        /// Zero-based position in `services`.
        index: usize,
        /// The entry's code, if it has one.
        code: String,
        /// What is wrong.
        reason: String,
    },
    /// The catalog has no version.
    #[error("catalog has no version")]
    MissingVersion,
    /// The catalog lists no service.
    #[error("catalog lists no service")]
    Empty,
    /// Two entries share a code.
    #[error("service code {0} appears more than once")]
    DuplicateCode(String),
    /// A code is not a category prefix followed by two digits.
    #[error("service code `{0}` is not a category prefix followed by two digits (e.g. HZ01)")]
    BadCode(String),
    /// An entry names a category that does not exist.
    #[error("service {code}: unknown category `{category}` (expected one of HZ, CRJ, JG, ZA, WA)")]
    UnknownCategory {
        /// Service code.
        code: String,
        /// The category given.
        category: String,
    },
    /// The code's prefix does not match the entry's category.
    #[error("service {code}: code prefix does not match its category {category}")]
    CategoryMismatch {
        /// Service code.
        code: String,
        /// The category given.
        category: String,
    },
    /// A name (service, material or fee item) has no Chinese text.
    #[error("service {code}: {what} has no Chinese name")]
    MissingChineseName {
        /// Service code.
        code: String,
        /// Which name.
        what: String,
    },
    /// A name has no English text.
    #[error("service {code}: {what} has no English name")]
    MissingEnglishName {
        /// Service code.
        code: String,
        /// Which name.
        what: String,
    },
    /// An entry allows no handling mode, or lists one twice.
    #[error("service {code}: modes must be a non-empty list without repeats")]
    BadModes {
        /// Service code.
        code: String,
    },
    /// Two materials or two fee items share a code.
    #[error("service {code}: {what} code `{item}` appears more than once")]
    DuplicateItem {
        /// Service code.
        code: String,
        /// `material` or `fee option`.
        what: &'static str,
        /// The repeated code.
        item: String,
    },
    /// A waiver is malformed (over 100 %, listed twice, or on a free service).
    #[error("service {code}: waiver rule is invalid: {reason}")]
    BadWaiver {
        /// Service code.
        code: String,
        /// What is wrong.
        reason: String,
    },
    /// The typical time exceeds the statutory limit on the same basis.
    #[error("service {code}: typical time {typical} days exceeds the statutory limit {statutory} days")]
    TypicalOverStatutory {
        /// Service code.
        code: String,
        /// Typical days.
        typical: u16,
        /// Statutory days.
        statutory: u16,
    },
}

impl Catalog {
    /// Parse and validate a catalog. The error names the entry and the rule it breaks.
    pub fn from_json(text: &str) -> Result<Catalog, CatalogError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            version: String,
            published_on: NaiveDate,
            services: Vec<serde_json::Value>,
        }
        let raw: Raw = serde_json::from_str(text).map_err(|e| CatalogError::Malformed(e.to_string()))?;
        let mut services = Vec::with_capacity(raw.services.len());
        for (index, value) in raw.services.into_iter().enumerate() {
            let code = value.get("code").and_then(|c| c.as_str()).unwrap_or("?").to_owned();
            if let Some(category) = value.get("category").and_then(|c| c.as_str())
                && Category::from_code(category).is_none()
            {
                return Err(CatalogError::UnknownCategory { code, category: category.to_owned() });
            }
            let service: Service = serde_json::from_value(value).map_err(|e| CatalogError::MalformedEntry {
                index,
                code,
                reason: e.to_string(),
            })?;
            services.push(service);
        }
        let catalog = Catalog { version: raw.version, published_on: raw.published_on, services };
        catalog.validate()?;
        Ok(catalog)
    }

    /// Check every loading rule; used by [`Catalog::from_json`] and before publishing a version.
    pub fn validate(&self) -> Result<(), CatalogError> {
        if self.version.trim().is_empty() {
            return Err(CatalogError::MissingVersion);
        }
        if self.services.is_empty() {
            return Err(CatalogError::Empty);
        }
        let mut seen = BTreeSet::new();
        for s in &self.services {
            if !seen.insert(s.code.as_str()) {
                return Err(CatalogError::DuplicateCode(s.code.clone()));
            }
            validate_service(s)?;
        }
        Ok(())
    }

    /// The service with this code.
    pub fn service(&self, code: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.code == code)
    }

    /// The services of one category, in catalog order.
    pub fn in_category(&self, category: Category) -> impl Iterator<Item = &Service> {
        self.services.iter().filter(move |s| s.category == category)
    }
}

fn validate_service(s: &Service) -> Result<(), CatalogError> {
    let code = || s.code.clone();
    let digits = s.code.trim_start_matches(|c: char| c.is_ascii_uppercase());
    let prefix = &s.code[..s.code.len() - digits.len()];
    if digits.len() != 2 || !digits.bytes().all(|b| b.is_ascii_digit()) || digits == "00" {
        return Err(CatalogError::BadCode(code()));
    }
    if prefix != s.category.code() {
        return Err(CatalogError::CategoryMismatch { code: code(), category: s.category.code().into() });
    }
    let check_name = |what: &str, name: &LocalText| {
        if name.zh.trim().is_empty() {
            Err(CatalogError::MissingChineseName { code: code(), what: what.to_owned() })
        } else if name.en.trim().is_empty() {
            Err(CatalogError::MissingEnglishName { code: code(), what: what.to_owned() })
        } else {
            Ok(())
        }
    };
    check_name("the service", &s.name)?;
    let mut modes = BTreeSet::new();
    if s.modes.is_empty() || !s.modes.iter().all(|m| modes.insert(*m)) {
        return Err(CatalogError::BadModes { code: code() });
    }
    let mut materials = BTreeSet::new();
    for m in &s.materials {
        check_name(&format!("material `{}`", m.code), &m.name)?;
        if !materials.insert(m.code.as_str()) {
            return Err(CatalogError::DuplicateItem { code: code(), what: "material", item: m.code.clone() });
        }
    }
    let mut options = BTreeSet::new();
    for o in &s.fee.options {
        check_name(&format!("fee item `{}`", o.code), &o.name)?;
        if !options.insert(o.code.as_str()) {
            return Err(CatalogError::DuplicateItem { code: code(), what: "fee option", item: o.code.clone() });
        }
    }
    let mut groups = BTreeSet::new();
    for w in &s.fee.waivers {
        let reason = if w.payable_percent > 100 {
            Some(format!("payable_percent {} is over 100", w.payable_percent))
        } else if !groups.insert(w.group) {
            Some(format!("group {:?} is listed twice", w.group))
        } else if s.is_free() {
            Some("a free service cannot have waivers".to_owned())
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(CatalogError::BadWaiver { code: code(), reason });
        }
    }
    if let Some(statutory) = s.statutory
        && statutory.basis == s.typical.basis
        && s.typical.days > statutory.days
    {
        return Err(CatalogError::TypicalOverStatutory {
            code: code(),
            typical: s.typical.days,
            statutory: statutory.days,
        });
    }
    Ok(())
}
