// The periods a supervisor reports on, named as the server reads them: a day `2026-11-30`, an
// ISO week `2026-W49`, a month `2026-11`, a quarter `2026-Q4`, a year `2026`. Days are China
// dates (YYYY-MM-DD); all arithmetic is on UTC noon so no zone moves a day.

export type PeriodKind = 'day' | 'week' | 'month' | 'quarter' | 'year';
export const KINDS: PeriodKind[] = ['day', 'week', 'month', 'quarter', 'year'];

function utc(day: string): Date {
  return new Date(`${day}T12:00:00Z`);
}

function iso(d: Date): string {
  return d.toISOString().slice(0, 10);
}

const pad = (n: number) => String(n).padStart(2, '0');

/** The ISO year and week of a day. */
export function isoWeek(day: string): { year: number; week: number } {
  const d = utc(day);
  const weekday = (d.getUTCDay() + 6) % 7; // Monday 0
  const thursday = new Date(d.getTime() + (3 - weekday) * 86_400_000);
  const year = thursday.getUTCFullYear();
  const jan4 = new Date(Date.UTC(year, 0, 4, 12));
  const firstMonday = new Date(jan4.getTime() - ((jan4.getUTCDay() + 6) % 7) * 86_400_000);
  const week = 1 + Math.round((thursday.getTime() - 3 * 86_400_000 - firstMonday.getTime()) / (7 * 86_400_000));
  return { year, week };
}

/** The name of the period of `kind` that holds `day`. */
export function periodOf(kind: PeriodKind, day: string): string {
  const [y, m] = day.split('-').map(Number);
  switch (kind) {
    case 'day': return day;
    case 'week': { const w = isoWeek(day); return `${w.year}-W${pad(w.week)}`; }
    case 'month': return `${y}-${pad(m)}`;
    case 'quarter': return `${y}-Q${Math.floor((m - 1) / 3) + 1}`;
    case 'year': return `${y}`;
  }
}

/** The first and last day of a named period. */
export function bounds(kind: PeriodKind, name: string): { from: string; to: string } {
  switch (kind) {
    case 'day': return { from: name, to: name };
    case 'week': {
      const [y, w] = name.split('-W').map(Number);
      const jan4 = new Date(Date.UTC(y, 0, 4, 12));
      const monday = new Date(jan4.getTime() - ((jan4.getUTCDay() + 6) % 7) * 86_400_000 + (w - 1) * 7 * 86_400_000);
      return { from: iso(monday), to: iso(new Date(monday.getTime() + 6 * 86_400_000)) };
    }
    case 'month': {
      const [y, m] = name.split('-').map(Number);
      return { from: `${name}-01`, to: iso(new Date(Date.UTC(y, m, 0, 12))) };
    }
    case 'quarter': {
      const [y, q] = name.split('-Q').map(Number);
      const m = (q - 1) * 3;
      return { from: iso(new Date(Date.UTC(y, m, 1, 12))), to: iso(new Date(Date.UTC(y, m + 3, 0, 12))) };
    }
    case 'year': return { from: `${name}-01-01`, to: `${name}-12-31` };
  }
}

/** The period `n` periods after (or before, n < 0) the named one. */
export function shift(kind: PeriodKind, name: string, n: number): string {
  const { from } = bounds(kind, name);
  const d = utc(from);
  switch (kind) {
    case 'day': d.setUTCDate(d.getUTCDate() + n); break;
    case 'week': d.setUTCDate(d.getUTCDate() + 7 * n); break;
    case 'month': d.setUTCMonth(d.getUTCMonth() + n); break;
    case 'quarter': d.setUTCMonth(d.getUTCMonth() + 3 * n); break;
    case 'year': d.setUTCFullYear(d.getUTCFullYear() + n); break;
  }
  return periodOf(kind, iso(d));
}

/** A period in words: 2026年11月 / Nov 2026, 2026年第49周 / 2026 week 49, … */
export function periodLabel(kind: PeriodKind, name: string, lang: 'zh-CN' | 'en'): string {
  const en = lang === 'en';
  switch (kind) {
    case 'day': return name;
    case 'week': { const [y, w] = name.split('-W'); return en ? `${y} week ${Number(w)}` : `${y}年第${Number(w)}周`; }
    case 'month': {
      const [y, m] = name.split('-');
      return en ? new Date(`${name}-15T12:00:00Z`).toLocaleDateString('en-GB', { month: 'short', year: 'numeric', timeZone: 'UTC' }) : `${y}年${Number(m)}月`;
    }
    case 'quarter': { const [y, q] = name.split('-Q'); return en ? `Q${q} ${y}` : `${y}年第${q}季度`; }
    case 'year': return en ? name : `${name}年`;
  }
}
