//! Beibao domain core: the rules of backpack policing (背包警务) as plain types and functions.
//!
//! No I/O lives here: every function takes what it needs (text to parse, a date, a clock reading)
//! as an argument, so the tablet, the server and the exports all run the same rules and tests can
//! table-test each one. Module map:
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`activity`] | publicity sessions, hazards, satisfaction ratings |
//! | [`text`] | bilingual labels (zh-CN first, English second) |
//! | [`catalog`] | the 38-service catalog, its loading rules and fee quotes with waivers |
//! | [`registry`] | stations, towns, villages (with boundaries), enterprises, households, officers, assignments |
//! | [`identity`] | GB 11643 ID numbers, phone numbers, masking of personal data |
//! | [`visit`] | household and enterprise visits and the proof-of-visit verdict |
//! | [`service_request`] | the service-request state machine and the merge rule for concurrent transitions |
//! | [`mediation`] | 人民调解 and 治安调解: eligibility, required fields, deadlines, agreement hash |
//! | [`calendar`] | the working-day calendar (public holidays and 调休 make-up workdays) |
//! | [`indicators`] | the supervisors' KPIs as data and formulas over counts |
//! | [`canonical`] | canonical JSON and SHA-256 content hashes |
//! | [`clock`] | the injected clock and id source |
#![deny(missing_docs)]

pub mod activity;
pub mod bundled;
pub mod calendar;
pub mod canonical;
pub mod catalog;
pub mod change;
pub mod clock;
pub mod code;
pub mod identity;
pub mod indicators;
pub mod mediation;
pub mod ops;
pub mod precision;
pub mod registry;
pub mod service_request;
pub mod tally;
pub mod text;
pub mod visit;
