// A modal dialog as a keyboard user meets it: it takes the focus when it opens, Esc closes
// it, Tab and Shift+Tab go round inside it, and the focus returns where it was on close.
const FOCUSABLE = 'button:not([disabled]), [href], input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/** The element Tab should move to from `current` (`backwards` for Shift+Tab), within `items`. */
export function cycle<T>(items: T[], current: T | null, backwards: boolean): T | null {
  if (items.length === 0) return null;
  const index = current === null ? -1 : items.indexOf(current);
  if (index === -1) return backwards ? items[items.length - 1] : items[0];
  const next = backwards ? index - 1 : index + 1;
  return items[(next + items.length) % items.length];
}

export function modal(node: HTMLElement, close: () => void) {
  const before = document.activeElement as HTMLElement | null;
  const focusables = () => Array.from(node.querySelectorAll<HTMLElement>(FOCUSABLE));
  (focusables()[0] ?? node).focus();
  const keydown = (event: KeyboardEvent) => {
    // A modal owns the keyboard: no key pressed in it reaches what lies behind it (the digit
    // keys that set a verdict on the card under an enlarged photo, say).
    event.stopPropagation();
    if (event.key === "Escape") {
      event.preventDefault();
      close();
    } else if (event.key === "Tab") {
      event.preventDefault();
      cycle(focusables(), document.activeElement as HTMLElement | null, event.shiftKey)?.focus();
    }
  };
  node.addEventListener("keydown", keydown);
  return {
    destroy() {
      node.removeEventListener("keydown", keydown);
      before?.focus?.();
    },
  };
}
