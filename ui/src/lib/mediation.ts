// The mediation screens' logic: why a case may not be mediated, what an agreement still lacks (the
// issues the store reports, in the officer's words), the new-party form's checks, and who signs.
import type { BlockReason } from '../generated/BlockReason';
import type { FieldIssue } from '../generated/FieldIssue';
import type { IdCheck } from '../generated/IdCheck';
import type { PartyRole } from '../generated/PartyRole';
import type { Signer } from '../generated/Signer';
import { translate, zh, type Lang, type MessageKey } from './messages';

/** One reason a case may not be mediated, in plain words. */
export function blockText(r: BlockReason, lang: Lang): string {
  switch (r.code) {
    case 'excluded_case_type': return translate(lang, 'block.excluded_case_type', { type: translate(lang, `case_type.${r.detail}`) });
    case 'consent_missing': return translate(lang, 'block.consent_missing', { n: r.detail + 1 });
    default: return translate(lang, `block.${r.code}`);
  }
}

const SUB: Record<string, string> = { party: 'field.sub.party', guardian: 'field.sub.guardian_sign', mediator: 'field.sub.mediator' };

/**
 * What an agreement lacks, from the store's field path (`parties[1].guardian`,
 * `signatures.mediator[0]`, `performance.deadline`): the section, the person by name where there
 * is one, and the part; the code's own words when it is more than "required".
 */
export function issueText(issue: FieldIssue, lang: Lang, parties: string[], mediators: string[], guardians: (string | null)[] = []): string {
  const m = /^([a-z_]+)(?:\[(\d+)\])?(?:\.([a-z_]+)(?:\[(\d+)\])?)?$/.exec(issue.field);
  let label = issue.field;
  if (m) {
    const [, section, i, sub, j] = m;
    const base = `field.${section}` in zh ? translate(lang, `field.${section}`) : section;
    if (section === 'signatures' && sub) {
      const who = Number(j);
      const name = sub === 'mediator' ? mediators[who] : sub === 'guardian' ? (guardians[who] ?? parties[who]) : parties[who];
      label = `${base}：${translate(lang, SUB[sub] ?? 'field.sub.party')} ${name ?? who + 1}`;
    } else {
      const who = i === undefined ? '' : ` ${(section === 'mediators' ? mediators : parties)[Number(i)] ?? Number(i) + 1}`;
      const part = sub && `field.sub.${sub}` in zh ? `·${translate(lang, `field.sub.${sub}`)}` : '';
      label = `${base}${who}${part}`;
    }
  }
  const why = issue.code !== 'required' && issue.code !== 'signature_required' && `error.${issue.code}` in zh
    ? `（${translate(lang, `error.${issue.code}`)}）` : '';
  return label + why;
}

/** The new-party form. */
export interface PartyForm {
  role: PartyRole | null;
  name: string;
  idNumber: string;
  address: string;
  phone: string;
  selfSupporting: boolean;
  guardianName: string;
  guardianRelation: string;
  guardianPhone: string;
}

/** Whether the party, as the ID check reads them, needs a guardian present. */
export function needsGuardian(f: PartyForm, id: IdCheck | null): boolean {
  if (!id) return false;
  return id.guardian === 'required' || (id.guardian === 'unless_self_supporting' && !f.selfSupporting);
}

const MOBILE = /^1[3-9]\d{9}$/;
const LANDLINE = /^0\d{2,3}-?\d{7,8}$/;

/** A phone as typed: a mobile (11 digits) or a landline with its area code. */
export function phoneOk(p: string): boolean {
  const s = p.replace(/\s/g, '');
  return MOBILE.test(s) || LANDLINE.test(s);
}

/** Why the new party cannot be added yet (a message key), or null. `id` is the ID number's check. */
export function partyProblem(f: PartyForm, id: IdCheck | null): MessageKey | null {
  if (f.role === null) return 'mediation.party.need_role';
  if (f.name.trim() === '') return 'mediation.party.need_name';
  if (!id) return 'mediation.party.need_id';
  if (f.address.trim() === '') return 'mediation.party.need_address';
  if (!phoneOk(f.phone)) return 'mediation.party.need_phone';
  if (needsGuardian(f, id) && (f.guardianName.trim() === '' || f.guardianRelation.trim() === '' || !phoneOk(f.guardianPhone))) {
    return 'mediation.party.need_guardian';
  }
  return null;
}

/** Who a signature line is for: 当事人 王建国, 监护人 李某, 调解人员 赵德明. */
export function signerRole(s: Signer): MessageKey {
  return s.kind === 'party' ? 'mediation.signer.party' : s.kind === 'guardian' ? 'mediation.signer.guardian' : 'mediation.signer.mediator';
}

/** A stable key for a signer (`party-0`, `guardian-0`, `mediator-0`). */
export function signerKey(s: Signer): string {
  return `${s.kind}-${s.index}`;
}
