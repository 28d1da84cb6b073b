use beibao_core::calendar::{CalendarError, CalendarYear, Coverage, Holiday, WorkCalendar, china_date};
use beibao_core::text::LocalText;

use crate::{at, calendar, date};

#[test]
fn coverage_by_year() {
    let cal = calendar();
    for y in 2024..=2026 {
        assert_eq!(cal.coverage(y), Some(Coverage::Official), "{y} has the State Council's schedule");
    }
    assert_eq!(cal.coverage(2027), Some(Coverage::StatutoryOnly), "2027's 调休 is not published yet");
    assert_eq!(cal.coverage(2028), None);
}

#[test]
fn holidays_and_make_up_workdays() {
    let cal = calendar();
    let cases = [
        ("2024-01-01", false, "New Year's Day"),
        ("2024-02-04", true, "Sunday make-up workday before Spring Festival 2024"),
        ("2024-02-12", false, "Spring Festival 2024"),
        ("2024-02-18", true, "Sunday make-up workday after Spring Festival 2024"),
        ("2024-10-12", true, "Saturday make-up workday"),
        ("2025-01-26", true, "Sunday make-up workday 2025"),
        ("2025-01-28", false, "除夕 is a holiday from 2025"),
        ("2025-05-02", false, "Labour Day 2025"),
        ("2025-10-08", false, "National Day and Mid-Autumn 2025"),
        ("2026-02-14", true, "Saturday make-up workday 2026"),
        ("2026-02-23", false, "last day of Spring Festival 2026"),
        ("2026-10-08", true, "Thursday after National Day 2026"),
        ("2026-10-10", true, "Saturday make-up workday 2026"),
        ("2026-11-22", false, "an ordinary Sunday"),
        ("2026-11-23", true, "an ordinary Monday"),
        ("2027-02-05", false, "除夕 2027, statutory"),
        ("2027-06-09", false, "Dragon Boat Festival 2027, statutory"),
        ("2028-03-01", true, "outside the file: weekdays work"),
    ];
    for (d, working, why) in cases {
        assert_eq!(cal.is_working_day(date(d)), working, "{d}: {why}");
    }
    assert!(cal.is_holiday(date("2026-10-03")) && !cal.is_holiday(date("2026-11-22")), "weekends are not holidays");
}

#[test]
fn adding_working_days() {
    let cal = calendar();
    let cases = [
        ("2026-09-29", 3, "2026-10-09", "across National Day 2026"),
        ("2026-09-30", 1, "2026-10-08", "the day after the holiday"),
        ("2025-01-24", 1, "2025-01-26", "a Sunday make-up workday counts"),
        ("2026-11-20", 1, "2026-11-23", "Friday + 1 is Monday"),
        ("2026-11-20", 0, "2026-11-20", "zero days is the same day"),
        ("2026-11-23", 7, "2026-12-02", "7 working days"),
        ("2026-02-13", 1, "2026-02-14", "Saturday make-up workday before Spring Festival 2026"),
        ("2026-02-14", 1, "2026-02-24", "Spring Festival 2026 skipped"),
    ];
    for (start, n, due, why) in cases {
        assert_eq!(cal.add_working_days(date(start), n), date(due), "{start} + {n} working days: {why}");
    }
    assert_eq!(
        cal.working_days_between(date("2026-09-30"), date("2026-10-10")),
        3,
        "Oct 8, Oct 9 and the make-up Saturday Oct 10"
    );
}

#[test]
fn dates_are_counted_in_china_time() {
    assert_eq!(china_date(at("2026-11-22T15:59:59Z")), date("2026-11-22"));
    assert_eq!(china_date(at("2026-11-22T16:00:00Z")), date("2026-11-23"), "midnight in Beijing is 16:00 UTC");
}

fn year(y: i32, holidays: &[&str], workdays: &[&str]) -> CalendarYear {
    CalendarYear {
        year: y,
        coverage: Coverage::Official,
        source: "test".into(),
        holidays: vec![Holiday {
            name: LocalText::new("假日", "Holiday"),
            days: holidays.iter().map(|d| date(d)).collect(),
        }],
        workdays: workdays.iter().map(|d| date(d)).collect(),
    }
}

#[test]
fn a_broken_calendar_is_refused() {
    let cases = [
        (vec![year(2026, &[], &[]), year(2026, &[], &[])], CalendarError::DuplicateYear(2026)),
        (vec![year(2026, &["2025-12-31"], &[])], CalendarError::WrongYear { year: 2026, date: date("2025-12-31") }),
        (vec![year(2026, &["2026-02-14"], &["2026-02-14"])], CalendarError::Both(date("2026-02-14"))),
        (vec![year(2026, &[], &["2026-11-23"])], CalendarError::WorkdayNotWeekend(date("2026-11-23"))),
    ];
    for (years, expected) in cases {
        assert_eq!(WorkCalendar::from_years(&years), Err(expected.clone()), "{expected}");
    }
    assert!(matches!(WorkCalendar::from_json("[{]"), Err(CalendarError::Malformed(_))));
}
