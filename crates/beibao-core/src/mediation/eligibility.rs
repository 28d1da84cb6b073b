//! Whether a dispute may be mediated, and every reason it may not.

use serde::{Deserialize, Serialize};

use super::MediationKind;
use crate::text::LocalText;

/// Offence types of public-order cases (治安案件) met in villages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum CaseType {
    /// 殴打他人.
    Assault,
    /// 故意伤害（轻微）.
    MinorInjury,
    /// 侮辱.
    Insult,
    /// 诽谤.
    Defamation,
    /// 诬告陷害.
    FalseAccusation,
    /// 故意损毁财物.
    PropertyDamage,
    /// 干扰他人正常生活 (制造噪声、发送信息、饲养动物…).
    DisturbingLife,
    /// 侵犯隐私.
    PrivacyInvasion,
    /// 非法侵入住宅.
    UnlawfulEntry,
    /// 放任动物恐吓他人.
    AnimalIntimidation,
    /// 偷开机动车.
    Joyriding,
    /// 雇凶伤害 (excluded).
    HiredInjury,
    /// 结伙斗殴 (excluded).
    GangFight,
    /// 寻衅滋事 (excluded).
    Provocation,
}

impl CaseType {
    /// Excluded from 治安调解 by 公通字〔2007〕81号 Art.4.
    pub fn is_excluded(self) -> bool {
        matches!(self, CaseType::HiredInjury | CaseType::GangFight | CaseType::Provocation)
    }

    /// The case type's name.
    pub fn name(self) -> LocalText {
        let (zh, en) = match self {
            CaseType::Assault => ("殴打他人", "Assault"),
            CaseType::MinorInjury => ("故意伤害（轻微）", "Minor intentional injury"),
            CaseType::Insult => ("侮辱", "Insult"),
            CaseType::Defamation => ("诽谤", "Defamation"),
            CaseType::FalseAccusation => ("诬告陷害", "False accusation"),
            CaseType::PropertyDamage => ("故意损毁财物", "Intentional damage to property"),
            CaseType::DisturbingLife => ("干扰他人正常生活", "Disturbing others' normal life"),
            CaseType::PrivacyInvasion => ("侵犯隐私", "Invasion of privacy"),
            CaseType::UnlawfulEntry => ("非法侵入住宅", "Unlawful entry into a home"),
            CaseType::AnimalIntimidation => ("放任动物恐吓他人", "Letting an animal frighten others"),
            CaseType::Joyriding => ("偷开机动车", "Taking a vehicle without consent"),
            CaseType::HiredInjury => ("雇凶伤害", "Hiring someone to cause injury"),
            CaseType::GangFight => ("结伙斗殴", "Gang fight"),
            CaseType::Provocation => ("寻衅滋事", "Picking quarrels and provoking trouble"),
        };
        LocalText::new(zh, en)
    }
}

/// The facts the officer records before mediating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct EligibilityInput {
    /// 人民调解 or 治安调解.
    pub kind: MediationKind,
    /// The offence (治安调解 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_type: Option<CaseType>,
    /// The case arises from a civil dispute (因民间纠纷引起).
    pub from_civil_dispute: bool,
    /// The circumstances are relatively minor (情节较轻).
    pub minor_circumstances: bool,
    /// Each party's consent to mediation, in party order.
    pub consents: Vec<bool>,
    /// A party expressly refuses mediation.
    pub party_refuses: bool,
    /// The offender has committed repeated violations (多次实施违反治安管理行为).
    pub repeated_violations: bool,
    /// A party started trouble again during mediation.
    pub trouble_during_mediation: bool,
    /// The suspect absconded during mediation.
    pub suspect_absconded: bool,
    /// For on-the-spot 治安调解 (现场调解, Art.11): the extra conditions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_the_spot: Option<OnTheSpot>,
}

impl EligibilityInput {
    /// Two consenting parties and none of the aggravating facts: the usual start, to be corrected by
    /// what the officer records.
    pub fn consenting(kind: MediationKind, case_type: Option<CaseType>) -> EligibilityInput {
        EligibilityInput {
            kind,
            case_type,
            from_civil_dispute: true,
            minor_circumstances: true,
            consents: vec![true, true],
            party_refuses: false,
            repeated_violations: false,
            trouble_during_mediation: false,
            suspect_absconded: false,
            on_the_spot: None,
        }
    }
}

/// The conditions of on-the-spot 治安调解 (《现场治安调解协议书》).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct OnTheSpot {
    /// Facts and causation are clear.
    pub facts_clear: bool,
    /// No medical costs or property loss, or no dispute over compensation.
    pub no_compensation_dispute: bool,
    /// Both parties agree to mediate and perform on the spot.
    pub perform_on_the_spot: bool,
}

/// Why a dispute cannot be mediated (every applicable reason is listed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "code", content = "detail", rename_all = "snake_case")]
pub enum BlockReason {
    /// 治安调解 needs the offence type.
    CaseTypeMissing,
    /// The offence is excluded (雇凶伤害, 结伙斗殴, 寻衅滋事).
    ExcludedCaseType(CaseType),
    /// 治安调解 only for cases arising from civil disputes.
    NotFromCivilDispute,
    /// 治安调解 only for relatively minor circumstances.
    NotMinor,
    /// Fewer than two parties.
    TooFewParties,
    /// A party has not consented (by position).
    ConsentMissing(usize),
    /// A party expressly refuses (人民调解法 Art.17; 程序规定).
    PartyRefuses,
    /// Repeated violations.
    RepeatedViolations,
    /// Trouble started again during mediation.
    TroubleDuringMediation,
    /// The suspect absconded.
    SuspectAbsconded,
    /// On-the-spot mediation: facts or causation unclear.
    FactsUnclear,
    /// On-the-spot mediation: compensation is disputed.
    CompensationDisputed,
    /// On-the-spot mediation: the parties will not perform on the spot.
    NotPerformedOnTheSpot,
}

impl BlockReason {
    /// What to tell the officer.
    pub fn message(self) -> LocalText {
        let (zh, en) = match self {
            BlockReason::CaseTypeMissing => ("请选择案由", "Choose the type of case"),
            BlockReason::ExcludedCaseType(_) => {
                ("该案由不适用治安调解", "This type of case cannot be mediated by the police")
            }
            BlockReason::NotFromCivilDispute => {
                ("治安调解限于因民间纠纷引起的案件", "Only cases arising from civil disputes")
            }
            BlockReason::NotMinor => ("治安调解限于情节较轻的案件", "Only cases with minor circumstances"),
            BlockReason::TooFewParties => ("调解至少需要两方当事人", "Mediation needs at least two parties"),
            BlockReason::ConsentMissing(_) => ("须双方当事人同意调解", "Every party must consent to mediation"),
            BlockReason::PartyRefuses => ("一方当事人明确拒绝调解", "A party expressly refuses mediation"),
            BlockReason::RepeatedViolations => {
                ("多次实施违反治安管理行为的不适用调解", "Repeated violations cannot be mediated")
            }
            BlockReason::TroubleDuringMediation => {
                ("调解过程中又挑起事端的不适用调解", "Trouble started again during mediation")
            }
            BlockReason::SuspectAbsconded => ("违法嫌疑人在调解过程中逃跑", "The suspect absconded during mediation"),
            BlockReason::FactsUnclear => {
                ("现场调解须事实清楚、因果关系明确", "On-the-spot mediation needs clear facts and causation")
            }
            BlockReason::CompensationDisputed => {
                ("现场调解须对赔偿无争议", "On-the-spot mediation needs no dispute over compensation")
            }
            BlockReason::NotPerformedOnTheSpot => {
                ("现场调解须当场履行", "On-the-spot mediation must be performed on the spot")
            }
        };
        LocalText::new(zh, en)
    }
}

/// The verdict: eligible, or blocked with every reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", content = "reasons", rename_all = "snake_case")]
pub enum Eligibility {
    /// May be mediated.
    Eligible,
    /// May not; the reasons, in the order the checks run.
    Blocked(Vec<BlockReason>),
}

/// Decide whether a dispute may be mediated.
pub fn check(input: &EligibilityInput) -> Eligibility {
    let mut reasons = Vec::new();
    if input.kind == MediationKind::PublicSecurity {
        match input.case_type {
            None => reasons.push(BlockReason::CaseTypeMissing),
            Some(t) if t.is_excluded() => reasons.push(BlockReason::ExcludedCaseType(t)),
            Some(_) => {}
        }
        if !input.from_civil_dispute {
            reasons.push(BlockReason::NotFromCivilDispute);
        }
        if !input.minor_circumstances {
            reasons.push(BlockReason::NotMinor);
        }
        if input.repeated_violations {
            reasons.push(BlockReason::RepeatedViolations);
        }
        if input.trouble_during_mediation {
            reasons.push(BlockReason::TroubleDuringMediation);
        }
        if input.suspect_absconded {
            reasons.push(BlockReason::SuspectAbsconded);
        }
        if let Some(spot) = input.on_the_spot {
            if !spot.facts_clear {
                reasons.push(BlockReason::FactsUnclear);
            }
            if !spot.no_compensation_dispute {
                reasons.push(BlockReason::CompensationDisputed);
            }
            if !spot.perform_on_the_spot {
                reasons.push(BlockReason::NotPerformedOnTheSpot);
            }
        }
    }
    if input.consents.len() < 2 {
        reasons.push(BlockReason::TooFewParties);
    }
    for (i, consent) in input.consents.iter().enumerate() {
        if !consent {
            reasons.push(BlockReason::ConsentMissing(i));
        }
    }
    if input.party_refuses {
        reasons.push(BlockReason::PartyRefuses);
    }
    if reasons.is_empty() { Eligibility::Eligible } else { Eligibility::Blocked(reasons) }
}
