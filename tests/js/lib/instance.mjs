// One instance of the itsor component per call: its own in-memory database (migrated),
// its own variables, a sandboxed WASI shim (no env, no preopens, no network). Core wasm
// modules are compiled once per process and shared by every instance.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { WASIShim } from '@bytecodealliance/preview2-shim/instantiation';

import { GENERATED_DIR, MIGRATIONS_DIR, STAMP_FILE, requireComponent, sha256 } from './paths.mjs';
import { postgresImport } from './postgres-host.mjs';
import { createDatabase, sqliteImport } from './sqlite-host.mjs';
import { variablesImport } from './variables-host.mjs';

/** Settings every instance gets unless a test overrides them. */
export const DEFAULT_VARIABLES = Object.freeze({
  backend_env: 'test',
  jwt_secret: 'x'.repeat(40),
});

let bindings;
const coreModules = new Map();

/** The generated bindings, after checking they were made from the component under test. */
async function loadBindings() {
  if (bindings) return bindings;
  const wasm = requireComponent();
  const stale = (why) =>
    new Error(`${why}: run \`node scripts/transpile.mjs\` in tests/js (\`npm test\` does it first)`);
  if (!existsSync(STAMP_FILE)) throw stale(`no transpiled bindings in ${GENERATED_DIR}`);
  const stamp = JSON.parse(readFileSync(STAMP_FILE, 'utf8'));
  if (stamp.sha256 !== sha256(wasm)) {
    throw stale(`the bindings in ${GENERATED_DIR} were made from another build than ${wasm}`);
  }
  bindings = await import(pathToFileURL(join(GENERATED_DIR, 'itsor_auth.js')).href);
  return bindings;
}

async function getCoreModule(name) {
  let module = coreModules.get(name);
  if (!module) {
    module = WebAssembly.compile(readFileSync(join(GENERATED_DIR, name)));
    coreModules.set(name, module);
  }
  return module;
}

/**
 * A fresh component instance.
 * @param {object} [options]
 * @param {Record<string,string>} [options.variables] merged over DEFAULT_VARIABLES;
 *   a key set to undefined is left undefined for the component.
 * @param {(sql: string, params: unknown[]) => void} [options.onSql] sees every statement.
 * @param {string[]} [options.postgresOpened] collects the addresses passed to the
 *   `spin:postgres` stub's `open`.
 * @returns {Promise<{ accounts: object, db: object, variables: object }>} `accounts` is the
 *   `itsor:auth/accounts` export; `db` the sql.js database behind it.
 */
export async function instantiateItsor({ variables = {}, onSql, postgresOpened } = {}) {
  const { instantiate } = await loadBindings();
  const db = await createDatabase(MIGRATIONS_DIR);
  const vars = { ...DEFAULT_VARIABLES, ...variables };
  const wasi = new WASIShim({
    sandbox: { env: {}, args: ['itsor_auth'], preopens: {}, enableNetwork: false },
  }).getImportObject();
  const platform = {
    'spin:sqlite/sqlite': sqliteImport(db, { log: onSql }),
    'spin:postgres/postgres': postgresImport({ opened: postgresOpened }),
    'fermyon:spin/variables': variablesImport(vars),
    'itsor:auth/types': {},
  };
  // jco 1.35's instantiation mode looks imports up without their @version; the versioned
  // names (as in the generated .d.ts) are added too in case another jco does.
  const imports = { ...wasi };
  for (const [name, value] of Object.entries(platform)) imports[name] = value;
  imports['spin:sqlite/sqlite@3.0.0'] = platform['spin:sqlite/sqlite'];
  imports['spin:postgres/postgres@4.0.0'] = platform['spin:postgres/postgres'];
  imports['fermyon:spin/variables@2.0.0'] = platform['fermyon:spin/variables'];
  imports['itsor:auth/types@0.2.0'] = {};
  const root = await instantiate(getCoreModule, imports);
  const accounts = root.accounts ?? root['itsor:auth/accounts@0.2.0'];
  if (!accounts) throw new Error(`the component exports no itsor:auth/accounts (exports: ${Object.keys(root)})`);
  return { accounts, db, variables: vars };
}

/**
 * The typed error a component call raised: jco throws a `ComponentError` whose `payload`
 * is the WIT `error` variant, `{ tag: 'email-taken' }`, `{ tag: 'invalid-input', val: {...} }`.
 * Anything else (a trap, a bug in the host shims) is rethrown as is.
 */
export function componentErrorOf(fn) {
  try {
    fn();
  } catch (err) {
    if (err && Object.hasOwn(err, 'payload') && typeof err.payload?.tag === 'string') return err.payload;
    throw err;
  }
  throw new Error('expected the call to fail with a typed error, but it succeeded');
}
