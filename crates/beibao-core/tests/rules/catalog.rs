use beibao_core::catalog::{Catalog, CatalogError, Category, DayBasis, FeeError, Mode};
use beibao_core::code::Code;
use beibao_core::registry::SpecialGroup;
use serde_json::{Value, json};

use crate::{CATALOG_JSON, calendar, catalog, date};

#[test]
fn the_catalog_has_38_services_in_5_categories() {
    let c = catalog();
    assert_eq!(c.services.len(), 38, "REFERENCE §1: 5大类38项");
    let counts: Vec<(Category, usize)> = Category::ALL.iter().map(|&cat| (cat, c.in_category(cat).count())).collect();
    assert_eq!(
        counts,
        vec![
            (Category::HouseholdRegistration, 12),
            (Category::ExitEntry, 5),
            (Category::Traffic, 8),
            (Category::PublicOrder, 8),
            (Category::CyberAntiFraud, 5),
        ],
        "户政 12, 出入境 5, 交管 8, 治安 8, 网安/反诈 5"
    );
    assert!(!c.version.is_empty(), "a catalog has a version");
    for s in &c.services {
        assert!(s.code.starts_with(s.category.code()), "{} is in its category", s.code);
    }
}

#[test]
fn reference_facts_of_selected_services() {
    let c = catalog();
    let s = |code: &str| c.service(code).unwrap_or_else(|| panic!("{code} is in the catalog"));
    assert_eq!(s("HZ01").name.zh, "居民身份证首次申领");
    assert_eq!(s("HZ01").primary_mode(), Mode::CarryBack);
    assert!(s("HZ01").needs_biometrics && s("HZ01").door_delivery_ok && s("HZ01").requires_return_visit);
    assert_eq!(s("HZ01").statutory.map(|d| (d.days, d.basis)), Some((60, DayBasis::Calendar)), "居民身份证法 Art.10");
    assert_eq!(s("HZ03").fee.options[0].fen, 4000, "loss replacement ¥40");
    assert_eq!(s("HZ05").fee.options[0].fen, 1000, "temporary ID ¥10");
    assert_eq!(s("CRJ01").fee.options[0].fen, 12000, "passport ¥120");
    assert_eq!(s("CRJ04").modes, vec![Mode::Delivery]);
    assert_eq!(s("JG01").modes, vec![Mode::OnSite, Mode::CarryBack], "12123 on the spot, or carried back");
    assert_eq!(s("ZA03").statutory.map(|d| (d.days, d.basis)), Some((3, DayBasis::Working)));
    assert!(s("ZA04").is_free(), "人民调解 is free (Art.4)");
    assert_eq!(s("ZA01").typical.days, 3);
}

#[test]
fn id_card_fees_are_waived_for_dibao_and_tekun_and_halved_for_hardship() {
    let c = catalog();
    let hz01 = c.service("HZ01").expect("HZ01");
    let quote = |groups: &[SpecialGroup]| hz01.quote(None, groups).expect("HZ01 has one fee item");
    let cases: &[(&[SpecialGroup], u32)] = &[
        (&[], 2000),
        (&[SpecialGroup::Dibao], 0),
        (&[SpecialGroup::Tekun], 0),
        (&[SpecialGroup::Hardship], 1000),
        (&[SpecialGroup::Hardship, SpecialGroup::Dibao], 0),
        (&[SpecialGroup::ElderlyAlone], 2000),
    ];
    for (groups, payable) in cases {
        let q = quote(groups);
        assert_eq!(q.gross_fen, 2000);
        assert_eq!(q.payable_fen, *payable, "HZ01 for {groups:?}: the most favourable waiver applies");
    }
    let hz03 = c.service("HZ03").expect("HZ03");
    assert_eq!(
        hz03.quote(None, &[SpecialGroup::Dibao]).expect("quote").payable_fen,
        4000,
        "no waiver on loss replacement"
    );
    let free = c.service("HZ06").expect("HZ06").quote(None, &[]).expect("free");
    assert_eq!((free.option, free.payable_fen), (None, 0));
}

#[test]
fn services_with_several_fee_items_need_a_choice() {
    let c = catalog();
    let jg06 = c.service("JG06").expect("JG06");
    let err = jg06.quote(None, &[]).expect_err("several items");
    assert!(matches!(&err, FeeError::OptionRequired { options, .. } if options.len() == 4), "{err}");
    assert_eq!(err.code(), Code::FeeOptionRequired);
    assert_eq!(jg06.quote(Some("car_plates"), &[]).expect("known").payable_fen, 10000);
    assert_eq!(jg06.quote(Some("temporary_plate"), &[]).expect("known").payable_fen, 500);
    let unknown = jg06.quote(Some("bicycle"), &[]).expect_err("unknown item");
    assert_eq!(unknown, FeeError::UnknownOption { service: "JG06".into(), option: "bicycle".into() });
    assert!(c.service("HZ06").expect("HZ06").quote(Some("card"), &[]).is_err(), "a free service has no items");
}

#[test]
fn working_day_processing_times_skip_holidays() {
    let c = catalog();
    let cal = calendar();
    let za01 = c.service("ZA01").expect("ZA01").typical;
    assert_eq!(za01.due_from(date("2026-09-29"), &cal), date("2026-10-09"), "3 working days across National Day");
    let hz11 = c.service("HZ11").expect("HZ11").typical;
    assert_eq!(hz11.due_from(date("2026-09-29"), &cal), date("2026-10-14"), "15 calendar days");
}

fn mutated(edit: impl FnOnce(&mut Value)) -> Result<Catalog, CatalogError> {
    let mut v: Value = serde_json::from_str(CATALOG_JSON).expect("json");
    edit(&mut v);
    Catalog::from_json(&v.to_string())
}

#[test]
fn loading_rejects_a_broken_catalog_and_names_the_entry() {
    type Edit = Box<dyn FnOnce(&mut Value)>;
    let cases: Vec<(&str, Edit, CatalogError)> = vec![
        (
            "duplicate code",
            Box::new(|v| v["services"][1]["code"] = json!("HZ01")),
            CatalogError::DuplicateCode("HZ01".into()),
        ),
        (
            "unknown category",
            Box::new(|v| v["services"][0]["category"] = json!("XX")),
            CatalogError::UnknownCategory { code: "HZ01".into(), category: "XX".into() },
        ),
        (
            "empty Chinese name",
            Box::new(|v| v["services"][2]["name"]["zh"] = json!(" ")),
            CatalogError::MissingChineseName { code: "HZ03".into(), what: "the service".into() },
        ),
        (
            "empty English material name",
            Box::new(|v| v["services"][0]["materials"][0]["name"]["en"] = json!("")),
            CatalogError::MissingEnglishName { code: "HZ01".into(), what: "material `hukou_book`".into() },
        ),
        ("bad code", Box::new(|v| v["services"][0]["code"] = json!("HZ1")), CatalogError::BadCode("HZ1".into())),
        (
            "code outside its category",
            Box::new(|v| v["services"][0]["category"] = json!("JG")),
            CatalogError::CategoryMismatch { code: "HZ01".into(), category: "JG".into() },
        ),
        (
            "no mode",
            Box::new(|v| v["services"][0]["modes"] = json!([])),
            CatalogError::BadModes { code: "HZ01".into() },
        ),
        (
            "repeated mode",
            Box::new(|v| v["services"][0]["modes"] = json!(["carry_back", "carry_back"])),
            CatalogError::BadModes { code: "HZ01".into() },
        ),
        (
            "repeated material",
            Box::new(|v| v["services"][0]["materials"][1]["code"] = json!("hukou_book")),
            CatalogError::DuplicateItem { code: "HZ01".into(), what: "material", item: "hukou_book".into() },
        ),
        (
            "waiver over 100 %",
            Box::new(|v| v["services"][0]["fee"]["waivers"][0]["payable_percent"] = json!(150)),
            CatalogError::BadWaiver { code: "HZ01".into(), reason: "payable_percent 150 is over 100".into() },
        ),
        (
            "typical longer than statutory",
            Box::new(|v| v["services"][0]["typical"] = json!({"days": 61, "basis": "calendar"})),
            CatalogError::TypicalOverStatutory { code: "HZ01".into(), typical: 61, statutory: 60 },
        ),
        ("no version", Box::new(|v| v["version"] = json!("")), CatalogError::MissingVersion),
        ("no service", Box::new(|v| v["services"] = json!([])), CatalogError::Empty),
    ];
    for (name, edit, expected) in cases {
        assert_eq!(mutated(edit), Err(expected), "{name} must be rejected");
    }
}

#[test]
fn malformed_entries_name_their_position_and_code() {
    let err = mutated(|v| {
        v["services"][4]["name"].as_object_mut().expect("name").remove("zh");
    })
    .expect_err("a service without a Chinese name key");
    match err {
        CatalogError::MalformedEntry { index, code, reason } => {
            assert_eq!((index, code.as_str()), (4, "HZ05"));
            assert!(reason.contains("zh"), "the reason names the missing field: {reason}");
        }
        other => panic!("expected MalformedEntry, got {other:?}"),
    }
    let err = mutated(|v| v["services"][0]["colour"] = json!("red")).expect_err("unknown field");
    assert!(err.to_string().contains("HZ01") && err.to_string().contains("colour"), "{err}");
    assert!(matches!(Catalog::from_json("{not json"), Err(CatalogError::Malformed(_))));
}

#[test]
fn a_catalog_round_trips_through_json() {
    let c = catalog();
    let again = Catalog::from_json(&serde_json::to_string(&c).expect("serialises")).expect("reloads");
    assert_eq!(c, again, "what the server publishes, the tablet loads unchanged");
}
