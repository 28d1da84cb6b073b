import { describe, expect, it } from 'vitest';
import { bytes, chinaDate, chinaTime, duration, workingDays, yuan } from './format';

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
  });
});
