//! Deterministic generation of the district's synthetic register (REFERENCE §4, all [P]):
//! town areas as Voronoi cells of the town seats inside the district outline, 278 villages as
//! Voronoi cells of sampled village seats inside their town, 101 key enterprises, tens of households
//! per village with fictitious people and valid-checksum ID numbers, officers and assignments that
//! cover every village and enterprise.

pub mod geometry;
pub mod names;
mod people;

use std::collections::BTreeSet;
use std::io;
use std::path::Path;

use beibao_core::registry::{
    Assignment, AssignmentTarget, District, Enterprise, GeoPoint, Officer, OfficerRank, Registry, Station, Town,
    TownKind, Village, VillageKind,
};
use beibao_core::text::LocalText;
use chrono::NaiveDate;
use geo::{BoundingRect, Centroid, Contains, Coord, Point};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use self::geometry::{polygon, voronoi_cell};
use self::names::{BRANDS, COMMUNITY_ROOTS, INDUSTRIES, PLACE_ROOTS, PLACE_SUFFIXES, SURNAMES};

/// The seed of the committed fixtures.
pub const SEED: u64 = 0x5348_414e_5449_4e47;

/// Ages in the register are as of this day.
pub fn reference_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 1).expect("valid date")
}

/// The district outline [P]: a convex polygon of about 1,018 km² inside the sourced bounding box
/// (lat 34.90–35.33, lon 117.23–117.74), counter-clockwise, (lon, lat).
pub const DISTRICT_OUTLINE: [(f64, f64); 10] = [
    (117.377, 34.938),
    (117.514, 34.934),
    (117.583, 34.972),
    (117.669, 35.084),
    (117.669, 35.162),
    (117.566, 35.248),
    (117.446, 35.282),
    (117.342, 35.230),
    (117.282, 35.136),
    (117.291, 35.033),
];

/// One row of the town table of REFERENCE §4.
#[derive(Debug, Clone, Copy)]
pub struct TownRow {
    /// 9-digit code.
    pub code: &'static str,
    /// Chinese name.
    pub zh: &'static str,
    /// Pinyin name.
    pub en: &'static str,
    /// Seat latitude.
    pub lat: f64,
    /// Seat longitude.
    pub lon: f64,
    /// Number of 村居 in the fixtures.
    pub villages: usize,
    /// Number of key enterprises in the fixtures.
    pub enterprises: usize,
}

/// The ten towns: REFERENCE §4 (positions, codes and counts [P] except 西集 [S]). Enterprises: about
/// 40 in 山城 (development zone), 12 each in 西集 and 桑村, the rest spread out; 101 in all.
pub const TOWNS: [TownRow; 10] = [
    TownRow {
        code: "370406001",
        zh: "山城街道",
        en: "Shancheng Subdistrict",
        lat: 35.100,
        lon: 117.460,
        villages: 40,
        enterprises: 40,
    },
    TownRow {
        code: "370406101", zh: "店子镇", en: "Dianzi", lat: 35.040, lon: 117.310, villages: 26, enterprises: 6
    },
    TownRow {
        code: "370406102", zh: "西集镇", en: "Xiji", lat: 34.980, lon: 117.400, villages: 24, enterprises: 12
    },
    TownRow {
        code: "370406103",
        zh: "桑村镇",
        en: "Sangcun",
        lat: 35.120,
        lon: 117.340,
        villages: 38,
        enterprises: 12,
    },
    TownRow {
        code: "370406104",
        zh: "北庄镇",
        en: "Beizhuang",
        lat: 35.040,
        lon: 117.600,
        villages: 22,
        enterprises: 5,
    },
    TownRow {
        code: "370406105",
        zh: "城头镇",
        en: "Chengtou",
        lat: 35.190,
        lon: 117.370,
        villages: 30,
        enterprises: 5,
    },
    TownRow {
        code: "370406106",
        zh: "徐庄镇",
        en: "Xuzhuang",
        lat: 35.140,
        lon: 117.620,
        villages: 24,
        enterprises: 5,
    },
    TownRow {
        code: "370406107",
        zh: "水泉镇",
        en: "Shuiquan",
        lat: 35.190,
        lon: 117.540,
        villages: 30,
        enterprises: 6,
    },
    TownRow {
        code: "370406108", zh: "冯卯镇", en: "Fengmao", lat: 35.230, lon: 117.450, villages: 30, enterprises: 5
    },
    TownRow {
        code: "370406109", zh: "凫城镇", en: "Fucheng", lat: 34.960, lon: 117.510, villages: 14, enterprises: 5
    },
];

/// Everything the generator makes.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The district outline.
    pub district: District,
    /// The register.
    pub registry: Registry,
}

/// Generate the fixtures from a seed.
pub fn generate(seed: u64) -> Generated {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let district_ring: Vec<Coord<f64>> = DISTRICT_OUTLINE.iter().map(|&(x, y)| Coord { x, y }).collect();
    let district = District {
        code: "370406".into(),
        name: LocalText::new("山亭区", "Shanting District"),
        geometry: polygon(&district_ring),
    };
    let seats: Vec<Coord<f64>> = TOWNS.iter().map(|t| Coord { x: t.lon, y: t.lat }).collect();
    let mut registry = Registry::default();
    let mut used_names = BTreeSet::new();
    let mut issued_ids = BTreeSet::new();
    for (ti, row) in TOWNS.iter().enumerate() {
        let town_ring = voronoi_cell(&district_ring, &seats, ti);
        let station_code = format!("PCS-{}", row.code);
        let short = row.zh.trim_end_matches("街道").trim_end_matches('镇');
        let short_en = row.en.trim_end_matches(" Subdistrict");
        registry.stations.push(Station {
            code: station_code.clone(),
            name: LocalText::new(format!("{short}派出所"), format!("{short_en} Police Station")),
            town: row.code.into(),
            phone: format!("0632-88{:05}", 10_000 + ti * 1_111),
        });
        registry.towns.push(Town {
            code: row.code.into(),
            name: LocalText::new(row.zh, row.en),
            kind: if ti == 0 { TownKind::Subdistrict } else { TownKind::Town },
            seat: GeoPoint { lat: row.lat, lon: row.lon },
            station: station_code.clone(),
            geometry: polygon(&town_ring),
        });
        let villages = villages_of(&mut rng, ti, row, &town_ring, &mut used_names);
        let first_village = registry.villages.len();
        registry.villages.extend(villages);
        let town_villages = first_village..registry.villages.len();
        let enterprises = enterprises_of(&mut rng, ti, row, &town_ring, &registry.villages[town_villages.clone()]);
        registry.enterprises.extend(enterprises);
        for v in town_villages.clone() {
            let village = registry.villages[v].clone();
            let households = people::households_of(&mut rng, row, &village, &mut issued_ids);
            registry.households.extend(households);
        }
        staff_town(&mut rng, ti, row, &station_code, &mut registry, town_villages);
    }
    Generated { district, registry }
}

fn random_point_in(rng: &mut ChaCha8Rng, poly: &geo::Polygon<f64>) -> Coord<f64> {
    let rect = poly.bounding_rect().expect("a non-empty polygon");
    loop {
        let c =
            Coord { x: rng.random_range(rect.min().x..rect.max().x), y: rng.random_range(rect.min().y..rect.max().y) };
        if poly.contains(&Point::from(c)) {
            return c;
        }
    }
}

fn villages_of(
    rng: &mut ChaCha8Rng,
    ti: usize,
    row: &TownRow,
    town_ring: &[Coord<f64>],
    used_names: &mut BTreeSet<String>,
) -> Vec<Village> {
    let town = polygon(town_ring);
    // Spread the seats: a candidate closer than `spacing` to an earlier seat is redrawn (a few
    // tries each, then the spacing shrinks), which keeps cells of similar size.
    let rect = town.bounding_rect().expect("a non-empty town");
    let area = rect.width() * rect.height() * 0.6;
    let mut spacing = (area / row.villages as f64).sqrt() * 0.7;
    let mut seeds: Vec<Coord<f64>> = Vec::with_capacity(row.villages);
    let mut tries = 0;
    while seeds.len() < row.villages {
        let c = random_point_in(rng, &town);
        let far = seeds.iter().all(|s| (s.x - c.x) * (s.x - c.x) + (s.y - c.y) * (s.y - c.y) >= spacing * spacing);
        if far {
            seeds.push(c);
            tries = 0;
        } else {
            tries += 1;
            if tries > 30 {
                spacing *= 0.9;
                tries = 0;
            }
        }
    }
    // Communities (社区) are the cells nearest the town seat: 12 in 山城街道, 1 in each town.
    let communities = if ti == 0 { 12 } else { 1 };
    let seat = Coord { x: row.lon, y: row.lat };
    let mut order: Vec<usize> = (0..seeds.len()).collect();
    order.sort_by(|&a, &b| dist2(seeds[a], seat).total_cmp(&dist2(seeds[b], seat)));
    let mut out = Vec::with_capacity(seeds.len());
    let (mut next_community, mut next_village) = (1, 201);
    for (rank, &i) in order.iter().enumerate() {
        let ring = voronoi_cell(town_ring, &seeds, i);
        let geometry = polygon(&ring);
        let c = geometry.centroid().expect("a non-empty cell");
        let (kind, code, name) = if rank < communities {
            let code = format!("{}{:03}", row.code, next_community);
            next_community += 1;
            (VillageKind::Community, code, community_name(rng, used_names))
        } else {
            let code = format!("{}{:03}", row.code, next_village);
            next_village += 1;
            (VillageKind::Village, code, village_name(rng, used_names))
        };
        out.push(Village {
            code,
            name,
            kind,
            town: row.code.into(),
            centroid: GeoPoint { lat: c.y(), lon: c.x() },
            geometry,
        });
    }
    out.sort_by(|a, b| a.code.cmp(&b.code));
    out
}

fn dist2(a: Coord<f64>, b: Coord<f64>) -> f64 {
    (a.x - b.x) * (a.x - b.x) + (a.y - b.y) * (a.y - b.y)
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn village_name(rng: &mut ChaCha8Rng, used: &mut BTreeSet<String>) -> LocalText {
    loop {
        let (root_zh, root_en) = if rng.random_bool(0.5) { *pick(rng, SURNAMES) } else { *pick(rng, PLACE_ROOTS) };
        let (suffix_zh, suffix_en) = *pick(rng, PLACE_SUFFIXES);
        let zh = format!("{root_zh}{suffix_zh}村");
        if used.insert(zh.clone()) {
            return LocalText::new(zh, format!("{root_en}{suffix_en} Village"));
        }
    }
}

fn community_name(rng: &mut ChaCha8Rng, used: &mut BTreeSet<String>) -> LocalText {
    assert!(
        COMMUNITY_ROOTS.iter().any(|(zh, _)| !used.contains(&format!("{zh}社区"))),
        "every community name is taken: add roots to names::COMMUNITY_ROOTS"
    );
    loop {
        let (zh, en) = *pick(rng, COMMUNITY_ROOTS);
        let name = format!("{zh}社区");
        if used.insert(name.clone()) {
            return LocalText::new(name, format!("{en} Community"));
        }
    }
}

fn enterprises_of(
    rng: &mut ChaCha8Rng,
    ti: usize,
    row: &TownRow,
    town_ring: &[Coord<f64>],
    villages: &[Village],
) -> Vec<Enterprise> {
    let town = polygon(town_ring);
    (0..row.enterprises)
        .map(|n| {
            // A point strictly inside one village (never on a shared edge).
            let (c, village) = loop {
                let c = random_point_in(rng, &town);
                if let Some(v) = villages.iter().find(|v| v.geometry.contains(&Point::from(c))) {
                    break (c, v);
                }
            };
            let (ind_zh, ind_en, why_zh, why_en) = *pick(rng, INDUSTRIES);
            let brand = pick(rng, BRANDS);
            let village_short = village.name.zh.trim_end_matches('村');
            Enterprise {
                code: format!("ENT-{:02}{:03}", ti + 1, n + 1),
                name: format!("山亭区{brand}{ind_zh}有限公司（{village_short}厂区）"),
                industry: LocalText::new(ind_zh, ind_en),
                reason: LocalText::new(why_zh, why_en),
                village: village.code.clone(),
                address: format!("山亭区{}{}{}号", row.zh, village.name.zh, rng.random_range(1..200)),
                location: GeoPoint { lat: c.y, lon: c.x },
                phone: format!("0632-8{:06}", rng.random_range(100_000..1_000_000)),
            }
        })
        .collect()
}

/// Officers of a station: one per five villages, two in three of them 民警, the rest 辅警. Each
/// village gets one officer (一村一警); each enterprise the officer of its village (包村联企).
fn staff_town(
    rng: &mut ChaCha8Rng,
    ti: usize,
    row: &TownRow,
    station: &str,
    registry: &mut Registry,
    villages: std::ops::Range<usize>,
) {
    let n = row.villages.div_ceil(5);
    let since = NaiveDate::from_ymd_opt(2025, 1, 1).expect("valid date");
    let first_officer = registry.officers.len();
    for k in 0..n {
        let rank = if k % 3 == 2 { OfficerRank::Auxiliary } else { OfficerRank::Officer };
        let badge = match rank {
            OfficerRank::Officer => format!("37{:02}{:02}", ti + 1, k + 1),
            OfficerRank::Auxiliary => format!("FJ{:02}{:02}", ti + 1, k + 1),
        };
        registry.officers.push(Officer {
            id: format!("OF-{:02}-{:02}", ti + 1, k + 1),
            name: people::person_name(rng, None),
            badge,
            rank,
            station: station.into(),
            phone: people::mobile(rng),
        });
    }
    let per = row.villages.div_ceil(n);
    for (j, v) in villages.enumerate() {
        let officer = registry.officers[first_officer + j / per].id.clone();
        let village = registry.villages[v].code.clone();
        for e in registry.enterprises.iter().filter(|e| e.village == village) {
            registry.assignments.push(Assignment {
                officer: officer.clone(),
                target: AssignmentTarget::Enterprise(e.code.clone()),
                since,
            });
        }
        registry.assignments.push(Assignment { officer, target: AssignmentTarget::Village(village), since });
    }
}

/// The files of the generated fixtures: (path under `fixtures/`, contents).
pub fn files(generated: &Generated) -> Vec<(String, String)> {
    let r = &generated.registry;
    let mut households = String::new();
    for h in &r.households {
        households.push_str(&serde_json::to_string(h).expect("households serialise"));
        households.push('\n');
    }
    vec![
        ("geo/district.geojson".into(), feature_collection(std::slice::from_ref(&generated.district))),
        ("geo/towns.geojson".into(), feature_collection(&r.towns)),
        ("geo/villages.geojson".into(), feature_collection(&r.villages)),
        ("registry/stations.json".into(), pretty(&r.stations)),
        ("registry/enterprises.json".into(), pretty(&r.enterprises)),
        ("registry/officers.json".into(), pretty(&r.officers)),
        ("registry/assignments.json".into(), pretty(&r.assignments)),
        ("registry/households.jsonl".into(), households),
    ]
}

/// Write the generated files under `dir` (the `fixtures/` directory).
pub fn write(dir: &Path, generated: &Generated) -> io::Result<()> {
    for (path, contents) in files(generated) {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, contents)?;
    }
    Ok(())
}

fn pretty<T: serde::Serialize>(value: &T) -> String {
    let mut s = serde_json::to_string_pretty(value).expect("fixtures serialise");
    s.push('\n');
    s
}

/// A GeoJSON FeatureCollection with one feature per line, so diffs stay readable.
fn feature_collection<T: serde::Serialize>(items: &[T]) -> String {
    let features: Vec<String> = items
        .iter()
        .map(|item| {
            let feature = geojson::ser::to_feature(item).expect("features serialise");
            serde_json::to_string(&feature).expect("features serialise")
        })
        .collect();
    format!("{{\"type\":\"FeatureCollection\",\"features\":[\n{}\n]}}\n", features.join(",\n"))
}
