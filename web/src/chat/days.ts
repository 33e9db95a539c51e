// Day separators and human time labels for the chat, in the viewer's time zone.

export type DayItem<T> = { kind: "day"; key: string; date: Date } | { kind: "item"; item: T };

/** The local calendar day of a date, as YYYY-MM-DD. */
export function dayKey(d: Date): string {
  const m = String(d.getMonth() + 1).padStart(2, "0");
  const day = String(d.getDate()).padStart(2, "0");
  return `${d.getFullYear()}-${m}-${day}`;
}

/** Items in order with a day marker before the first item of every local day. */
export function withDaySeparators<T>(items: readonly T[], dateOf: (item: T) => Date): DayItem<T>[] {
  const out: DayItem<T>[] = [];
  let last = "";
  for (const item of items) {
    const date = dateOf(item);
    const key = dayKey(date);
    if (key !== last) {
      out.push({ kind: "day", key, date });
      last = key;
    }
    out.push({ kind: "item", item });
  }
  return out;
}

/** Whole local days from `a` to `b` (0 = same day, 1 = b is the day after a). */
export function daysBetween(a: Date, b: Date): number {
  const start = new Date(a.getFullYear(), a.getMonth(), a.getDate());
  const end = new Date(b.getFullYear(), b.getMonth(), b.getDate());
  return Math.round((end.getTime() - start.getTime()) / 86_400_000);
}

export interface DayWords {
  today: string;
  yesterday: string;
}

/** "Today", "Yesterday", a weekday within the last week, else a date (with the year if older). */
export function dayLabel(date: Date, now: Date, locale: string, words: DayWords): string {
  const diff = daysBetween(date, now);
  if (diff === 0) return words.today;
  if (diff === 1) return words.yesterday;
  if (diff > 1 && diff < 7) {
    return new Intl.DateTimeFormat(locale, { weekday: "long" }).format(date);
  }
  const sameYear = date.getFullYear() === now.getFullYear();
  return new Intl.DateTimeFormat(locale, {
    year: sameYear ? undefined : "numeric",
    month: "long",
    day: "numeric",
    weekday: sameYear ? "short" : undefined,
  }).format(date);
}

/** A clock time such as 14:05 / 下午2:05 in the viewer's locale. */
export function timeLabel(date: Date, locale: string): string {
  return new Intl.DateTimeFormat(locale, { hour: "numeric", minute: "2-digit" }).format(date);
}

/** The short stamp of a conversation row: a time today, else a weekday or a date. */
export function shortStamp(date: Date, now: Date, locale: string, yesterday: string): string {
  const diff = daysBetween(date, now);
  if (diff <= 0) return timeLabel(date, locale);
  if (diff === 1) return yesterday;
  if (diff < 7) return new Intl.DateTimeFormat(locale, { weekday: "short" }).format(date);
  return new Intl.DateTimeFormat(locale, { month: "numeric", day: "numeric" }).format(date);
}
