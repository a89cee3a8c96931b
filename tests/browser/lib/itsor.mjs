// A real `itsor serve` for the tests: the binary and component cargo built, a fresh SQLite
// file in a temporary directory, a free loopback port, JSON logs kept for assertions.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

import { requireComponent, REPO_DIR } from '../../js/lib/paths.mjs';

/** A development secret for the tests (BACKEND_ENV=test accepts it). */
export const TEST_SECRET = 'browser-test-secret-5b1e9c3a7d2f8e4b6a0c';

/** $ITSOR_BIN, else ${CARGO_TARGET_DIR:-<repo>/target}/release/itsor. */
export function binaryPath() {
  if (process.env.ITSOR_BIN) return process.env.ITSOR_BIN;
  const target = process.env.CARGO_TARGET_DIR ?? join(REPO_DIR, 'target');
  const path = join(target, 'release', 'itsor');
  if (!existsSync(path)) {
    throw new Error(`itsor not found at ${path}: run \`make host\` with the same CARGO_TARGET_DIR, or set ITSOR_BIN`);
  }
  return path;
}

/**
 * Starts `itsor serve` with `env` on top of the test defaults; resolves once it listens.
 * `url` names the server by `localhost` (so its cookies are same-site with pages on
 * other localhost ports, as in a Next.js dev setup).
 */
export async function startItsor(env = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'itsor-browser-'));
  const environment = {
    PATH: process.env.PATH,
    BACKEND_ENV: 'test',
    JWT_SECRET: TEST_SECRET,
    BACKEND_DATABASE_URL: `sqlite:///${join(dir, 'itsor.db')}`,
    // Cheap hashing keeps the flows fast; production costs are tested in the e2e suite.
    PASSWORD_MEMORY_KIB: '1024',
    PASSWORD_ITERATIONS: '1',
    ITSOR_LOG_FORMAT: 'json',
    ITSOR_DRAIN_SECONDS: '1',
    ITSOR_CACHE_DIR: join(tmpdir(), 'itsor-browser-cache'),
    ...env,
  };
  const child = spawn(
    binaryPath(),
    ['serve', '--host', '127.0.0.1', '--port', '0', '--component', requireComponent()],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: environment },
  );
  const logs = [];
  createInterface({ input: child.stderr }).on('line', (line) => {
    try {
      logs.push(JSON.parse(line));
    } catch {
      logs.push({ text: line });
    }
  });
  const stdout = [];
  const listening = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`itsor did not start in 120 s:\n${stdout.join('\n')}\n${JSON.stringify(logs)}`)), 120_000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      stdout.push(line);
      const match = /^itsor listening on http:\/\/127\.0\.0\.1:(\d+)$/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`itsor exited with ${code} before listening:\n${stdout.join('\n')}\n${JSON.stringify(logs)}`));
    });
  });
  const port = listening;
  return {
    port,
    url: `http://localhost:${port}`,
    stdout,
    /**
     * `itsor keys rotate` against this server's database with its settings, as an operator
     * runs it beside a live server; resolves to the new key's `kid`.
     */
    async rotateKeys() {
      const args = ['keys', 'rotate', '--component', requireComponent()];
      const { stdout: kid } = await promisify(execFile)(binaryPath(), args, { cwd: dir, env: environment });
      return kid.trim();
    },
    /** The access-log lines (`"message": "request"`) so far. */
    requests: () => logs.filter((line) => line.fields?.message === 'request').map((line) => line.fields),
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
