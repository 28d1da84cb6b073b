// The PIN pad's logic: what a key press does to the PIN typed so far.

/** A PIN is 6 digits. */
export const PIN_LENGTH = 6;

export type PinKey = '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | '8' | '9' | 'delete' | 'clear';

/** The PIN after a key press: a digit is added up to six, delete takes the last one off. */
export function press(pin: string, key: PinKey): string {
  if (key === 'delete') return pin.slice(0, -1);
  if (key === 'clear') return '';
  if (pin.length >= PIN_LENGTH) return pin;
  return pin + key;
}

/** Whether six digits are in. */
export function complete(pin: string): boolean {
  return pin.length === PIN_LENGTH && /^\d+$/.test(pin);
}

/** The pad's keys, in rows, for a thumb: 1–9, then clear, 0, delete. */
export const ROWS: PinKey[][] = [
  ['1', '2', '3'],
  ['4', '5', '6'],
  ['7', '8', '9'],
  ['clear', '0', 'delete'],
];
