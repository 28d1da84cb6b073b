import { describe, expect, it } from 'vitest';
import type { IdCheck } from '../generated/IdCheck';
import { blockText, issueText, needsGuardian, partyProblem, phoneOk, type PartyForm } from './mediation';

describe('why a case may not be mediated', () => {
  it('names the excluded case type and the party who has not consented', () => {
    expect(blockText({ code: 'excluded_case_type', detail: 'gang_fight' }, 'zh-CN')).toBe('“结伙斗殴”不适用治安调解');
    expect(blockText({ code: 'consent_missing', detail: 1 }, 'zh-CN')).toBe('第2方当事人未同意调解');
    expect(blockText({ code: 'repeated_violations' }, 'en')).toBe('Repeated violations cannot be mediated');
  });
});

describe('what an agreement lacks', () => {
  const parties = ['王建国', '李小梅'];
  const mediators = ['赵德明'];
  const text = (field: string, code = 'required') =>
    issueText({ field, code: code as never, detail: '' }, 'zh-CN', parties, mediators, [null, '李建军']);

  it('names the section, the person and the part', () => {
    expect(text('authority')).toBe('调解组织');
    expect(text('parties[1].guardian', 'guardian_required')).toBe('当事人 李小梅·监护人（未满16周岁的当事人须有监护人到场）');
    expect(text('performance.deadline', 'invalid')).toBe('履行·期限（输入有误）');
    expect(text('signatures.mediator[0]', 'signature_required')).toBe('签名：调解人员 赵德明');
    expect(text('signatures.guardian[1]', 'signature_required')).toBe('签名：监护人 李建军');
    expect(text('mediators', 'host_officer_required')).toBe('调解人员（治安调解须由民警主持）');
  });
});

describe('a new party', () => {
  const adult: IdCheck = { number: '370406195803120011', birth: '1958-03-12', age: 68, guardian: 'no' };
  const child: IdCheck = { number: '370402201206110125', birth: '2012-06-11', age: 14, guardian: 'required' };
  const teen: IdCheck = { number: '370402200906110125', birth: '2009-06-11', age: 17, guardian: 'unless_self_supporting' };
  const form: PartyForm = {
    role: 'victim', name: '王建国', idNumber: adult.number, address: '西集镇王庄村3组12号', phone: '13812345678',
    selfSupporting: false, guardianName: '', guardianRelation: '', guardianPhone: '',
  };

  it('needs a role, name, valid ID, address and phone', () => {
    expect(partyProblem(form, adult)).toBeNull();
    expect(partyProblem({ ...form, role: null }, adult)).toBe('mediation.party.need_role');
    expect(partyProblem(form, null)).toBe('mediation.party.need_id');
    expect(partyProblem({ ...form, phone: '1381234' }, adult)).toBe('mediation.party.need_phone');
    expect(phoneOk('0632-8812345')).toBe(true);
  });

  it('needs a guardian under 16, and from 16 to 17 unless self-supporting', () => {
    expect(needsGuardian(form, child)).toBe(true);
    expect(partyProblem(form, child)).toBe('mediation.party.need_guardian');
    const withGuardian = { ...form, guardianName: '李建军', guardianRelation: '父亲', guardianPhone: '13912345678' };
    expect(partyProblem(withGuardian, child)).toBeNull();
    expect(needsGuardian(form, teen)).toBe(true);
    expect(needsGuardian({ ...form, selfSupporting: true }, teen)).toBe(false);
  });
});
