// What the background syncer last said, for every screen: a pass under way with its progress,
// the last pass's summary or failure. Fed by the shell's `sync` events (`onSyncEvent`), whoever
// asked for the pass: unlock, the interval, the network coming back, or "sync now".
import type { Code } from '../generated/Code';
import type { Progress } from '../generated/Progress';
import type { SyncEvent } from '../generated/SyncEvent';
import type { SyncSummary } from '../generated/SyncSummary';

export interface SyncState {
  running: boolean;
  progress: Progress | null;
  /** Records and blobs waiting when the pass started (for the progress bar). */
  startItems: number;
  /** The last finished pass's summary, or its failure. */
  done: SyncSummary | null;
  failed: { code: Code; message: string } | null;
  /** Finished passes so far: screens showing what waits reload when it changes. */
  passes: number;
}

export const syncState: SyncState = $state({
  running: false, progress: null, startItems: 0, done: null, failed: null, passes: 0,
});

const items = (p: Progress) => p.left.ops + p.left.blobs;

export function onSyncEvent(e: SyncEvent, s: SyncState = syncState): void {
  switch (e.event) {
    case 'progress':
      // What waited at the pass's start, or more if the backlog grew while it ran.
      if (!s.running) Object.assign(s, { running: true, startItems: 1 });
      s.startItems = Math.max(s.startItems, items(e.progress));
      s.progress = e.progress;
      break;
    case 'done':
      Object.assign(s, { running: false, progress: null, done: e.summary, failed: null, passes: s.passes + 1 });
      break;
    case 'failed':
      Object.assign(s, { running: false, progress: null, done: null, failed: { code: e.code, message: e.message }, passes: s.passes + 1 });
      break;
    case 'stopped':
      Object.assign(s, { running: false, progress: null });
      break;
  }
}

/** How far the pass under way is, 0 to 1. */
export function fraction(s: SyncState = syncState): number {
  return s.progress ? Math.min(1, Math.max(0, 1 - items(s.progress) / s.startItems)) : 0;
}
