//! The files supervisors hand upward: a report as CSV (UTF-8 with a BOM, so Excel reads the
//! Chinese) and as an XLSX workbook (`rust_xlsxwriter`: one sheet per grouping level, Chinese
//! headers with units, a totals row, the header frozen, column widths, the period, the scope and
//! the generation time on each sheet). Totals only: no personal data is in a report.

use beibao_core::indicators::IndicatorValue;
use chrono::{DateTime, TimeZone as _, Utc};
use rust_xlsxwriter::{Color, Format, FormatAlign, FormatBorder, Workbook, XlsxError};

use crate::report::{Column, Level, Report, ReportRow};

/// The byte-order mark Excel needs to read a CSV as UTF-8.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A column's header: its Chinese name and unit, `走访户数（户）`.
pub fn header(c: &Column) -> String {
    format!("{}（{}）", c.name.zh, c.unit.zh)
}

/// A value as a cell holds it: a count as is; a rate rounded to one decimal (two for a ratio
/// such as hours per village); `None` when undefined (no denominator), written as an empty cell.
pub fn cell(c: &Column, v: Option<&IndicatorValue>) -> Option<f64> {
    match v? {
        IndicatorValue::Count { value } => Some(*value as f64),
        IndicatorValue::Rate { value, .. } => {
            let scale = if c.unit.zh == "%" { 10.0 } else { 100.0 };
            value.map(|x| (x * scale).round() / scale)
        }
    }
}

/// The text of a cell in the CSV.
pub fn cell_text(c: &Column, v: Option<&IndicatorValue>) -> String {
    match (cell(c, v), v) {
        (None, _) => String::new(),
        (Some(x), Some(IndicatorValue::Count { .. })) => format!("{x:.0}"),
        (Some(x), _) if c.unit.zh == "%" => format!("{x:.1}"),
        (Some(x), _) => format!("{x:.2}"),
    }
}

fn row_cells(r: &ReportRow) -> [String; 2] {
    [r.code.clone().unwrap_or_default(), r.name.zh.clone()]
}

/// A report's rows and its total as CSV: the level, code and name, then every indicator.
pub fn csv(report: &Report) -> Result<Vec<u8>, csv::Error> {
    let mut out = BOM.to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        let mut head = vec![format!("{}编码", report.level.label().zh), report.level.label().zh];
        head.extend(report.columns.iter().map(header));
        w.write_record(&head)?;
        for r in report.rows.iter().chain(std::iter::once(&report.total)) {
            let mut line = row_cells(r).to_vec();
            line.extend(report.columns.iter().map(|c| cell_text(c, r.values.get(&c.code))));
            w.write_record(&line)?;
        }
        w.flush()?;
    }
    Ok(out)
}

/// How a scope reads at the top of a sheet.
pub fn scope_text(names: &[(Level, String)]) -> String {
    if names.is_empty() {
        return "全区".to_owned();
    }
    names.iter().map(|(l, n)| format!("{}：{n}", l.label().zh)).collect::<Vec<_>>().join("，")
}

/// The header cells' format (both the reports' and the detail exports' sheets).
pub fn header_format() -> Format {
    Format::new()
        .set_bold()
        .set_text_wrap()
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter)
        .set_background_color(Color::RGB(0xDDE7F3))
        .set_border(FormatBorder::Thin)
}

/// A file answer: its type, not cached, saved under `file`.
pub fn file_response(
    body: impl axum::response::IntoResponse,
    mime: &'static str,
    file: &str,
) -> axum::response::Response {
    use axum::http::HeaderValue;
    use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        h.insert(CONTENT_DISPOSITION, v);
    }
    resp
}

/// The XLSX content type.
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The CSV content type.
pub const CSV: &str = "text/csv; charset=utf-8";

/// A workbook of one sheet per report (one per grouping level, in the order given): a title,
/// the period, the scope and when it was made, then the table with its header frozen and a
/// totals row.
pub fn xlsx(reports: &[Report], scope: &str, generated_at: DateTime<Utc>) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let title = Format::new().set_bold().set_font_size(14);
    let head = header_format();
    let body = Format::new().set_border(FormatBorder::Thin);
    let total = Format::new().set_bold().set_border(FormatBorder::Thin).set_background_color(Color::RGB(0xF2F2F2));
    let made = beibao_core::calendar::china_offset().from_utc_datetime(&generated_at.naive_utc());
    for report in reports {
        let sheet = book.add_worksheet();
        sheet.set_name(report.level.label().zh)?;
        sheet.write_string_with_format(0, 0, format!("背包警务工作统计（按{}）", report.level.label().zh), &title)?;
        sheet.write_string(
            1,
            0,
            format!(
                "统计期间：{} 至 {}　　范围：{scope}　　生成时间：{}（北京时间）",
                report.period.from,
                report.period.to,
                made.format("%Y-%m-%d %H:%M")
            ),
        )?;
        let top = 3;
        sheet.write_string_with_format(top, 0, format!("{}编码", report.level.label().zh), &head)?;
        sheet.write_string_with_format(top, 1, report.level.label().zh, &head)?;
        for (i, c) in report.columns.iter().enumerate() {
            sheet.write_string_with_format(top, (i + 2) as u16, header(c), &head)?;
        }
        sheet.set_row_height(top, 48)?;
        let rows = report.rows.iter().map(|r| (r, &body)).chain(std::iter::once((&report.total, &total)));
        for (n, (r, format)) in rows.enumerate() {
            let at = top + 1 + n as u32;
            let [code, name] = row_cells(r);
            sheet.write_string_with_format(at, 0, code, format)?;
            sheet.write_string_with_format(at, 1, name, format)?;
            for (i, c) in report.columns.iter().enumerate() {
                let col = (i + 2) as u16;
                match cell(c, r.values.get(&c.code)) {
                    Some(x) => sheet.write_number_with_format(at, col, x, format)?,
                    None => sheet.write_blank(at, col, format)?,
                };
            }
        }
        sheet.set_freeze_panes(top + 1, 2)?;
        sheet.set_column_width(0, 16)?;
        sheet.set_column_width(1, 22)?;
        for i in 0..report.columns.len() {
            sheet.set_column_width((i + 2) as u16, 12)?;
        }
    }
    book.save_to_buffer()
}
