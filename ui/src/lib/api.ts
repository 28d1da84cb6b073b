// The app's commands, typed with the types generated from Rust (ui/src/generated).
import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import type { EnrollCheckResponse } from '../generated/EnrollCheckResponse';
import type { FirstRunInput } from '../generated/FirstRunInput';
import type { Progress } from '../generated/Progress';
import type { SyncStatus } from '../generated/SyncStatus';
import type { SyncSummary } from '../generated/SyncSummary';
import type { TabletStatus } from '../generated/TabletStatus';
import type { Today } from '../generated/Today';

export const api = {
  status: () => invoke<TabletStatus>('status'),
  checkEnrollment: (serverUrl: string, code: string) =>
    invoke<EnrollCheckResponse>('check_enrollment', { serverUrl, code }),
  firstRun: (input: FirstRunInput) => invoke<TabletStatus>('first_run', { input }),
  unlock: (pin: string) => invoke<TabletStatus>('unlock', { pin }),
  lock: () => invoke<void>('lock'),
  today: () => invoke<Today>('today'),
  syncStatus: () => invoke<SyncStatus>('sync_status'),
  syncNow: () => invoke<SyncSummary>('sync_now'),
  onSyncProgress: (f: (p: Progress) => void): Promise<UnlistenFn> =>
    listen<Progress>('sync-progress', (e) => f(e.payload)),
};
