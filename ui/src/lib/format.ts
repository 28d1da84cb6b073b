// Dates, amounts, sizes and durations, formatted in one place. Legal dates are China dates
// (UTC+8) whatever the tablet's zone.
import type { IndicatorValue } from '../generated/IndicatorValue';
import type { ProofVerdict } from '../generated/ProofVerdict';
import { type Lang, translate } from './messages';

const ZONE = 'Asia/Shanghai';

function locale(lang: Lang): string {
  return lang === 'en' ? 'en-GB' : 'zh-CN';
}

/** Fen as yuan: 2000 → ¥20.00; 0 → 免费 / free. */
export function yuan(fen: number, lang: Lang): string {
  if (fen === 0) return lang === 'en' ? 'free' : '免费';
  return `¥${(fen / 100).toFixed(2)}`;
}

/** A China date, with its weekday: 2026年11月30日 星期一 / Mon 30 Nov 2026. */
export function chinaDate(when: string | Date, lang: Lang): string {
  const d = typeof when === 'string' ? parseDate(when) : when;
  return new Intl.DateTimeFormat(locale(lang), {
    timeZone: ZONE, year: 'numeric', month: 'long', day: 'numeric', weekday: lang === 'en' ? 'short' : 'long',
  }).format(d);
}

/** A China date and time to the minute: 11月30日 14:05 / 30 Nov, 14:05. */
export function chinaTime(when: string | Date, lang: Lang): string {
  const d = typeof when === 'string' ? parseDate(when) : when;
  return new Intl.DateTimeFormat(locale(lang), {
    timeZone: ZONE, month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false,
  }).format(d);
}

/** `YYYY-MM-DD` is a China date (noon, so no zone moves it to another day); else an instant. */
function parseDate(s: string): Date {
  return /^\d{4}-\d{2}-\d{2}$/.test(s) ? new Date(`${s}T12:00:00+08:00`) : new Date(s);
}

/** Bytes: 900 B, 1.2 KB, 3.4 MB. */
export function bytes(n: number): string {
  if (n < 1000) return `${n} B`;
  if (n < 1_000_000) return `${(n / 1000).toFixed(1)} KB`;
  return `${(n / 1_000_000).toFixed(1)} MB`;
}

/** A duration in whole seconds, rounded up: 4分30秒 / 4 min 30 s; 1小时5分 / 1 h 5 min. */
export function duration(ms: number, lang: Lang): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const zh = lang !== 'en';
  if (h > 0) return zh ? `${h}小时${m}分` : `${h} h ${m} min`;
  if (m > 0) return zh ? `${m}分${s}秒` : `${m} min ${s} s`;
  return zh ? `${s}秒` : `${s} s`;
}

/** How far a clock is off, roughly (rounded in the largest unit it reaches): 56年 / 3天 / 2小时 / 15分钟. */
export function roughSpan(seconds: number, lang: Lang): string {
  const s = Math.abs(seconds);
  const zh = lang !== 'en';
  const units: [number, string, string][] = [
    [365 * 86400, '年', 'year'],
    [86400, '天', 'day'],
    [3600, '小时', 'hour'],
    [60, '分钟', 'minute'],
  ];
  for (const [size, z, e] of units) {
    if (s < size) continue;
    const n = Math.round(s / size);
    return zh ? `${n}${z}` : `${n} ${e}${n === 1 ? '' : 's'}`;
  }
  return zh ? '1分钟' : '1 minute';
}

/** What to tell the officer about the tablet's clock (its error: server minus tablet, seconds),
 * or '' when nothing says it is wrong. */
export function clockWarning(errorSeconds: number | null, lang: Lang): string {
  if (errorSeconds === null || errorSeconds === 0) return '';
  const key = errorSeconds > 0 ? 'clock.behind' : 'clock.ahead';
  return translate(lang, key, { amount: roughSpan(errorSeconds, lang) });
}

/** A number of working days: 3个工作日 / 3 working days. */
export function workingDays(n: number, lang: Lang): string {
  if (lang === 'en') return `${n} working day${n === 1 ? '' : 's'}`;
  return `${n}个工作日`;
}

/** A deadline counted in working days from today: due today, n left, or n overdue. */
export function dueIn(n: number, lang: Lang): string {
  if (n === 0) return translate(lang, 'due.today');
  return translate(lang, n > 0 ? 'due.left' : 'due.overdue', { d: workingDays(Math.abs(n), lang) });
}

/** A proof-of-visit verdict in the officer's words (distances in whole metres); `at` says whether
 * the visit was to a household or an enterprise ("near the house" / "near the enterprise"). */
export function verdictText(v: ProofVerdict, lang: Lang, at: 'household' | 'enterprise' = 'household'): string {
  switch (v.verdict) {
    case 'near_household': return translate(lang, `verdict.near_${at}`, { m: Math.round(v.distance_m) });
    case 'poor_accuracy': return translate(lang, 'verdict.poor_accuracy', { m: Math.round(v.accuracy_m) });
    case 'outside': return translate(lang, 'verdict.outside', { m: Math.round(v.distance_m) });
    case 'manual_pin': return translate(lang, v.inside_village ? 'verdict.manual_pin_inside' : 'verdict.manual_pin_outside');
    default: return translate(lang, `verdict.${v.verdict}`);
  }
}

/** True when the verdict proves the officer was there (as beibao-core's `is_proven`). */
export function proven(v: ProofVerdict): boolean {
  return v.verdict === 'near_household' || v.verdict === 'inside_village';
}

/** An indicator's value with its unit: a count, or a rate to one decimal ("—" when nothing to divide by). */
export function indicatorText(v: IndicatorValue, unit: string): string {
  if (v.kind === 'count') return `${v.value} ${unit}`.trim();
  if (v.value === null) return '—';
  return `${v.value.toFixed(1)} ${unit}`.trim();
}

/** The China date `days` after `date` (YYYY-MM-DD), for deadlines. */
export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** The China date (YYYY-MM-DD) at `now`. */
export function chinaDay(now: Date = new Date()): string {
  return new Date(now.getTime() + 8 * 3_600_000).toISOString().slice(0, 10);
}

/** Days since the last visit in words: never, today, or n days ago. */
export function sinceVisit(days: number | null, lang: Lang): string {
  if (days === null) return translate(lang, 'today.never_visited');
  if (days === 0) return translate(lang, 'today.visited_today');
  return translate(lang, 'today.days_since', { n: days });
}
