// The JS `spin:sqlite/sqlite@3.0.0` provider the component runs on in these tests: it must
// behave like the itsor host (host/src/sqlite.rs) for the tests above to mean anything.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { MIGRATIONS_DIR } from '../lib/paths.mjs';
import { createDatabase, HostError, sqliteImport } from '../lib/sqlite-host.mjs';
import { variablesImport } from '../lib/variables-host.mjs';

async function connection() {
  const db = await createDatabase(MIGRATIONS_DIR);
  db.run('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE, score REAL, data BLOB, n INTEGER)');
  return { db, conn: sqliteImport(db).Connection.open('default') };
}

const payloadOf = (fn) => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof HostError, `expected a HostError, got ${err}`);
    return err.payload;
  }
  assert.fail('expected the call to throw');
};

test('only the "default" database opens', () => {
  const { Connection } = sqliteImport(null);
  assert.deepEqual(payloadOf(() => Connection.open('other')), { tag: 'no-such-database' });
});

test('the migrations create the schema the component expects', async () => {
  const db = await createDatabase(MIGRATIONS_DIR);
  const tables = db.exec("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")[0].values.flat();
  // Every table a migration file declares, and nothing else.
  const declared = readdirSync(MIGRATIONS_DIR)
    .filter((file) => file.endsWith('.sql'))
    .flatMap((file) => [...readFileSync(join(MIGRATIONS_DIR, file), 'utf8').matchAll(/CREATE TABLE (?:IF NOT EXISTS )?(\w+)/g)])
    .map((match) => match[1])
    .sort();
  assert.ok(declared.includes('users') && declared.includes('sessions'), `migrations declare ${declared}`);
  assert.deepEqual(tables, declared);
});

test('values round-trip with their WIT types; RETURNING rows come back', async () => {
  const { conn } = await connection();
  const big = 2n ** 62n + 1n;
  const inserted = conn.execute('INSERT INTO t (name, score, data, n) VALUES (?, ?, ?, ?) RETURNING id, name', [
    { tag: 'text', val: 'a' },
    { tag: 'real', val: 1.5 },
    { tag: 'blob', val: new Uint8Array([0, 1, 255]) },
    { tag: 'integer', val: big },
  ]);
  assert.deepEqual(inserted, {
    columns: ['id', 'name'],
    rows: [{ values: [{ tag: 'integer', val: 1n }, { tag: 'text', val: 'a' }] }],
  });
  assert.equal(conn.lastInsertRowid(), 1n);
  assert.equal(conn.changes(), 1n);

  const selected = conn.execute('SELECT id, name, score, data, n, NULL AS missing FROM t WHERE n = ?', [
    { tag: 'integer', val: big },
  ]);
  assert.deepEqual(selected.columns, ['id', 'name', 'score', 'data', 'n', 'missing']);
  assert.deepEqual(selected.rows, [
    {
      values: [
        { tag: 'integer', val: 1n },
        { tag: 'text', val: 'a' },
        { tag: 'real', val: 1.5 },
        { tag: 'blob', val: new Uint8Array([0, 1, 255]) },
        { tag: 'integer', val: big },
        { tag: 'null' },
      ],
    },
  ]);

  const none = conn.execute('SELECT id FROM t WHERE name = ?', [{ tag: 'text', val: 'zzz' }]);
  assert.deepEqual(none, { columns: ['id'], rows: [] });
});

test('ON CONFLICT DO NOTHING RETURNING yields no row and changes nothing', async () => {
  const { conn } = await connection();
  const sql = 'INSERT INTO t (name) VALUES (?) ON CONFLICT (name) DO NOTHING RETURNING id';
  assert.equal(conn.execute(sql, [{ tag: 'text', val: 'a' }]).rows.length, 1);
  assert.equal(conn.execute(sql, [{ tag: 'text', val: 'a' }]).rows.length, 0);
  assert.equal(conn.changes(), 0n);
});

test("SQLite's errors arrive as io(message)", async () => {
  const { conn } = await connection();
  conn.execute('INSERT INTO t (name) VALUES (?)', [{ tag: 'text', val: 'a' }]);
  assert.deepEqual(payloadOf(() => conn.execute('INSERT INTO t (name) VALUES (?)', [{ tag: 'text', val: 'a' }])), {
    tag: 'io',
    val: 'UNIQUE constraint failed: t.name',
  });
  assert.equal(payloadOf(() => conn.execute('SELEC 1', [])).tag, 'io');
  assert.equal(payloadOf(() => conn.execute('SELECT 1; SELECT 2', [])).tag, 'io');
  // Foreign keys are enforced, as on the itsor host.
  const fk = payloadOf(() =>
    conn.execute("INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES ('s', 'nobody', '', '')", []),
  );
  assert.deepEqual(fk, { tag: 'io', val: 'FOREIGN KEY constraint failed' });
});

test('variables: defined names resolve, others fail with typed errors', () => {
  const { get } = variablesImport({ jwt_secret: 's3cret' });
  assert.equal(get('jwt_secret'), 's3cret');
  assert.deepEqual(payloadOf(() => get('backend_env')), { tag: 'undefined', val: 'backend_env' });
  assert.deepEqual(payloadOf(() => get('Not-Valid')), { tag: 'invalid-name', val: 'Not-Valid' });
});
