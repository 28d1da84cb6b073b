import { describe, expect, it } from 'vitest';
import type { VisitDraft } from '../generated/VisitDraft';
import { visitProblem, withOutcome } from './visit';

const draft = (p: Partial<VisitDraft> = {}): VisitDraft => ({
  id: 'd', target: { kind: 'household', id: 'h' }, purposes: ['publicity'], started_at: '2026-11-30T01:00:00Z',
  outcome: 'met', persons_met: 1, fix: null, pin: null, note: '', ...p,
});

describe('visit form', () => {
  it('asks for a purpose, an outcome and a reason for a manual pin', () => {
    expect(visitProblem(draft())).toBeNull();
    expect(visitProblem(draft({ purposes: [] }))).toBe('visit.need_purpose');
    expect(visitProblem(draft({ outcome: null }))).toBe('visit.need_outcome');
    const pin = { lat: 35, lon: 117.4, reason: ' ', placed_at: '2026-11-30T01:01:00Z' };
    expect(visitProblem(draft({ pin }))).toBe('error.visit_pin_reason');
    expect(visitProblem(draft({ pin: { ...pin, reason: '山谷无信号' } }))).toBeNull();
  });

  it('keeps people met consistent with the outcome', () => {
    expect(withOutcome(draft({ persons_met: 3 }), 'nobody_home')).toEqual({ outcome: 'nobody_home', persons_met: 0 });
    expect(withOutcome(draft({ persons_met: 0 }), 'met')).toEqual({ outcome: 'met', persons_met: 1 });
    expect(withOutcome(draft({ persons_met: 3 }), 'met')).toEqual({ outcome: 'met', persons_met: 3 });
    expect(withOutcome(draft({ persons_met: 2 }), 'declined')).toEqual({ outcome: 'declined' });
  });
});
