// The front end's origin: a tiny static server on loopback with one page that loads the
// unmodified better-auth client (bundled once by esbuild; no other build step), as a
// Next.js page on http://localhost:3000 would.
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

const HERE = dirname(fileURLToPath(import.meta.url));

let bundle;

/** The better-auth client of page/client.mjs, bundled for the browser (once per run). */
async function clientBundle() {
  bundle ??= build({
    entryPoints: [join(HERE, '..', 'page', 'client.mjs')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'chrome120',
    write: false,
  }).then((result) => result.outputFiles[0].text);
  return bundle;
}

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>front end</title>
<script type="module" src="/client.js"></script></head>
<body><h1>A front end using the better-auth client</h1></body></html>`;

/**
 * Serves the page on `port` (0: any free port); it talks to the itsor named by its
 * `?itsor=` parameter. Resolves to `{ origin, close() }`; `origin` is
 * `http://localhost:PORT`.
 */
export async function servePage(port = 0) {
  const script = await clientBundle();
  const server = createServer((request, response) => {
    if (request.url === '/client.js') {
      response.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
    } else if (new URL(request.url, 'http://page').pathname === '/') {
      response.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    origin: `http://localhost:${server.address().port}`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** Tries `port` first (the seed's front end is on http://localhost:3000), else any. */
export async function servePageOnPreferredPort(port) {
  try {
    return await servePage(port);
  } catch (error) {
    if (error.code !== 'EADDRINUSE') throw error;
    return servePage(0);
  }
}
