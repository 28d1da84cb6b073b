// Auto-lock: after the chosen idle time (default 5 minutes) and when the app goes to the
// background. The choice is kept across restarts.

const KEY = 'beibao.lockMinutes';
export const LOCK_CHOICES = [1, 2, 5, 10, 15];

function initial(): number {
  const saved = Number(globalThis.localStorage?.getItem(KEY));
  return LOCK_CHOICES.includes(saved) ? saved : 5;
}

export const lockMinutes = $state({ value: initial() });

export function setLockMinutes(n: number): void {
  lockMinutes.value = n;
  globalThis.localStorage?.setItem(KEY, String(n));
}

/**
 * Call `lock` after `ms()` without a touch or a key, or at once when the page is hidden. Returns
 * the function that stops watching.
 */
export function watchIdle(ms: () => number, lock: () => void): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(lock, ms());
  };
  const hidden = () => { if (document.visibilityState === 'hidden') lock(); };
  const events = ['pointerdown', 'keydown', 'wheel', 'touchstart'] as const;
  events.forEach((e) => window.addEventListener(e, arm, { passive: true }));
  document.addEventListener('visibilitychange', hidden);
  arm();
  return () => {
    clearTimeout(timer);
    events.forEach((e) => window.removeEventListener(e, arm));
    document.removeEventListener('visibilitychange', hidden);
  };
}
