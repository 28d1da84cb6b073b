// The PIN pad's logic: what a key press does to the PIN typed so far, for the two kinds of PIN an
// officer may choose: six digits (entered as the sixth is typed), or a longer passcode of 8–12
// digits (entered with OK, so the pad never shows how long it is). The store takes 6–12 digits
// (beibao-store `key.rs`); a longer one costs a finder of the tablet 100 to a million times more
// guesses (docs/security.md).

/** A PIN is 6 digits. */
export const PIN_LENGTH = 6;
/** A longer passcode: at least this many digits… */
export const LONG_MIN = 8;
/** …and at most this many. */
export const LONG_MAX = 12;

/** Six digits, or a longer passcode. */
export type PinKind = 'six' | 'long';

export type PinKey = '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | '8' | '9' | 'delete' | 'clear';

/** The most digits a PIN of this kind takes. */
export function maxDigits(kind: PinKind): number {
  return kind === 'long' ? LONG_MAX : PIN_LENGTH;
}

/** The PIN after a key press: a digit is added up to the kind's most, delete takes the last one off. */
export function press(pin: string, key: PinKey, kind: PinKind = 'six'): string {
  if (key === 'delete') return pin.slice(0, -1);
  if (key === 'clear') return '';
  if (pin.length >= maxDigits(kind)) return pin;
  return pin + key;
}

/** Whether a six-digit PIN is in (the pad enters it by itself). */
export function complete(pin: string): boolean {
  return pin.length === PIN_LENGTH && /^\d+$/.test(pin);
}

/** Whether a longer passcode may be entered with OK. */
export function longEnough(pin: string): boolean {
  return pin.length >= LONG_MIN && pin.length <= LONG_MAX && /^\d+$/.test(pin);
}

const KIND_KEY = 'beibao.pin.kind';

/** The kind of PIN this tablet was last set up with (six unless a longer one was chosen here). */
export function savedKind(): PinKind {
  return globalThis.localStorage?.getItem(KIND_KEY) === 'long' ? 'long' : 'six';
}

/** Remember the kind of PIN just set (only the kind: the length of a long one is never kept). */
export function saveKind(kind: PinKind): void {
  globalThis.localStorage?.setItem(KIND_KEY, kind);
}

/** The pad's keys, in rows, for a thumb: 1–9, then clear, 0, delete. */
export const ROWS: PinKey[][] = [
  ['1', '2', '3'],
  ['4', '5', '6'],
  ['7', '8', '9'],
  ['clear', '0', 'delete'],
];
