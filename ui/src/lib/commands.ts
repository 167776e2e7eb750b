// Generated from the #[tauri::command] functions in src-tauri/src/lib.rs by
// tests/workspace/commands.rs. Do not edit: run TINJAU_UPDATE_BINDINGS=1 cargo test -p tinjau-tests --test workspace.
import type { AuditReport } from "../bindings/AuditReport";
import type { ConflictView } from "../bindings/ConflictView";
import type { Document } from "../bindings/Document";
import type { Hosting } from "../bindings/Hosting";
import type { Lock } from "../bindings/Lock";
import type { MergeResult } from "../bindings/MergeResult";
import type { Method } from "../bindings/Method";
import type { ObservationView } from "../bindings/ObservationView";
import type { OriginalsPolicy } from "../bindings/OriginalsPolicy";
import type { Overview } from "../bindings/Overview";
import type { QuarantinedChange } from "../bindings/QuarantinedChange";
import type { Ranking } from "../bindings/Ranking";
import type { ScoreView } from "../bindings/ScoreView";
import type { SheetImportReport } from "../bindings/SheetImportReport";
import type { SyncStatus } from "../bindings/SyncStatus";
import type { Verdict } from "../bindings/Verdict";
import type { VisitChecklist } from "../bindings/VisitChecklist";
import type { VisitProgress } from "../bindings/VisitProgress";
import { call } from "./ipc";

export const commands = {
  overview: (): Promise<Overview> => call<Overview>("overview"),
  // Opens the encrypted data folder with the passphrase the person typed.
  unlock: (passphrase: string): Promise<Overview> => call<Overview>("unlock", { passphrase }),
  // Tries again to open a data folder that did not open (its key was not in the keyring, say,
  // and the person has unlocked the keyring since).
  retryOpen: (): Promise<Overview> => call<Overview>("retry_open"),
  loadDemo: (): Promise<Overview> => call<Overview>("load_demo"),
  // The package file's bytes, read by the UI from the file the juror picked.
  importPackage: (body: Uint8Array, headers?: Record<string, string>): Promise<Overview> => call<Overview>("import_package", body, headers),
  // The lead takes in a juror's sheet file (from a USB stick): raw IPC bytes.
  importSheet: (body: Uint8Array, headers?: Record<string, string>): Promise<SheetImportReport> => call<SheetImportReport>("import_sheet", body, headers),
  leadReopen: (visit: string, juror: string, reason: string): Promise<void> => call<void>("lead_reopen", { visit, juror, reason }),
  leadNote: (visit: string, indicator: string, note: string): Promise<void> => call<void>("lead_note", { visit, indicator, note }),
  leadQuarantine: (): Promise<QuarantinedChange[]> => call<QuarantinedChange[]>("lead_quarantine"),
  leadTiebreak: (order: string[], reason: string): Promise<void> => call<void>("lead_tiebreak", { order, reason }),
  chooseJuror: (juror: string, token: string | null): Promise<Overview> => call<Overview>("choose_juror", { juror, token }),
  joinServer: (server: string, token: string, pin: string | null): Promise<Overview> => call<Overview>("join_server", { server, token, pin }),
  // Joins with a join file (`*.tinjau`) the juror picked: its bytes.
  joinWithFile: (body: Uint8Array, headers?: Record<string, string>): Promise<Overview> => call<Overview>("join_with_file", body, headers),
  // Joins with the join file the app was opened with, once; `None` when there was none.
  joinOpenedFile: (): Promise<Overview | null> => call<Overview | null>("join_opened_file"),
  visits: (): Promise<VisitProgress[]> => call<VisitProgress[]>("visits"),
  checklist: (visit: string): Promise<VisitChecklist> => call<VisitChecklist>("checklist", { visit }),
  verify: (visit: string, innovation: string, verdict: Verdict, note: string | null): Promise<void> => call<void>("verify", { visit, innovation, verdict, note }),
  // Receives a file's bytes (picked or dropped in the UI) and keeps it until it is attached.
  // The file name comes in the `x-file-name` header, percent-encoded.
  stageFile: (body: Uint8Array, headers?: Record<string, string>): Promise<string> => call<string>("stage_file", body, headers),
  attachToInnovation: (visit: string, innovation: string, verdict: Verdict, files: string[]): Promise<void> => call<void>("attach_to_innovation", { visit, innovation, verdict, files }),
  observe: (visit: string, text: string, innovation: string | null, files: string[]): Promise<ObservationView> => call<ObservationView>("observe", { visit, text, innovation, files }),
  score: (visit: string, indicator: string, value: number, note: string | null): Promise<ScoreView> => call<ScoreView>("score", { visit, indicator, value, note }),
  submit: (visit: string): Promise<void> => call<void>("submit", { visit }),
  withdrawSubmission: (visit: string): Promise<void> => call<void>("withdraw_submission", { visit }),
  // Takes an attached file off its record, or puts it back (undo), while the sheet is a draft.
  removeEvidence: (visit: string, evidence: string, removed: boolean): Promise<void> => call<void>("remove_evidence", { visit, evidence, removed }),
  // An evidence file's bytes (for thumbnails and the enlarged view).
  evidenceFile: (hash: string): Promise<ArrayBuffer> => call<ArrayBuffer>("evidence_file", { hash }),
  syncNow: (): Promise<SyncStatus> => call<SyncStatus>("sync_now"),
  // "Kirim asli sekarang": one sync that sends every photo's original whatever the policy.
  sendOriginalsNow: (): Promise<SyncStatus> => call<SyncStatus>("send_originals_now"),
  // When this laptop sends photos' originals (now, when the link is fast, or later).
  setOriginalsPolicy: (policy: OriginalsPolicy): Promise<SyncStatus> => call<SyncStatus>("set_originals_policy", { policy }),
  syncStatus: (): Promise<SyncStatus> => call<SyncStatus>("sync_status"),
  // "Gabung ke hub": syncs go to the visit's hub at `server` (pinned by the lead's words) until
  // the juror leaves it. `token`: only for a laptop that never joined the server.
  joinHub: (server: string, pin: string, token: string | null): Promise<SyncStatus> => call<SyncStatus>("join_hub", { server, pin, token }),
  // Syncs go to the central server again.
  leaveHub: (): Promise<SyncStatus> => call<SyncStatus>("leave_hub"),
  // "Jadikan laptop ini hub kunjungan": the lead's laptop serves the visit's jury (on
  // `TINJAU_HUB_LISTEN`, by default every address on port 8717) and syncs with its own hub.
  hostHub: (): Promise<Hosting> => call<Hosting>("host_hub"),
  // Stops the hub this laptop hosts; syncs go to the central server again.
  stopHub: (): Promise<SyncStatus> => call<SyncStatus>("stop_hub"),
  // The hub this laptop hosts, if it does.
  hosting: (): Promise<Hosting | null> => call<Hosting | null>("hosting"),
  // After sync found this data folder was copied to another laptop: continue as a new device.
  continueAsNewDevice: (): Promise<SyncStatus> => call<SyncStatus>("continue_as_new_device"),
  conflicts: (): Promise<ConflictView[]> => call<ConflictView[]>("conflicts"),
  resolveConflict: (conflict: string, pick: string): Promise<void> => call<void>("resolve_conflict", { conflict, pick }),
  audit: (): Promise<AuditReport> => call<AuditReport>("audit"),
  leadMerge: (method: Method | null): Promise<MergeResult> => call<MergeResult>("lead_merge", { method }),
  leadRanking: (): Promise<Ranking> => call<Ranking>("lead_ranking"),
  leadLock: (visit: string): Promise<Lock> => call<Lock>("lead_lock", { visit }),
  // Writes an official document to `Downloads/Tinjau`; returns its path.
  leadExport: (document: Document): Promise<string> => call<string>("lead_export", { document }),
  // Shows the folder the documents are exported to.
  openDocumentsFolder: (): Promise<void> => call<void>("open_documents_folder"),
  wakeSync: (): Promise<void> => call<void>("wake_sync"),
};
