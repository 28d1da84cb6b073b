import { describe, expect, it } from 'vitest';
import { type PinKey, complete, press, ROWS } from './pin';

describe('PIN pad', () => {
  it('takes six digits, no more', () => {
    let pin = '';
    for (const k of ['1', '2', '3', '4', '5', '6', '7'] as PinKey[]) pin = press(pin, k);
    expect(pin).toBe('123456');
    expect(complete(pin)).toBe(true);
  });

  it('deletes and clears', () => {
    expect(press('123', 'delete')).toBe('12');
    expect(press('', 'delete')).toBe('');
    expect(press('123', 'clear')).toBe('');
    expect(complete('12345')).toBe(false);
  });

  it('has every digit once, and delete and clear', () => {
    const keys = ROWS.flat();
    expect(keys.filter((k) => /\d/.test(k)).sort()).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(keys).toContain('delete');
    expect(keys).toContain('clear');
  });
});
