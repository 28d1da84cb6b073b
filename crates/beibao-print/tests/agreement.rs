//! The printed agreement read back with poppler (`pdftotext`, `pdfinfo`, `pdftoppm`, Debian's
//! poppler-utils): the serial, the masked IDs and the hash are in the text, the full IDs are not,
//! there are N+1 copies, and the QR code on a rendered page decodes to the content hash.

use std::path::Path;
use std::process::Command;

use beibao_core::mediation::MediationKind;
use beibao_core::mediation::agreement::{
    Agreement, AgreementForm, AgreementGps, Guardian, Incident, Mark, Mediator, MediatorRole, Party, PartyRole,
    Performance, SignatureCapture, Signer, StrokePoint,
};
use beibao_print::{AgreementDocument, CjkFont, PrintError, agreement_pdf};
use chrono::{DateTime, NaiveDate, Utc};

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("timestamp")
}

/// A zig-zag signature of `n` strokes, as the pad records it (CSS pixels, ms).
fn scrawl(n: i32) -> Vec<Vec<StrokePoint>> {
    (0..n)
        .map(|s| {
            (0..12).map(|i| StrokePoint { x: 20 + s * 60 + i * 5, y: 40 + (i % 3) * 18, t: (i * 16) as u32 }).collect()
        })
        .collect()
}

fn signed(signer: Signer, n: i32) -> SignatureCapture {
    SignatureCapture {
        signer,
        mark: Mark::Signature,
        strokes: scrawl(n),
        image_sha256: "ab".repeat(32),
        signed_at: at("2026-11-20T06:40:00Z"),
    }
}

const VICTIM_ID: &str = "370406198803120015";
const OFFENDER_ID: &str = "370406201103150023";

/// A 治安调解 between a grown man and a 15-year-old girl, her mother attending; the facts long
/// enough to wrap over several lines.
fn agreement() -> Agreement {
    Agreement {
        kind: MediationKind::PublicSecurity,
        form: AgreementForm::Written,
        serial: Some("370406-2026-00417".into()),
        authority: "枣庄市公安局山亭分局西集派出所".into(),
        mediators: vec![Mediator { name: "董菊红".into(), role: MediatorRole::HostOfficer }],
        witnesses: vec!["王庄村委会 李保国".into()],
        parties: vec![
            Party {
                role: PartyRole::Victim,
                name: "孙立强".into(),
                id_number: VICTIM_ID.into(),
                address: "山亭区西集镇王庄村3组12号".into(),
                phone: "13812345678".into(),
                guardian: None,
                self_supporting: false,
                proxy: None,
            },
            Party {
                role: PartyRole::Offender,
                name: "周小雨".into(),
                id_number: OFFENDER_ID.into(),
                address: "山亭区西集镇王庄村5组3号".into(),
                phone: "13987654321".into(),
                guardian: Some(Guardian {
                    name: "周桂英".into(),
                    relation: "母亲".into(),
                    phone: "13700001111".into(),
                }),
                self_supporting: false,
                proxy: None,
            },
        ],
        facts: "经查，2026年11月19日傍晚，周小雨在王庄村东路口骑电动车倒车时刮擦孙立强停放的三轮车，双方发生口角，\
                周小雨推搡孙立强致其手臂擦伤。现场有村民目击，双方对事实均无异议，孙立强的伤情经村卫生室处理，\
                无需进一步鉴定。"
            .repeat(2),
        issues: String::new(),
        responsibilities: vec![],
        incident: Some(Incident {
            occurred_at: at("2026-11-19T10:00:00Z"),
            place: "王庄村东路口".into(),
            cause: "倒车刮擦三轮车".into(),
            course: "双方争执后推搡".into(),
            circumstances: "情节轻微，当事人一方未满十六周岁".into(),
            result: "孙立强左臂擦伤，三轮车轻微刮痕".into(),
        }),
        terms: vec![
            "周小雨当面向孙立强赔礼道歉。".into(),
            "周小雨的监护人周桂英赔偿孙立强医疗费及修车费共计三百五十元。".into(),
            "双方就此事了结，今后互不追究。".into(),
        ],
        performance: Some(Performance {
            method: "现金当面支付".into(),
            place: "王庄村委会".into(),
            deadline: NaiveDate::from_ymd_opt(2026, 11, 27).expect("date"),
        }),
        village: "370406102201".into(),
        place: "村委会调解室".into(),
        gps: Some(AgreementGps::from_degrees(34.98321, 117.40211, 8.4)),
        concluded_at: at("2026-11-20T06:40:00Z"),
        rights_notified: false,
        signatures: vec![
            signed(Signer::Party(0), 3),
            signed(Signer::Party(1), 2),
            signed(Signer::Guardian(1), 3),
            signed(Signer::Mediator(0), 3),
        ],
    }
}

fn tool(name: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new(name)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{name} (Debian poppler-utils, installed by `make deps`): {e}"));
    assert!(out.status.success(), "{name} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

fn pdf_of(a: &Agreement) -> (Vec<u8>, String) {
    let finalized = a.clone().finalize().expect("the test agreement is complete");
    let font = CjkFont::locate(&[]).expect("fonts-noto-cjk is installed by `make deps`");
    let doc = AgreementDocument {
        agreement: &finalized.agreement,
        content_hash: &finalized.content_hash,
        village_name: Some("西集镇王庄村"),
    };
    (agreement_pdf(&doc, &font).expect("the agreement prints"), finalized.content_hash)
}

/// Decode the QR code on page `page` (1-based) rendered at 150 dpi.
fn qr_on_page(pdf: &Path, page: usize) -> Vec<String> {
    let p = page.to_string();
    let pgm = tool("pdftoppm", &["-gray", "-r", "150", "-f", &p, "-l", &p, pdf.to_str().expect("utf-8 path")]);
    // Binary PGM: "P5\n<w> <h>\n<max>\n" then one byte per pixel.
    let mut fields = Vec::new();
    let mut pos = 0;
    while fields.len() < 4 {
        while pgm[pos].is_ascii_whitespace() {
            pos += 1;
        }
        let start = pos;
        while !pgm[pos].is_ascii_whitespace() {
            pos += 1;
        }
        fields.push(String::from_utf8_lossy(&pgm[start..pos]).into_owned());
    }
    assert_eq!(fields[0], "P5");
    let (w, h): (usize, usize) = (fields[1].parse().expect("width"), fields[2].parse().expect("height"));
    let pixels = &pgm[pos + 1..];
    assert_eq!(pixels.len(), w * h);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| pixels[y * w + x]);
    img.detect_grids().into_iter().map(|g| g.decode().expect("the QR code decodes").1).collect()
}

#[test]
fn the_agreement_reads_back_with_its_serial_masked_ids_copies_and_a_qr_of_its_hash() {
    let a = agreement();
    let (pdf, hash) = pdf_of(&a);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("agreement.pdf");
    std::fs::write(&path, &pdf).expect("write");
    let file = path.to_str().expect("utf-8 path");

    let info = String::from_utf8(tool("pdfinfo", &[file])).expect("utf-8");
    if let Ok(dir) = std::env::var("BEIBAO_PDF_OUT") {
        std::fs::write(Path::new(&dir).join("agreement.pdf"), &pdf).expect("keep the PDF");
    }
    let pages: usize =
        info.lines().find_map(|l| l.strip_prefix("Pages:")).and_then(|n| n.trim().parse().ok()).expect("page count");
    assert!(pages.is_multiple_of(3), "three copies of equal length: {pages} pages");
    let per_copy = pages / 3;
    assert!(info.contains("治安调解协议书 370406-2026-00417"), "title in the metadata: {info}");

    let text = String::from_utf8(tool("pdftotext", &["-layout", file, "-"])).expect("utf-8");
    for needle in [
        "治安调解协议书",
        "编号：370406-2026-00417",
        "370406********0015",
        "370406********0023",
        "138****5678",
        "孙立强",
        "周小雨",
        "法定监护人",
        "周桂英（母亲）",
        "主持民警 董菊红",
        "一、周小雨当面向孙立强赔礼道歉。",
        "三、双方就此事了结",
        "履行期限：2026年11月27日前",
        "本协议一式3份",
        &hash[..32],
        &hash[32..],
        "被侵害人孙立强收执",
        "违法行为人周小雨收执",
        "公安机关存档",
        "（北纬 34.983210°，东经 117.402110°，精度 8 米）",
    ] {
        assert!(text.contains(needle), "`{needle}` missing from the extracted text:\n{text}");
    }
    for full in [VICTIM_ID, OFFENDER_ID, "13812345678"] {
        assert!(!text.contains(full), "{full} printed unmasked");
    }
    assert_eq!(
        text.matches("编号：370406-2026-00417").count(),
        3 * per_copy + 3,
        "serial on every page head and under each title"
    );
    for copy in 1..=3 {
        assert_eq!(text.matches(&format!("第{copy}联 共3联")).count(), per_copy, "copy {copy} heads each of its pages");
    }

    // The QR code sits at the end of each copy; each copy's carries the same hash.
    for copy in 0..3 {
        assert_eq!(qr_on_page(&path, (copy + 1) * per_copy), vec![hash.clone()], "copy {}", copy + 1);
    }
}

#[test]
fn the_same_agreement_gives_the_same_bytes_and_any_change_another_hash() {
    let a = agreement();
    let (first, hash) = pdf_of(&a);
    let (second, _) = pdf_of(&a);
    assert!(first == second, "two renderings of one agreement differ");
    let mut changed = a.clone();
    changed.terms[1] = "周小雨的监护人周桂英赔偿孙立强医疗费及修车费共计三百元。".into();
    let (third, other) = pdf_of(&changed);
    assert_ne!(hash, other);
    assert!(third != first);
}

#[test]
fn an_unfinalized_agreement_or_a_bad_font_is_refused_with_a_reason() {
    let mut a = agreement();
    let font = CjkFont::locate(&[]).expect("fonts-noto-cjk");
    let hash = a.content_hash().expect("hash");
    a.serial = None;
    let doc = AgreementDocument { agreement: &a, content_hash: &hash, village_name: None };
    assert!(matches!(agreement_pdf(&doc, &font), Err(PrintError::NotFinal(_))));
    let a = agreement();
    let doc = AgreementDocument { agreement: &a, content_hash: "not-a-hash", village_name: None };
    assert!(matches!(agreement_pdf(&doc, &font), Err(PrintError::NotFinal(_))));

    let err = CjkFont::from_bytes(b"not a font".to_vec()).expect_err("garbage is not a font");
    assert!(err.to_string().contains("font"), "{err}");
    // A Latin-only font (Debian fonts-dejavu-core, installed by `make deps`).
    let latin = Path::new("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf");
    let err = CjkFont::from_file(latin).expect_err("a Latin font has no Chinese");
    assert!(err.to_string().contains("no Chinese glyphs"), "{err}");
}
