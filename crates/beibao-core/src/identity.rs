//! Identity rules: GB 11643 citizen ID numbers, phone numbers, and masking of personal data
//! (REFERENCE §3).

use crate::code::Code;
use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// Weights of positions 1–17 for the ISO 7064 MOD 11-2 check character.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character for S = 0…10.
const CHECK: [u8; 11] = *b"10X98765432";
/// Province-level codes of the mainland (GB/T 2260) that issue resident ID numbers.
const PROVINCES: [&str; 31] = [
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42", "43", "44",
    "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65",
];

/// The check character for the first 17 digits (ISO 7064:1983 MOD 11-2).
pub fn check_char(first17: &[u8; 17]) -> char {
    let sum: u32 = first17.iter().zip(WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
    CHECK[(sum % 11) as usize] as char
}

/// Other identity documents whose numbers look like ID numbers but are not 居民身份证.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OtherIdKind {
    /// 港澳台居民居住证 (numbers start 810000 / 820000 / 830000).
    HkMacaoTaiwanResidencePermit,
    /// 外国人永久居留身份证 (2023 version: 18 characters starting with 9).
    ForeignPermanentResidence,
}

/// Why an ID number was refused. Each variant names the rule that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    /// Nothing was entered.
    #[error("ID number is empty")]
    Empty,
    /// A 15-digit first-generation number: no longer valid since 2013-01-01; offer the 18-digit form.
    #[error(
        "15-digit first-generation ID number is no longer valid (since 2013-01-01); the 18-digit form is {upconverted}"
    )]
    Legacy15 {
        /// The same number converted to 18 digits.
        upconverted: String,
    },
    /// Not 18 characters long.
    #[error("ID number must have 18 characters, found {0}")]
    Length(usize),
    /// A character is not a digit (the last may be X).
    #[error("ID number character {position} must be a digit{}", if *.position == 18 { " or X" } else { "" })]
    Character {
        /// 1-based position.
        position: usize,
    },
    /// The first two digits are not a province-level code.
    #[error("ID number starts with {0}, which is not a province code")]
    Province(String),
    /// Digits 7–14 are not a calendar date.
    #[error("ID number birth date {0} is not a valid date")]
    BirthDate(String),
    /// The birth date lies after today.
    #[error("ID number birth date {0} is in the future")]
    BirthInFuture(NaiveDate),
    /// The birth date lies before 1900.
    #[error("ID number birth date {0} is before 1900")]
    BirthTooEarly(NaiveDate),
    /// The check character does not match.
    #[error("ID number check character is {found} but should be {expected} (MOD 11-2)")]
    Checksum {
        /// The correct check character.
        expected: char,
        /// The one entered.
        found: char,
    },
    /// The number belongs to another document type.
    #[error("this is not a resident ID number but a {0:?} number")]
    OtherIdType(OtherIdKind),
}

impl IdNumberError {
    /// Stable error code for the UI and the API.
    pub fn code(&self) -> Code {
        match self {
            IdNumberError::Empty => Code::IdEmpty,
            IdNumberError::Legacy15 { .. } => Code::IdLegacy15,
            IdNumberError::Length(_) => Code::IdLength,
            IdNumberError::Character { .. } => Code::IdCharacter,
            IdNumberError::Province(_) => Code::IdProvince,
            IdNumberError::BirthDate(_) => Code::IdBirthDate,
            IdNumberError::BirthInFuture(_) => Code::IdBirthFuture,
            IdNumberError::BirthTooEarly(_) => Code::IdBirthTooEarly,
            IdNumberError::Checksum { .. } => Code::IdChecksum,
            IdNumberError::OtherIdType(_) => Code::IdOtherType,
        }
    }
}

/// Sex as encoded in digit 17 (odd = male, even = female).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    /// 男.
    Male,
    /// 女.
    Female,
}

/// A valid 18-character citizen ID number (upper-case X).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IdNumber(String);

impl IdNumber {
    /// Parse and validate; `today` bounds the birth date. Spaces around are ignored and a
    /// lower-case `x` is normalised. A 15-digit legacy number is refused with its 18-digit form.
    pub fn parse(raw: &str, today: NaiveDate) -> Result<IdNumber, IdNumberError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(IdNumberError::Empty);
        }
        if s.len() == 15 && s.bytes().all(|b| b.is_ascii_digit()) {
            let upconverted = Self::from_legacy(s, today)?;
            return Err(IdNumberError::Legacy15 { upconverted: upconverted.0 });
        }
        let n = s.chars().count();
        if n != 18 {
            return Err(IdNumberError::Length(n));
        }
        let mut bytes = [0u8; 18];
        for (i, c) in s.bytes().enumerate() {
            bytes[i] = if i == 17 && c == b'x' { b'X' } else { c };
            let ok = bytes[i].is_ascii_digit() || (i == 17 && bytes[i] == b'X');
            if !ok {
                return Err(IdNumberError::Character { position: i + 1 });
            }
        }
        let s = std::str::from_utf8(&bytes).map_err(|_| IdNumberError::Character { position: 1 })?;
        if let Some(kind) = other_kind(s) {
            return Err(IdNumberError::OtherIdType(kind));
        }
        check_body(&s[..17], today)?;
        let first17: &[u8; 17] = bytes[..17].try_into().map_err(|_| IdNumberError::Length(n))?;
        let expected = check_char(first17);
        let found = bytes[17] as char;
        if expected != found {
            return Err(IdNumberError::Checksum { expected, found });
        }
        Ok(IdNumber(s.to_owned()))
    }

    /// Convert a 15-digit first-generation number (GB 11643-1989): insert "19" before the
    /// YYMMDD birth date and append the check character.
    pub fn from_legacy(raw: &str, today: NaiveDate) -> Result<IdNumber, IdNumberError> {
        let s = raw.trim();
        if s.len() != 15 {
            return Err(IdNumberError::Length(s.chars().count()));
        }
        if let Some(i) = s.bytes().position(|b| !b.is_ascii_digit()) {
            return Err(IdNumberError::Character { position: i + 1 });
        }
        let body = format!("{}19{}", &s[..6], &s[6..]);
        check_body(&body, today)?;
        let first17: [u8; 17] = body.as_bytes().try_into().map_err(|_| IdNumberError::Length(15))?;
        Ok(IdNumber(format!("{body}{}", check_char(&first17))))
    }

    /// The number as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 6-digit address code of first registration (does not follow later moves).
    pub fn region_code(&self) -> &str {
        &self.0[..6]
    }

    /// Birth date (digits 7–14).
    pub fn birth_date(&self) -> NaiveDate {
        parse_ymd(&self.0[6..14]).unwrap_or_default()
    }

    /// Sex (digit 17: odd male, even female).
    pub fn sex(&self) -> Sex {
        if (self.0.as_bytes()[16] - b'0') % 2 == 1 { Sex::Male } else { Sex::Female }
    }

    /// Age in completed years on `on`.
    pub fn age_on(&self, on: NaiveDate) -> u32 {
        age_on(self.birth_date(), on)
    }

    /// Display mask: first 6 and last 4 kept, 8 stars (`370406********0011`).
    pub fn masked(&self) -> String {
        mask_id_number(&self.0)
    }
}

impl fmt::Display for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Completed years between `birth` and `on` (0 before the first birthday).
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> u32 {
    if on < birth {
        return 0;
    }
    let mut years = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    u32::try_from(years).unwrap_or(0)
}

fn other_kind(s: &str) -> Option<OtherIdKind> {
    if ["810000", "820000", "830000"].iter().any(|p| s.starts_with(p)) {
        Some(OtherIdKind::HkMacaoTaiwanResidencePermit)
    } else if s.starts_with('9') {
        Some(OtherIdKind::ForeignPermanentResidence)
    } else {
        None
    }
}

fn check_body(body17: &str, today: NaiveDate) -> Result<(), IdNumberError> {
    let province = &body17[..2];
    if !PROVINCES.contains(&province) {
        return Err(IdNumberError::Province(province.to_owned()));
    }
    let ymd = &body17[6..14];
    let birth = parse_ymd(ymd).ok_or_else(|| IdNumberError::BirthDate(ymd.to_owned()))?;
    if birth > today {
        return Err(IdNumberError::BirthInFuture(birth));
    }
    if birth < NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or_default() {
        return Err(IdNumberError::BirthTooEarly(birth));
    }
    Ok(())
}

fn parse_ymd(ymd: &str) -> Option<NaiveDate> {
    let y = ymd.get(0..4)?.parse().ok()?;
    let m = ymd.get(4..6)?.parse().ok()?;
    let d = ymd.get(6..8)?.parse().ok()?;
    NaiveDate::from_ymd_opt(y, m, d)
}

/// A validated phone number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Phone {
    /// 11-digit mobile number (`^1[3-9]\d{9}$`), without the +86 prefix.
    Mobile {
        /// The 11 digits.
        number: String,
    },
    /// Landline: area code (0 + 2–3 digits), 7–8 digit local number, optional extension.
    Landline {
        /// Area code, e.g. 0632 for Zaozhuang.
        area: String,
        /// Local number.
        number: String,
        /// Extension.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ext: Option<String>,
    },
}

/// Why a phone number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Nothing was entered.
    #[error("phone number is empty")]
    Empty,
    /// Something other than digits, spaces, dashes, a leading + or an extension.
    #[error("phone number may contain only digits, spaces and dashes")]
    Character,
    /// Mobile numbers have 11 digits starting 13–19.
    #[error("mobile number must be 11 digits starting with 13–19, got {0} digits")]
    Mobile(usize),
    /// Landlines need an area code starting with 0.
    #[error("landline must start with an area code (e.g. 0632) followed by a 7–8 digit number")]
    Landline,
}

impl PhoneError {
    /// Stable error code for the UI and the API.
    pub fn code(&self) -> Code {
        match self {
            PhoneError::Empty => Code::PhoneEmpty,
            PhoneError::Character => Code::PhoneCharacter,
            PhoneError::Mobile(_) => Code::PhoneMobile,
            PhoneError::Landline => Code::PhoneLandline,
        }
    }
}

impl Phone {
    /// Parse a mobile (optional `+86` / `0086` prefix) or a landline (`0632-8812345`, optional
    /// extension after `-`, `转` or `ext`).
    pub fn parse(raw: &str) -> Result<Phone, PhoneError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(PhoneError::Empty);
        }
        let (main, ext) = split_extension(s);
        let cleaned: String = main.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')')).collect();
        let digits = cleaned.strip_prefix("+86").or_else(|| cleaned.strip_prefix("0086")).unwrap_or(&cleaned);
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PhoneError::Character);
        }
        if digits.starts_with('1') && ext.is_none() {
            let ok = digits.len() == 11 && matches!(digits.as_bytes()[1], b'3'..=b'9');
            return if ok {
                Ok(Phone::Mobile { number: digits.to_owned() })
            } else {
                Err(PhoneError::Mobile(digits.len()))
            };
        }
        if !digits.starts_with('0') {
            return Err(if ext.is_some() { PhoneError::Landline } else { PhoneError::Mobile(digits.len()) });
        }
        // Area codes: 010 and 02x are 3 digits; the rest (e.g. 0632) are 4.
        let area_len = if digits.starts_with("010") || digits.starts_with("02") { 3 } else { 4 };
        let (area, number) = digits.split_at(area_len.min(digits.len()));
        if area.len() != area_len || !(7..=8).contains(&number.len()) {
            return Err(PhoneError::Landline);
        }
        Ok(Phone::Landline { area: area.to_owned(), number: number.to_owned(), ext })
    }

    /// Display mask: mobile `138****5678`; landline keeps the area code and last 4 digits.
    pub fn masked(&self) -> String {
        match self {
            Phone::Mobile { number } => mask_mobile(number),
            Phone::Landline { area, number, .. } => {
                let keep = &number[number.len() - 4..];
                format!("{area}-{}{keep}", "*".repeat(number.len() - 4))
            }
        }
    }
}

fn split_extension(s: &str) -> (&str, Option<String>) {
    for sep in ["转", "ext", "EXT", "x"] {
        if let Some((main, ext)) = s.split_once(sep) {
            return (main, Some(ext.trim().to_owned()).filter(|e| !e.is_empty()));
        }
    }
    // 0632-8812345-801: a third dash-separated group is an extension.
    let parts: Vec<&str> = s.split('-').collect();
    if parts.len() == 3 && s.starts_with('0') {
        let cut = parts[0].len() + 1 + parts[1].len();
        return (&s[..cut], Some(parts[2].trim().to_owned()));
    }
    (s, None)
}

/// Mask an ID number for display: first 6 and last 4 kept (`370406********0011`). Anything that is
/// not 15 or 18 characters is masked whole.
pub fn mask_id_number(id: &str) -> String {
    let chars: Vec<char> = id.trim().chars().collect();
    match chars.len() {
        18 | 15 => {
            let head: String = chars[..6].iter().collect();
            let tail: String = chars[chars.len() - 4..].iter().collect();
            format!("{head}{}{tail}", "*".repeat(chars.len() - 10))
        }
        n => "*".repeat(n),
    }
}

/// Mask an applicant as a request names them (an ID number or a name given at the door): an ID
/// number keeps its first 6 and last 4, a name its surname.
pub fn mask_applicant(applicant: &str) -> String {
    let a = applicant.trim();
    let id_like = matches!(a.chars().count(), 15 | 18) && a.chars().all(|c| c.is_ascii_digit() || c == 'X' || c == 'x');
    if id_like { mask_id_number(a) } else { mask_name(a) }
}

/// Mask a mobile number: first 3 and last 4 kept (`138****5678`).
pub fn mask_mobile(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    if chars.len() < 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

/// Mask a Chinese name: the surname kept, the given name masked (`张*`, `张*明`, `欧**明`).
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.trim().chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".to_owned(),
        2 => format!("{}*", chars[0]),
        n => format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1]),
    }
}

/// Mask an address: keep it down to the village or group (村/组/社区), drop the house number.
pub fn mask_address(address: &str) -> String {
    let cut = ["组", "社区", "村", "居委会"].iter().filter_map(|m| address.rfind(m).map(|i| i + m.len())).max();
    match cut {
        Some(i) if i < address.len() => format!("{}***", &address[..i]),
        Some(_) => address.to_owned(),
        None => "***".to_owned(),
    }
}
