// The unmodified better-auth client (1.7.25) in Node against a real `itsor serve`: every
// call a Next.js front end makes, with the answers it reads. The exchanges are recorded in
// artifacts/client-calls.json.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { createAuthClient } from 'better-auth/client';
import { getSessionCookie } from 'better-auth/cookies';

import { record } from '../lib/artifacts.mjs';
import { startItsor } from '../lib/itsor.mjs';
import { browserLikeFetch } from '../lib/jar.mjs';

const FRONT_END = 'http://localhost:3000';
const PASSWORD = 'correct horse battery staple';

let itsor;
before(async () => {
  itsor = await startItsor({ CORS_ORIGINS: FRONT_END });
});
after(async () => itsor?.stop());

/** A client as a front end on FRONT_END creates it, with its own cookie jar. */
function client() {
  const fetch = browserLikeFetch(FRONT_END);
  const auth = createAuthClient({ baseURL: itsor.url, basePath: '/api/auth', fetchOptions: { customFetchImpl: fetch.fetchImpl } });
  return { auth, ...fetch };
}

const ok = ({ data, error }) => {
  assert.equal(error, null, JSON.stringify(error));
  return data;
};

test('every client call, from sign-up to a null session', async () => {
  const { auth, jar, calls } = client();

  const signedUp = ok(await auth.signUp.email({ email: 'ada@example.com', password: PASSWORD, name: 'Ada' }));
  assert.equal(signedUp.user.email, 'ada@example.com');
  assert.equal(signedUp.user.name, 'Ada');
  assert.ok(signedUp.user.createdAt instanceof Date, 'the client reads ISO dates as Dates');
  assert.equal(jar.get('itsor_session'), signedUp.token, 'sign-up signs in');

  const taken = await auth.signUp.email({ email: 'ada@example.com', password: PASSWORD, name: 'Ada' });
  assert.equal(taken.data, null);
  assert.equal(taken.error.status, 422);
  assert.equal(taken.error.code, 'USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL');
  assert.equal(taken.error.message, 'User already exists. Use another email.');

  const wrong = await auth.signIn.email({ email: 'ada@example.com', password: 'not the password' });
  assert.equal(wrong.error.status, 401);
  assert.equal(wrong.error.code, 'INVALID_EMAIL_OR_PASSWORD');
  assert.equal(wrong.error.message, 'Invalid email or password');

  const signedIn = ok(await auth.signIn.email({ email: 'ada@example.com', password: PASSWORD }));
  assert.equal(signedIn.redirect, false);
  assert.equal(signedIn.user.id, signedUp.user.id);

  const session = ok(await auth.getSession());
  assert.equal(session.user.email, 'ada@example.com');
  assert.equal(session.session.token, signedIn.token);
  assert.equal(session.session.userId, signedUp.user.id);
  assert.ok(session.session.expiresAt instanceof Date && session.session.expiresAt > new Date());

  // The session token is the bearer token a separate backend takes.
  const me = await fetch(`${itsor.url}/api/auth/me`, { headers: { authorization: `Bearer ${session.session.token}` } });
  assert.equal(me.status, 200);

  const sessions = ok(await auth.listSessions());
  assert.equal(sessions.length, 2, 'the sign-up session and the sign-in one');
  const other = sessions.find((s) => s.id !== session.session.id);
  ok(await auth.revokeSession({ token: other.token }));
  assert.equal(ok(await auth.listSessions()).length, 1);

  const elsewhere = client();
  ok(await elsewhere.auth.signIn.email({ email: 'ada@example.com', password: PASSWORD }));
  assert.deepEqual(ok(await auth.revokeOtherSessions()), { status: true });
  assert.equal(ok(await elsewhere.auth.getSession()), null, 'the other browser is signed out');

  const changed = ok(await auth.changePassword({ currentPassword: PASSWORD, newPassword: 'a brand new password', revokeOtherSessions: true }));
  assert.equal(changed.user.email, 'ada@example.com');
  const badChange = await auth.changePassword({ currentPassword: PASSWORD, newPassword: 'whatever whatever' });
  assert.equal(badChange.error.code, 'INVALID_PASSWORD');
  assert.ok(ok(await auth.getSession()), 'this session survives the change');

  ok(await elsewhere.auth.signIn.email({ email: 'ada@example.com', password: 'a brand new password' }));
  assert.deepEqual(ok(await auth.revokeSessions()), { status: true });
  assert.equal(ok(await auth.getSession()), null);
  assert.equal(ok(await elsewhere.auth.getSession()), null);

  ok(await auth.signIn.email({ email: 'ada@example.com', password: 'a brand new password' }));
  assert.deepEqual(ok(await auth.signOut()), { success: true });
  assert.equal(jar.has('itsor_session'), false, 'sign-out clears the cookie');
  assert.equal(ok(await auth.getSession()), null);

  record('client-calls.json', calls);
});

test("Better Auth's getSessionCookie() sees itsor's cookie, development and __Secure- names alike", async (t) => {
  const production = await startItsor({
    CORS_ORIGINS: FRONT_END,
    BACKEND_ENV: 'production',
    JWT_SECRET: 'q3Zt8vJ1xN0bR5mW2kP7sL4dH9fG6cA+eYuT1oIiBnM=',
    SESSION_COOKIE_NAME: 'better-auth.session_token',
    SESSION_COOKIE_PREFIX: '__Secure-',
    PASSWORD_MEMORY_KIB: '19456',
    PASSWORD_ITERATIONS: '2',
  });
  t.after(() => production.stop());
  const development = await startItsor({ CORS_ORIGINS: FRONT_END, SESSION_COOKIE_NAME: 'better-auth.session_token' });
  t.after(() => development.stop());
  for (const [server, name] of [[production, '__Secure-better-auth.session_token'], [development, 'better-auth.session_token']]) {
    const { fetchImpl, jar } = browserLikeFetch(FRONT_END);
    const auth = createAuthClient({ baseURL: server.url, basePath: '/api/auth', fetchOptions: { customFetchImpl: fetchImpl } });
    const { token } = ok(await auth.signUp.email({ email: 'mw@example.com', password: PASSWORD, name: 'M' }));
    assert.deepEqual([...jar.keys()], [name]);
    // What Next.js middleware receives: the browser's Cookie header.
    const headers = new Headers({ cookie: `${name}=${jar.get(name)}` });
    assert.equal(getSessionCookie(headers), token, name);
  }
});
