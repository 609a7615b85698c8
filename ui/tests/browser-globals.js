// The few browser globals the page modules read when they are imported: a localStorage kept in memory, a
// navigator, a window to dispatch events on and a document with nothing in it. Import this first.
export class MemoryStorage {
  constructor(items = {}) {
    this.items = new Map(Object.entries(items));
  }

  get length() {
    return this.items.size;
  }

  key(index) {
    return [...this.items.keys()][index] ?? null;
  }

  getItem(key) {
    return this.items.has(key) ? this.items.get(key) : null;
  }

  setItem(key, value) {
    this.items.set(key, String(value));
  }

  removeItem(key) {
    this.items.delete(key);
  }
}

globalThis.localStorage ??= new MemoryStorage();
globalThis.navigator ??= { language: "en-GB" };
globalThis.window ??= new EventTarget();
globalThis.document ??= { cookie: "", documentElement: {}, querySelectorAll: () => [] };
