// `spin:sqlite/sqlite@3.0.0` for jco-transpiled components, on sql.js (SQLite compiled to
// wasm, in memory). Mirrors the semantics of the `itsor` host (host/src/sqlite.rs):
//  - one database, "default"; any other name fails with `no-such-database`;
//  - one statement per `execute` with positional `?` parameters; every row it yields
//    (SELECT, or INSERT/UPDATE/DELETE ... RETURNING) comes back;
//  - errors are SQLite's own messages as `io(string)` (e.g. "UNIQUE constraint failed: ...");
//  - `changes`/`last-insert-rowid` are per connection resource and only move when the
//    connection's own statement changed rows;
//  - foreign_keys=ON.
//
// jco conventions (1.35): a WIT variant is `{ tag: 'kebab-name', val? }`, s64/u64 are BigInt,
// list<u8> is Uint8Array, and an import returns `result<T, E>`'s error by throwing: jco
// lowers `err.payload` when the thrown value has an own `payload` property (a plain
// `Error` without one traps the guest instead).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import initSqlJs from 'sql.js';

let sqlJs;
/** The sql.js module, loaded (and its wasm compiled) once per process. */
export async function loadSqlJs() {
  sqlJs ??= await initSqlJs();
  return sqlJs;
}

/** An error thrown by a host import: jco lowers `payload` as the `err` of the result. */
export class HostError extends Error {
  constructor(payload) {
    super(`host import error: ${payload.tag}${'val' in payload ? `: ${payload.val}` : ''}`);
    Object.defineProperty(this, 'payload', { value: payload, enumerable: true });
  }
}

const ioError = (message) => new HostError({ tag: 'io', val: String(message) });

/** A fresh in-memory database with every `*.sql` in `migrationsDir` applied in name order. */
export async function createDatabase(migrationsDir) {
  const SQL = await loadSqlJs();
  const db = new SQL.Database();
  db.run('PRAGMA foreign_keys = ON');
  const files = readdirSync(migrationsDir).filter((f) => f.endsWith('.sql')).sort();
  if (files.length === 0) throw new Error(`no migrations in ${migrationsDir}`);
  for (const file of files) {
    try {
      db.exec(readFileSync(join(migrationsDir, file), 'utf8'));
    } catch (err) {
      throw new Error(`migration ${file} failed: ${err.message}`);
    }
  }
  return db;
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** A WIT `value` as a sql.js bind parameter. */
function toSqlJs(value, index) {
  switch (value?.tag) {
    case 'integer': {
      const n = BigInt(value.val);
      // sql.js binds a JS number with sqlite3_bind_int when it is an int32 and has no
      // sqlite3_bind_int64; it binds a BigInt as its decimal text, which INTEGER columns and
      // comparisons against them convert back exactly.
      return n >= INT32_MIN && n <= INT32_MAX ? Number(n) : n;
    }
    case 'real':
      return value.val;
    case 'text':
      return value.val;
    case 'blob':
      return value.val instanceof Uint8Array ? value.val : Uint8Array.from(value.val);
    case 'null':
      return null;
    default:
      throw ioError(`parameter ${index + 1}: not a spin:sqlite value: ${JSON.stringify(value)}`);
  }
}

/** A sql.js column value (read with useBigInt) as a WIT `value`. */
function fromSqlJs(v) {
  if (v === null || v === undefined) return { tag: 'null' };
  if (typeof v === 'bigint') return { tag: 'integer', val: v };
  if (typeof v === 'number') return { tag: 'real', val: v };
  if (typeof v === 'string') return { tag: 'text', val: v };
  if (v instanceof Uint8Array) return { tag: 'blob', val: v };
  throw ioError(`unexpected SQLite value of type ${typeof v}`);
}

/**
 * The `spin:sqlite/sqlite` import object for one instance, over `db` (a sql.js Database).
 * Every `connection` it opens shares `db`; `log` (optional) receives each statement run.
 */
export function sqliteImport(db, { log } = {}) {
  const scalar = (sql) => db.exec(sql)[0].values[0];

  class Connection {
    #changes = 0n;
    #lastInsertRowid = 0n;

    static open(database) {
      if (database !== 'default') throw new HostError({ tag: 'no-such-database' });
      return new Connection();
    }

    execute(statement, parameters) {
      log?.(statement, parameters);
      const params = parameters.map(toSqlJs);
      const [totalBefore, rowidBefore] = scalar('SELECT total_changes(), last_insert_rowid()');
      let stmt;
      try {
        const statements = db.iterateStatements(statement);
        const first = statements.next();
        if (first.done) throw new Error('no statement to run');
        stmt = first.value;
        if (statements.getRemainingSQL().replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, '').trim() !== '') {
          // rusqlite (the itsor host) refuses these too.
          throw new Error('Multiple statements provided');
        }
        stmt.bind(params);
        const columns = stmt.getColumnNames();
        const rows = [];
        while (stmt.step()) {
          rows.push({ values: stmt.get(null, { useBigInt: true }).map(fromSqlJs) });
        }
        const [totalAfter, rowidAfter] = scalar('SELECT total_changes(), last_insert_rowid()');
        if (totalAfter !== totalBefore) {
          this.#changes = BigInt(db.getRowsModified());
          if (rowidAfter !== rowidBefore) this.#lastInsertRowid = BigInt(rowidAfter);
        } else {
          this.#changes = 0n;
        }
        return { columns, rows };
      } catch (err) {
        if (err instanceof HostError) throw err;
        if (/database or disk is full/i.test(err.message)) throw new HostError({ tag: 'database-full' });
        throw ioError(err.message);
      } finally {
        stmt?.free();
      }
    }

    lastInsertRowid() {
      return this.#lastInsertRowid;
    }

    changes() {
      return this.#changes;
    }

    // The guest dropped its handle: nothing to release, the database belongs to the test.
    [Symbol.dispose]() {}
  }

  return { Connection };
}
