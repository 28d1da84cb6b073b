use beibao_core::indicators::{CountKey as K, Counts, IndicatorValue, all, by_code};
use beibao_core::registry::SpecialGroup;

#[test]
fn every_kpi_of_the_reference_is_defined_once() {
    let list = all();
    let names: Vec<&str> = list.iter().map(|i| i.name.zh.as_str()).collect();
    for zh in [
        "走访户数",
        "走访人次",
        "特殊群体走访数",
        "帮代办件数",
        "送证上门数",
        "现场办结率",
        "按时办结率",
        "排查矛盾纠纷数",
        "化解矛盾纠纷数",
        "调解成功率",
        "协议履行率",
        "司法确认数",
        "反弹/民转刑数",
        "安全宣传次数",
        "隐患排查数",
        "隐患整改数",
        "采集基础信息数",
        "上报线索/信息数",
        "反诈APP安装数",
        "群众满意率",
    ] {
        assert!(names.contains(&zh), "REFERENCE §5 indicator {zh} is defined");
    }
    assert!(names.iter().any(|n| n.starts_with("见警率")), "见警率 proxy is defined");
    let mut codes: Vec<&str> = list.iter().map(|i| i.code).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), list.len(), "indicator codes are unique");
    assert!(
        list.iter().all(|i| !i.name.is_incomplete() && !i.unit.is_incomplete()),
        "every indicator is named in zh and en"
    );
}

#[test]
fn formulas_evaluate_over_counts() {
    let counts: Counts = [
        (K::HouseholdsVisited, 12),
        (K::ServicesAccepted, 8),
        (K::ServicesCompletedOnSite, 6),
        (K::DisputesResolved, 3),
        (K::MediationsConcluded, 4),
        (K::PresenceMinutes, 600),
        (K::VillagesInScope, 5),
    ]
    .into_iter()
    .collect();
    let value = |code: &str| by_code(code).unwrap_or_else(|| panic!("{code} exists")).evaluate(&counts);
    assert_eq!(value("households_visited"), IndicatorValue::Count { value: 12 });
    assert_eq!(value("on_site_rate"), IndicatorValue::Rate { numerator: 6, denominator: 8, value: Some(75.0) });
    assert_eq!(
        value("mediation_success_rate"),
        IndicatorValue::Rate { numerator: 3, denominator: 4, value: Some(75.0) }
    );
    assert_eq!(
        value("satisfaction_rate"),
        IndicatorValue::Rate { numerator: 0, denominator: 0, value: None },
        "no ratings: the rate is undefined, not 0 %"
    );
    assert_eq!(
        value("police_presence"),
        IndicatorValue::Rate { numerator: 600, denominator: 5, value: Some(2.0) },
        "hours per village"
    );
    assert_eq!(value("door_deliveries"), IndicatorValue::Count { value: 0 }, "absent counts are 0");
    assert_eq!(
        by_code("on_site_rate").expect("exists").inputs(),
        vec![K::ServicesCompletedOnSite, K::ServicesAccepted]
    );
}

#[test]
fn special_group_visits_count_the_four_care_groups() {
    let counted: Vec<SpecialGroup> = SpecialGroup::ALL.into_iter().filter(|g| g.counts_for_care_indicator()).collect();
    assert_eq!(
        counted,
        vec![SpecialGroup::ElderlyAlone, SpecialGroup::Disabled, SpecialGroup::LeftBehindChild, SpecialGroup::Tekun],
        "孤寡老人, 残疾人, 留守儿童, 特困 (REFERENCE §5)"
    );
}
