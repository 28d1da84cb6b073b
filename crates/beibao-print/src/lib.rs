//! The printed mediation agreement (调解协议书).
//!
//! A finalized [`Agreement`] is laid out as an A4 PDF in Chinese: the template's title and fields,
//! the parties with masked ID numbers and phones, the terms, the signatures as drawn (the kept
//! strokes, as vector paths), the 协议书 serial, the SHA-256 content hash in print and as a QR
//! code, and one copy per party plus one to file (人民调解法 Art.29; 公通字〔2007〕81号 Art.10:
//! 一式三份 for two parties). The font is embedded as a subset with a ToUnicode map, so the text
//! can be searched and extracted. Nothing depends on the clock or on randomness: the same
//! agreement and font give the same bytes.

mod font;
mod layout;

use beibao_core::calendar::china_date;
use beibao_core::identity::{IdNumber, Phone, Sex, mask_id_number, mask_mobile};
use beibao_core::mediation::MediationKind;
use beibao_core::mediation::agreement::{
    Agreement, AgreementForm, Mark, MediatorRole, Party, PartyRole, SignatureCapture, Signer,
};
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Timelike, Utc};
use krilla::Document;
use krilla::metadata::{DateTime as PdfDateTime, Metadata};
use krilla::page::PageSettings;
use qrcode::{EcLevel, QrCode};

pub use font::{CjkFont, SYSTEM_FONTS};
use layout::{Flow, Item, MARGIN_X, PAGE_H, PAGE_W, WIDTH};

/// Why a document could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    /// No CJK font file was found.
    #[error("no Chinese font: install fonts-noto-cjk or set BEIBAO_CJK_FONT (tried {})", tried.join(", "))]
    FontMissing {
        /// The paths looked at.
        tried: Vec<String>,
    },
    /// The font could not be read.
    #[error("the Chinese font cannot be used: {0}")]
    Font(String),
    /// The agreement is not finalized (no serial or hash).
    #[error("only a finalized agreement is printed: {0}")]
    NotFinal(&'static str),
    /// The PDF writer failed.
    #[error("the PDF could not be written: {0}")]
    Pdf(String),
}

/// What is printed: the finalized agreement, its content hash, and the village's name (the
/// agreement holds its code).
#[derive(Debug, Clone, Copy)]
pub struct AgreementDocument<'a> {
    /// The agreement as finalized (signatures included).
    pub agreement: &'a Agreement,
    /// Its SHA-256 content hash (lower-case hex), printed and encoded in the QR code.
    pub content_hash: &'a str,
    /// The village's name.
    pub village_name: Option<&'a str>,
}

const BODY: f32 = 10.5;

/// The agreement as PDF bytes: every copy's pages, each headed with its copy and the serial.
pub fn agreement_pdf(doc: &AgreementDocument<'_>, font: &CjkFont) -> Result<Vec<u8>, PrintError> {
    let a = doc.agreement;
    let serial = a.serial.as_deref().ok_or(PrintError::NotFinal("the agreement has no serial"))?;
    if doc.content_hash.len() != 64 || !doc.content_hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(PrintError::NotFinal("the content hash is not a SHA-256"));
    }
    let mut flow = Flow::new(font)?;
    body(&mut flow, doc, serial)?;
    let pages = std::mem::take(&mut flow.pages);
    let metrics = flow.metrics;

    let title = title(a);
    let mut document = Document::new();
    let mut metadata = Metadata::new()
        .title(format!("{title} {serial}"))
        .language("zh-CN".into())
        .creator("Beibao 背包警务".into())
        .document_id(doc.content_hash.to_owned());
    let local = a.concluded_at.with_timezone(&china());
    if let (Ok(y), Ok(mo), Ok(d), Ok(h), Ok(mi)) = (
        u16::try_from(local.year()),
        u8::try_from(local.month()),
        u8::try_from(local.day()),
        u8::try_from(local.hour()),
        u8::try_from(local.minute()),
    ) {
        metadata = metadata.creation_date(PdfDateTime::new(y).month(mo).day(d).hour(h).minute(mi).utc_offset_hour(8));
    }
    document.set_metadata(metadata);

    let copies = a.copies();
    let archive = match a.kind {
        MediationKind::People => "人民调解委员会存档",
        MediationKind::PublicSecurity => "公安机关存档",
    };
    for copy in 0..copies {
        let label = match a.parties.get(copy) {
            Some(p) if copy + 1 < copies => format!("{}{}收执", role(p.role), p.name.trim()),
            _ => archive.to_owned(),
        };
        let head = format!("第{}联 共{}联　{label}", copy + 1, copies);
        let serial_line = format!("编号：{serial}");
        for (n, items) in pages.iter().enumerate() {
            let settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or(PrintError::Pdf("page size".into()))?;
            let mut page = document.start_page_with(settings);
            let mut surface = page.surface();
            let foot = format!("第 {} 页 共 {} 页", n + 1, pages.len());
            let hash_line = format!("内容哈希 {}…", &doc.content_hash[..16]);
            let mut frame = vec![
                Item::Text { x: MARGIN_X, y: 44.0, size: 9.0, text: head.clone() },
                Item::Text {
                    x: MARGIN_X + WIDTH - metrics.width(&serial_line, 9.0),
                    y: 44.0,
                    size: 9.0,
                    text: serial_line.clone(),
                },
                Item::Rule { x1: MARGIN_X, x2: MARGIN_X + WIDTH, y: 52.0, width: 0.4 },
                Item::Text { x: (PAGE_W - metrics.width(&foot, 9.0)) / 2.0, y: PAGE_H - 34.0, size: 9.0, text: foot },
                Item::Text { x: MARGIN_X, y: PAGE_H - 34.0, size: 7.5, text: hash_line },
            ];
            frame.extend(items.iter().cloned());
            layout::draw(&mut surface, font, &frame);
            surface.finish();
            page.finish();
        }
    }
    document.finish().map_err(|e| PrintError::Pdf(format!("{e:?}")))
}

fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

fn title(a: &Agreement) -> String {
    match a.form {
        AgreementForm::Written => a.kind.name().zh,
        AgreementForm::Oral => format!("{}（口头协议记录）", a.kind.name().zh),
    }
}

fn role(r: PartyRole) -> &'static str {
    match r {
        PartyRole::Applicant => "申请人",
        PartyRole::Respondent => "被申请人",
        PartyRole::Victim => "被侵害人",
        PartyRole::Offender => "违法行为人",
    }
}

fn mediator_role(r: MediatorRole) -> &'static str {
    match r {
        MediatorRole::HostOfficer => "主持民警",
        MediatorRole::Mediator => "人民调解员",
        MediatorRole::InvitedMediator => "特邀调解员",
    }
}

/// 2026年11月20日.
fn date_zh(d: NaiveDate) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// 2026年11月20日 14:05, China time.
fn time_zh(t: DateTime<Utc>) -> String {
    let local = t.with_timezone(&china());
    format!("{} {:02}:{:02}", date_zh(local.date_naive()), local.hour(), local.minute())
}

/// 一, 二 … 九十九: the numbering of the terms.
fn chinese_number(n: usize) -> String {
    const DIGITS: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    match n {
        0..=9 => DIGITS[n].to_owned(),
        10..=19 => format!("十{}", if n == 10 { "" } else { DIGITS[n - 10] }),
        20..=99 => format!("{}十{}", DIGITS[n / 10], if n.is_multiple_of(10) { "" } else { DIGITS[n % 10] }),
        _ => n.to_string(),
    }
}

fn masked_phone(raw: &str) -> String {
    Phone::parse(raw).map(|p| p.masked()).unwrap_or_else(|_| mask_mobile(raw.trim()))
}

/// A party's line: name, sex, birth date and age from the ID number, the ID masked, address, phone
/// masked (GB/T 35273: the ID number is sensitive personal information).
fn party_line(p: &Party, on: NaiveDate) -> String {
    let person = match IdNumber::parse(&p.id_number, on) {
        Ok(id) => {
            let sex = match id.sex() {
                Sex::Male => "男",
                Sex::Female => "女",
            };
            format!(
                "{}，{sex}，{}出生（{}岁），公民身份号码 {}",
                p.name.trim(),
                date_zh(id.birth_date()),
                id.age_on(on),
                id.masked()
            )
        }
        Err(_) => format!("{}，公民身份号码 {}", p.name.trim(), mask_id_number(&p.id_number)),
    };
    format!("{person}，住址：{}，联系电话：{}。", p.address.trim(), masked_phone(&p.phone))
}

fn body(flow: &mut Flow<'_>, doc: &AgreementDocument<'_>, serial: &str) -> Result<(), PrintError> {
    let a = doc.agreement;
    let on = china_date(a.concluded_at);
    let people = a.kind == MediationKind::People;

    flow.gap(6.0);
    flow.centered(&title(a), 20.0);
    flow.centered(&format!("编号：{serial}"), 10.0);
    flow.gap(6.0);

    flow.heading("当事人");
    for p in &a.parties {
        flow.paragraph(&format!("{}：", role(p.role)), &party_line(p, on), BODY, 2.0 * BODY);
        if let Some(g) = &p.guardian {
            let text = format!("{}（{}），联系电话：{}。", g.name.trim(), g.relation.trim(), masked_phone(&g.phone));
            flow.paragraph("　　法定监护人：", &text, BODY, 2.0 * BODY);
        }
        if let Some(proxy) = &p.proxy {
            let text = format!(
                "{}，公民身份号码 {}，代理权限：{}。",
                proxy.name.trim(),
                mask_id_number(&proxy.id_number),
                proxy.authorization_scope.trim()
            );
            flow.paragraph("　　委托代理人：", &text, BODY, 2.0 * BODY);
        }
    }

    flow.heading("调解");
    flow.paragraph(if people { "调解组织：" } else { "调解机关：" }, a.authority.trim(), BODY, 2.0 * BODY);
    let mediators: Vec<String> =
        a.mediators.iter().map(|m| format!("{} {}", mediator_role(m.role), m.name.trim())).collect();
    flow.paragraph("调解人员：", &mediators.join("；"), BODY, 2.0 * BODY);
    if !a.witnesses.is_empty() {
        flow.paragraph("其他在场人员：", &a.witnesses.join("、"), BODY, 2.0 * BODY);
    }
    flow.paragraph("调解时间：", &time_zh(a.concluded_at), BODY, 2.0 * BODY);
    // The place as written, after the village's name unless it already starts with it.
    let village = doc.village_name.unwrap_or("");
    let mut place = match a.place.trim() {
        p if p.starts_with(village) => p.to_owned(),
        p => format!("{village}{p}"),
    };
    if let Some(gps) = a.gps {
        place.push_str(&format!(
            "（北纬 {:.6}°，东经 {:.6}°，精度 {} 米）",
            gps.lat_e6 as f64 / 1e6,
            gps.lon_e6 as f64 / 1e6,
            gps.accuracy_m
        ));
    }
    flow.paragraph("调解地点：", &place, BODY, 2.0 * BODY);

    if people {
        flow.heading("纠纷的主要事实、争议事项及各方当事人的责任");
        flow.paragraph("主要事实：", a.facts.trim(), BODY, 2.0 * BODY);
        flow.paragraph("争议事项：", a.issues.trim(), BODY, 2.0 * BODY);
        for (p, r) in a.parties.iter().zip(&a.responsibilities) {
            flow.paragraph(&format!("{}（{}）的责任：", p.name.trim(), role(p.role)), r.trim(), BODY, 2.0 * BODY);
        }
    } else {
        flow.heading("案件基本情况");
        if let Some(inc) = &a.incident {
            flow.paragraph("发生时间：", &time_zh(inc.occurred_at), BODY, 2.0 * BODY);
            flow.paragraph("发生地点：", inc.place.trim(), BODY, 2.0 * BODY);
            flow.paragraph("起因：", inc.cause.trim(), BODY, 2.0 * BODY);
            flow.paragraph("经过：", inc.course.trim(), BODY, 2.0 * BODY);
            flow.paragraph("情节：", inc.circumstances.trim(), BODY, 2.0 * BODY);
            flow.paragraph("后果：", inc.result.trim(), BODY, 2.0 * BODY);
        }
        flow.paragraph("查明事实：", a.facts.trim(), BODY, 2.0 * BODY);
    }

    flow.heading("协议内容");
    for (i, t) in a.terms.iter().enumerate() {
        flow.paragraph(&format!("{}、", chinese_number(i + 1)), t.trim(), BODY, 2.0 * BODY);
    }
    if let Some(perf) = &a.performance {
        flow.paragraph("履行方式：", perf.method.trim(), BODY, 2.0 * BODY);
        flow.paragraph("履行地点：", perf.place.trim(), BODY, 2.0 * BODY);
        flow.paragraph("履行期限：", &format!("{}前", date_zh(perf.deadline)), BODY, 2.0 * BODY);
    }

    flow.gap(6.0);
    let small = 9.5;
    if people && a.rights_notified {
        flow.paragraph(
            "",
            "　　调解前已告知各方当事人人民调解的性质、原则和效力，以及当事人在调解活动中享有的权利和承担的义务。",
            small,
            0.0,
        );
    }
    match (a.kind, a.form) {
        (MediationKind::People, AgreementForm::Written) => flow.paragraph(
            "",
            "　　本协议自各方当事人签名或者按指印、调解员签名并加盖人民调解委员会印章之日起生效，具有法律约束力，\
             当事人应当按照约定履行。当事人可以自本协议生效之日起三十日内共同向人民法院申请司法确认。",
            small,
            0.0,
        ),
        (MediationKind::People, AgreementForm::Oral) => {
            flow.paragraph("", "　　本口头协议自各方当事人达成之日起生效，调解员已记录协议内容。", small, 0.0)
        }
        (MediationKind::PublicSecurity, _) => flow.paragraph(
            "",
            "　　经公安机关调解达成协议并履行的，对违法行为人不予处罚；未达成协议或者达成协议后不履行的，\
             公安机关依法处理，并告知当事人可以就民事争议依法向人民法院提起民事诉讼。",
            small,
            0.0,
        ),
    }
    if a.copies() > 1 {
        let authority = if people { "人民调解委员会" } else { "公安机关" };
        let text = format!("　　本协议一式{}份，当事人各执一份，{authority}存档一份。", a.copies());
        flow.paragraph("", &text, small, 0.0);
    }

    signatures(flow, a, people);
    verification(flow, doc.content_hash)
}

fn signatures(flow: &mut Flow<'_>, a: &Agreement, people: bool) {
    if a.form == AgreementForm::Oral && a.signatures.is_empty() {
        return;
    }
    flow.heading("签名");
    let mut rows: Vec<(String, Signer)> = Vec::new();
    for (i, p) in a.parties.iter().enumerate() {
        rows.push((format!("{}：{}", role(p.role), p.name.trim()), Signer::Party(i)));
        if let Some(g) = &p.guardian {
            rows.push((format!("法定监护人：{}", g.name.trim()), Signer::Guardian(i)));
        }
    }
    for (i, m) in a.mediators.iter().enumerate() {
        rows.push((format!("{}：{}", mediator_role(m.role), m.name.trim()), Signer::Mediator(i)));
    }
    let row_h = 50.0;
    for (label, who) in rows {
        flow.keep(row_h);
        let y = flow.y;
        flow.push(Item::Text { x: MARGIN_X, y: y + 28.0, size: BODY, text: label });
        let sig = a.signatures.iter().find(|s| s.signer == who);
        match sig {
            Some(SignatureCapture { mark: Mark::Signature, strokes, .. }) => {
                let strokes = strokes.iter().map(|st| st.iter().map(|p| (p.x as f32, p.y as f32)).collect()).collect();
                flow.push(Item::Strokes { rect: (MARGIN_X + 170.0, y + 4.0, 170.0, 40.0), strokes });
            }
            Some(SignatureCapture { mark: Mark::Thumbprint, image_sha256, .. }) => {
                let text = format!("（按指印，影像 {}…存档）", &image_sha256[..image_sha256.len().min(12)]);
                flow.push(Item::Text { x: MARGIN_X + 170.0, y: y + 28.0, size: 9.0, text });
            }
            None => {}
        }
        flow.push(Item::Rule { x1: MARGIN_X + 165.0, x2: MARGIN_X + 345.0, y: y + 44.0, width: 0.4 });
        if let Some(s) = sig {
            let date = date_zh(china_date(s.signed_at));
            flow.push(Item::Text { x: MARGIN_X + 360.0, y: y + 28.0, size: BODY, text: date });
        }
        flow.y += row_h;
    }
    // The seal's place: the committee's or the police's seal makes a written agreement effective.
    flow.keep(96.0);
    let y = flow.y + 4.0;
    let seal = if people { "人民调解委员会（印章）" } else { "公安机关（印章）" };
    let side = 84.0;
    let x = MARGIN_X + WIDTH - side;
    flow.push(Item::Frame { rect: (x, y, side, side) });
    let w = flow.metrics.width(seal, 8.5);
    flow.push(Item::Text { x: x + (side - w) / 2.0, y: y + side / 2.0 + 3.0, size: 8.5, text: seal.into() });
    flow.y = y + side + 8.0;
}

/// The QR code of the content hash, and the hash in print.
fn verification(flow: &mut Flow<'_>, hash: &str) -> Result<(), PrintError> {
    let code = QrCode::with_error_correction_level(hash.as_bytes(), EcLevel::M)
        .map_err(|e| PrintError::Pdf(format!("QR code: {e}")))?;
    let width = code.width();
    // A quiet zone of 4 modules on every side, as the standard asks.
    let quiet = 4;
    let full = width + 2 * quiet;
    let mut dark = vec![false; full * full];
    for (i, c) in code.to_colors().into_iter().enumerate() {
        let (col, row) = (i % width + quiet, i / width + quiet);
        dark[row * full + col] = c == qrcode::Color::Dark;
    }
    let side = 104.0;
    flow.keep(side + 20.0);
    flow.heading("核验");
    let y = flow.y;
    flow.push(Item::Qr { x: MARGIN_X - 8.0, y, side, width: full, dark });
    let tx = MARGIN_X + side + 8.0;
    let lines = [
        "协议内容哈希（SHA-256）：".to_owned(),
        hash[..32].to_owned(),
        hash[32..].to_owned(),
        "扫描左侧二维码得到上述哈希，与公安机关系统中的存档记录比对，".to_owned(),
        "一致即为签署时的协议内容；任何改动都会使哈希不同。".to_owned(),
    ];
    for (i, text) in lines.into_iter().enumerate() {
        let size = if i == 1 || i == 2 { 10.0 } else { 9.0 };
        flow.push(Item::Text { x: tx, y: y + 18.0 + i as f32 * 16.0, size, text });
    }
    flow.y = y + side;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_numbered_in_chinese() {
        assert_eq!(chinese_number(1), "一");
        assert_eq!(chinese_number(10), "十");
        assert_eq!(chinese_number(11), "十一");
        assert_eq!(chinese_number(20), "二十");
        assert_eq!(chinese_number(34), "三十四");
    }
}
