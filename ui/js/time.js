// Every time on screen is Bangkok time (Asia/Bangkok, UTC+7), whatever the device's own zone.
import { lang } from "./i18n.js";

const ZONE = "Asia/Bangkok";

function formatter(options) {
  return new Intl.DateTimeFormat(lang() === "th" ? "th-TH" : "en-GB", { timeZone: ZONE, ...options });
}

/** 14:32 */
export function clock(iso) {
  if (!iso) return "";
  return formatter({ hour: "2-digit", minute: "2-digit", hour12: false }).format(new Date(iso));
}

/** 14:32:05 */
export function clockSeconds(iso) {
  if (!iso) return "";
  return formatter({ hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false }).format(new Date(iso));
}

/** 21 Nov 14:32 (Thai: 21 พ.ย. 14:32) */
export function dateTime(iso) {
  if (!iso) return "";
  return formatter({ day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hour12: false })
    .format(new Date(iso));
}

/** 15 Oct 2026 (Thai: 15 ต.ค. 2569), a Bangkok day */
export function date(iso) {
  if (!iso) return "";
  return formatter({ day: "numeric", month: "short", year: "numeric" }).format(new Date(iso));
}

/** 21 Nov 14:32:05, for audit trails where the second matters */
export function dateTimeSeconds(iso) {
  if (!iso) return "";
  return formatter({ day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false })
    .format(new Date(iso));
}

/** 1:05:09 or 5:09, for ages and countdowns; negative durations keep their sign. */
export function duration(totalSeconds) {
  const sign = totalSeconds < 0 ? "−" : "";
  let s = Math.abs(Math.trunc(totalSeconds));
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const mm = h ? String(m).padStart(2, "0") : String(m);
  return `${sign}${h ? h + ":" : ""}${mm}:${String(s).padStart(2, "0")}`;
}

export const TIME_ZONE_LABEL = "ICT (UTC+7)";
