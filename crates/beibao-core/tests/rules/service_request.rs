use beibao_core::catalog::Mode;
use beibao_core::code::Code;
use beibao_core::service_request::{
    ChecklistError, ConflictReason, MergeOutcome, RequestState as S, Transition, TransitionError, check_materials,
    initial_state, is_legal, merge, mode_allowed, next_states,
};

use crate::catalog;

const MODES: [Mode; 4] = [Mode::OnSite, Mode::CarryBack, Mode::Appointment, Mode::Delivery];

fn step(from: S, to: S) -> Transition {
    let reason = matches!(to, S::Rejected | S::Withdrawn).then(|| "材料不全".to_owned());
    let recipient_signature = (to == S::Delivered).then(|| "ab".repeat(32));
    Transition { from, to, reason, recipient_signature }
}

#[test]
fn each_mode_walks_its_path() {
    let paths: [(Mode, &[S]); 5] = [
        (Mode::OnSite, &[S::AcceptedOnSite, S::CompletedOnSite]),
        (
            Mode::CarryBack,
            &[
                S::AcceptedOnSite,
                S::CarriedBack,
                S::Submitted,
                S::Approved,
                S::Made,
                S::ReadyToDeliver,
                S::Delivered,
                S::Closed,
            ],
        ),
        (Mode::Appointment, &[S::AcceptedOnSite, S::Submitted, S::Closed]),
        (
            Mode::Appointment,
            &[S::AcceptedOnSite, S::Submitted, S::Approved, S::Made, S::ReadyToDeliver, S::Delivered, S::Closed],
        ),
        (Mode::Delivery, &[S::ReadyToDeliver, S::Delivered, S::Closed]),
    ];
    for (mode, path) in paths {
        assert_eq!(initial_state(mode), path[0], "{mode:?} starts at {:?}", path[0]);
        let mut state = path[0];
        for pair in path.windows(2) {
            state = step(pair[0], pair[1]).apply(mode, state).unwrap_or_else(|e| panic!("{mode:?}: {e}"));
        }
        assert!(state.is_terminal(), "{mode:?} ends in a terminal state");
    }
}

#[test]
fn illegal_steps_are_refused() {
    let cases = [
        (Mode::CarryBack, S::AcceptedOnSite, S::Approved),
        (Mode::CarryBack, S::AcceptedOnSite, S::CompletedOnSite),
        (Mode::OnSite, S::AcceptedOnSite, S::CarriedBack),
        (Mode::CarryBack, S::Made, S::Withdrawn),
        (Mode::CarryBack, S::Approved, S::Rejected),
        (Mode::Delivery, S::ReadyToDeliver, S::Rejected),
        (Mode::Delivery, S::AcceptedOnSite, S::Delivered),
        (Mode::CarryBack, S::Closed, S::AcceptedOnSite),
        (Mode::CarryBack, S::Delivered, S::ReadyToDeliver),
        (Mode::CarryBack, S::Submitted, S::Closed),
    ];
    for (mode, from, to) in cases {
        assert!(!is_legal(mode, from, to), "{mode:?}: {from:?} → {to:?} must be illegal");
        assert_eq!(step(from, to).validate(mode), Err(TransitionError::Illegal { mode, from, to }));
    }
}

#[test]
fn terminal_states_are_final_and_no_state_is_a_dead_end() {
    for mode in MODES {
        for state in S::ALL {
            let next = next_states(mode, state);
            if state.is_terminal() {
                assert!(next.is_empty(), "{mode:?}: terminal {state:?} has no way out");
            }
        }
        // Every state reachable from the start can still reach a terminal state.
        let mut reachable = vec![initial_state(mode)];
        let mut i = 0;
        while i < reachable.len() {
            for n in next_states(mode, reachable[i]) {
                if !reachable.contains(&n) {
                    reachable.push(n);
                }
            }
            i += 1;
        }
        for state in &reachable {
            assert!(state.is_terminal() || !next_states(mode, *state).is_empty(), "{mode:?}: {state:?} is a dead end");
        }
    }
}

#[test]
fn rejection_and_withdrawal_need_a_reason_and_delivery_a_signature() {
    let mut t = step(S::CarriedBack, S::Rejected);
    t.reason = Some("  ".into());
    assert_eq!(t.validate(Mode::CarryBack), Err(TransitionError::ReasonRequired(S::Rejected)));
    let mut t = step(S::AcceptedOnSite, S::Withdrawn);
    t.reason = None;
    assert_eq!(t.validate(Mode::OnSite), Err(TransitionError::ReasonRequired(S::Withdrawn)));
    let mut t = step(S::ReadyToDeliver, S::Delivered);
    t.recipient_signature = None;
    assert_eq!(t.validate(Mode::CarryBack), Err(TransitionError::SignatureRequired));
    assert_eq!(TransitionError::SignatureRequired.code(), Code::TransitionSignatureRequired);
}

#[test]
fn a_strict_apply_refuses_a_stale_sender() {
    assert_eq!(
        step(S::CarriedBack, S::Submitted).apply(Mode::CarryBack, S::Approved),
        Err(TransitionError::StaleState { current: S::Approved, expected: S::CarriedBack })
    );
}

#[test]
fn concurrent_transitions_merge_by_rule() {
    let apply = |to| MergeOutcome::Apply { to };
    let conflict = |reason| MergeOutcome::Conflict { reason };
    let cases = [
        // (mode, current on the server, incoming from → to, expected, why)
        (
            Mode::CarryBack,
            S::Submitted,
            (S::CarriedBack, S::Submitted),
            MergeOutcome::AlreadyThere,
            "same target twice",
        ),
        (
            Mode::CarryBack,
            S::Closed,
            (S::Made, S::ReadyToDeliver),
            conflict(ConflictReason::TerminalWins),
            "request already closed",
        ),
        (
            Mode::CarryBack,
            S::Withdrawn,
            (S::CarriedBack, S::Submitted),
            conflict(ConflictReason::TerminalWins),
            "resident withdrew first",
        ),
        (
            Mode::CarryBack,
            S::Rejected,
            (S::CarriedBack, S::Withdrawn),
            conflict(ConflictReason::TerminalWins),
            "first terminal state wins",
        ),
        (
            Mode::CarryBack,
            S::CarriedBack,
            (S::CarriedBack, S::Closed),
            conflict(ConflictReason::Impossible),
            "illegal jump",
        ),
        (
            Mode::CarryBack,
            S::CarriedBack,
            (S::Made, S::Withdrawn),
            conflict(ConflictReason::Impossible),
            "withdrawal after making is illegal",
        ),
        (
            Mode::CarryBack,
            S::Submitted,
            (S::CarriedBack, S::Withdrawn),
            apply(S::Withdrawn),
            "withdrawal wins over a desk step",
        ),
        (
            Mode::CarryBack,
            S::Approved,
            (S::AcceptedOnSite, S::Withdrawn),
            apply(S::Withdrawn),
            "terminal wins though the sender was behind",
        ),
        (
            Mode::CarryBack,
            S::Made,
            (S::AcceptedOnSite, S::Withdrawn),
            conflict(ConflictReason::Stale),
            "too late to withdraw once made",
        ),
        (Mode::CarryBack, S::Made, (S::Delivered, S::Closed), apply(S::Closed), "closing wins and lies ahead"),
        (Mode::CarryBack, S::Approved, (S::Approved, S::Made), apply(S::Made), "sender saw the current state"),
        (Mode::CarryBack, S::Submitted, (S::Approved, S::Made), apply(S::Made), "target lies ahead"),
        (
            Mode::CarryBack,
            S::Approved,
            (S::CarriedBack, S::Submitted),
            conflict(ConflictReason::Stale),
            "target lies behind",
        ),
        (
            Mode::OnSite,
            S::AcceptedOnSite,
            (S::AcceptedOnSite, S::CompletedOnSite),
            apply(S::CompletedOnSite),
            "on-site completion",
        ),
    ];
    for (mode, current, (from, to), expected, why) in cases {
        assert_eq!(
            merge(mode, current, &step(from, to)),
            expected,
            "{why}: {mode:?} at {current:?}, incoming {from:?} → {to:?}"
        );
    }
    let mut unsigned = step(S::ReadyToDeliver, S::Delivered);
    unsigned.recipient_signature = None;
    assert_eq!(
        merge(Mode::CarryBack, S::ReadyToDeliver, &unsigned),
        conflict(ConflictReason::Impossible),
        "a delivery without signature is kept as a conflict, not applied"
    );
}

#[test]
fn merge_never_leaves_a_terminal_state() {
    for mode in MODES {
        for current in S::ALL.into_iter().filter(|s| s.is_terminal()) {
            for from in S::ALL {
                for to in S::ALL {
                    match merge(mode, current, &step(from, to)) {
                        MergeOutcome::Apply { to } => panic!("{mode:?}: terminal {current:?} moved to {to:?}"),
                        MergeOutcome::AlreadyThere | MergeOutcome::Conflict { .. } => {}
                    }
                }
            }
        }
    }
}

#[test]
fn materials_checklist() {
    let c = catalog();
    let hz01 = c.service("HZ01").expect("HZ01");
    let ticked = |codes: &[&str]| codes.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    assert_eq!(
        check_materials(hz01, &ticked(&["hukou_book", "photo_fingerprints"])),
        Ok(()),
        "the guardian is conditional"
    );
    assert_eq!(check_materials(hz01, &ticked(&["hukou_book", "photo_fingerprints", "guardian_present"])), Ok(()));
    assert_eq!(
        check_materials(hz01, &ticked(&["hukou_book"])),
        Err(ChecklistError::Missing(vec!["photo_fingerprints".into()]))
    );
    assert_eq!(
        check_materials(hz01, &ticked(&["hukou_book", "photo_fingerprints", "passport"])),
        Err(ChecklistError::Unknown(vec!["passport".into()]))
    );
    assert!(mode_allowed(c.service("JG01").expect("JG01"), Mode::OnSite));
    assert!(!mode_allowed(hz01, Mode::OnSite), "an ID card cannot be finished at the door");
}

#[test]
fn accepting_a_request_checks_mode_materials_and_fee() {
    use beibao_core::registry::SpecialGroup;
    use beibao_core::service_request::{AcceptError, Acceptance, accept, closed_on_time};
    let c = catalog();
    let hz01 = c.service("HZ01").expect("HZ01");
    let ticked: Vec<String> = vec!["hukou_book".into(), "photo_fingerprints".into()];
    let base =
        Acceptance { service: hz01, mode: None, materials: &ticked, groups: &[SpecialGroup::Dibao], fee_option: None };
    let (mode, fee, state) = accept(&base).expect("complete");
    assert_eq!(
        (mode, fee.payable_fen, state),
        (Mode::CarryBack, 0, S::AcceptedOnSite),
        "低保 pays nothing for a first ID card"
    );
    let on_site = Acceptance { mode: Some(Mode::OnSite), ..base.clone() };
    assert_eq!(accept(&on_site), Err(AcceptError::ModeNotAllowed { service: "HZ01".into(), mode: Mode::OnSite }));
    let short: Vec<String> = vec!["hukou_book".into()];
    let missing = accept(&Acceptance { materials: &short, ..base.clone() }).expect_err("incomplete");
    assert_eq!(missing.code(), Code::MaterialsMissing);
    let jg06 = c.service("JG06").expect("JG06");
    let plates: Vec<String> = vec!["vehicle_licence".into(), "id_card".into()];
    let no_item = accept(&Acceptance { service: jg06, materials: &plates, fee_option: None, ..base.clone() });
    assert_eq!(no_item.expect_err("choose an item").code(), Code::FeeOptionRequired);

    let cal = crate::calendar();
    let za01 = c.service("ZA01").expect("ZA01");
    let d = crate::date;
    assert!(closed_on_time(za01, d("2026-09-29"), d("2026-10-09"), &cal), "on the 3rd working day");
    assert!(!closed_on_time(za01, d("2026-09-29"), d("2026-10-10"), &cal), "a day late");
}
