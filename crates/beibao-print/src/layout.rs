//! A small flow layout: paragraphs broken into lines by measured glyph advances, kept-together
//! blocks, and pages; then each page drawn with krilla.

use krilla::geom::{PathBuilder, Point, Rect};
use krilla::paint::{Fill, LineCap, LineJoin, Stroke};
use krilla::surface::Surface;
use krilla::text::TextDirection;

use crate::font::{CjkFont, Metrics};

/// A4 in points.
pub(crate) const PAGE_W: f32 = 595.28;
pub(crate) const PAGE_H: f32 = 841.89;
pub(crate) const MARGIN_X: f32 = 56.0;
pub(crate) const TOP: f32 = 78.0;
pub(crate) const BOTTOM: f32 = PAGE_H - 64.0;
pub(crate) const WIDTH: f32 = PAGE_W - 2.0 * MARGIN_X;

/// Something drawn on a page.
#[derive(Debug, Clone)]
pub(crate) enum Item {
    /// Text with its baseline at `y`.
    Text { x: f32, y: f32, size: f32, text: String },
    /// A horizontal rule.
    Rule { x1: f32, x2: f32, y: f32, width: f32 },
    /// An empty box (the seal's place).
    Frame { rect: (f32, f32, f32, f32) },
    /// Signature strokes fitted into a box (x, y, w, h).
    Strokes { rect: (f32, f32, f32, f32), strokes: Vec<Vec<(f32, f32)>> },
    /// A QR code: `width` modules a side, dark ones true, drawn `side` points square at (x, y).
    Qr { x: f32, y: f32, side: f32, width: usize, dark: Vec<bool> },
}

/// Pages of items, filled top to bottom.
pub(crate) struct Flow<'f> {
    pub(crate) metrics: Metrics<'f>,
    pub(crate) pages: Vec<Vec<Item>>,
    pub(crate) y: f32,
}

/// Closing punctuation that may not start a line (it hangs at the end of the previous one).
fn no_line_start(c: char) -> bool {
    "，。、；：！？）》」』”’,.;:!?)]".contains(c)
}

impl<'f> Flow<'f> {
    pub(crate) fn new(font: &'f CjkFont) -> Result<Flow<'f>, crate::PrintError> {
        Ok(Flow { metrics: font.metrics()?, pages: vec![Vec::new()], y: TOP })
    }

    fn page(&mut self) -> &mut Vec<Item> {
        self.pages.last_mut().expect("a flow always has a page")
    }

    /// Start a new page when `height` does not fit on this one.
    pub(crate) fn keep(&mut self, height: f32) {
        if self.y + height > BOTTOM && self.y > TOP {
            self.pages.push(Vec::new());
            self.y = TOP;
        }
    }

    pub(crate) fn gap(&mut self, h: f32) {
        self.y += h;
    }

    /// Break `text` into lines no wider than `width` at `size` (hard breaks at `\n`).
    pub(crate) fn lines(&self, text: &str, size: f32, first_width: f32, width: f32) -> Vec<String> {
        let mut out = Vec::new();
        for hard in text.split('\n') {
            let mut line = String::new();
            let mut w = 0.0;
            let mut limit = if out.is_empty() { first_width } else { width };
            for c in hard.chars() {
                let a = self.metrics.advance(c, size);
                if w + a > limit && !line.is_empty() && !no_line_start(c) {
                    out.push(std::mem::take(&mut line));
                    w = 0.0;
                    limit = width;
                }
                line.push(c);
                w += a;
            }
            out.push(line);
        }
        out
    }

    /// A paragraph: `label` then `text`, wrapped to the text width, continuation lines indented by
    /// `indent`.
    pub(crate) fn paragraph(&mut self, label: &str, text: &str, size: f32, indent: f32) {
        let leading = size * 1.7;
        let label_w = self.metrics.width(label, size);
        let lines = self.lines(text, size, WIDTH - label_w, WIDTH - indent);
        for (i, line) in lines.into_iter().enumerate() {
            self.keep(leading);
            let baseline = self.y + size * 1.2;
            if i == 0 {
                if !label.is_empty() {
                    self.page().push(Item::Text { x: MARGIN_X, y: baseline, size, text: label.to_owned() });
                }
                self.page().push(Item::Text { x: MARGIN_X + label_w, y: baseline, size, text: line });
            } else {
                self.page().push(Item::Text { x: MARGIN_X + indent, y: baseline, size, text: line });
            }
            self.y += leading;
        }
    }

    /// One line of text centred on the page.
    pub(crate) fn centered(&mut self, text: &str, size: f32) {
        self.keep(size * 1.8);
        let w = self.metrics.width(text, size);
        let baseline = self.y + size * 1.2;
        self.page().push(Item::Text { x: (PAGE_W - w) / 2.0, y: baseline, size, text: text.to_owned() });
        self.y += size * 1.8;
    }

    /// A heading with a rule under it.
    pub(crate) fn heading(&mut self, text: &str) {
        let size = 11.5;
        self.keep(size * 1.9 + 40.0);
        self.gap(4.0);
        let baseline = self.y + size * 1.2;
        self.page().push(Item::Text { x: MARGIN_X, y: baseline, size, text: text.to_owned() });
        self.page().push(Item::Rule { x1: MARGIN_X, x2: MARGIN_X + WIDTH, y: baseline + 5.0, width: 0.5 });
        self.y += size * 1.9;
    }

    pub(crate) fn push(&mut self, item: Item) {
        self.page().push(item);
    }
}

/// The drawing of one page's items.
pub(crate) fn draw(surface: &mut Surface<'_>, font: &CjkFont, items: &[Item]) {
    for item in items {
        match item {
            Item::Text { x, y, size, text } => {
                surface.set_fill(Some(Fill::default()));
                surface.set_stroke(None);
                surface.draw_text(Point::from_xy(*x, *y), font.pdf.clone(), *size, text, false, TextDirection::Auto);
            }
            Item::Rule { x1, x2, y, width } => {
                let mut pb = PathBuilder::new();
                pb.move_to(*x1, *y);
                pb.line_to(*x2, *y);
                stroke_path(surface, pb, *width);
            }
            Item::Frame { rect: (x, y, w, h) } => {
                let mut pb = PathBuilder::new();
                if let Some(r) = Rect::from_xywh(*x, *y, *w, *h) {
                    pb.push_rect(r);
                }
                stroke_path(surface, pb, 0.6);
            }
            Item::Strokes { rect, strokes } => draw_strokes(surface, *rect, strokes),
            Item::Qr { x, y, side, width, dark } => {
                let module = side / *width as f32;
                let mut pb = PathBuilder::new();
                for (i, _) in dark.iter().enumerate().filter(|(_, d)| **d) {
                    let (col, row) = (i % width, i / width);
                    if let Some(r) = Rect::from_xywh(x + col as f32 * module, y + row as f32 * module, module, module) {
                        pb.push_rect(r);
                    }
                }
                if let Some(path) = pb.finish() {
                    surface.set_stroke(None);
                    surface.set_fill(Some(Fill::default()));
                    surface.draw_path(&path);
                }
            }
        }
    }
}

fn stroke_path(surface: &mut Surface<'_>, pb: PathBuilder, width: f32) {
    if let Some(path) = pb.finish() {
        surface.set_fill(None);
        surface.set_stroke(Some(Stroke {
            width,
            line_cap: LineCap::Round,
            line_join: LineJoin::Round,
            ..Stroke::default()
        }));
        surface.draw_path(&path);
        surface.set_stroke(None);
        surface.set_fill(Some(Fill::default()));
    }
}

/// The strokes as drawn on the pad, scaled uniformly to fit the box and centred in it.
fn draw_strokes(surface: &mut Surface<'_>, (x, y, w, h): (f32, f32, f32, f32), strokes: &[Vec<(f32, f32)>]) {
    let points = strokes.iter().flatten();
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for &(px, py) in points {
        x0 = x0.min(px);
        y0 = y0.min(py);
        x1 = x1.max(px);
        y1 = y1.max(py);
    }
    if x0 > x1 {
        return;
    }
    let (dw, dh) = ((x1 - x0).max(1.0), (y1 - y0).max(1.0));
    // A pad is drawn at about 1 px per 0.35 mm; never enlarge a small signature more than 1.5×.
    let scale = (w / dw).min(h / dh).min(1.5);
    let (ox, oy) = (x + (w - dw * scale) / 2.0, y + (h - dh * scale) / 2.0);
    let mut pb = PathBuilder::new();
    for stroke in strokes {
        let mut pts = stroke.iter().map(|&(px, py)| (ox + (px - x0) * scale, oy + (py - y0) * scale));
        let Some((sx, sy)) = pts.next() else { continue };
        pb.move_to(sx, sy);
        let mut drew = false;
        for (px, py) in pts {
            pb.line_to(px, py);
            drew = true;
        }
        if !drew {
            // A dot: a tiny segment so the round cap paints it.
            pb.line_to(sx + 0.01, sy);
        }
    }
    stroke_path(surface, pb, 1.3);
}
