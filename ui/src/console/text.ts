// A failed call in the reader's words, by its code (never by its message).
import { t } from '../lib/i18n.svelte';
import { zh } from '../lib/messages';
import type { ApiFailure } from './http';

export function failureText(f: ApiFailure): string {
  const key = `error.${f.code}`;
  if (key in zh) return t(key);
  return t('error.unknown', { code: f.code });
}
