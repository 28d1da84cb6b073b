// The app's commands, typed with the types generated from Rust (ui/src/generated).
import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import type { EnrollCheckResponse } from '../generated/EnrollCheckResponse';
import type { FirstRunInput } from '../generated/FirstRunInput';
import type { SyncEvent } from '../generated/SyncEvent';
import type { SyncStatus } from '../generated/SyncStatus';
import type { SyncSummary } from '../generated/SyncSummary';
import type { TabletStatus } from '../generated/TabletStatus';
import type { Today } from '../generated/Today';
import type { HazardInput } from '../generated/HazardInput';
import type { PublicityInput } from '../generated/PublicityInput';
import type { TotalsScreen } from '../generated/TotalsScreen';
import type { AuditEntry } from '../generated/AuditEntry';
import type { DraftSummary } from '../generated/DraftSummary';
import type { GpsFix } from '../generated/GpsFix';
import type { HouseholdHit } from '../generated/HouseholdHit';
import type { AcceptInput } from '../generated/AcceptInput';
import type { AdvanceInput } from '../generated/AdvanceInput';
import type { FeeQuote } from '../generated/FeeQuote';
import type { QuoteInput } from '../generated/QuoteInput';
import type { ClueInput } from '../generated/ClueInput';
import type { IdCheck } from '../generated/IdCheck';
import type { JudicialInput } from '../generated/JudicialInput';
import type { MediationEdit } from '../generated/MediationEdit';
import type { MediationScreen } from '../generated/MediationScreen';
import type { ProposalInput } from '../generated/ProposalInput';
import type { RecurrenceInput } from '../generated/RecurrenceInput';
import type { OpenMediation } from '../generated/OpenMediation';
import type { Outcome } from '../generated/Outcome';
import type { SignatureInput } from '../generated/SignatureInput';
import type { RatingInput } from '../generated/RatingInput';
import type { RequestScreen } from '../generated/RequestScreen';
import type { ServiceCard } from '../generated/ServiceCard';
import type { ServiceRequest } from '../generated/ServiceRequest';
import type { EnterpriseScreen } from '../generated/EnterpriseScreen';
import type { HouseholdScreen } from '../generated/HouseholdScreen';
import type { ProofVerdict } from '../generated/ProofVerdict';
import type { Reveal } from '../generated/Reveal';
import type { StoredVisit } from '../generated/StoredVisit';
import type { VillageScreen } from '../generated/VillageScreen';
import type { VisitDraft } from '../generated/VisitDraft';
import type { VisitInput } from '../generated/VisitInput';
import type { VisitTarget } from '../generated/VisitTarget';

export const api = {
  status: () => invoke<TabletStatus>('status'),
  checkEnrollment: (serverUrl: string, code: string, serverPin: string | null) =>
    invoke<EnrollCheckResponse>('check_enrollment', { serverUrl, code, serverPin }),
  firstRun: (input: FirstRunInput) => invoke<TabletStatus>('first_run', { input }),
  unlock: (pin: string) => invoke<TabletStatus>('unlock', { pin }),
  lock: () => invoke<void>('lock'),
  today: () => invoke<Today>('today'),
  village: (code: string, household: string | null = null) => invoke<VillageScreen>('village', { code, household }),
  household: (id: string) => invoke<HouseholdScreen>('household', { id }),
  enterprise: (code: string) => invoke<EnterpriseScreen>('enterprise', { code }),
  services: () => invoke<ServiceCard[]>('services'),
  quote: (input: QuoteInput) => invoke<FeeQuote>('quote', { input }),
  acceptService: (input: AcceptInput) => invoke<ServiceRequest>('accept_service', { input }),
  request: (id: string) => invoke<RequestScreen>('request', { id }),
  rate: (input: RatingInput) => invoke<void>('rate', { input }),
  openMediation: (input: OpenMediation) => invoke<MediationScreen>('open_mediation', { input }),
  mediation: (id: string) => invoke<MediationScreen>('mediation', { id }),
  editMediation: (id: string, edit: MediationEdit) => invoke<MediationScreen>('edit_mediation', { id, edit }),
  signMediation: (id: string, input: SignatureInput) => invoke<MediationScreen>('sign_mediation', { id, input }),
  finalizeMediation: (id: string, outcome: Outcome) => invoke<MediationScreen>('finalize_mediation', { id, outcome }),
  endMediation: (id: string, outcome: Outcome) => invoke<MediationScreen>('end_mediation', { id, outcome }),
  recordPerformance: (id: string, performed: boolean, note: string) =>
    invoke<MediationScreen>('record_performance', { id, performed, note }),
  recordJudicialConfirmation: (input: JudicialInput) => invoke<MediationScreen>('record_judicial_confirmation', { input }),
  recordRecurrence: (input: RecurrenceInput) => invoke<MediationScreen>('record_recurrence', { input }),
  proposeCorrection: (input: ProposalInput) => invoke<void>('propose_correction', { input }),
  reportClue: (input: ClueInput) => invoke<void>('report_clue', { input }),
  checkId: (number: string) => invoke<IdCheck>('check_id', { number }),
  /** An image the tablet holds, by its SHA-256 (raw bytes). */
  blob: async (sha256: string) => new Uint8Array(await invoke<ArrayBuffer>('blob', { sha256 })),
  /** The printed agreement (PDF) of a finalized mediation. */
  agreementDocument: async (id: string) => new Uint8Array(await invoke<ArrayBuffer>('agreement_document', { id })),
  advanceService: (input: AdvanceInput) => invoke<ServiceRequest>('advance_service', { input }),
  deliverService: (id: string, png: Uint8Array) =>
    invoke<ServiceRequest>('deliver_service', { input: { id, signature_png: Array.from(png) } }),
  reveal: (household: string, person: string, what: Reveal) => invoke<string>('reveal', { household, person, what }),
  accessLog: () => invoke<AuditEntry[]>('access_log'),
  search: (query: string, village: string | null) => invoke<HouseholdHit[]>('search', { query, village }),
  drafts: () => invoke<DraftSummary[]>('drafts'),
  startVisit: (target: VisitTarget) => invoke<VisitDraft>('start_visit', { target }),
  saveVisitDraft: (draft: VisitDraft) => invoke<VisitDraft>('save_visit_draft', { draft }),
  visitDraft: (id: string) => invoke<VisitDraft>('visit_draft', { id }),
  visitVerdict: (draft: VisitDraft) => invoke<ProofVerdict>('visit_verdict', { draft }),
  recordVisit: (input: VisitInput) => invoke<StoredVisit>('record_visit', { input }),
  discardDraft: (id: string) => invoke<void>('discard_draft', { id }),
  totals: () => invoke<TotalsScreen>('totals'),
  logPublicity: (input: PublicityInput) => invoke<unknown>('log_publicity', { input }),
  logHazard: (input: HazardInput) => invoke<unknown>('log_hazard', { input }),
  changePin: (oldPin: string, newPin: string) => invoke<void>('change_pin', { oldPin, newPin }),
  locate: () => invoke<GpsFix>('locate'),
  syncStatus: () => invoke<SyncStatus>('sync_status'),
  syncNow: () => invoke<SyncSummary>('sync_now'),
  syncSoon: () => invoke<void>('sync_soon'),
  onSync: (f: (e: SyncEvent) => void): Promise<UnlistenFn> => listen<SyncEvent>('sync', (e) => f(e.payload)),
};
