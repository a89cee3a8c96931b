// Debian's Chromium against a real `itsor serve`: a front end on http://localhost:3000 using
// the unmodified better-auth client, a page on an origin itsor does not allow, and itsor's
// own account page (screenshot: artifacts/account-page.png).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { artifact } from '../lib/artifacts.mjs';
import { launch } from '../lib/chromium.mjs';
import { startItsor } from '../lib/itsor.mjs';
import { servePage, servePageOnPreferredPort } from '../lib/pages.mjs';

const PASSWORD = 'correct horse battery staple';

let frontEnd;
let elsewhere;
let itsor;
let browser;

before(async () => {
  frontEnd = await servePageOnPreferredPort(3000);
  elsewhere = await servePage(0);
  itsor = await startItsor({ CORS_ORIGINS: frontEnd.origin });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await itsor?.stop();
  await frontEnd?.close();
  await elsewhere?.close();
});

/** A tab on `origin`'s page, its better-auth client loaded. */
async function openFrontEnd(origin) {
  const page = await browser.context.newPage();
  await page.goto(`${origin}/?itsor=${encodeURIComponent(itsor.url)}`);
  await page.waitForFunction(() => window.itsorAuth !== undefined);
  return page;
}

/** Runs `auth.<path>(args)` in the page; resolves to `{data, error}` or `{thrown}`. */
function call(page, path, args) {
  return page.evaluate(async ([path, args]) => {
    const fn = path.split('.').reduce((object, key) => object[key], window.itsorAuth);
    try {
      const { data, error } = await fn(args);
      return { data: JSON.parse(JSON.stringify(data)), error: error && { status: error.status, code: error.code, message: error.message } };
    } catch (thrown) {
      return { thrown: String(thrown.message ?? thrown) };
    }
  }, [path, args]);
}

const ok = (result) => {
  assert.equal(result.error ?? null, null, JSON.stringify(result));
  assert.equal(result.thrown, undefined, JSON.stringify(result));
  return result.data;
};

test('a front end on an allowed origin signs up, in and out with the better-auth client', async () => {
  const page = await openFrontEnd(frontEnd.origin);
  const signedUp = ok(await call(page, 'signUp.email', { email: 'page@example.com', password: PASSWORD, name: 'Page' }));
  assert.equal(signedUp.user.email, 'page@example.com');
  const signedIn = ok(await call(page, 'signIn.email', { email: 'page@example.com', password: PASSWORD }));

  // The browser holds the session in an HttpOnly cookie for itsor's host.
  const cookies = await browser.context.cookies(itsor.url);
  const session = cookies.find((cookie) => cookie.name === 'itsor_session');
  assert.ok(session?.httpOnly, JSON.stringify(cookies));
  assert.equal(session.value, signedIn.token);
  assert.equal(await page.evaluate(() => document.cookie.includes('itsor_session')), false, 'scripts cannot read the cookie');

  const current = ok(await call(page, 'getSession'));
  assert.equal(current.user.email, 'page@example.com');
  assert.equal(current.session.token, signedIn.token);
  const sessions = ok(await call(page, 'listSessions'));
  assert.equal(sessions.length, 2);
  assert.ok(sessions.every((s) => s.userAgent.includes('Chrome')), JSON.stringify(sessions));

  assert.deepEqual(ok(await call(page, 'signOut')), { success: true });
  assert.equal(ok(await call(page, 'getSession')), null);
  assert.equal((await browser.context.cookies(itsor.url)).some((c) => c.name === 'itsor_session'), false);
  await page.close();
});

test('a page on an origin itsor does not allow is blocked, and cannot forge a write', async () => {
  const friendly = await openFrontEnd(frontEnd.origin);
  ok(await call(friendly, 'signUp.email', { email: 'victim@example.com', password: PASSWORD, name: 'Victim' }));

  const hostile = await openFrontEnd(elsewhere.origin);
  // Its preflight gets no CORS grant, so the browser never sends the request.
  const blocked = await call(hostile, 'signIn.email', { email: 'victim@example.com', password: PASSWORD });
  assert.match(blocked.thrown ?? blocked.error?.message ?? '', /Failed to fetch/, JSON.stringify(blocked));
  const blockedGet = await call(hostile, 'getSession');
  assert.match(blockedGet.thrown ?? blockedGet.error?.message ?? '', /Failed to fetch/, JSON.stringify(blockedGet));

  // A "simple" cross-origin POST needs no preflight and carries the (same-site, Lax)
  // cookie: itsor must refuse it itself.
  const before = itsor.requests().length;
  await hostile.evaluate(async (url) => {
    await fetch(`${url}/api/auth/sign-out`, { method: 'POST', mode: 'no-cors', credentials: 'include', body: '{}' });
  }, itsor.url);
  const forged = itsor.requests().slice(before).filter((r) => r.route === '/api/auth/sign-out');
  assert.deepEqual(forged.map((r) => r.status), [403], JSON.stringify(itsor.requests().slice(before)));
  assert.equal(ok(await call(friendly, 'getSession')).user.email, 'victim@example.com', 'the session survived');
  await friendly.close();
  await hostile.close();
});

test("itsor's account page signs up, lists and revokes sessions, and signs out", async () => {
  await browser.context.clearCookies();
  const page = await browser.context.newPage();
  await page.goto(`${itsor.url}/account`);
  await page.locator('#signed-out').waitFor();
  assert.equal(await page.locator('#signed-in').isHidden(), true, 'signed out, only the forms show');
  await page.fill('#sign-up [name=name]', 'Grace');
  await page.fill('#sign-up [name=email]', 'grace@example.com');
  await page.fill('#sign-up [name=password]', PASSWORD);
  await page.click('#sign-up button[type=submit]');
  await page.locator('#signed-in').waitFor();
  assert.equal(await page.locator('#signed-out').isHidden(), true, 'signed in, the forms are gone');
  assert.equal(await page.textContent('#who'), 'Grace <grace@example.com>');
  assert.equal(await page.locator('#sessions tr').count(), 1);

  // A second session, from elsewhere (the API, by bearer), shows up and can be revoked.
  const login = await fetch(`${itsor.url}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'another device' },
    body: JSON.stringify({ email: 'grace@example.com', password: PASSWORD }),
  });
  const { access_token: other } = await login.json();
  await page.reload();
  await page.locator('#sessions tr').nth(1).waitFor();
  assert.equal(await page.locator('#sessions tr').count(), 2);
  await page.screenshot({ path: artifact('account-page.png'), fullPage: true });
  await page.click('#sessions tr:not(.current) button');
  await page.waitForFunction(() => document.querySelectorAll('#sessions tr').length === 1);
  assert.equal(await page.textContent('#status'), 'Session revoked.');
  const revoked = await fetch(`${itsor.url}/auth/me`, { headers: { authorization: `Bearer ${other}` } });
  assert.equal(revoked.status, 401);

  await page.click('#sign-out');
  await page.locator('#signed-out').waitFor();
  assert.equal(await page.locator('#signed-in').isHidden(), true);
  assert.equal(await page.textContent('#status'), 'Signed out.');

  // Wrong password: the page shows itsor's message.
  await page.fill('#sign-in [name=email]', 'grace@example.com');
  await page.fill('#sign-in [name=password]', 'not the password');
  await page.click('#sign-in button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#status').className === 'error');
  assert.equal(await page.textContent('#status'), 'Invalid email or password');
  await page.close();
});
