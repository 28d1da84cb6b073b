use beibao_core::identity::{
    IdNumber, IdNumberError, OtherIdKind, Phone, PhoneError, Sex, mask_address, mask_id_number, mask_mobile, mask_name,
};

use crate::date;

fn today() -> chrono::NaiveDate {
    date("2026-11-22")
}

#[test]
fn reference_numbers_are_valid_with_their_birth_date_and_sex() {
    let cases = [
        ("370406195803120011", "1958-03-12", Sex::Male),
        ("370406194507010024", "1945-07-01", Sex::Female),
        ("370406193701055117", "1937-01-05", Sex::Male),
        ("370406200102280040", "2001-02-28", Sex::Female),
        ("370481196209151231", "1962-09-15", Sex::Male),
        ("370402201206110125", "2012-06-11", Sex::Female),
        ("11010519491231002X", "1949-12-31", Sex::Female),
    ];
    for (raw, birth, sex) in cases {
        let id = IdNumber::parse(raw, today()).unwrap_or_else(|e| panic!("{raw} is a valid number: {e}"));
        assert_eq!(id.birth_date(), date(birth), "birth date of {raw}");
        assert_eq!(id.sex(), sex, "digit 17 parity gives the sex of {raw}");
        assert_eq!(id.as_str(), raw);
    }
}

#[test]
fn lower_case_x_and_surrounding_spaces_are_normalised() {
    let id = IdNumber::parse(" 11010519491231002x ", today()).expect("lower-case x is accepted");
    assert_eq!(id.as_str(), "11010519491231002X");
}

#[test]
fn each_broken_rule_is_named() {
    let cases: &[(&str, IdNumberError)] = &[
        ("", IdNumberError::Empty),
        ("37040619580312001", IdNumberError::Length(17)),
        ("3704061958031200111", IdNumberError::Length(19)),
        ("3704A6195803120011", IdNumberError::Character { position: 5 }),
        ("37040619580312X011", IdNumberError::Character { position: 15 }),
        ("000406195803120011", IdNumberError::Province("00".into())),
        ("990406195803120011", IdNumberError::OtherIdType(OtherIdKind::ForeignPermanentResidence)),
        ("370406195802300011", IdNumberError::BirthDate("19580230".into())),
        ("370406202701010011", IdNumberError::BirthInFuture(date("2027-01-01"))),
        ("370406189912310011", IdNumberError::BirthTooEarly(date("1899-12-31"))),
        ("370406195803120012", IdNumberError::Checksum { expected: '1', found: '2' }),
        ("11010519491231002 ", IdNumberError::Length(17)),
        ("810000199001011234", IdNumberError::OtherIdType(OtherIdKind::HkMacaoTaiwanResidencePermit)),
        ("830000199001011234", IdNumberError::OtherIdType(OtherIdKind::HkMacaoTaiwanResidencePermit)),
    ];
    for (raw, expected) in cases {
        assert_eq!(IdNumber::parse(raw, today()).as_ref().err(), Some(expected), "{raw:?} must fail with {expected:?}");
        assert_ne!(expected.code(), beibao_core::code::Code::Unknown);
    }
}

#[test]
fn every_single_digit_change_is_caught_by_the_check_character() {
    let good = "370406195803120011";
    for pos in 0..17 {
        for d in b'0'..=b'9' {
            let mut bytes = good.as_bytes().to_vec();
            if bytes[pos] == d {
                continue;
            }
            bytes[pos] = d;
            let raw = String::from_utf8(bytes).expect("ascii");
            assert!(IdNumber::parse(&raw, today()).is_err(), "{raw}: a changed digit at {} must not pass", pos + 1);
        }
    }
}

#[test]
fn legacy_15_digit_numbers_are_refused_with_their_18_digit_form() {
    assert_eq!(
        IdNumber::parse("370406580312001", today()),
        Err(IdNumberError::Legacy15 { upconverted: "370406195803120011".into() }),
        "a 15-digit number is no longer valid; the error offers the converted number"
    );
    let up = IdNumber::from_legacy("370406580312001", today()).expect("converts");
    assert_eq!(up.as_str(), "370406195803120011");
    assert_eq!(IdNumber::from_legacy("370406580230001", today()), Err(IdNumberError::BirthDate("19580230".into())));
    assert_eq!(IdNumber::from_legacy("3704065803120", today()), Err(IdNumberError::Length(13)));
}

#[test]
fn age_is_counted_in_completed_years() {
    let minor = IdNumber::parse("370402201206110125", today()).expect("valid");
    assert_eq!(minor.age_on(date("2026-06-10")), 13, "the day before the 14th birthday");
    assert_eq!(minor.age_on(date("2026-06-11")), 14, "on the birthday");
    assert_eq!(minor.age_on(date("2028-06-11")), 16);
    let leap = IdNumber::parse("370406200102280040", today()).expect("valid");
    assert_eq!(leap.age_on(date("2019-02-27")), 17);
    assert_eq!(leap.age_on(date("2019-02-28")), 18);
}

#[test]
fn masks_keep_what_the_reference_says() {
    assert_eq!(mask_id_number("370406195803120011"), "370406********0011");
    assert_eq!(IdNumber::parse("370406195803120011", today()).expect("valid").masked(), "370406********0011");
    assert_eq!(mask_id_number("370406580312001"), "370406*****2001", "15-digit numbers keep 6 + 4 too");
    assert_eq!(mask_id_number("12345"), "*****", "anything else is masked whole");
    assert_eq!(mask_mobile("13812345678"), "138****5678");
    assert_eq!(mask_name("张三明"), "张*明");
    assert_eq!(mask_name("张三"), "张*");
    assert_eq!(mask_name("欧阳小明"), "欧**明");
    assert_eq!(mask_name("张"), "*");
    assert_eq!(mask_address("山亭区西集镇王庄村3组12号"), "山亭区西集镇王庄村3组***");
    assert_eq!(mask_address("山亭区山城街道府前社区府前路13号"), "山亭区山城街道府前社区***");
    assert_eq!(mask_address("府前路13号"), "***", "no village level: nothing is kept");
}

#[test]
fn phone_numbers() {
    let mobile = |n: &str| Phone::Mobile { number: n.into() };
    let ok: &[(&str, Phone)] = &[
        ("13812345678", mobile("13812345678")),
        ("+86 138 1234 5678", mobile("13812345678")),
        ("0086-13812345678", mobile("13812345678")),
        ("19912345678", mobile("19912345678")),
        ("0632-8812345", Phone::Landline { area: "0632".into(), number: "8812345".into(), ext: None }),
        ("0632 88123456", Phone::Landline { area: "0632".into(), number: "88123456".into(), ext: None }),
        (
            "0632-8812345-801",
            Phone::Landline { area: "0632".into(), number: "8812345".into(), ext: Some("801".into()) },
        ),
        ("0632-8812345转12", Phone::Landline { area: "0632".into(), number: "8812345".into(), ext: Some("12".into()) }),
        ("010-12345678", Phone::Landline { area: "010".into(), number: "12345678".into(), ext: None }),
    ];
    for (raw, expected) in ok {
        assert_eq!(Phone::parse(raw).as_ref(), Ok(expected), "{raw} is a valid phone");
    }
    let bad: &[(&str, PhoneError)] = &[
        ("", PhoneError::Empty),
        ("12812345678", PhoneError::Mobile(11)),
        ("1381234567", PhoneError::Mobile(10)),
        ("138123456789", PhoneError::Mobile(12)),
        ("0632-881234", PhoneError::Landline),
        ("0632-881234567", PhoneError::Landline),
        ("138-1234-567a", PhoneError::Character),
        ("8812345", PhoneError::Mobile(7)),
    ];
    for (raw, expected) in bad {
        assert_eq!(Phone::parse(raw).as_ref().err(), Some(expected), "{raw:?} must fail with {expected:?}");
    }
    assert_eq!(mobile("13812345678").masked(), "138****5678");
    assert_eq!(Phone::parse("0632-8812345").expect("valid").masked(), "0632-***2345");
}
