// Finding a household in a village's list as the officer types: a member's name or its beginning
// (a surname), the pinyin initials of a name (张三丰 → zsf), a fragment of the address. The ID
// tail (4 or 6 digits, X last) is searched by the store, which keeps full ID numbers.
import { pinyin } from 'pinyin-pro';
import type { MapHousehold } from '../generated/MapHousehold';

/** The pinyin initials of a Chinese name, lower case (`张三丰` → `zsf`); other characters as typed. */
export function initials(name: string): string {
  return pinyin(name, { pattern: 'first', toneType: 'none', type: 'array' }).join('').toLowerCase();
}

/** True when the query is an ID-number tail: 4 or 6 digits, the last may be X. */
export function isIdTail(q: string): boolean {
  return /^(\d{4}|\d{6}|\d{3}[xX]|\d{5}[xX])$/.test(q.trim());
}

/** A household with what it is searched by, worked out once per village. */
export interface Searchable {
  household: MapHousehold;
  initials: string[];
}

export function searchable(households: MapHousehold[]): Searchable[] {
  return households.map((household) => ({ household, initials: household.members.map(initials) }));
}

/** The households matching `query` (every one when it is blank), in list order. */
export function filterHouseholds(list: Searchable[], query: string): MapHousehold[] {
  const q = query.trim();
  if (q === '') return list.map((s) => s.household);
  const latin = /^[a-zA-Z]+$/.test(q) ? q.toLowerCase() : null;
  return list
    .filter(({ household: h, initials: ini }) =>
      h.members.some((n) => n.startsWith(q)) ||
      (latin !== null && ini.some((i) => i.startsWith(latin))) ||
      (q.length >= 2 && h.address.includes(q)))
    .map((s) => s.household);
}
