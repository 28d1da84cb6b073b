// A command's failure in the officer's words: the UI switches on the code, never the message.
import type { Problem } from '../generated/Problem';
import { duration } from './format';
import { type Lang, translate, zh } from './messages';

/** Whatever a command threw, as a Problem (a failure outside the app's own is `internal`). */
export function asProblem(e: unknown): Problem {
  if (e && typeof e === 'object' && 'code' in e && 'message' in e) return e as Problem;
  return { code: 'internal', message: String(e), field: null, issues: [], reasons: [], attempts_left: null, until: null };
}

/** The text to show for a problem, `now` being the current time (for a lockout's time left). */
export function problemText(p: Problem, lang: Lang, now: Date = new Date()): string {
  if (p.code === 'pin_wrong' && p.attempts_left !== null) {
    return translate(lang, 'unlock.wrong', { n: p.attempts_left });
  }
  if (p.code === 'pin_locked_out' && p.until) {
    return translate(lang, 'unlock.locked_out', { left: duration(new Date(p.until).getTime() - now.getTime(), lang) });
  }
  const key = `error.${p.code}`;
  if (key in zh) return translate(lang, key);
  return translate(lang, 'error.unknown', { code: p.code });
}
