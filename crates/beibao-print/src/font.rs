//! The CJK font the agreement is set in: found on the system (Debian `fonts-noto-cjk`, Android's
//! own Noto Sans CJK) or given as bytes, and measured for line breaking.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use skrifa::instance::{LocationRef, Size};
use skrifa::raw::{FileRef, TableProvider};
use skrifa::{FontRef, MetadataProvider, string::StringId};

use crate::PrintError;

/// Where the font is looked for, in order, after `BEIBAO_CJK_FONT`: Debian's and Fedora's
/// `fonts-noto-cjk`, then Android's system font (every Android tablet since 5.0 ships it).
pub const SYSTEM_FONTS: [&str; 4] = [
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/system/fonts/NotoSansCJK-Regular.ttc",
];

/// A font face with Simplified Chinese glyphs, ready for krilla and for measuring.
#[derive(Clone)]
pub struct CjkFont {
    data: Arc<Vec<u8>>,
    index: u32,
    pub(crate) pdf: krilla::text::Font,
    upem: f32,
}

impl std::fmt::Debug for CjkFont {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CjkFont").field("bytes", &self.data.len()).field("index", &self.index).finish()
    }
}

impl CjkFont {
    /// From a font file's bytes (an OTF/TTF, or a collection such as `NotoSansCJK-Regular.ttc`,
    /// whose Simplified Chinese face is chosen by its family name).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<CjkFont, PrintError> {
        let index = simplified_chinese_face(&bytes)?;
        let upem = {
            let font = FontRef::from_index(&bytes, index).map_err(|e| PrintError::Font(e.to_string()))?;
            if font.charmap().map('调').is_none() {
                return Err(PrintError::Font("the font has no Chinese glyphs".into()));
            }
            f32::from(font.head().map_err(|e| PrintError::Font(e.to_string()))?.units_per_em())
        };
        let data = Arc::new(bytes);
        let pdf = krilla::text::Font::new(krilla::Data::from(data.clone()), index)
            .ok_or_else(|| PrintError::Font("krilla cannot read the font".into()))?;
        Ok(CjkFont { data, index, pdf, upem })
    }

    /// From a file.
    pub fn from_file(path: &Path) -> Result<CjkFont, PrintError> {
        let bytes = std::fs::read(path).map_err(|e| PrintError::Font(format!("{}: {e}", path.display())))?;
        CjkFont::from_bytes(bytes)
    }

    /// The first font that exists among `BEIBAO_CJK_FONT`, `extra` (the app's resource folder) and
    /// [`SYSTEM_FONTS`].
    pub fn locate(extra: &[PathBuf]) -> Result<CjkFont, PrintError> {
        let env = std::env::var_os("BEIBAO_CJK_FONT").map(PathBuf::from);
        let candidates = env.into_iter().chain(extra.iter().cloned()).chain(SYSTEM_FONTS.iter().map(PathBuf::from));
        let mut tried = Vec::new();
        for path in candidates {
            if path.is_file() {
                return CjkFont::from_file(&path);
            }
            tried.push(path.display().to_string());
        }
        Err(PrintError::FontMissing { tried })
    }

    /// A measurer over the face.
    pub(crate) fn metrics(&self) -> Result<Metrics<'_>, PrintError> {
        let font = FontRef::from_index(&self.data, self.index).map_err(|e| PrintError::Font(e.to_string()))?;
        Ok(Metrics {
            charmap: font.charmap(),
            glyphs: font.glyph_metrics(Size::unscaled(), LocationRef::default()),
            upem: self.upem,
        })
    }
}

/// The index of the Simplified Chinese face (family name ending in "SC") in a collection; 0 for a
/// single font.
fn simplified_chinese_face(bytes: &[u8]) -> Result<u32, PrintError> {
    match FileRef::new(bytes).map_err(|e| PrintError::Font(e.to_string()))? {
        FileRef::Font(_) => Ok(0),
        FileRef::Collection(collection) => {
            for index in 0..collection.len() {
                let Ok(font) = collection.get(index) else { continue };
                let family = font.localized_strings(StringId::FAMILY_NAME).english_or_first();
                if family.is_some_and(|name| name.to_string().ends_with(" SC")) {
                    return Ok(index);
                }
            }
            Ok(0)
        }
    }
}

/// Advance widths of characters, in points at a size.
pub(crate) struct Metrics<'a> {
    charmap: skrifa::charmap::Charmap<'a>,
    glyphs: skrifa::metrics::GlyphMetrics<'a>,
    upem: f32,
}

impl Metrics<'_> {
    /// The advance of one character at `size` points (a missing glyph counts as a full em).
    pub(crate) fn advance(&self, c: char, size: f32) -> f32 {
        let units = self.charmap.map(c).and_then(|g| self.glyphs.advance_width(g)).unwrap_or(self.upem);
        units / self.upem * size
    }

    /// The width of a string.
    pub(crate) fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.advance(c, size)).sum()
    }
}
