// Calls into the Tauri shell. The commands and every type crossing IPC are generated from Rust
// (./commands.ts, ../bindings); this file adds what a screen needs on top.
import { commands } from "./commands";

export { AppError, describeError } from "./ipc";

export const api = commands;

/** Reads a picked or dropped file and hands it to the shell; returns its staged token. */
export async function stage(file: File): Promise<string> {
  return api.stageFile(new Uint8Array(await file.arrayBuffer()), { "x-file-name": encodeURIComponent(file.name) });
}
