import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { en, translate, zh } from './messages';

describe('message catalogue', () => {
  it('has every key in both languages, none empty', () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(zh).sort());
    for (const [k, v] of [...Object.entries(zh), ...Object.entries(en)]) {
      expect(v.trim(), k).not.toBe('');
    }
  });

  it('uses the same {values} in both languages', () => {
    const names = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const k of Object.keys(zh) as (keyof typeof zh)[]) {
      expect(names(en[k]), k).toEqual(names(zh[k]));
    }
  });

  it('names only error codes the Rust side has', () => {
    const generated = readFileSync(new URL('../generated/Code.ts', import.meta.url), 'utf8');
    const codes = new Set([...generated.matchAll(/"([a-z_]+)"/g)].map((m) => m[1]));
    for (const k of Object.keys(zh).filter((k) => k.startsWith('error.') && k !== 'error.unknown')) {
      expect(codes.has(k.slice('error.'.length)), k).toBe(true);
    }
  });

  it('fills values and shows a missing key as itself', () => {
    expect(translate('zh-CN', 'unlock.wrong', { n: 3 })).toBe('PIN码错误，还可尝试 3 次');
    expect(translate('en', 'unlock.wrong', { n: 3 })).toBe('Wrong PIN: 3 attempts left');
    expect(translate('en', 'no.such.key')).toBe('no.such.key');
  });

  it('keeps zh-CN text in Chinese (no English left untranslated)', () => {
    const latinOnly = Object.entries(zh).filter(
      ([k, v]) => !k.startsWith('lang.') && k !== 'today.date' && !/[\u4e00-\u9fff]/.test(v),
    );
    expect(latinOnly).toEqual([]);
  });
});
