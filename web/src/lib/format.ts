// Relative times ("5 minutes ago" / "5分钟前") in the viewer's language.

export function relativeTime(date: Date, now: Date, locale: string): string {
  const diffS = Math.round((date.getTime() - now.getTime()) / 1000);
  const abs = Math.abs(diffS);
  const rtf = new Intl.RelativeTimeFormat(locale, { numeric: "auto" });
  if (abs < 60) return rtf.format(0, "second");
  if (abs < 3600) return rtf.format(Math.round(diffS / 60), "minute");
  if (abs < 86_400) return rtf.format(Math.round(diffS / 3600), "hour");
  if (abs < 7 * 86_400) return rtf.format(Math.round(diffS / 86_400), "day");
  return new Intl.DateTimeFormat(locale, { month: "short", day: "numeric" }).format(date);
}
