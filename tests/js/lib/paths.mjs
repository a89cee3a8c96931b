// Where things live: the component under test, the repo's migrations, the generated bindings.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** tests/js */
export const PACKAGE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The repository root (tests/js/../..). */
export const REPO_DIR = resolve(PACKAGE_DIR, '..', '..');
/** The SQL schema the component expects, applied in name order. */
export const MIGRATIONS_DIR = join(REPO_DIR, 'migrations');
/** Where scripts/transpile.mjs writes the jco output (gitignored). */
export const GENERATED_DIR = join(PACKAGE_DIR, 'generated');
/** Written last by the transpile step: which .wasm the generated bindings came from. */
export const STAMP_FILE = join(GENERATED_DIR, 'source.json');

// `npm test` runs with cwd = tests/js; a relative path given on the command line means the
// directory the user typed it in, which npm passes as INIT_CWD.
const userCwd = () => process.env.INIT_CWD || process.cwd();
const fromUser = (p) => (isAbsolute(p) ? p : resolve(userCwd(), p));

/**
 * The component under test: $ITSOR_COMPONENT if set, else
 * ${CARGO_TARGET_DIR:-<repo>/target}/wasm32-wasip2/component/itsor_auth.wasm.
 */
export function componentPath() {
  if (process.env.ITSOR_COMPONENT) return fromUser(process.env.ITSOR_COMPONENT);
  const targetDir = process.env.CARGO_TARGET_DIR
    ? fromUser(process.env.CARGO_TARGET_DIR)
    : join(REPO_DIR, 'target');
  return join(targetDir, 'wasm32-wasip2', 'component', 'itsor_auth.wasm');
}

/** The component's path, or a clear error when it has not been built. */
export function requireComponent() {
  const path = componentPath();
  if (!existsSync(path)) {
    const how = process.env.ITSOR_COMPONENT
      ? 'ITSOR_COMPONENT names a file that does not exist'
      : 'build it first (from the repo root: `make component`, with the same CARGO_TARGET_DIR), or point ITSOR_COMPONENT at the .wasm';
    throw new Error(`itsor component not found at ${path}: ${how}`);
  }
  return path;
}

export function sha256(path) {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}
