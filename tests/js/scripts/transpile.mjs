#!/usr/bin/env node
// Transpiles the built component to JavaScript with jco, in instantiation mode: the
// generated module exports `instantiate(getCoreModule, imports)` and imports nothing
// itself, so every test passes its own WASI shim, SQLite database and variables.
//
// Output: tests/js/generated/ (gitignored), replaced whole on every run, plus
// generated/source.json naming the .wasm (and its SHA-256) the bindings were made from.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import { GENERATED_DIR, PACKAGE_DIR, STAMP_FILE, requireComponent, sha256 } from '../lib/paths.mjs';

const JCO_DIR = join(PACKAGE_DIR, 'node_modules', '@bytecodealliance', 'jco');

export function transpile() {
  const wasm = requireComponent();
  let jcoPackage;
  try {
    jcoPackage = JSON.parse(readFileSync(join(JCO_DIR, 'package.json'), 'utf8'));
  } catch {
    throw new Error(`jco is not installed in ${JCO_DIR}: run \`npm ci\` in tests/js first`);
  }
  const jcoBin = join(JCO_DIR, typeof jcoPackage.bin === 'string' ? jcoPackage.bin : jcoPackage.bin.jco);
  const jcoVersion = jcoPackage.version;

  // Build into a sibling directory and swap it in, so a failed run leaves no half output.
  const staging = `${GENERATED_DIR}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const args = [
    jcoBin, 'transpile', wasm,
    '--out-dir', staging,
    '--name', 'itsor_auth',
    // Import objects are passed per instance; no import is resolved by module specifier.
    '--instantiation', 'async',
    '--quiet',
  ];
  const run = spawnSync(process.execPath, args, { stdio: 'inherit' });
  if (run.status !== 0) {
    rmSync(staging, { recursive: true, force: true });
    throw new Error(`jco transpile failed (exit ${run.status ?? run.signal}): node ${args.join(' ')}`);
  }
  writeFileSync(
    join(staging, 'source.json'),
    JSON.stringify({ component: wasm, sha256: sha256(wasm), jco: jcoVersion }, null, 2) + '\n',
  );
  rmSync(GENERATED_DIR, { recursive: true, force: true });
  renameSync(staging, GENERATED_DIR);
  return { wasm, out: GENERATED_DIR, stamp: STAMP_FILE, jco: jcoVersion };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    const { wasm, out, jco } = transpile();
    console.log(`transpiled ${wasm}\n       -> ${out} (jco ${jco}, --instantiation async)`);
  } catch (err) {
    console.error(`error: ${err.message}`);
    process.exit(1);
  }
}
