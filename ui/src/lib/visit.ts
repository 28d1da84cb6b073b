// The visit form's rules before anything is sent (the store checks them again).
import type { VisitDraft } from '../generated/VisitDraft';
import type { VisitOutcome } from '../generated/VisitOutcome';
import type { VisitPurpose } from '../generated/VisitPurpose';

export const PURPOSES: VisitPurpose[] = [
  'special_group_care', 'service', 'hazard_check', 'publicity', 'dispute_screening', 'information_collection',
];
export const OUTCOMES: VisitOutcome[] = ['met', 'nobody_home', 'declined'];

/** The draft with an outcome chosen: nobody home means nobody met; met means at least one. */
export function withOutcome(draft: VisitDraft, outcome: VisitOutcome): Partial<VisitDraft> {
  if (outcome === 'nobody_home') return { outcome, persons_met: 0 };
  if (outcome === 'met') return { outcome, persons_met: Math.max(1, draft.persons_met ?? 0) };
  return { outcome };
}

/** The message key of what is missing before the visit can be saved, or null. */
export function visitProblem(draft: VisitDraft): string | null {
  if (draft.purposes.length === 0) return 'visit.need_purpose';
  if (draft.outcome === null) return 'visit.need_outcome';
  if (draft.pin && draft.pin.reason.trim() === '') return 'error.visit_pin_reason';
  return null;
}
