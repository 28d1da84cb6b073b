//! A printed summary of the fixtures: what `make demo` shows until the app exists.

use std::collections::BTreeMap;
use std::fmt::Write;

use beibao_core::calendar::Coverage;
use beibao_core::catalog::{Category, Service};
use beibao_core::indicators;
use beibao_core::registry::{OfficerRank, SpecialGroup, VillageKind};
use beibao_core::text::{Lang, LocalText};
use geo::GeodesicArea;

use crate::Fixtures;

fn t(lang: Lang, zh: &str, en: &str) -> String {
    LocalText::new(zh, en).get(lang).to_owned()
}

fn yuan(fen: u32) -> String {
    if fen.is_multiple_of(100) { format!("¥{}", fen / 100) } else { format!("¥{}.{:02}", fen / 100, fen % 100) }
}

fn fee_text(s: &Service, lang: Lang) -> String {
    if s.fee.options.is_empty() {
        return match &s.fee.note {
            Some(note) => format!("{} ({})", t(lang, "免费", "free"), note.get(lang)),
            None => t(lang, "免费", "free"),
        };
    }
    let mut text: Vec<String> = s.fee.options.iter().map(|o| format!("{} {}", o.name.get(lang), yuan(o.fen))).collect();
    if s.fee.options.len() == 1 {
        text = vec![yuan(s.fee.options[0].fen)];
    }
    let waivers: Vec<String> = s
        .fee
        .waivers
        .iter()
        .map(|w| match w.payable_percent {
            0 => format!("{} {}", w.group.name().get(lang), t(lang, "免费", "free")),
            p => format!("{} {}%", w.group.name().get(lang), p),
        })
        .collect();
    if waivers.is_empty() { text.join(" / ") } else { format!("{} ({})", text.join(" / "), waivers.join(", ")) }
}

/// The summary text in one language.
pub fn render(f: &Fixtures, lang: Lang) -> String {
    let r = &f.registry;
    let mut out = String::new();
    let km2 = f.district.geometry.geodesic_area_unsigned() / 1e6;
    let people: usize = r.households.iter().map(|h| h.members.len()).sum();
    let communities = r.villages.iter().filter(|v| v.kind == VillageKind::Community).count();
    let _ =
        writeln!(out, "{} ({}) — {} {km2:.0} km²", f.district.name.get(lang), f.district.code, t(lang, "面积", "area"));
    let _ = writeln!(
        out,
        "{} {} · {} {} ({} {communities}) · {} {} · {} {} · {} {} · {} {people} · {} {}",
        t(lang, "镇街", "towns"),
        r.towns.len(),
        t(lang, "村居", "villages"),
        r.villages.len(),
        t(lang, "其中社区", "communities"),
        t(lang, "派出所", "stations"),
        r.stations.len(),
        t(lang, "重点企业", "key enterprises"),
        r.enterprises.len(),
        t(lang, "户", "households"),
        r.households.len(),
        t(lang, "人口", "people"),
        t(lang, "民警/辅警", "officers"),
        r.officers.len(),
    );
    let mut groups: BTreeMap<SpecialGroup, usize> = BTreeMap::new();
    for m in r.households.iter().flat_map(|h| &h.members) {
        for g in &m.groups {
            *groups.entry(*g).or_default() += 1;
        }
    }
    let groups: Vec<String> = SpecialGroup::ALL
        .iter()
        .map(|g| format!("{} {}", g.name().get(lang), groups.get(g).copied().unwrap_or(0)))
        .collect();
    let _ = writeln!(out, "{}: {}\n", t(lang, "特殊群体（人）", "Special groups (people)"), groups.join(" · "));

    let _ = writeln!(
        out,
        "{:<10}\t{}\t{}\t{}\t{}\t{}\t{}",
        t(lang, "镇街", "Town"),
        t(lang, "村居", "Villages"),
        t(lang, "户", "Households"),
        t(lang, "人口", "People"),
        t(lang, "企业", "Enterprises"),
        t(lang, "民警/辅警", "Officers"),
        t(lang, "派出所", "Station"),
    );
    for town in &r.towns {
        let villages: Vec<&str> = r.villages.iter().filter(|v| v.town == town.code).map(|v| v.code.as_str()).collect();
        let households: Vec<_> = r.households.iter().filter(|h| villages.contains(&h.village.as_str())).collect();
        let enterprises = r.enterprises.iter().filter(|e| villages.contains(&e.village.as_str())).count();
        let officers = r.officers.iter().filter(|o| o.station == town.station).count();
        let auxiliaries =
            r.officers.iter().filter(|o| o.station == town.station && o.rank == OfficerRank::Auxiliary).count();
        let station = r.stations.iter().find(|s| s.code == town.station).map(|s| s.name.get(lang)).unwrap_or("?");
        let _ = writeln!(
            out,
            "{:<10}\t{}\t{}\t{}\t{}\t{}/{}\t{}",
            town.name.get(lang),
            villages.len(),
            households.len(),
            households.iter().map(|h| h.members.len()).sum::<usize>(),
            enterprises,
            officers - auxiliaries,
            auxiliaries,
            station,
        );
    }

    let c = &f.catalog;
    let _ = writeln!(
        out,
        "\n{} {} ({} {}, {} {})",
        t(lang, "服务目录", "Service catalog"),
        c.version,
        c.services.len(),
        t(lang, "项", "services"),
        Category::ALL.len(),
        t(lang, "大类", "categories"),
    );
    for cat in Category::ALL {
        let services: Vec<&Service> = c.in_category(cat).collect();
        let _ = writeln!(out, "  {} {} ({})", cat.code(), cat.name().get(lang), services.len());
        for s in services {
            let modes: Vec<String> = s.modes.iter().map(|m| m.name().get(lang).to_owned()).collect();
            let _ =
                writeln!(out, "    {:<6}{}  [{}]  {}", s.code, s.name.get(lang), modes.join(" / "), fee_text(s, lang));
        }
    }

    let years: Vec<String> = (2024..=2027)
        .filter_map(|y| {
            f.calendar.coverage(y).map(|cov| match cov {
                Coverage::Official => format!("{y} {}", t(lang, "官方调休安排", "official schedule")),
                Coverage::StatutoryOnly => format!("{y} {}", t(lang, "仅法定假日", "statutory holidays only")),
            })
        })
        .collect();
    let _ = writeln!(out, "\n{}: {}", t(lang, "工作日历", "Working-day calendar"), years.join(" · "));
    // The 3-working-day limit of 治安调解 across the National Day holiday shows the calendar at work.
    let accepted = chrono::NaiveDate::from_ymd_opt(2026, 9, 29).expect("valid date");
    let due = beibao_core::mediation::deadlines::public_security_mediation_due(accepted, None, &f.calendar);
    let _ = writeln!(
        out,
        "{} {accepted} → {due}",
        t(lang, "治安调解3个工作日时限：受理", "Public-security mediation, 3 working days: accepted"),
    );
    let names: Vec<String> = indicators::all().iter().map(|i| i.name.get(lang).to_owned()).collect();
    let _ = writeln!(out, "{} ({}): {}", t(lang, "考核指标", "Indicators"), names.len(), names.join(" · "));
    out
}
