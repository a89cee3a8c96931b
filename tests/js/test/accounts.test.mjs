// The itsor component's typed `itsor:auth/accounts` export, embedded in Node through jco:
// no HTTP, no itsor host. Each test gets a fresh instance with its own in-memory SQLite
// database (sql.js, migrated from /migrations) and its own variables.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { componentErrorOf, instantiateItsor } from '../lib/instance.mjs';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const PASSWORD = 'correct horse battery';

/** A fresh instance with one signed-up, logged-in user. */
async function withSession(options) {
  const itsor = await instantiateItsor(options);
  const user = itsor.accounts.signup('ada@example.com', PASSWORD, 'Ada');
  const login = itsor.accounts.login('ada@example.com', PASSWORD);
  return { ...itsor, user, login, token: login.accessToken };
}

describe('itsor:auth/accounts over jco', () => {
  test('signup returns the user with a UUID id and the e-mail trimmed and lower-cased', async () => {
    const { accounts, db } = await instantiateItsor();
    const user = accounts.signup('  Ada.Lovelace@Example.COM ', PASSWORD, 'Ada');
    assert.match(user.id, UUID);
    assert.equal(user.email, 'ada.lovelace@example.com');
    assert.equal(user.name, 'Ada');
    assert.match(user.createdAt, RFC3339_UTC);
    assert.match(user.updatedAt, RFC3339_UTC);
    assert.equal(Object.hasOwn(user, 'passwordHash'), false);

    // The row landed in the host's database, with a hash rather than the password.
    const [{ values }] = db.exec('SELECT id, email, password_hash FROM users');
    assert.equal(values.length, 1);
    const [id, email, hash] = values[0];
    assert.equal(id, user.id);
    assert.equal(email, 'ada.lovelace@example.com');
    assert.match(hash, /^\$argon2id\$/);
    assert.ok(!hash.includes(PASSWORD));
  });

  test('signup without a name leaves it unset', async () => {
    const { accounts } = await instantiateItsor();
    const user = accounts.signup('nameless@example.com', PASSWORD, undefined);
    assert.equal(user.name, undefined);
  });

  test('login returns a bearer access token valid for 3600 s by default', async () => {
    const { accounts } = await instantiateItsor();
    const user = accounts.signup('ada@example.com', PASSWORD, undefined);
    const before = Date.now();
    const login = accounts.login('ADA@example.com', PASSWORD);
    assert.deepEqual(login.user, user);
    assert.equal(login.tokenType, 'bearer');
    assert.equal(login.expiresIn, 3600);
    assert.equal(typeof login.accessToken, 'string');
    assert.equal(login.accessToken.split('.').length, 3, 'a JWT has three parts');
    assert.match(login.expiresAt, RFC3339_UTC);
    const expiresAt = Date.parse(login.expiresAt);
    assert.ok(Math.abs(expiresAt - (before + 3600_000)) < 5_000, `expires-at ${login.expiresAt}`);
  });

  test('authenticate resolves the token to the same user', async () => {
    const { accounts, user, token } = await withSession();
    assert.deepEqual(accounts.authenticate(token), user);
  });

  test('authorize accepts the owner and refuses anyone else with `forbidden`', async () => {
    const { accounts, user, token } = await withSession();
    assert.deepEqual(accounts.authorize(token, user.id), user);
    assert.deepEqual(componentErrorOf(() => accounts.authorize(token, 'someone-else')), { tag: 'forbidden' });
  });

  test('logout revokes the session: the token then fails with `invalid-token`', async () => {
    const { accounts, user, token } = await withSession();
    assert.deepEqual(accounts.authenticate(token), user);
    assert.equal(accounts.logout(token), undefined);
    assert.deepEqual(componentErrorOf(() => accounts.authenticate(token)), { tag: 'invalid-token' });
    assert.deepEqual(componentErrorOf(() => accounts.authorize(token, user.id)), { tag: 'invalid-token' });
    // Revoking an already revoked session succeeds.
    assert.equal(accounts.logout(token), undefined);
  });

  test('a token that is not one fails with `invalid-token`', async () => {
    const { accounts, token } = await withSession();
    assert.deepEqual(componentErrorOf(() => accounts.authenticate('not-a-jwt')), { tag: 'invalid-token' });
    const [header, payload, signature] = token.split('.');
    const forged = [header, payload, signature.slice(0, -2) + (signature.endsWith('AA') ? 'BB' : 'AA')].join('.');
    assert.deepEqual(componentErrorOf(() => accounts.authenticate(forged)), { tag: 'invalid-token' });
  });

  test('a duplicate signup fails with `email-taken`, whatever the spelling', async () => {
    const { accounts, db } = await instantiateItsor();
    accounts.signup('ada@example.com', PASSWORD, undefined);
    assert.deepEqual(componentErrorOf(() => accounts.signup('ada@example.com', 'another password', undefined)), {
      tag: 'email-taken',
    });
    assert.deepEqual(componentErrorOf(() => accounts.signup(' ADA@Example.com', PASSWORD, undefined)), {
      tag: 'email-taken',
    });
    assert.equal(db.exec('SELECT count(*) FROM users')[0].values[0][0], 1);
  });

  test('a 7-character password fails with `invalid-input` on field `password`', async () => {
    const { accounts, db } = await instantiateItsor();
    const err = componentErrorOf(() => accounts.signup('ada@example.com', '1234567', undefined));
    assert.equal(err.tag, 'invalid-input');
    assert.equal(err.val.field, 'password');
    assert.equal(typeof err.val.message, 'string');
    assert.ok(err.val.message.length > 0);
    assert.equal(db.exec('SELECT count(*) FROM users')[0].values[0][0], 0);
    // 8 characters is enough.
    assert.equal(accounts.signup('ada@example.com', '12345678', undefined).email, 'ada@example.com');
  });

  test('an invalid e-mail fails with `invalid-input` on field `email`', async () => {
    const { accounts } = await instantiateItsor();
    const err = componentErrorOf(() => accounts.signup('not-an-email', PASSWORD, undefined));
    assert.equal(err.tag, 'invalid-input');
    assert.equal(err.val.field, 'email');
  });

  test('a wrong password or an unknown e-mail fails with `invalid-credentials`', async () => {
    const { accounts } = await instantiateItsor();
    accounts.signup('ada@example.com', PASSWORD, undefined);
    assert.deepEqual(componentErrorOf(() => accounts.login('ada@example.com', 'wrong password')), {
      tag: 'invalid-credentials',
    });
    assert.deepEqual(componentErrorOf(() => accounts.login('nobody@example.com', PASSWORD)), {
      tag: 'invalid-credentials',
    });
  });
});

describe('per-instance platform', () => {
  test('variables are read per instance: jwt_access_minutes sets expires-in', async () => {
    const { login } = await withSession({ variables: { jwt_access_minutes: '5' } });
    assert.equal(login.expiresIn, 300);
  });

  test('instances share neither database nor signing key', async () => {
    const a = await withSession();
    const b = await instantiateItsor({ variables: { jwt_secret: 'y'.repeat(40) } });
    assert.deepEqual(componentErrorOf(() => b.accounts.login('ada@example.com', PASSWORD)), {
      tag: 'invalid-credentials',
    });
    assert.deepEqual(componentErrorOf(() => b.accounts.authenticate(a.token)), { tag: 'invalid-token' });
    assert.deepEqual(a.accounts.authenticate(a.token), a.user);
  });

  test('an unsafe production configuration fails with `misconfigured`, without the secret', async () => {
    const secret = 'short-secret';
    const { accounts } = await instantiateItsor({ variables: { backend_env: 'production', jwt_secret: secret } });
    const err = componentErrorOf(() => accounts.signup('ada@example.com', PASSWORD, undefined));
    assert.equal(err.tag, 'misconfigured');
    // The typed API gives embedders the same caller-safe text as HTTP clients
    // (components/auth/src/typed.rs), not the name of the setting.
    assert.equal(typeof err.val, 'string');
    assert.ok(!err.val.includes(secret), 'the message must not contain the secret');
  });

  test('a postgres:// database_url stores through spin:postgres: the stub refuses, the call is `unavailable`', async () => {
    const opened = [];
    const url = 'postgresql://itsor:pw@db.invalid/itsor';
    const { accounts, db } = await instantiateItsor({ variables: { database_url: url }, postgresOpened: opened });
    const err = componentErrorOf(() => accounts.signup('ada@example.com', PASSWORD, undefined));
    assert.equal(err.tag, 'unavailable');
    assert.deepEqual(opened, [url], 'the component opened exactly the configured address');
    assert.ok(!err.val.includes('pw@'), 'the message must not contain the URL');
    assert.equal(db.exec('SELECT COUNT(*) FROM users')[0].values[0][0], 0, 'nothing went to SQLite');
  });
});
