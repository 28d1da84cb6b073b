import { describe, expect, it } from 'vitest';
import { addDays, bytes, chinaDay, sinceVisit, chinaDate, chinaTime, dueIn, duration, indicatorText, proven, verdictText, workingDays, yuan } from './format';

describe('formatters', () => {
  it('shows fen as yuan', () => {
    expect(yuan(2000, 'zh-CN')).toBe('¥20.00');
    expect(yuan(1050, 'en')).toBe('¥10.50');
    expect(yuan(0, 'zh-CN')).toBe('免费');
    expect(yuan(0, 'en')).toBe('free');
  });

  it('counts dates in China whatever the zone of the instant', () => {
    // 16:30 UTC on the 29th is 00:30 on the 30th in China.
    expect(chinaDate('2026-11-29T16:30:00Z', 'zh-CN')).toBe('2026年11月30日星期一');
    expect(chinaDate('2026-11-30', 'en')).toBe('Mon, 30 November 2026');
    expect(chinaTime('2026-11-29T16:30:00Z', 'en')).toBe('30 Nov, 00:30');
  });

  it('shows sizes and durations', () => {
    expect(bytes(900)).toBe('900 B');
    expect(bytes(1234)).toBe('1.2 KB');
    expect(bytes(3_400_000)).toBe('3.4 MB');
    expect(duration(270_000, 'zh-CN')).toBe('4分30秒');
    expect(duration(270_000, 'en')).toBe('4 min 30 s');
    expect(duration(3_900_000, 'zh-CN')).toBe('1小时5分');
    expect(duration(400, 'en')).toBe('1 s');
    expect(duration(-5, 'en')).toBe('0 s');
  });

  it('says working days', () => {
    expect(workingDays(3, 'zh-CN')).toBe('3个工作日');
    expect(workingDays(1, 'en')).toBe('1 working day');
    expect(workingDays(7, 'en')).toBe('7 working days');
    expect(dueIn(0, 'zh-CN')).toBe('今天到期');
    expect(dueIn(3, 'zh-CN')).toBe('还剩3个工作日');
    expect(dueIn(-2, 'zh-CN')).toBe('已超期2个工作日');
    expect(dueIn(1, 'en')).toBe('1 working day left');
    expect(dueIn(-4, 'en')).toBe('4 working days overdue');
  });
});

describe('proof-of-visit verdicts', () => {
  it('says each verdict in words, distances in whole metres', () => {
    expect(verdictText({ verdict: 'near_household', distance_m: 12.6 }, 'zh-CN')).toBe('在户附近（13 米）');
    expect(verdictText({ verdict: 'near_household', distance_m: 3.2 }, 'zh-CN', 'enterprise')).toBe('在企业附近（3 米）');
    expect(verdictText({ verdict: 'outside', distance_m: 1500.2 }, 'en')).toBe('Outside the village (1500 m away)');
    expect(verdictText({ verdict: 'manual_pin', inside_village: true }, 'zh-CN')).toBe('手动标点（村内），未经定位证明');
    expect(verdictText({ verdict: 'no_fix' }, 'zh-CN')).toBe('无定位');
  });

  it('counts only a fix at the door or in the village as proof', () => {
    expect(proven({ verdict: 'inside_village' })).toBe(true);
    expect(proven({ verdict: 'manual_pin', inside_village: true })).toBe(false);
    expect(proven({ verdict: 'stale_fix' })).toBe(false);
  });
});

describe('indicators and deadlines', () => {
  it('shows a count with its unit and a rate to one decimal, or a dash', () => {
    expect(indicatorText({ kind: 'count', value: 12 }, '户')).toBe('12 户');
    expect(indicatorText({ kind: 'rate', numerator: 2, denominator: 3, value: 66.6667 }, '%')).toBe('66.7 %');
    expect(indicatorText({ kind: 'rate', numerator: 0, denominator: 0, value: null }, '%')).toBe('—');
  });

  it('counts days across months and years', () => {
    expect(addDays('2026-11-30', 7)).toBe('2026-12-07');
    expect(addDays('2026-12-28', 7)).toBe('2027-01-04');
    expect(chinaDay(new Date('2026-11-30T16:30:00Z'))).toBe('2026-12-01');
    expect(chinaDay(new Date('2026-11-30T15:59:00Z'))).toBe('2026-11-30');
  });
});

describe('days since the last visit', () => {
  it('says never, today, or how many days ago', () => {
    expect(sinceVisit(null, 'zh-CN')).toBe('尚未走访');
    expect(sinceVisit(0, 'zh-CN')).toBe('今天已走访');
    expect(sinceVisit(12, 'zh-CN')).toBe('12 天前走访');
  });
});

describe('the tablet clock warning', () => {
  it('says how far and which way, roughly', async () => {
    const { clockWarning, roughSpan } = await import('./format');
    expect(clockWarning(null, 'zh-CN')).toBe('');
    expect(roughSpan(56 * 365 * 86400 + 3000, 'zh-CN')).toBe('56年');
    expect(roughSpan(-3 * 86400, 'en')).toBe('3 days');
    expect(roughSpan(3600, 'en')).toBe('1 hour');
    expect(clockWarning(1_766_000_000, 'zh-CN')).toContain('慢约56年');
    expect(roughSpan(2 * 86400 - 20, 'zh-CN')).toBe('2天');
    expect(clockWarning(-365 * 86400, 'zh-CN')).toContain('快约1年');
    expect(clockWarning(-900, 'en')).toContain('about 15 minutes ahead');
  });
});
