// The live board over WS /ws/board: a snapshot, then deltas; after any drop it reconnects by itself with
// ?after=<the last position it saw> and gets exactly what it missed (a "catchup"), never a refresh button.
const KEYS = { board_incidents: "incident_id", resources_view: "resource_id", referrals_view: "referral_id" };
const QUIET_LIMIT_MS = 35000; // the server sends a heartbeat every 10 s; three missed means the link is dead
const BACKOFF_MAX_MS = 10000;

export class LiveBoard {
  /** onChange(views, changedKeys) after every message; onStatus("connecting"|"live"|"reconnecting"|"offline"). */
  constructor({ onChange, onStatus, onDenied }) {
    this.views = { board_incidents: new Map(), resources_view: new Map(), referrals_view: new Map() };
    this.position = null;
    this.onChange = onChange;
    this.onStatus = onStatus;
    this.onDenied = onDenied;
    this.backoff = 500;
    this.socket = null;
    this.watchdog = null;
    this.retry = null;
    window.addEventListener("online", () => this.reconnectNow());
    window.addEventListener("offline", () => {
      this.onStatus("offline");
      this.socket?.close();
    });
  }

  connect() {
    clearTimeout(this.retry);
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const after = this.position === null ? "" : `?after=${this.position}`;
    this.onStatus(this.position === null ? "connecting" : "reconnecting");
    const socket = new WebSocket(`${scheme}//${location.host}/ws/board${after}`);
    this.socket = socket;
    socket.addEventListener("message", (event) => {
      if (socket !== this.socket) return;
      this.alive();
      this.receive(JSON.parse(event.data));
    });
    socket.addEventListener("close", (event) => {
      if (socket !== this.socket) return;
      clearTimeout(this.watchdog);
      if (event.code === 4401 || event.code === 4403) {
        this.onDenied(event.code);
        return;
      }
      this.onStatus(navigator.onLine ? "reconnecting" : "offline");
      this.retry = setTimeout(() => this.connect(), this.backoff);
      this.backoff = Math.min(BACKOFF_MAX_MS, this.backoff * 2);
    });
  }

  reconnectNow() {
    this.backoff = 500;
    const old = this.socket;
    this.socket = null;
    old?.close();
    this.connect();
  }

  alive() {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => this.reconnectNow(), QUIET_LIMIT_MS);
  }

  receive(message) {
    const changed = new Set();
    if (message.type === "snapshot") {
      for (const [view, key] of Object.entries(KEYS)) {
        this.views[view] = new Map((message[view] || []).map((row) => [row[key], row]));
      }
      changed.add("*");
    } else if (message.type === "catchup") {
      for (const [view, key] of Object.entries(KEYS)) {
        for (const row of message[view] || []) this.put(view, row[key], row, changed);
      }
    } else if (message.type === "delta") {
      for (const change of message.changes) this.put(change.view, change.key, change.row, changed);
    }
    if (typeof message.position === "number") this.position = message.position;
    if (message.type !== "heartbeat") this.backoff = 500;
    this.onStatus("live");
    if (changed.size) this.onChange(this.views, changed);
  }

  put(view, key, row, changed) {
    const rows = this.views[view];
    if (!rows) return;
    // A closed incident leaves the board; its row is kept by nobody here.
    if (!row || (view === "board_incidents" && row.status === "closed")) rows.delete(key);
    else rows.set(key, row);
    changed.add(`${view}:${key}`);
  }
}
