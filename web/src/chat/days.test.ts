import { describe, expect, it } from "vitest";

import { dayKey, dayLabel, daysBetween, shortStamp, withDaySeparators } from "./days";

const words = { today: "Today", yesterday: "Yesterday" };

describe("day separators", () => {
  it("puts a marker before the first item of each local day", () => {
    const items = [
      new Date(2026, 10, 18, 9, 0),
      new Date(2026, 10, 18, 23, 59),
      new Date(2026, 10, 19, 0, 1),
      new Date(2026, 10, 21, 12, 0),
    ];
    const out = withDaySeparators(items, (d) => d);
    expect(out.map((x) => (x.kind === "day" ? `day:${x.key}` : "msg"))).toEqual([
      "day:2026-11-18",
      "msg",
      "msg",
      "day:2026-11-19",
      "msg",
      "day:2026-11-21",
      "msg",
    ]);
  });

  it("labels today, yesterday, this week and older days", () => {
    const now = new Date(2026, 10, 21, 10, 0);
    expect(dayLabel(new Date(2026, 10, 21, 0, 5), now, "en", words)).toBe("Today");
    expect(dayLabel(new Date(2026, 10, 20, 23, 0), now, "en", words)).toBe("Yesterday");
    expect(dayLabel(new Date(2026, 10, 17, 8, 0), now, "en", words)).toBe("Tuesday");
    expect(dayLabel(new Date(2026, 10, 17, 8, 0), now, "zh-CN", words)).toBe("星期二");
    expect(dayLabel(new Date(2026, 9, 1, 8, 0), now, "en", words)).toContain("October");
    expect(dayLabel(new Date(2025, 9, 1, 8, 0), now, "en", words)).toContain("2025");
  });

  it("counts local calendar days and stamps rows", () => {
    expect(daysBetween(new Date(2026, 0, 1, 23, 0), new Date(2026, 0, 2, 1, 0))).toBe(1);
    expect(dayKey(new Date(2026, 0, 2))).toBe("2026-01-02");
    const now = new Date(2026, 10, 21, 10, 0);
    expect(shortStamp(new Date(2026, 10, 20, 9, 0), now, "en", "Yesterday")).toBe("Yesterday");
  });
});
