import { beforeAll, describe, expect, it } from 'vitest';
import type { ServiceCard } from '../generated/ServiceCard';
import { ServiceIndex, acceptProblem, feeText } from './services';
import { loadPinyin } from './search';

const card = (code: string, category: string, zh: string, en: string, extra: Partial<ServiceCard> = {}): ServiceCard => ({
  code, category, name: { zh, en }, modes: ['carry_back'], materials: [], fees: [], waivers: [], fee_note: null,
  typical: { days: 15, working: true }, statutory: null, needs_biometrics: false, door_delivery_ok: true, note: null, ...extra,
});

const catalog = [
  card('HZ01', 'HZ', '居民身份证首次申领', 'First-time resident ID card'),
  card('HZ02', 'HZ', '居民身份证有效期满换领', 'ID renewal on expiry'),
  card('CRJ01', 'CRJ', '普通护照申请', 'Ordinary passport'),
  card('JG03', 'JG', '机动车驾驶证换证', 'Driving licence renewal'),
];

describe('service search', () => {
  beforeAll(loadPinyin);
  const index = new ServiceIndex(catalog);

  it('finds by a Chinese name fragment, within a category or across all', () => {
    expect(index.filter('身份证', null).map((s) => s.code)).toEqual(['HZ01', 'HZ02']);
    expect(index.filter('护照', 'HZ')).toEqual([]);
    expect(index.filter('', 'CRJ').map((s) => s.code)).toEqual(['CRJ01']);
  });

  it('finds by code, case as typed', () => {
    expect(index.filter('hz0', null).map((s) => s.code)).toEqual(['HZ01', 'HZ02']);
    expect(index.filter('CRJ01', null).map((s) => s.code)).toEqual(['CRJ01']);
  });

  it('finds by the pinyin initials of any part of the name', () => {
    expect(index.filter('sfz', null).map((s) => s.code)).toEqual(['HZ01', 'HZ02']);
    // hz: the code prefix HZ, 护照 (hu zhao) and 换证 (huan zheng).
    expect(index.filter('hz', null).map((s) => s.code)).toEqual(['HZ01', 'HZ02', 'CRJ01', 'JG03']);
    expect(index.filter('jsz', null).map((s) => s.code)).toEqual(['JG03']);
  });
});

describe('fees', () => {
  it('says free, the fee, or the fee with its waiver', () => {
    expect(feeText({ option: null, gross_fen: 0, payable_fen: 0, waiver: null }, 'zh-CN')).toBe('免费');
    expect(feeText({ option: 'std', gross_fen: 2000, payable_fen: 2000, waiver: null }, 'zh-CN')).toBe('¥20.00');
    expect(feeText({ option: 'std', gross_fen: 2000, payable_fen: 0, waiver: { group: 'dibao', payable_percent: 0 } }, 'zh-CN'))
      .toBe('¥20.00，低保减免后 免费');
    expect(feeText({ option: 'std', gross_fen: 2000, payable_fen: 1000, waiver: { group: 'hardship', payable_percent: 50 } }, 'en'))
      .toBe('¥20.00; after the Hardship waiver ¥10.00');
  });
});

describe('accepting', () => {
  const s = card('HZ01', 'HZ', '居民身份证首次申领', 'First-time ID', {
    modes: ['carry_back', 'appointment'],
    materials: [
      { code: 'hukou_book', name: { zh: '户口簿', en: 'Household register' }, condition: null },
      { code: 'guardian', name: { zh: '监护人到场', en: 'Guardian present' }, condition: { zh: '未满16周岁', en: 'under 16' } },
    ],
    fees: [{ code: 'std', name: { zh: '工本费', en: 'Fee' }, fen: 2000 }],
  });
  const ok = { applicant: 'P1', mode: 'carry_back' as const, materials: ['hukou_book'], feeOption: null };

  it('needs the applicant, an allowed mode and every unconditional material', () => {
    expect(acceptProblem(s, ok)).toBeNull();
    expect(acceptProblem(s, { ...ok, applicant: ' ' })).toBe('service.need_applicant');
    expect(acceptProblem(s, { ...ok, mode: 'on_site' })).toBe('service.need_mode');
    expect(acceptProblem(s, { ...ok, materials: ['guardian'] })).toBe('service.need_materials');
  });

  it('needs a fee item only when there are several', () => {
    const two = { ...s, fees: [...s.fees, { code: 'fast', name: { zh: '加急', en: 'Express' }, fen: 4000 }] };
    expect(acceptProblem(two, ok)).toBe('service.need_fee_option');
    expect(acceptProblem(two, { ...ok, feeOption: 'fast' })).toBeNull();
  });
});
