//! Bilingual labels. Officers read Chinese: `zh` is required everywhere, `en` is the alternative.

use serde::{Deserialize, Serialize};

/// A label in Simplified Chinese (required) and English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct LocalText {
    /// Simplified Chinese (zh-CN), the default language of the app.
    pub zh: String,
    /// English.
    pub en: String,
}

impl LocalText {
    /// A label from its Chinese and English text.
    pub fn new(zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self { zh: zh.into(), en: en.into() }
    }

    /// The label in the given language; `Lang::Zh` is the default.
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Zh => &self.zh,
            Lang::En => &self.en,
        }
    }

    /// True when either language is empty or only whitespace.
    pub fn is_incomplete(&self) -> bool {
        self.zh.trim().is_empty() || self.en.trim().is_empty()
    }
}

/// The UI languages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Lang {
    /// Simplified Chinese, the default.
    #[default]
    #[serde(rename = "zh-CN")]
    Zh,
    /// English.
    En,
}
