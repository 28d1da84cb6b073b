import { describe, expect, it } from 'vitest';
import type { Problem } from '../generated/Problem';
import { asProblem, problemText } from './errors';

const problem = (p: Partial<Problem>): Problem => ({
  code: 'invalid', message: '', field: null, issues: [], reasons: [], attempts_left: null, until: null, ...p,
});

describe('problem text', () => {
  it('says how many PINs are left and how long a lockout lasts', () => {
    expect(problemText(problem({ code: 'pin_wrong', attempts_left: 2 }), 'zh-CN')).toBe('PIN码错误，还可尝试 2 次');
    const now = new Date('2026-11-30T02:00:00Z');
    const p = problem({ code: 'pin_locked_out', until: '2026-11-30T02:04:30Z' });
    expect(problemText(p, 'zh-CN', now)).toBe('错误次数过多，请在 4分30秒 后重试');
    expect(problemText(p, 'en', now)).toBe('Too many wrong PINs: try again in 4 min 30 s');
  });

  it('translates a known code and names an unknown one', () => {
    expect(problemText(problem({ code: 'link' }), 'zh-CN')).toBe('无法连接服务器（无信号或地址错误）');
    expect(problemText(problem({ code: 'seq_gap' }), 'en')).toBe('Something went wrong (seq_gap)');
  });

  it('takes anything thrown as a problem', () => {
    expect(asProblem('boom').code).toBe('internal');
    expect(asProblem(problem({ code: 'link' })).code).toBe('link');
  });
});
