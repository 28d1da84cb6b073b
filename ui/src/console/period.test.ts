import { describe, expect, it } from 'vitest';
import { bounds, isoWeek, periodLabel, periodOf, shift } from './period';

describe('periods', () => {
  it('names the period holding a day as the server reads it', () => {
    expect(periodOf('day', '2026-11-30')).toBe('2026-11-30');
    expect(periodOf('week', '2026-11-30')).toBe('2026-W49');
    expect(periodOf('week', '2026-01-01')).toBe('2026-W01');
    expect(periodOf('week', '2027-01-01')).toBe('2026-W53');
    expect(periodOf('month', '2026-11-30')).toBe('2026-11');
    expect(periodOf('quarter', '2026-11-30')).toBe('2026-Q4');
    expect(periodOf('year', '2026-11-30')).toBe('2026');
    expect(isoWeek('2025-12-29')).toEqual({ year: 2026, week: 1 });
  });

  it('gives the first and last day, as beibao-server does', () => {
    expect(bounds('week', '2026-W48')).toEqual({ from: '2026-11-23', to: '2026-11-29' });
    expect(bounds('week', '2026-W01')).toEqual({ from: '2025-12-29', to: '2026-01-04' });
    expect(bounds('month', '2026-02')).toEqual({ from: '2026-02-01', to: '2026-02-28' });
    expect(bounds('month', '2024-02')).toEqual({ from: '2024-02-01', to: '2024-02-29' });
    expect(bounds('quarter', '2026-Q4')).toEqual({ from: '2026-10-01', to: '2026-12-31' });
    expect(bounds('year', '2026')).toEqual({ from: '2026-01-01', to: '2026-12-31' });
  });

  it('steps back and forth across years', () => {
    expect(shift('month', '2026-01', -1)).toBe('2025-12');
    expect(shift('quarter', '2026-Q1', -1)).toBe('2025-Q4');
    expect(shift('week', '2026-W01', -1)).toBe('2025-W52');
    expect(shift('week', '2026-W53', 1)).toBe('2027-W01');
    expect(shift('day', '2026-12-31', 1)).toBe('2027-01-01');
    expect(shift('year', '2026', -2)).toBe('2024');
  });

  it('reads in Chinese and English', () => {
    expect(periodLabel('month', '2026-11', 'zh-CN')).toBe('2026年11月');
    expect(periodLabel('week', '2026-W09', 'zh-CN')).toBe('2026年第9周');
    expect(periodLabel('quarter', '2026-Q4', 'en')).toBe('Q4 2026');
    expect(periodLabel('month', '2026-11', 'en')).toBe('Nov 2026');
  });
});
