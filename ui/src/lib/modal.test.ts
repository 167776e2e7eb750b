import { describe, expect, it } from "vitest";
import { cycle } from "./modal";

describe("the dialog's Tab order", () => {
  it("goes round inside, both ways", () => {
    const items = ["cancel", "confirm"];
    expect(cycle(items, null, false)).toBe("cancel");
    expect(cycle(items, "cancel", false)).toBe("confirm");
    expect(cycle(items, "confirm", false)).toBe("cancel");
    expect(cycle(items, "cancel", true)).toBe("confirm");
    expect(cycle(items, "outside", true)).toBe("confirm");
    expect(cycle([], null, false)).toBeNull();
  });
});
