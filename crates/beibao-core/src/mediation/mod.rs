//! Mediation on the spot (REFERENCE §2): 人民调解 (People's Mediation Law) and 治安调解 (Public
//! Security Administration Punishments Law Art.9 and 公通字〔2007〕81号).
//!
//! - [`eligibility`]: whether a dispute may be mediated, with every reason it is blocked;
//! - [`agreement`]: the agreement, its required fields and the guardian rule, and its content hash;
//! - [`deadlines`]: the time limits that follow from a case and its agreement;
//! - [`after`]: 司法确认 and recurrence (反弹, 民转刑), recorded after the agreement.

pub mod after;
pub mod agreement;
pub mod deadlines;
pub mod eligibility;

use serde::{Deserialize, Serialize};

use crate::text::LocalText;

/// The two kinds of mediation, with separate templates and rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum MediationKind {
    /// 人民调解: free, the committee's seal, 30-day window for 司法确认.
    People,
    /// 治安调解: under police auspices for minor public-order cases; performance means no punishment.
    PublicSecurity,
}

impl MediationKind {
    /// The template's name.
    pub fn name(self) -> LocalText {
        match self {
            MediationKind::People => LocalText::new("人民调解协议书", "People's mediation agreement"),
            MediationKind::PublicSecurity => LocalText::new("治安调解协议书", "Public-security mediation agreement"),
        }
    }
}

/// How a mediation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// 达成书面协议.
    WrittenAgreement,
    /// 达成口头协议 (人民调解 only; the content is recorded).
    OralAgreement,
    /// 调解不成，已告知诉讼、仲裁等途径.
    FailedInformedOfRemedies,
    /// 转治安处理 (from 人民调解 to the police).
    ReferredToPolice,
    /// 转人民调解委员会 (from the police to the committee, 人民调解法 Art.18).
    ReferredToCommittee,
    /// 一方拒绝调解.
    PartyRefused,
    /// 当事人自行和解或经人民调解达成协议并履行，书面申请经公安机关认可，不予处罚 (治安管理处罚法 2025
    /// revision, in force 2026-01-01).
    SettledAndApproved,
}

impl Outcome {
    /// Counts as resolved (化解) for the indicators: written or oral agreement, or a settlement.
    pub fn is_resolved(self) -> bool {
        matches!(self, Outcome::WrittenAgreement | Outcome::OralAgreement | Outcome::SettledAndApproved)
    }

    /// Whether the outcome exists for this kind of mediation.
    pub fn applies_to(self, kind: MediationKind) -> bool {
        match self {
            Outcome::OralAgreement | Outcome::ReferredToPolice => kind == MediationKind::People,
            Outcome::ReferredToCommittee | Outcome::SettledAndApproved => kind == MediationKind::PublicSecurity,
            _ => true,
        }
    }

    /// The outcome's name.
    pub fn name(self) -> LocalText {
        let (zh, en) = match self {
            Outcome::WrittenAgreement => ("达成书面协议", "Written agreement"),
            Outcome::OralAgreement => ("达成口头协议", "Oral agreement"),
            Outcome::FailedInformedOfRemedies => {
                ("调解不成-已告知诉讼仲裁途径", "Failed; told of litigation and arbitration")
            }
            Outcome::ReferredToPolice => ("转治安处理", "Referred to the police"),
            Outcome::ReferredToCommittee => ("转人民调解委员会", "Referred to the people's mediation committee"),
            Outcome::PartyRefused => ("一方拒绝调解", "A party refused mediation"),
            Outcome::SettledAndApproved => {
                ("自行和解或人民调解并履行-经认可不予处罚", "Settled and performed; approved, no punishment")
            }
        };
        LocalText::new(zh, en)
    }
}
