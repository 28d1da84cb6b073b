// The language in use (zh-CN unless the officer chose English), kept across restarts.
import { type Lang, LANGS, translate } from './messages';

const KEY = 'beibao.lang';

function initial(): Lang {
  const saved = globalThis.localStorage?.getItem(KEY);
  return LANGS.includes(saved as Lang) ? (saved as Lang) : 'zh-CN';
}

export const i18n = $state({ lang: initial() });

export function setLang(lang: Lang): void {
  i18n.lang = lang;
  globalThis.localStorage?.setItem(KEY, lang);
  document.documentElement.lang = lang;
}

/** The message `key` in the language in use. */
export function t(key: string, values: Record<string, string | number> = {}): string {
  return translate(i18n.lang, key, values);
}
