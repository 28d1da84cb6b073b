// A failed call in the reader's words, by its code (never by its message).
import { t } from '../lib/i18n.svelte';
import { zh } from '../lib/messages';
import { ApiFailure } from './http';

export function failureText(f: ApiFailure): string {
  const key = `error.${f.code}`;
  if (key in zh) return t(key);
  return t('error.unknown', { code: f.code });
}

/** A failure in words; a 401 (the session is over) is also handed to `ended`. */
export function failed(e: unknown, ended: (f: ApiFailure) => void): string {
  const f = e instanceof ApiFailure ? e : new ApiFailure(0, 'internal', String(e));
  if (f.status === 401) ended(f);
  return failureText(f);
}
