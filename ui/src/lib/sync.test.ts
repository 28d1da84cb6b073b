import { describe, expect, it } from 'vitest';
import type { Progress } from '../generated/Progress';
import { fraction, onSyncEvent, type SyncState } from './sync.svelte';

const fresh = (): SyncState => ({ running: false, progress: null, startItems: 0, done: null, failed: null, passes: 0 });
const progress = (ops: number): Progress => ({ phase: 'pushing', left: { ops, op_bytes: ops * 100, blobs: 0, blob_bytes: 0 } });
const summary = { applied: 4, duplicates: 0, rejected: 0, blobs: 0, pulled: 2, retries: 0 };

describe('sync state from the syncer\'s events', () => {
  it('follows a pass from its first progress to its summary', () => {
    const s = fresh();
    onSyncEvent({ event: 'progress', progress: progress(4) }, s);
    expect(s.running).toBe(true);
    expect(fraction(s)).toBe(0);
    onSyncEvent({ event: 'progress', progress: progress(1) }, s);
    expect(fraction(s)).toBe(0.75);
    onSyncEvent({ event: 'done', summary }, s);
    expect(s).toMatchObject({ running: false, progress: null, done: summary, failed: null, passes: 1 });
    expect(fraction(s)).toBe(0);
  });

  it('keeps a failure until a later pass succeeds', () => {
    const s = fresh();
    onSyncEvent({ event: 'failed', code: 'link', message: 'no route' }, s);
    expect(s.failed?.code).toBe('link');
    expect(s.passes).toBe(1);
    onSyncEvent({ event: 'stopped' }, s);
    expect(s.failed?.code).toBe('link');
    onSyncEvent({ event: 'done', summary }, s);
    expect(s.failed).toBeNull();
  });

  it('never reports more than done when the backlog grows during a pass', () => {
    const s = fresh();
    onSyncEvent({ event: 'progress', progress: progress(2) }, s);
    onSyncEvent({ event: 'progress', progress: progress(5) }, s);
    expect(fraction(s)).toBe(0);
    onSyncEvent({ event: 'progress', progress: progress(0) }, s);
    expect(fraction(s)).toBe(1);
  });
});
