// The services screen's logic: the 38 services searched as the officer types (a Chinese name
// fragment, a code such as hz01, or the pinyin initials of the name: sfz → 身份证), the fee as the
// resident will pay it, and what stops an acceptance before it is sent.
import type { FeeQuote } from '../generated/FeeQuote';
import type { Mode } from '../generated/Mode';
import type { ServiceCard } from '../generated/ServiceCard';
import { yuan } from './format';
import { translate, type Lang, type MessageKey } from './messages';
import { initials, isLatin, pinyinLoaded } from './search';

/** The five categories in catalog order. */
export const CATEGORIES = ['HZ', 'CRJ', 'JG', 'ZA', 'WA'] as const;

/**
 * The catalog with what it is searched by. The names' pinyin initials are worked out on the
 * first Latin query once the dictionary is loaded (`loadPinyin`).
 */
export class ServiceIndex {
  #initials: string[] | null = null;
  constructor(readonly services: ServiceCard[]) {}

  /** The services of `category` (all when `null`) matching `query`, in catalog order. */
  filter(query: string, category: string | null): ServiceCard[] {
    const q = query.trim();
    const inCategory = category === null ? this.services : this.services.filter((s) => s.category === category);
    if (q === '') return inCategory;
    const latin = /^[a-zA-Z]+\d*$/.test(q) ? q.toLowerCase() : null;
    const ini = latin !== null && isLatin(q) && pinyinLoaded()
      ? (this.#initials ??= this.services.map((s) => initials(s.name.zh))) : null;
    return inCategory.filter((s) => {
      if (s.name.zh.includes(q) || s.name.en.toLowerCase().includes(q.toLowerCase())) return true;
      if (latin === null) return false;
      if (s.code.toLowerCase().startsWith(latin)) return true;
      return ini !== null && ini[this.services.indexOf(s)].includes(latin);
    });
  }
}

/** The fee as the resident pays it: free, the fee, or the fee with the waiver that applies. */
export function feeText(q: FeeQuote, lang: Lang): string {
  if (q.gross_fen === 0) return translate(lang, 'service.free');
  if (q.waiver === null) return yuan(q.payable_fen, lang);
  const group = translate(lang, `group.${q.waiver.group}`);
  return translate(lang, 'service.fee_waived', { gross: yuan(q.gross_fen, lang), group, pay: yuan(q.payable_fen, lang) });
}

/** What the officer fills in to accept a request. */
export interface AcceptForm {
  applicant: string;
  mode: Mode | null;
  materials: string[];
  feeOption: string | null;
}

/** Why the form cannot be sent yet (a message key), or null. */
export function acceptProblem(s: ServiceCard, f: AcceptForm): MessageKey | null {
  if (f.applicant.trim() === '') return 'service.need_applicant';
  if (f.mode === null || !s.modes.includes(f.mode)) return 'service.need_mode';
  if (s.materials.some((m) => m.condition === null && !f.materials.includes(m.code))) return 'service.need_materials';
  if (s.fees.length > 1 && (f.feeOption === null || !s.fees.some((o) => o.code === f.feeOption))) return 'service.need_fee_option';
  return null;
}
