// Typed calls into the Tauri shell. Every type crossing IPC is generated from Rust (../bindings).
import { invoke } from "@tauri-apps/api/core";
import type { AuditReport } from "../bindings/AuditReport";
import type { ConflictView } from "../bindings/ConflictView";
import type { ErrorPayload } from "../bindings/ErrorPayload";
import type { Lock } from "../bindings/Lock";
import type { MergeResult } from "../bindings/MergeResult";
import type { Method } from "../bindings/Method";
import type { ObservationView } from "../bindings/ObservationView";
import type { Overview } from "../bindings/Overview";
import type { QuarantinedChange } from "../bindings/QuarantinedChange";
import type { SheetImportReport } from "../bindings/SheetImportReport";
import type { Ranking } from "../bindings/Ranking";
import type { ScoreView } from "../bindings/ScoreView";
import type { SyncStatus } from "../bindings/SyncStatus";
import type { Verdict } from "../bindings/Verdict";
import type { VisitChecklist } from "../bindings/VisitChecklist";
import type { VisitProgress } from "../bindings/VisitProgress";
import type { Document } from "../bindings/Document";
import { t } from "./locale.svelte";

/**
 * An error from the shell: a code to act on, and a message in the user's language made from
 * the locale's `error.<code>` text and the error's named values. `detail` keeps the shell's
 * English message (shown only for a code this version of the UI does not know).
 */
export class AppError extends Error {
  constructor(
    public code: string,
    public detail: string,
    public params: Record<string, string> = {},
  ) {
    super(describeError(code, detail, params));
  }
}

/** The words for an error in the current language. */
export function describeError(code: string, detail: string, params: Record<string, string> = {}): string {
  const values: Record<string, string> = { detail, ...params };
  let key = `error.${code}`;
  // A package problem says where it is in words ("indikator ke-3"), never as a JSON path.
  if (params.section && params.position) {
    values.where = t(`package.section.${params.section}`, { position: params.position });
    key = `${key}.at`;
  }
  const text = t(key, values);
  return text === key ? t("error.unknown", values) : text;
}

async function call<T>(command: string, args?: Record<string, unknown> | Uint8Array, headers?: Record<string, string>): Promise<T> {
  try {
    return await invoke<T>(command, args as never, headers ? { headers } : undefined);
  } catch (raw) {
    const e = raw as Partial<ErrorPayload>;
    throw new AppError(e?.code ?? "unknown", e?.message ?? String(raw), e?.params ?? {});
  }
}

export const api = {
  overview: () => call<Overview>("overview"),
  loadDemo: () => call<Overview>("load_demo"),
  importPackage: (bytes: Uint8Array) => call<Overview>("import_package", bytes),
  importSheet: (bytes: Uint8Array) => call<SheetImportReport>("import_sheet", bytes),
  leadReopen: (visit: string, juror: string, reason: string) => call<void>("lead_reopen", { visit, juror, reason }),
  leadNote: (visit: string, indicator: string, note: string) => call<void>("lead_note", { visit, indicator, note }),
  leadQuarantine: () => call<QuarantinedChange[]>("lead_quarantine"),
  leadTiebreak: (order: string[], reason: string) => call<void>("lead_tiebreak", { order, reason }),
  chooseJuror: (juror: string) => call<Overview>("choose_juror", { juror }),
  joinServer: (server: string, token: string, pin: string | null) => call<Overview>("join_server", { server, token, pin }),
  visits: () => call<VisitProgress[]>("visits"),
  checklist: (visit: string) => call<VisitChecklist>("checklist", { visit }),
  verify: (visit: string, innovation: string, verdict: Verdict, note: string | null) =>
    call<void>("verify", { visit, innovation, verdict, note }),
  stageFile: (name: string, bytes: Uint8Array) => call<string>("stage_file", bytes, { "x-file-name": encodeURIComponent(name) }),
  attachToInnovation: (visit: string, innovation: string, verdict: Verdict, files: string[]) =>
    call<void>("attach_to_innovation", { visit, innovation, verdict, files }),
  observe: (visit: string, text: string, innovation: string | null, files: string[]) =>
    call<ObservationView>("observe", { visit, text, innovation, files }),
  score: (visit: string, indicator: string, value: number, note: string | null) =>
    call<ScoreView>("score", { visit, indicator, value, note }),
  submit: (visit: string) => call<void>("submit", { visit }),
  withdrawSubmission: (visit: string) => call<void>("withdraw_submission", { visit }),
  evidenceFile: (hash: string) => call<ArrayBuffer>("evidence_file", { hash }),
  removeEvidence: (visit: string, evidence: string, removed: boolean) =>
    call<void>("remove_evidence", { visit, evidence, removed }),
  syncNow: () => call<SyncStatus>("sync_now"),
  wakeSync: () => call<void>("wake_sync"),
  syncStatus: () => call<SyncStatus>("sync_status"),
  continueAsNewDevice: () => call<SyncStatus>("continue_as_new_device"),
  conflicts: () => call<ConflictView[]>("conflicts"),
  resolveConflict: (conflict: string, pick: string) => call<void>("resolve_conflict", { conflict, pick }),
  audit: () => call<AuditReport>("audit"),
  leadMerge: (method: Method | null) => call<MergeResult>("lead_merge", { method }),
  leadRanking: () => call<Ranking>("lead_ranking"),
  leadLock: (visit: string) => call<Lock>("lead_lock", { visit }),
  leadExport: (document: Document) => call<string>("lead_export", { document }),
  openDocumentsFolder: () => call<void>("open_documents_folder"),
};

/** Reads a picked or dropped file and hands it to the shell; returns its staged token. */
export async function stage(file: File): Promise<string> {
  return api.stageFile(file.name, new Uint8Array(await file.arrayBuffer()));
}
