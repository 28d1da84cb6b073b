// Finding a household in a village's list as the officer types: a member's name or its beginning
// (a surname), the pinyin initials of a name (张三丰 → zsf), a fragment of the address. The ID
// tail (4 or 6 digits, X last) is searched by the store, which keeps full ID numbers.
// pinyin-pro (its dictionary is most of the app's script) is loaded the first time it is needed,
// not at start.
import type { MapHousehold } from '../generated/MapHousehold';

let pinyin: typeof import('pinyin-pro').pinyin | null = null;

/** Load the pinyin dictionary (once); `initials` needs it. */
export async function loadPinyin(): Promise<void> {
  pinyin ??= (await import('pinyin-pro')).pinyin;
}

/** Whether `loadPinyin` has finished. */
export function pinyinLoaded(): boolean {
  return pinyin !== null;
}

/** The pinyin initials of a Chinese name, lower case (`张三丰` → `zsf`); other characters as typed. */
export function initials(name: string): string {
  if (pinyin === null) throw new Error('loadPinyin() first');
  return pinyin(name, { pattern: 'first', toneType: 'none', type: 'array' }).join('').toLowerCase();
}

/** True when the query is typed in Latin letters (pinyin initials). */
export function isLatin(q: string): boolean {
  return /^[a-zA-Z]+$/.test(q.trim());
}

/** True when the query is an ID-number tail: 4 or 6 digits, the last may be X. */
export function isIdTail(q: string): boolean {
  return /^(\d{4}|\d{6}|\d{3}[xX]|\d{5}[xX])$/.test(q.trim());
}

/**
 * A village's households with what they are searched by. The pinyin initials of every member
 * (1,500 names in a 500-household village) are worked out the first time a Latin query is typed,
 * not when the village opens: most searches are by a Chinese name or an address.
 */
export class HouseholdIndex {
  #initials: string[][] | null = null;
  constructor(readonly households: MapHousehold[]) {}

  /** Whether the initials have been worked out yet. */
  get indexed(): boolean {
    return this.#initials !== null;
  }

  #ini(): string[][] {
    this.#initials ??= this.households.map((h) => h.members.map(initials));
    return this.#initials;
  }

  /**
   * The households matching `query` (every one when it is blank), in list order. Initials are
   * matched once the pinyin dictionary is loaded (`loadPinyin`).
   */
  filter(query: string): MapHousehold[] {
    const q = query.trim();
    if (q === '') return this.households;
    const latin = isLatin(q) ? q.toLowerCase() : null;
    const ini = latin === null || !pinyinLoaded() ? null : this.#ini();
    return this.households.filter((h, i) =>
      h.members.some((n) => n.startsWith(q)) ||
      (ini !== null && latin !== null && ini[i].some((x) => x.startsWith(latin))) ||
      (q.length >= 2 && h.address.includes(q)));
  }
}
