//! Who and where: stations, towns, villages with their boundaries, key enterprises, households and
//! their members, officers and their assignments (一村一警, 包村联企).
//!
//! Coordinates are WGS-84 as the tablet's GPS gives them (x = longitude, y = latitude). Chinese base
//! maps use GCJ-02 or BD-09; convert only for display, never for storage.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use geo::{Contains, Point, Polygon};
use serde::{Deserialize, Serialize};

use crate::identity::{IdNumber, Phone};
use crate::text::LocalText;

/// A WGS-84 position.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeoPoint {
    /// Latitude in degrees (north positive).
    pub lat: f64,
    /// Longitude in degrees (east positive).
    pub lon: f64,
}

impl GeoPoint {
    /// As a `geo` point (x = lon, y = lat).
    pub fn to_point(self) -> Point<f64> {
        Point::new(self.lon, self.lat)
    }
}

/// The district's bounding box for sanity checks (REFERENCE §4): lat 34.90–35.33, lon 117.23–117.74.
pub const SHANTING_BBOX: BoundingBox = BoundingBox { min_lat: 34.90, max_lat: 35.33, min_lon: 117.23, max_lon: 117.74 };

/// A latitude/longitude box.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BoundingBox {
    /// Southern edge.
    pub min_lat: f64,
    /// Northern edge.
    pub max_lat: f64,
    /// Western edge.
    pub min_lon: f64,
    /// Eastern edge.
    pub max_lon: f64,
}

impl BoundingBox {
    /// True when the point lies in the box (edges included).
    pub fn contains(&self, p: GeoPoint) -> bool {
        (self.min_lat..=self.max_lat).contains(&p.lat) && (self.min_lon..=self.max_lon).contains(&p.lon)
    }

    /// The box as a polygon.
    pub fn to_polygon(&self) -> Polygon<f64> {
        geo::Rect::new((self.min_lon, self.min_lat), (self.max_lon, self.max_lat)).to_polygon()
    }
}

/// The district (区) and its outline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct District {
    /// 6-digit administrative code (370406 for Shanting).
    pub code: String,
    /// Name.
    pub name: LocalText,
    /// Outline (WGS-84, x = lon).
    #[serde(
        serialize_with = "geojson::ser::serialize_geometry",
        deserialize_with = "geojson::de::deserialize_geometry"
    )]
    pub geometry: Polygon<f64>,
}

/// A police station (派出所).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Station {
    /// Station code.
    pub code: String,
    /// Name, e.g. 西集派出所.
    pub name: LocalText,
    /// The town or subdistrict it serves.
    pub town: String,
    /// Duty phone (landline).
    pub phone: String,
}

/// Whether a 镇街 is a town (镇) or a subdistrict (街道).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TownKind {
    /// 街道.
    Subdistrict,
    /// 镇.
    Town,
}

/// A town or subdistrict (镇街) with its boundary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Town {
    /// 9-digit administrative code, e.g. 370406102.
    pub code: String,
    /// Name, e.g. 西集镇 / Xiji.
    pub name: LocalText,
    /// Town or subdistrict.
    pub kind: TownKind,
    /// Where the town government sits.
    pub seat: GeoPoint,
    /// The police station serving the town.
    pub station: String,
    /// Boundary (WGS-84, x = lon).
    #[serde(
        serialize_with = "geojson::ser::serialize_geometry",
        deserialize_with = "geojson::de::deserialize_geometry"
    )]
    pub geometry: Polygon<f64>,
}

/// Whether a 村居 is a rural village (村) or an urban community (社区).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VillageKind {
    /// 行政村.
    Village,
    /// 社区.
    Community,
}

/// A village or community (村居) with its boundary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Village {
    /// 12-digit code: town code + 3 digits.
    pub code: String,
    /// Name, e.g. 王家庄村 / Wangjiazhuang.
    pub name: LocalText,
    /// Village or community.
    pub kind: VillageKind,
    /// Code of the town it belongs to.
    pub town: String,
    /// The village centre (the committee's office), inside the boundary.
    pub centroid: GeoPoint,
    /// Boundary (WGS-84, x = lon).
    #[serde(
        serialize_with = "geojson::ser::serialize_geometry",
        deserialize_with = "geojson::de::deserialize_geometry"
    )]
    pub geometry: Polygon<f64>,
}

/// A key enterprise (重点企业) with a liaison officer (包村联企).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enterprise {
    /// Enterprise code.
    pub code: String,
    /// Fictitious name.
    pub name: String,
    /// Industry.
    pub industry: LocalText,
    /// Why it is a key enterprise (hazardous materials, many workers…).
    pub reason: LocalText,
    /// Village it sits in.
    pub village: String,
    /// Street address.
    pub address: String,
    /// Position.
    pub location: GeoPoint,
    /// Contact phone.
    pub phone: String,
}

/// Groups that get priority care and fee waivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SpecialGroup {
    /// 孤寡老人: elderly person living alone.
    ElderlyAlone,
    /// 残疾人: person with a disability.
    Disabled,
    /// 留守儿童: left-behind child.
    LeftBehindChild,
    /// 特困: extreme-poverty support (特困供养).
    Tekun,
    /// 低保: minimum living allowance (城乡低保).
    Dibao,
    /// 生活困难: other hardship (half ID-card fee).
    Hardship,
    /// 卧床: bed-bound.
    Bedridden,
}

impl SpecialGroup {
    /// Every group.
    pub const ALL: [SpecialGroup; 7] = [
        SpecialGroup::ElderlyAlone,
        SpecialGroup::Disabled,
        SpecialGroup::LeftBehindChild,
        SpecialGroup::Tekun,
        SpecialGroup::Dibao,
        SpecialGroup::Hardship,
        SpecialGroup::Bedridden,
    ];

    /// The group's name.
    pub fn name(self) -> LocalText {
        let (zh, en) = match self {
            SpecialGroup::ElderlyAlone => ("孤寡老人", "Elderly living alone"),
            SpecialGroup::Disabled => ("残疾人", "Person with a disability"),
            SpecialGroup::LeftBehindChild => ("留守儿童", "Left-behind child"),
            SpecialGroup::Tekun => ("特困", "Extreme-poverty support"),
            SpecialGroup::Dibao => ("低保", "Minimum living allowance"),
            SpecialGroup::Hardship => ("生活困难", "Hardship"),
            SpecialGroup::Bedridden => ("卧床", "Bed-bound"),
        };
        LocalText::new(zh, en)
    }

    /// Counts for the special-group visits indicator (孤寡老人, 留守儿童, 残疾人, 特困; REFERENCE §5).
    pub fn counts_for_care_indicator(self) -> bool {
        matches!(
            self,
            SpecialGroup::ElderlyAlone | SpecialGroup::LeftBehindChild | SpecialGroup::Disabled | SpecialGroup::Tekun
        )
    }
}

/// A member's relation to the head of household.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// 户主.
    Head,
    /// 配偶.
    Spouse,
    /// 子女.
    Child,
    /// 父母.
    Parent,
    /// 孙子女.
    Grandchild,
    /// 其他.
    Other,
}

/// A registered person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    /// Stable id within the register.
    pub id: String,
    /// Full name (fictitious in fixtures).
    pub name: String,
    /// Citizen ID number (GB 11643, 18 characters).
    pub id_number: String,
    /// Mobile phone, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Relation to the head of household.
    pub relation: Relation,
    /// Special groups the person belongs to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<SpecialGroup>,
}

/// A household (户) and its members.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Household {
    /// Stable id: village code + sequence.
    pub id: String,
    /// Village code.
    pub village: String,
    /// Address down to the house number.
    pub address: String,
    /// Position of the house, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<GeoPoint>,
    /// Members; the first is the head.
    pub members: Vec<Person>,
}

impl Household {
    /// The union of the members' special groups.
    pub fn groups(&self) -> BTreeSet<SpecialGroup> {
        self.members.iter().flat_map(|m| m.groups.iter().copied()).collect()
    }

    /// The head of household.
    pub fn head(&self) -> Option<&Person> {
        self.members.iter().find(|m| m.relation == Relation::Head)
    }
}

/// Police officer (民警) or auxiliary (辅警).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfficerRank {
    /// 民警.
    Officer,
    /// 辅警.
    Auxiliary,
}

/// An officer who carries a tablet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Officer {
    /// Officer id.
    pub id: String,
    /// Name (fictitious in fixtures).
    pub name: String,
    /// Badge number (警号).
    pub badge: String,
    /// Officer or auxiliary.
    pub rank: OfficerRank,
    /// Station code.
    pub station: String,
    /// Mobile phone.
    pub phone: String,
}

/// What an officer is assigned to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "code", rename_all = "snake_case")]
pub enum AssignmentTarget {
    /// 一村一警: the officer answers for a village.
    Village(String),
    /// 包村联企: the officer is liaison for a key enterprise.
    Enterprise(String),
}

/// An officer's assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    /// Officer id.
    pub officer: String,
    /// Village or enterprise.
    pub target: AssignmentTarget,
    /// Start of the assignment.
    pub since: NaiveDate,
}

/// The whole register of the district, as loaded from fixtures or synced from the server.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Registry {
    /// Police stations.
    pub stations: Vec<Station>,
    /// Towns and subdistricts.
    pub towns: Vec<Town>,
    /// Villages and communities.
    pub villages: Vec<Village>,
    /// Key enterprises.
    pub enterprises: Vec<Enterprise>,
    /// Households.
    pub households: Vec<Household>,
    /// Officers.
    pub officers: Vec<Officer>,
    /// Assignments.
    pub assignments: Vec<Assignment>,
}

/// A broken rule of the register; each names the record at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// Two records of one kind share an id or code.
    #[error("{kind} `{id}` appears more than once")]
    Duplicate {
        /// Record kind.
        kind: &'static str,
        /// The id.
        id: String,
    },
    /// A record refers to another that does not exist.
    #[error("{kind} `{id}` refers to unknown {target} `{target_id}`")]
    Dangling {
        /// Record kind.
        kind: &'static str,
        /// The record's id.
        id: String,
        /// What it refers to.
        target: &'static str,
        /// The missing id.
        target_id: String,
    },
    /// A point lies outside the district or outside its own area.
    #[error("{kind} `{id}`: {what}")]
    Misplaced {
        /// Record kind.
        kind: &'static str,
        /// The record's id.
        id: String,
        /// What is wrong.
        what: String,
    },
    /// A person's ID number or phone is invalid.
    #[error("person `{id}`: {what}")]
    BadPerson {
        /// Person id.
        id: String,
        /// The rule broken.
        what: String,
    },
    /// A household has no head, or more than one.
    #[error("household `{0}` must have exactly one head")]
    HeadCount(String),
}

impl Registry {
    /// Check references, positions and personal data; `today` bounds birth dates.
    pub fn validate(&self, today: NaiveDate) -> Result<(), RegistryError> {
        let stations = unique("station", self.stations.iter().map(|s| s.code.as_str()))?;
        let towns = unique("town", self.towns.iter().map(|t| t.code.as_str()))?;
        let villages = unique("village", self.villages.iter().map(|v| v.code.as_str()))?;
        let enterprises = unique("enterprise", self.enterprises.iter().map(|e| e.code.as_str()))?;
        let officers = unique("officer", self.officers.iter().map(|o| o.id.as_str()))?;
        unique("household", self.households.iter().map(|h| h.id.as_str()))?;
        unique("person", self.households.iter().flat_map(|h| h.members.iter().map(|m| m.id.as_str())))?;
        let dangling = |kind, id: &str, target, target_id: &str| RegistryError::Dangling {
            kind,
            id: id.to_owned(),
            target,
            target_id: target_id.to_owned(),
        };
        for s in &self.stations {
            if !towns.contains(s.town.as_str()) {
                return Err(dangling("station", &s.code, "town", &s.town));
            }
        }
        let town_by_code: BTreeMap<&str, &Town> = self.towns.iter().map(|t| (t.code.as_str(), t)).collect();
        for t in &self.towns {
            if !stations.contains(t.station.as_str()) {
                return Err(dangling("town", &t.code, "station", &t.station));
            }
            if !SHANTING_BBOX.contains(t.seat) || !t.geometry.contains(&t.seat.to_point()) {
                return Err(misplaced("town", &t.code, "seat lies outside the town or the district"));
            }
        }
        let village_by_code: BTreeMap<&str, &Village> = self.villages.iter().map(|v| (v.code.as_str(), v)).collect();
        for v in &self.villages {
            let Some(town) = town_by_code.get(v.town.as_str()) else {
                return Err(dangling("village", &v.code, "town", &v.town));
            };
            if !v.code.starts_with(&town.code) || v.code.len() != 12 {
                return Err(misplaced("village", &v.code, "code must be its town's code followed by 3 digits"));
            }
            if !v.geometry.contains(&v.centroid.to_point()) {
                return Err(misplaced("village", &v.code, "centre lies outside its boundary"));
            }
        }
        for e in &self.enterprises {
            let Some(village) = village_by_code.get(e.village.as_str()) else {
                return Err(dangling("enterprise", &e.code, "village", &e.village));
            };
            if !village.geometry.contains(&e.location.to_point()) {
                return Err(misplaced("enterprise", &e.code, "location lies outside its village"));
            }
        }
        for h in &self.households {
            let Some(village) = village_by_code.get(h.village.as_str()) else {
                return Err(dangling("household", &h.id, "village", &h.village));
            };
            if let Some(loc) = h.location
                && !village.geometry.contains(&loc.to_point())
            {
                return Err(misplaced("household", &h.id, "location lies outside its village"));
            }
            if h.members.iter().filter(|m| m.relation == Relation::Head).count() != 1 {
                return Err(RegistryError::HeadCount(h.id.clone()));
            }
            for m in &h.members {
                IdNumber::parse(&m.id_number, today)
                    .map_err(|e| RegistryError::BadPerson { id: m.id.clone(), what: e.to_string() })?;
                if let Some(phone) = &m.phone {
                    Phone::parse(phone)
                        .map_err(|e| RegistryError::BadPerson { id: m.id.clone(), what: e.to_string() })?;
                }
            }
        }
        for o in &self.officers {
            if !stations.contains(o.station.as_str()) {
                return Err(dangling("officer", &o.id, "station", &o.station));
            }
        }
        for a in &self.assignments {
            if !officers.contains(a.officer.as_str()) {
                return Err(dangling("assignment", &a.officer, "officer", &a.officer));
            }
            match &a.target {
                AssignmentTarget::Village(code) if !villages.contains(code.as_str()) => {
                    return Err(dangling("assignment", &a.officer, "village", code));
                }
                AssignmentTarget::Enterprise(code) if !enterprises.contains(code.as_str()) => {
                    return Err(dangling("assignment", &a.officer, "enterprise", code));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The village with this code.
    pub fn village(&self, code: &str) -> Option<&Village> {
        self.villages.iter().find(|v| v.code == code)
    }

    /// The villages an officer answers for (一村一警).
    pub fn villages_of(&self, officer: &str) -> Vec<&str> {
        self.assignments
            .iter()
            .filter(|a| a.officer == officer)
            .filter_map(|a| match &a.target {
                AssignmentTarget::Village(code) => Some(code.as_str()),
                AssignmentTarget::Enterprise(_) => None,
            })
            .collect()
    }
}

fn misplaced(kind: &'static str, id: &str, what: &str) -> RegistryError {
    RegistryError::Misplaced { kind, id: id.to_owned(), what: what.to_owned() }
}

fn unique<'a>(kind: &'static str, ids: impl Iterator<Item = &'a str>) -> Result<BTreeSet<&'a str>, RegistryError> {
    let mut set = BTreeSet::new();
    for id in ids {
        if !set.insert(id) {
            return Err(RegistryError::Duplicate { kind, id: id.to_owned() });
        }
    }
    Ok(set)
}
