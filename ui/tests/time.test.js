// Every time on screen is Bangkok's (UTC+7), whatever the zone of the device (the test runs in London's).
import "./browser-globals.js";
import { strict as assert } from "node:assert";
import { test } from "node:test";
import { setLang } from "../js/i18n.js";
import { clock, clockSeconds, date, dateTime, dateTimeSeconds, duration } from "../js/time.js";

const LATE_EVENING_UTC = "2026-12-07T18:30:05Z"; // 01:30:05 on 8 December in Bangkok

test("clock times are Bangkok's, past midnight when UTC is still on the day before", () => {
  setLang("en");
  assert.equal(clock("2026-12-07T07:32:00Z"), "14:32");
  assert.equal(clock(LATE_EVENING_UTC), "01:30");
  assert.equal(clockSeconds(LATE_EVENING_UTC), "01:30:05");
  assert.equal(clock(""), "");
});

test("dates are Bangkok's day, in English and in Thai", () => {
  setLang("en");
  assert.match(dateTime(LATE_EVENING_UTC), /^8 Dec,? 01:30$/);
  assert.match(dateTimeSeconds(LATE_EVENING_UTC), /^8 Dec,? 01:30:05$/);
  setLang("th");
  assert.match(dateTime(LATE_EVENING_UTC), /^8 ธ\.ค\.? 01:30$/);
  assert.equal(clock("2026-12-07T07:32:00Z"), "14:32", "24-hour clock in Thai too");
});

test("a day is Bangkok's: a season that opens at Bangkok midnight shows that day, not UTC's day before", () => {
  const opens = "2026-10-14T17:00:00Z"; // 15 October 2026, 00:00 in Bangkok
  setLang("en");
  assert.equal(date(opens), "15 Oct 2026");
  setLang("th");
  assert.match(date(opens), /^15 ต\.ค\.? 2569$/, "the Buddhist year, as Thai readers write it");
  assert.equal(date(null), "");
});

test("durations read h:mm:ss or m:ss and keep their sign", () => {
  assert.equal(duration(0), "0:00");
  assert.equal(duration(309), "5:09");
  assert.equal(duration(3909), "1:05:09");
  assert.equal(duration(-65.7), "−1:05");
});
