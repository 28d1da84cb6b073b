import { describe, expect, it } from 'vitest';
import { type PinKey, complete, longEnough, press, ROWS, savedKind, saveKind } from './pin';

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

  it('takes a longer passcode of 8 to 12 digits, entered with OK', () => {
    let pin = '';
    for (let i = 0; i < 14; i++) pin = press(pin, String(i % 10) as PinKey, 'long');
    expect(pin).toBe('012345678901');
    expect(longEnough(pin)).toBe(true);
    expect(longEnough(pin.slice(0, 8))).toBe(true);
    expect(longEnough(pin.slice(0, 7))).toBe(false);
    expect(complete(pin.slice(0, 6))).toBe(true); // a six-digit pad would have entered it here
  });

  it('remembers the kind of PIN, never its length', () => {
    const store = new Map<string, string>();
    const fake = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
    const before = globalThis.localStorage;
    Object.defineProperty(globalThis, 'localStorage', { value: fake, configurable: true });
    try {
      expect(savedKind()).toBe('six');
      saveKind('long');
      expect(savedKind()).toBe('long');
      expect([...store.values()]).toEqual(['long']);
    } finally {
      Object.defineProperty(globalThis, 'localStorage', { value: before, configurable: true });
    }
  });
});
