// The outbox's rules, with its store in memory and the server played by the test: a command is stored before
// the first try, sent once under the key made for it, kept until the server answers, and never lost.
import "./browser-globals.js";
import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { ApiError } from "../js/api.js";
import { KEEP_SENT, MemoryStore, Outbox, RETRY_MAX_MS, RETRY_MIN_MS, retryDelay, trim } from "../js/outbox.js";
import { migrateLocalStorage } from "../js/outbox-store.js";
import { MemoryStorage } from "./browser-globals.js";

const NO_SIGNAL = () => new ApiError(0, null);

/** A server that answers from a script: each call takes the next step (a value, or an error to throw). */
function server(...steps) {
  const calls = [];
  let incidents = 0;
  const send = async (entry) => {
    calls.push({ key: entry.key, path: entry.path, body: structuredClone(entry.body) });
    const step = steps.length ? steps.shift() : "ok";
    if (step instanceof Error) throw step;
    incidents += 1;
    return { id: `INC-${incidents}` };
  };
  return { send, calls };
}

/** Timers the test runs by hand: what was scheduled, and when. */
function manualTimers() {
  return {
    waits: [],
    setTimeout(fn, ms) {
      this.waits.push({ fn, ms });
      return this.waits.length;
    },
    clearTimeout() {},
  };
}

function outbox(options = {}) {
  let keys = 0;
  return new Outbox({
    user: "u1", store: new MemoryStore(), timers: manualTimers(), newKey: () => `k-${(keys += 1)}`,
    now: () => new Date("2026-12-07T07:32:00Z"), ...options,
  });
}

describe("the outbox", () => {
  test("a command is stored before it is sent, and sent once under the key made for it", async () => {
    const { send, calls } = server();
    const box = outbox({ send });
    const stored = [];
    box.store.change = ((change) => async (user, fn) => {
      const result = await change.call(box.store, user, fn);
      stored.push(result.map((e) => e.state));
      return result;
    })(box.store.change);

    const entry = await box.add("report", "/api/incidents", { triage: "red" });
    await box.flush();

    assert.deepEqual(stored[0], ["waiting"], "on the phone before the first try");
    assert.deepEqual(calls.map((c) => c.key), [entry.key]);
    const [sent] = box.entries();
    assert.equal(sent.state, "sent");
    assert.deepEqual(sent.result, { id: "INC-1" });
    assert.equal(sent.attempts, 1);
  });

  test("without signal it waits, retries later with the same key, and is then sent", async () => {
    const { send, calls } = server(NO_SIGNAL(), NO_SIGNAL());
    let blocked = 0;
    const box = outbox({ send, onBlocked: () => (blocked += 1) });

    await box.add("report", "/api/incidents", { triage: "red" });
    await box.flush();
    assert.equal(box.entries()[0].state, "waiting");
    assert.equal(box.timers.waits.at(-1).ms, RETRY_MIN_MS);
    await box.timers.waits.at(-1).fn();
    assert.equal(box.timers.waits.at(-1).ms, RETRY_MIN_MS * 2, "the wait doubles");
    await box.timers.waits.at(-1).fn();

    assert.equal(box.entries()[0].state, "sent");
    assert.equal(new Set(calls.map((c) => c.key)).size, 1, "every try under one key");
    assert.ok(blocked >= 2, "each blocked pass asks for a Background Sync");
  });

  test("an answer lost on the way back is asked for again under the same key", async () => {
    // The server stored the report but the phone never heard: the retry must not look like a new report.
    const { send, calls } = server(NO_SIGNAL());
    const box = outbox({ send });
    await box.add("report", "/api/incidents", {});
    await box.flush();
    await box.flush();
    assert.equal(calls.length, 2);
    assert.equal(calls[0].key, calls[1].key);
  });

  test("commands go oldest first, and one added during a pass goes in the same pass", async () => {
    const order = [];
    let box;
    const send = async (entry) => {
      order.push(entry.body.n);
      if (entry.body.n === 1) await box.change((entries) => [...entries,
        { key: "late", kind: "note", path: "/p", body: { n: 3 }, state: "waiting", attempts: 0 }]);
      return {};
    };
    box = outbox({ send });
    await box.change(() => [1, 2].map((n) => ({ key: `k${n}`, kind: "note", path: "/p", body: { n },
      state: "waiting", attempts: 0 })));
    await box.flush();
    assert.deepEqual(order, [1, 2, 3]);
    assert.equal(box.timers.waits.length, 0, "nothing left to retry");
  });

  test("a refused command is kept as refused and does not hold up the next", async () => {
    const { send } = server(new ApiError(422, { code: "invalid", field: "patients" }));
    const box = outbox({ send });
    await box.add("report", "/api/incidents", { patients: 0 });
    await box.add("report", "/api/incidents", { patients: 1 });
    await box.flush();
    assert.deepEqual(box.entries().map((e) => e.state), ["refused", "sent"]);
  });

  test("a phone clock the server refuses goes again without the clock, under a new key", async () => {
    const { send, calls } = server(new ApiError(422, { code: "invalid", field: "device_time" }));
    const box = outbox({ send });
    await box.add("report", "/api/incidents", { triage: "red", device_time: "2030-01-01T00:00:00Z" });
    await box.flush();
    await box.flush();
    assert.equal(calls.length, 2);
    assert.notEqual(calls[0].key, calls[1].key, "nothing was stored under the first key");
    assert.deepEqual(calls[1].body, { triage: "red" });
    assert.equal(box.entries()[0].state, "sent");
  });

  test("an expired sign-in keeps the command until the person signs in again", async () => {
    const { send } = server(new ApiError(401, { code: "unauthenticated" }));
    const box = outbox({ send });
    await box.add("report", "/api/incidents", {});
    await box.flush();
    assert.equal(box.needsSignIn, true);
    assert.equal(box.entries()[0].state, "waiting");
    await box.flush();
    assert.equal(box.needsSignIn, false);
    assert.equal(box.entries()[0].state, "sent");
  });

  test("a script error is not taken for a lack of signal", async () => {
    const box = outbox({ send: async () => { throw new TypeError("bug"); } });
    await box.change(() => [{ key: "k", kind: "note", path: "/p", body: {}, state: "waiting", attempts: 0 }]);
    await assert.rejects(box.flush(), TypeError);
  });

  test("a discarded command goes; a sent one stays as a record", async () => {
    const box = outbox({ send: server().send });
    await box.change(() => [{ key: "a", state: "refused" }, { key: "b", state: "sent" }]);
    await box.discard("a");
    await box.discard("b");
    assert.deepEqual(box.entries().map((e) => e.key), ["b"]);
  });

  test("the page and the worker sending one outbox under the lock send each command once", async () => {
    const { send, calls } = server();
    const store = new MemoryStore();
    let queue = Promise.resolve();
    const lock = (fn) => (queue = queue.then(fn, fn)); // one at a time, like navigator.locks
    const page = outbox({ send, store, lock });
    const worker = outbox({ send, store, lock });
    await store.change("u1", () => [1, 2, 3].map((n) => ({ key: `k${n}`, kind: "note", path: "/p", body: {},
      state: "waiting", attempts: 0 })));
    await Promise.all([page.flush(), worker.pass(), page.flush()]);
    assert.deepEqual(calls.map((c) => c.key), ["k1", "k2", "k3"]);
  });
});

describe("what is kept", () => {
  test("every unsent command and the newest sent ones, in order", () => {
    const sent = Array.from({ length: KEEP_SENT + 5 }, (_, n) => ({ key: `s${n}`, state: "sent" }));
    const kept = trim([{ key: "w0", state: "waiting" }, ...sent, { key: "r0", state: "refused" }]);
    assert.equal(kept.length, KEEP_SENT + 2);
    assert.equal(kept[0].key, "w0");
    assert.equal(kept[1].key, "s5", "the oldest sent go first");
    assert.equal(kept.at(-1).key, "r0");
  });

  test("the wait between tries doubles from the least to the most", () => {
    assert.deepEqual([0, 1, 2, 3, 10].map(retryDelay), [RETRY_MIN_MS, RETRY_MIN_MS, RETRY_MIN_MS * 2,
      RETRY_MIN_MS * 4, RETRY_MAX_MS]);
  });
});

describe("the move out of localStorage", () => {
  const legacy = (key, state = "waiting") => ({ key, kind: "report", path: "/api/incidents", body: {}, state,
    attempts: 1 });

  test("every person's unsent reports move into the store, once", async () => {
    const storage = new MemoryStorage({
      "dispatch.outbox.u1": JSON.stringify([legacy("a"), legacy("b", "sent")]),
      "dispatch.outbox.u2": JSON.stringify([legacy("c")]),
      "dispatch.lang": "th",
    });
    const store = new MemoryStore({ u1: [legacy("z")] });

    assert.equal(await migrateLocalStorage(store, storage), 2);
    assert.equal(await migrateLocalStorage(store, storage), 0, "nothing is moved twice");

    assert.deepEqual((await store.read("u1")).map((e) => e.key), ["a", "b", "z"]);
    assert.deepEqual((await store.read("u2")).map((e) => e.key), ["c"]);
    assert.equal(storage.getItem("dispatch.outbox.u1"), null);
    assert.equal(storage.getItem("dispatch.lang"), "th", "other keys stay");
  });

  test("an entry already in the store is not copied again, and a broken list is dropped", async () => {
    const storage = new MemoryStorage({ "dispatch.outbox.u1": JSON.stringify([legacy("a")]),
      "dispatch.outbox.u2": "{not json" });
    const store = new MemoryStore({ u1: [legacy("a", "sent")] });
    await migrateLocalStorage(store, storage);
    assert.deepEqual(await store.read("u1"), [legacy("a", "sent")]);
    assert.equal(storage.length, 0);
  });
});
