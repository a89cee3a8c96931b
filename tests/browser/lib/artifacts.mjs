// Where the tests leave what a person may want to look at: tests/browser/artifacts/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { abbreviate } from './jar.mjs';

/** tests/browser/artifacts (gitignored). */
export const ARTIFACTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');

/** The path of artifact `name`, its directory made. */
export function artifact(name) {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  return join(ARTIFACTS_DIR, name);
}

/** Writes `value` as JSON to artifact `name`, tokens abbreviated. */
export function record(name, value) {
  const text = JSON.stringify(value, (_, v) => abbreviate(v), 2);
  writeFileSync(artifact(name), `${text}\n`);
}
