// Tokens another service verifies without itsor's secret: the unmodified better-auth client
// with its JWT plugin (`token()`, `jwks()`) against a real `itsor serve`, and the tokens
// checked by `jose`'s `createRemoteJWKSet` from the live key set, as a Node backend would
// check them, for EdDSA and ES256, before and after `itsor keys rotate`.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createAuthClient } from 'better-auth/client';
import { jwtClient } from 'better-auth/client/plugins';
import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify } from 'jose';

import { startItsor } from '../lib/itsor.mjs';
import { browserLikeFetch } from '../lib/jar.mjs';

const FRONT_END = 'http://localhost:3000';
const PASSWORD = 'correct horse battery staple';

/** A front end's client with the JWT plugin, signed up as `email`. */
async function signedUpClient(itsor, email) {
  const { fetchImpl } = browserLikeFetch(FRONT_END);
  const auth = createAuthClient({
    baseURL: itsor.url,
    basePath: '/api/auth',
    plugins: [jwtClient()],
    fetchOptions: { customFetchImpl: fetchImpl },
  });
  const { data, error } = await auth.signUp.email({ email, password: PASSWORD, name: 'Jo' });
  assert.equal(error, null, JSON.stringify(error));
  return { auth, user: data.user };
}

/** `authClient.token()`: a fresh access token for the client's session. */
async function accessToken(auth) {
  const { data, error } = await auth.token();
  assert.equal(error, null, JSON.stringify(error));
  assert.deepEqual(Object.keys(data), ['token']);
  return data.token;
}

for (const algorithm of ['EdDSA', 'ES256']) {
  test(`${algorithm}: jose verifies from the live key set, before and after a key rotation`, async (t) => {
    const env = { CORS_ORIGINS: FRONT_END, JWT_ALGORITHM: algorithm };
    const itsor = await startItsor(env);
    t.after(() => itsor.stop());
    const { auth, user } = await signedUpClient(itsor, 'jose@example.com');

    // A verifier's key set, as a backend keeps it: fetched once, refetched when a token names
    // a key it does not hold (no cool-down, so the test sees the refetch at once).
    const keySet = createRemoteJWKSet(new URL('/api/auth/jwks', itsor.url), { cooldownDuration: 0 });
    const verify = (token) => jwtVerify(token, keySet, { algorithms: [algorithm], issuer: 'itsor' });

    const before = await accessToken(auth);
    const first = await verify(before);
    assert.equal(first.payload.sub, user.id);
    assert.equal(first.protectedHeader.alg, algorithm);
    const oldKid = first.protectedHeader.kid;
    const { data: published } = await auth.jwks();
    assert.deepEqual(
      published.keys.map((key) => [key.kid, key.alg, key.use]),
      [[oldKid, algorithm, 'sig']],
      "the plugin's jwks() lists the signing key",
    );
    assert.ok(published.keys.every((key) => !('d' in key)), 'no private member is published');

    const newKid = await itsor.rotateKeys();
    assert.ok(newKid && newKid !== oldKid, `a new kid: ${newKid}`);
    const after = await accessToken(auth);
    assert.equal(decodeProtectedHeader(after).kid, newKid, 'new tokens are signed by the new key');
    assert.equal((await verify(after)).payload.sub, user.id, 'the cached set is refetched for the new kid');
    assert.equal((await verify(before)).payload.sub, user.id, 'tokens of the old key verify until they expire');

    const wellKnown = createRemoteJWKSet(new URL('/.well-known/jwks.json', itsor.url));
    for (const token of [before, after]) {
      assert.equal((await jwtVerify(token, wellKnown, { algorithms: [algorithm] })).payload.sub, user.id);
    }

    // A token another itsor deployment signed names a key this one never published.
    const stranger = await startItsor(env);
    t.after(() => stranger.stop());
    const foreign = await accessToken((await signedUpClient(stranger, 'jose@example.com')).auth);
    await assert.rejects(verify(foreign), errors.JWKSNoMatchingKey);
    // And the set refuses a token whose signature was altered.
    const [head, body, signature] = after.split('.');
    const altered = `${head}.${body}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
    await assert.rejects(verify(altered), errors.JWSSignatureVerificationFailed);
  });
}
