//! Facts the fixtures must hold (REFERENCE §1 and §4), and the generator's determinism.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use beibao_core::catalog::Category;
use beibao_core::identity::IdNumber;
use beibao_core::registry::{AssignmentTarget, SHANTING_BBOX, SpecialGroup, VillageKind};
use beibao_fixtures::generate::{self, TOWNS};
use beibao_fixtures::{Fixtures, LoadError, default_dir, load};
use chrono::NaiveDate;
use geo::{
    Area, BooleanOps, BoundingRect, Contains, Distance, Euclidean, GeodesicArea, Intersects, IsConvex, Validation,
};

/// Floating-point noise allowed where two cells share an edge: 1e-12 square degrees is about 0.01 m².
const SLIVER: f64 = 1e-12;

fn fixtures() -> &'static Fixtures {
    static F: OnceLock<Fixtures> = OnceLock::new();
    F.get_or_init(|| load(&default_dir()).unwrap_or_else(|e| panic!("the committed fixtures load: {e}")))
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 22).expect("date")
}

#[test]
fn the_register_passes_every_rule_of_the_core() {
    fixtures().registry.validate(today()).unwrap_or_else(|e| panic!("registry rule broken: {e}"));
}

#[test]
fn catalog_counts() {
    let c = &fixtures().catalog;
    assert_eq!(c.services.len(), 38);
    let per: Vec<usize> = Category::ALL.iter().map(|&cat| c.in_category(cat).count()).collect();
    assert_eq!(per, vec![12, 5, 8, 8, 5]);
}

#[test]
fn district_counts() {
    let r = &fixtures().registry;
    assert_eq!(r.towns.len(), 10, "1 街道 + 9 镇");
    assert_eq!(r.stations.len(), 10, "one station per town");
    assert_eq!(r.villages.len(), 278, "278 村居");
    assert_eq!(r.enterprises.len(), 101, "101 key enterprises");
    for row in TOWNS {
        let n = r.villages.iter().filter(|v| v.town == row.code).count();
        assert_eq!(n, row.villages, "{} has the village count of REFERENCE §4", row.zh);
    }
    assert!(r.towns.iter().any(|t| t.code == "370406102" && t.name.zh == "西集镇"), "西集镇 370406102 [S]");
    assert!(r.stations.iter().any(|s| s.name.zh == "西集派出所"), "西集派出所 [S]");
    let km2 = fixtures().district.geometry.geodesic_area_unsigned() / 1e6;
    assert!((1000.0..1040.0).contains(&km2), "the district's area is about 1,018 km², got {km2:.0}");
    let in_shancheng = r.enterprises.iter().filter(|e| e.village.starts_with("370406001")).count();
    assert_eq!(in_shancheng, 40, "about 40 enterprises in the development zone of 山城街道");
}

#[test]
fn every_polygon_is_valid_and_inside_the_bbox() {
    let f = fixtures();
    let bbox = SHANTING_BBOX.to_polygon();
    assert!(f.district.geometry.is_valid(), "district outline is valid");
    assert!(bbox.contains(&f.district.geometry), "the district lies inside the bounding box");
    for t in &f.registry.towns {
        assert!(t.geometry.is_valid(), "town {} polygon is valid: {:?}", t.code, t.geometry.validation_errors());
        assert!(bbox.contains(&t.geometry), "town {} lies inside the bounding box", t.code);
        assert!(t.geometry.exterior().is_convex(), "town {} is convex (a Voronoi cell of a convex outline)", t.code);
        assert!(
            t.geometry.difference(&f.district.geometry).unsigned_area() < SLIVER,
            "town {} inside the district",
            t.code
        );
    }
    let towns: BTreeMap<&str, _> = f.registry.towns.iter().map(|t| (t.code.as_str(), t)).collect();
    for v in &f.registry.villages {
        assert!(v.geometry.is_valid(), "village {} polygon is valid: {:?}", v.code, v.geometry.validation_errors());
        assert!(bbox.contains(&v.geometry), "village {} lies inside the bounding box", v.code);
        // Towns are convex, so a village lies inside its town when every vertex does (on the edge
        // counts: neighbouring cells share edges; 1e-9° is about 0.1 mm).
        let town = towns[v.town.as_str()];
        for c in v.geometry.exterior().coords() {
            let p = geo::Point::from(*c);
            let inside = town.geometry.contains(&p) || Euclidean.distance(&p, town.geometry.exterior()) < 1e-9;
            assert!(inside, "village {} vertex {c:?} lies inside its town {}", v.code, town.code);
        }
        assert!(v.geometry.unsigned_area() > 1e-5, "village {} is not a sliver", v.code);
        assert!(v.geometry.contains(&v.centroid.to_point()), "village {} centre inside", v.code);
    }
}

#[test]
fn no_two_villages_overlap_and_they_tile_their_town() {
    let f = fixtures();
    let v = &f.registry.villages;
    let rects: Vec<_> = v.iter().map(|x| x.geometry.bounding_rect().expect("non-empty")).collect();
    for i in 0..v.len() {
        for j in i + 1..v.len() {
            if !rects[i].intersects(&rects[j]) {
                continue;
            }
            let overlap = v[i].geometry.intersection(&v[j].geometry).unsigned_area();
            assert!(overlap < SLIVER, "villages {} and {} overlap by {overlap:e} deg²", v[i].code, v[j].code);
        }
    }
    for t in &f.registry.towns {
        let sum: f64 = v.iter().filter(|x| x.town == t.code).map(|x| x.geometry.unsigned_area()).sum();
        let town = t.geometry.unsigned_area();
        assert!((sum - town).abs() < 1e-9, "the villages of {} cover it: {sum} vs {town}", t.code);
    }
    let towns_sum: f64 = f.registry.towns.iter().map(|t| t.geometry.unsigned_area()).sum();
    assert!((towns_sum - f.district.geometry.unsigned_area()).abs() < 1e-9, "the towns cover the district");
}

#[test]
fn households_are_realistic_and_every_id_number_is_valid() {
    let r = &fixtures().registry;
    let mut per_village: BTreeMap<&str, usize> = BTreeMap::new();
    let mut ids = BTreeSet::new();
    let mut person_ids = BTreeSet::new();
    for h in &r.households {
        *per_village.entry(h.village.as_str()).or_default() += 1;
        assert!(!h.members.is_empty(), "household {} has members", h.id);
        for m in &h.members {
            let id =
                IdNumber::parse(&m.id_number, today()).unwrap_or_else(|e| panic!("{} of {}: {e}", m.id_number, m.id));
            assert!(ids.insert(id), "ID number {} is unique in the register", m.id_number);
            assert!(person_ids.insert(m.id.as_str()));
            if m.groups.contains(&SpecialGroup::LeftBehindChild) {
                assert!(
                    IdNumber::parse(&m.id_number, today()).expect("valid").age_on(today()) < 17,
                    "{} is a child",
                    m.id
                );
            }
        }
        if h.members.iter().any(|m| m.groups.contains(&SpecialGroup::ElderlyAlone)) {
            assert_eq!(h.members.len(), 1, "孤寡老人 live alone ({})", h.id);
        }
    }
    assert_eq!(per_village.len(), 278, "every village has households");
    assert!(per_village.values().all(|&n| (18..=42).contains(&n)), "tens of households per village");
    let share = |g: SpecialGroup| {
        r.households.iter().filter(|h| h.groups().contains(&g)).count() as f64 / r.households.len() as f64
    };
    let rates = [
        (SpecialGroup::ElderlyAlone, 0.04, 0.10),
        (SpecialGroup::LeftBehindChild, 0.05, 0.11),
        (SpecialGroup::Dibao, 0.03, 0.08),
        (SpecialGroup::Tekun, 0.01, 0.04),
        (SpecialGroup::Disabled, 0.05, 0.20),
    ];
    for (g, lo, hi) in rates {
        let s = share(g);
        assert!((lo..=hi).contains(&s), "share of households with {g:?} is {s:.3}, expected {lo}–{hi}");
    }
}

#[test]
fn officers_cover_every_village_and_enterprise() {
    let r = &fixtures().registry;
    let mut villages: BTreeMap<&str, usize> = BTreeMap::new();
    let mut enterprises: BTreeMap<&str, usize> = BTreeMap::new();
    for a in &r.assignments {
        match &a.target {
            AssignmentTarget::Village(c) => *villages.entry(c.as_str()).or_default() += 1,
            AssignmentTarget::Enterprise(c) => *enterprises.entry(c.as_str()).or_default() += 1,
        }
    }
    assert_eq!(villages.len(), 278, "一村一警: every village has an officer");
    assert!(villages.values().all(|&n| n == 1), "exactly one officer per village");
    assert_eq!(enterprises.len(), 101, "包村联企: every enterprise has a liaison officer");
    let officers: BTreeMap<&str, &str> = r.officers.iter().map(|o| (o.id.as_str(), o.station.as_str())).collect();
    for a in &r.assignments {
        if let AssignmentTarget::Village(code) = &a.target {
            let village = r.village(code).expect("exists");
            let town = r.towns.iter().find(|t| t.code == village.town).expect("town");
            assert_eq!(officers[a.officer.as_str()], town.station, "village {code} is served by its town's station");
        }
    }
    assert!(!r.villages_of("OF-03-01").is_empty(), "the demo officer of 西集 has villages");
    let communities = r.villages.iter().filter(|v| v.kind == VillageKind::Community).count();
    assert_eq!(communities, 21, "12 communities in 山城街道 and one in each town");
}

#[test]
fn the_committed_files_are_what_the_generator_makes() {
    let generated = generate::files(&generate::generate(generate::SEED));
    for (path, contents) in &generated {
        let committed = std::fs::read_to_string(default_dir().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(
            committed == *contents,
            "fixtures/{path} differs from the generator's output: run `make fixtures` and commit the result"
        );
    }
    let again = generate::files(&generate::generate(generate::SEED));
    assert_eq!(generated, again, "two runs with one seed give the same bytes");
    let other = generate::files(&generate::generate(generate::SEED + 1));
    assert_ne!(generated, other, "the seed drives the output");
}

#[test]
fn load_errors_name_the_file_and_the_entry() {
    let dir = tempfile::tempdir().expect("temp dir");
    let copy = |rel: &str| {
        let to = dir.path().join(rel);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::copy(default_dir().join(rel), to).expect("copy");
    };
    for rel in [
        "catalog/services.json",
        "calendar/cn-holidays.json",
        "geo/district.geojson",
        "geo/towns.geojson",
        "geo/villages.geojson",
        "registry/stations.json",
        "registry/enterprises.json",
        "registry/officers.json",
        "registry/assignments.json",
        "registry/households.jsonl",
    ] {
        copy(rel);
    }
    assert!(load(dir.path()).is_ok(), "a faithful copy loads");

    let catalog = dir.path().join("catalog/services.json");
    let text = std::fs::read_to_string(&catalog).expect("read");
    std::fs::write(&catalog, text.replacen("\"HZ02\"", "\"HZ01\"", 1)).expect("write");
    let err = load(dir.path()).expect_err("duplicate code");
    assert!(matches!(err, LoadError::Catalog { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("services.json") && msg.contains("HZ01 appears more than once"), "{msg}");
    std::fs::write(&catalog, text).expect("restore");

    let households = dir.path().join("registry/households.jsonl");
    let mut lines: Vec<String> =
        std::fs::read_to_string(&households).expect("read").lines().map(str::to_owned).collect();
    lines[2] = "{\"id\": 3".into();
    std::fs::write(&households, lines.join("\n")).expect("write");
    let msg = load(dir.path()).expect_err("broken line").to_string();
    assert!(msg.contains("households.jsonl") && msg.contains("line 3"), "{msg}");

    std::fs::remove_file(dir.path().join("geo/towns.geojson")).expect("remove");
    std::fs::write(&households, lines[..2].join("\n")).expect("write");
    let msg = load(dir.path()).expect_err("missing file").to_string();
    assert!(msg.contains("towns.geojson"), "{msg}");
}

#[test]
fn the_summary_shows_the_district_in_both_languages() {
    let zh = beibao_fixtures::summary::render(fixtures(), beibao_core::text::Lang::Zh);
    assert!(zh.contains("村居 278") && zh.contains("重点企业 101") && zh.contains("38 项"), "{zh}");
    let en = beibao_fixtures::summary::render(fixtures(), beibao_core::text::Lang::En);
    assert!(en.contains("villages 278") && en.contains("Shanting District"), "{en}");
}
