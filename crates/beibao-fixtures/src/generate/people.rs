//! Fictitious households: compositions typical of hill villages (many elderly, left-behind
//! children), special groups at realistic rates, valid-checksum ID numbers.

use std::collections::BTreeSet;

use beibao_core::identity::check_char;
use beibao_core::registry::{GeoPoint, Household, Person, Relation, SpecialGroup, Village};
use chrono::{Datelike, Days, NaiveDate};
use geo::Point;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::names::{GIVEN, SURNAMES};
use super::{TownRow, pick, random_point_in, reference_date};

/// A fictitious name; the surname is drawn when not given.
pub fn person_name(rng: &mut ChaCha8Rng, surname: Option<&str>) -> String {
    let surname = surname.map_or_else(|| pick(rng, SURNAMES).0.to_owned(), str::to_owned);
    let first = pick(rng, GIVEN);
    if rng.random_bool(0.75) { format!("{surname}{first}{}", pick(rng, GIVEN)) } else { format!("{surname}{first}") }
}

/// A fictitious mobile number (`1[35789]` + 9 digits).
pub fn mobile(rng: &mut ChaCha8Rng) -> String {
    let second = *pick(rng, &[3, 5, 7, 8, 9]);
    format!("1{second}{:09}", rng.random_range(0..1_000_000_000u32))
}

/// A valid ID number for someone born on `birth`, registered first in Shanting or a neighbour,
/// unique in the register (`issued`).
fn id_number(rng: &mut ChaCha8Rng, birth: NaiveDate, male: bool, serial: u32, issued: &mut BTreeSet<String>) -> String {
    let region = match rng.random_range(0..100) {
        0..92 => "370406",
        92..96 => "370481",
        96..98 => "370402",
        _ => "370404",
    };
    // The sequence code's last digit is odd for men; on a clash the next code of the same parity is used.
    let mut n = serial % 500;
    loop {
        let seq = n * 2 + u32::from(male);
        let body = format!("{region}{}{seq:03}", birth.format("%Y%m%d"));
        let first17: [u8; 17] = body.as_bytes().try_into().expect("17 digits");
        let id = format!("{body}{}", check_char(&first17));
        if issued.insert(id.clone()) {
            return id;
        }
        n = (n + 1) % 500;
    }
}

struct Member {
    relation: Relation,
    age: u32,
    male: bool,
    surname: Option<String>,
    groups: Vec<SpecialGroup>,
}

fn member(relation: Relation, age: u32, male: bool) -> Member {
    Member { relation, age, male, surname: None, groups: Vec::new() }
}

/// The composition of one household.
fn composition(rng: &mut ChaCha8Rng) -> Vec<Member> {
    let roll = rng.random_range(0..100);
    let m = rng.random_bool(0.5);
    match roll {
        // 孤寡老人: someone over 70 living alone.
        0..7 => {
            let mut old = member(Relation::Head, rng.random_range(70..96), m);
            old.groups.push(SpecialGroup::ElderlyAlone);
            if rng.random_bool(0.35) {
                old.groups.push(SpecialGroup::Tekun);
            }
            vec![old]
        }
        // Elderly couple.
        7..22 => {
            let age = rng.random_range(60..88);
            vec![
                member(Relation::Head, age, true),
                member(Relation::Spouse, age.saturating_sub(rng.random_range(0..5)), false),
            ]
        }
        // Grandparents with left-behind grandchildren; the parents work in the cities.
        22..30 => {
            let age = rng.random_range(55..78);
            let mut out = vec![member(Relation::Head, age, true)];
            if rng.random_bool(0.7) {
                out.push(member(Relation::Spouse, age.saturating_sub(rng.random_range(0..4)), false));
            }
            for _ in 0..rng.random_range(1..3) {
                let mut child = member(Relation::Grandchild, rng.random_range(3..15), rng.random_bool(0.5));
                child.groups.push(SpecialGroup::LeftBehindChild);
                out.push(child);
            }
            out
        }
        // Couple with children.
        30..70 => {
            let age = rng.random_range(28..56);
            let mut out =
                vec![member(Relation::Head, age, true), member(Relation::Spouse, age - rng.random_range(0..4), false)];
            for _ in 0..rng.random_range(1..4) {
                out.push(member(Relation::Child, rng.random_range(0..(age - 20).min(30)), rng.random_bool(0.5)));
            }
            out
        }
        // Three generations.
        70..95 => {
            let age = rng.random_range(35..61);
            let mut out =
                vec![member(Relation::Head, age, true), member(Relation::Spouse, age - rng.random_range(0..4), false)];
            let parent_age = (age + rng.random_range(22..30)).min(98);
            out.push(member(Relation::Parent, parent_age, rng.random_bool(0.4)));
            for _ in 0..rng.random_range(1..3) {
                out.push(member(Relation::Child, rng.random_range(1..(age - 20).min(30)), rng.random_bool(0.5)));
            }
            out
        }
        // Single adult.
        _ => vec![member(Relation::Head, rng.random_range(20..61), m)],
    }
}

/// Households of one village: 18–42 of them.
pub fn households_of(
    rng: &mut ChaCha8Rng,
    town: &TownRow,
    village: &Village,
    issued: &mut BTreeSet<String>,
) -> Vec<Household> {
    let n = rng.random_range(18..43);
    let today = reference_date();
    let village_surname = pick(rng, SURNAMES).0;
    let mut serial = 0u32;
    (0..n)
        .map(|k| {
            let id = format!("{}-{:03}", village.code, k + 1);
            let mut members = composition(rng);
            let surname =
                if rng.random_bool(0.5) { village_surname.to_owned() } else { pick(rng, SURNAMES).0.to_owned() };
            for m in &mut members {
                if matches!(m.relation, Relation::Head | Relation::Child | Relation::Grandchild)
                    || (m.relation == Relation::Parent && m.male)
                {
                    m.surname = Some(surname.clone());
                }
                if rng.random_bool(0.04) {
                    m.groups.push(SpecialGroup::Disabled);
                }
                if m.age >= 80 && rng.random_bool(0.10) {
                    m.groups.push(SpecialGroup::Bedridden);
                }
            }
            let household_groups = match rng.random_range(0..100) {
                0..5 => vec![SpecialGroup::Dibao],
                5..8 => vec![SpecialGroup::Hardship],
                _ => vec![],
            };
            let group = rng.random_range(1..9);
            let number = rng.random_range(1..120);
            let location = rng.random_bool(0.9).then(|| {
                let c = random_point_in(rng, &village.geometry);
                debug_assert!(geo::Contains::contains(&village.geometry, &Point::from(c)));
                GeoPoint { lat: c.y, lon: c.x }
            });
            let people = members
                .into_iter()
                .enumerate()
                .map(|(i, m)| {
                    serial += 1;
                    let birth_year = today.year() - m.age as i32 - 1;
                    let day_of_year = rng.random_range(0..365);
                    let birth = NaiveDate::from_ymd_opt(birth_year, 1, 1).expect("valid date") + Days::new(day_of_year);
                    // Born `age` full years before the reference day, never after it.
                    let birth = if birth > today { today } else { birth };
                    let mut groups = m.groups;
                    if m.relation == Relation::Head {
                        groups.extend(household_groups.iter().copied());
                    }
                    groups.sort();
                    groups.dedup();
                    let adult = (18..=75).contains(&m.age);
                    Person {
                        id: format!("{id}-{}", i + 1),
                        name: person_name(rng, m.surname.as_deref()),
                        id_number: id_number(rng, birth, m.male, serial + (k as u32) * 7, issued),
                        phone: (adult && rng.random_bool(0.85)).then(|| mobile(rng)),
                        relation: m.relation,
                        groups,
                    }
                })
                .collect();
            Household {
                id,
                village: village.code.clone(),
                address: format!("山亭区{}{}{group}组{number}号", town.zh, village.name.zh),
                location,
                members: people,
            }
        })
        .collect()
}
