// Every edit is saved as it is made: typing is debounced (400 ms), and the state is shown
// ("Menyimpan…", "Tersimpan"). Closing the window loses at most one debounce window.
export type SaveState = "idle" | "saving" | "saved" | "error";

export interface Autosaver<T> {
  /** A new value: saved after `delay` ms without another. */
  change(value: T): void;
  /** Saves a pending value now (on blur, before leaving a screen). */
  flush(): Promise<void>;
  /** Drops a pending value that was not saved yet (the text became invalid). */
  cancel(): void;
  /** A value is waiting to be saved, or being saved. */
  busy(): boolean;
}

export function createAutosaver<T>(
  save: (value: T) => Promise<void>,
  onState: (state: SaveState, error?: unknown) => void,
  delay = 400,
): Autosaver<T> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let pending: { value: T } | null = null;
  let running: Promise<void> = Promise.resolve();
  let saving = false;

  const run = (): Promise<void> => {
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
    if (pending === null) return running;
    const { value } = pending;
    pending = null;
    saving = true;
    running = running.then(async () => {
      onState("saving");
      try {
        await save(value);
        onState(pending === null ? "saved" : "saving");
      } catch (error) {
        onState("error", error);
      } finally {
        saving = pending !== null;
      }
    });
    return running;
  };

  return {
    change(value: T) {
      pending = { value };
      if (timer !== null) clearTimeout(timer);
      timer = setTimeout(run, delay);
    },
    flush: run,
    cancel() {
      if (timer !== null) clearTimeout(timer);
      timer = null;
      pending = null;
    },
    busy: () => pending !== null || saving,
  };
}
