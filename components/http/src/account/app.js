// The account page: plain browser JavaScript over the Better Auth client protocol, served by
// itsor at /account (no build step). Every call is same-origin, so the session cookie rides
// along and the CSRF rule sees `Sec-Fetch-Site: same-origin`.

const api = async (path, { method = 'GET', body } = {}) => {
  const init = { method, credentials: 'same-origin', headers: {} };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(`/api/auth/${path}`, init);
  const data = response.status === 204 ? null : await response.json();
  if (!response.ok) throw new Error(data?.message ?? `HTTP ${response.status}`);
  return data;
};

const $ = (id) => document.getElementById(id);

const say = (text, isError = false) => {
  $('status').textContent = text;
  $('status').className = isError ? 'error' : '';
};

const formValues = (form) => Object.fromEntries(new FormData(form).entries());

const when = (iso) => new Date(iso).toLocaleString();

async function render() {
  const current = await api('get-session');
  $('signed-out').hidden = current !== null;
  $('signed-in').hidden = current === null;
  if (current === null) return;
  $('who').textContent = current.user.name ? `${current.user.name} <${current.user.email}>` : current.user.email;
  $('expires').textContent = when(current.session.expiresAt);
  $('expires').dateTime = current.session.expiresAt;
  const sessions = await api('list-sessions');
  $('sessions').replaceChildren(...sessions.map((session) => {
    const row = document.createElement('tr');
    const own = session.id === current.session.id;
    row.className = own ? 'current' : '';
    row.dataset.sessionId = session.id;
    const cells = [when(session.createdAt), session.userAgent ?? '', session.ipAddress ?? ''];
    for (const [index, text] of cells.entries()) {
      const cell = document.createElement('td');
      cell.textContent = text;
      if (index === 1) cell.className = 'agent';
      row.append(cell);
    }
    const action = document.createElement('td');
    if (own) {
      action.textContent = 'this browser';
    } else {
      const revoke = document.createElement('button');
      revoke.type = 'button';
      revoke.textContent = 'Revoke';
      revoke.addEventListener('click', () => act(async () => {
        await api('revoke-session', { method: 'POST', body: { token: session.token } });
        return 'Session revoked.';
      }));
      action.append(revoke);
    }
    row.append(action);
    return row;
  }));
}

async function act(step) {
  try {
    say(await step());
    await render();
  } catch (error) {
    say(error.message, true);
  }
}

$('sign-up').addEventListener('submit', (event) => {
  event.preventDefault();
  const { name, email, password } = formValues(event.target);
  act(async () => {
    await api('sign-up/email', { method: 'POST', body: { name, email, password } });
    event.target.reset();
    return 'Account created; you are signed in.';
  });
});

$('sign-in').addEventListener('submit', (event) => {
  event.preventDefault();
  const { email, password, rememberMe } = formValues(event.target);
  act(async () => {
    await api('sign-in/email', { method: 'POST', body: { email, password, rememberMe: rememberMe === 'on' } });
    event.target.reset();
    return 'Signed in.';
  });
});

$('revoke-others').addEventListener('click', () => act(async () => {
  await api('revoke-other-sessions', { method: 'POST', body: {} });
  return 'Other sessions signed out.';
}));

$('sign-out').addEventListener('click', () => act(async () => {
  await api('sign-out', { method: 'POST', body: {} });
  return 'Signed out.';
}));

act(async () => '');
