// The console's calls to /console/api/… (same origin, the session cookie rides along). Every
// request that changes something carries the session's CSRF secret.
import { t } from "../src/lib/locale.svelte";

let csrf = "";

export function setCsrf(value: string) {
  csrf = value;
}

/** An answer that was not a success: its code picks the words the person reads. */
export class ConsoleError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
    public problems: string[] = [],
  ) {
    super(message);
  }
}

/** The person's words for an error: by its code, else the server's own message. */
export function describe(error: unknown): string {
  if (error instanceof ConsoleError) {
    const key = `console.error.${error.code}`;
    const text = t(key);
    return text === key ? error.message : text;
  }
  return t("console.error.network");
}

async function check(response: Response): Promise<Response> {
  if (response.ok) return response;
  let code = "internal";
  let message = response.statusText;
  let problems: string[] = [];
  try {
    const body = await response.json();
    code = body?.error?.code ?? code;
    message = body?.error?.message ?? message;
    problems = Array.isArray(body?.error?.problems) ? body.error.problems : [];
  } catch {
    // Not JSON: keep the status text.
  }
  throw new ConsoleError(response.status, code, message, problems);
}

export async function get<T>(path: string): Promise<T> {
  const response = await check(await fetch(`api/${path}`, { credentials: "same-origin" }));
  return (await response.json()) as T;
}

/** POST (or DELETE) with a JSON body, or raw bytes (an uploaded file). */
export async function send(
  path: string,
  body?: unknown,
  method: "POST" | "DELETE" = "POST",
): Promise<Response> {
  const raw = body instanceof ArrayBuffer;
  const headers: Record<string, string> = { "X-Tinjau-CSRF": csrf };
  if (!raw) headers["Content-Type"] = "application/json";
  return check(
    await fetch(`api/${path}`, {
      method,
      credentials: "same-origin",
      headers,
      body: body === undefined ? undefined : raw ? (body as ArrayBuffer) : JSON.stringify(body),
    }),
  );
}

/** Saves a response's body as a file the browser downloads. */
export async function saveResponse(response: Response, fallbackName: string) {
  const disposition = response.headers.get("content-disposition") ?? "";
  const exact = /filename\*=UTF-8''([^;]+)/.exec(disposition);
  const name = exact ? decodeURIComponent(exact[1]) : fallbackName;
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
