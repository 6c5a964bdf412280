// The origin: a SQLite table standing in for a slow database.
//
// Every call first waits ORIGIN_DELAY_MS (the network and query time of a real
// database); better-sqlite3 then runs the statement synchronously, which takes
// microseconds. The schema is shared by the SQLite-backed apps in examples/,
// which may use one file at the same time (WAL mode, busy timeout).

import { setTimeout as sleep } from "node:timers/promises";
import Database from "better-sqlite3";

// How long a statement waits for another app's write lock before failing.
const BUSY_TIMEOUT_MS = 5000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS items (
    id TEXT PRIMARY KEY,
    value TEXT NOT NULL,          -- the item's JSON value, as text
    updated_at_ms INTEGER NOT NULL
)`;

export class Origin {
  reads = 0;
  writes = 0;
  #delayMs;
  #db;
  #select;
  #upsert;
  #delete;

  constructor(path, delayMs) {
    this.#delayMs = delayMs;
    this.#db = new Database(path, { timeout: BUSY_TIMEOUT_MS });
    this.#db.pragma("journal_mode = WAL");
    this.#db.exec(SCHEMA);
    this.#select = this.#db.prepare("SELECT id, value, updated_at_ms FROM items WHERE id = ?");
    this.#upsert = this.#db.prepare(
      "INSERT INTO items (id, value, updated_at_ms) VALUES (?, ?, ?) " +
        "ON CONFLICT (id) DO UPDATE SET value = excluded.value, updated_at_ms = excluded.updated_at_ms",
    );
    this.#delete = this.#db.prepare("DELETE FROM items WHERE id = ?");
  }

  close() {
    this.#db.close();
  }

  /** The item `{ id, value, updated_at_ms }`, or null. */
  async get(id) {
    this.reads += 1;
    await sleep(this.#delayMs);
    const row = this.#select.get(id);
    return row === undefined ? null : { id: row.id, value: JSON.parse(row.value), updated_at_ms: row.updated_at_ms };
  }

  async put(id, value) {
    this.writes += 1;
    await sleep(this.#delayMs);
    const item = { id, value, updated_at_ms: Date.now() };
    this.#upsert.run(id, JSON.stringify(value), item.updated_at_ms);
    return item;
  }

  /** True when the item existed. */
  async delete(id) {
    this.writes += 1;
    await sleep(this.#delayMs);
    return this.#delete.run(id).changes > 0;
  }

  ping() {
    this.#db.prepare("SELECT 1").get();
  }
}
