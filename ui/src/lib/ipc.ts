// The one door into the Tauri shell: `call` invokes a command and turns its error into an
// `AppError` said in the user's language. The typed commands are generated (./commands.ts).
import { invoke } from "@tauri-apps/api/core";
import type { ErrorPayload } from "../bindings/ErrorPayload";
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

export async function call<T>(command: string, args?: Record<string, unknown> | Uint8Array, headers?: Record<string, string>): Promise<T> {
  try {
    return await invoke<T>(command, args as never, headers ? { headers } : undefined);
  } catch (raw) {
    const e = raw as Partial<ErrorPayload>;
    throw new AppError(e?.code ?? "unknown", e?.message ?? String(raw), e?.params ?? {});
  }
}

