// What a browser adds to `fetch` and Node's lacks: a cookie jar and an `Origin`. The
// better-auth client takes it as `fetchOptions.customFetchImpl`; the client is untouched.
// Every exchange is also recorded, for the artifacts and the closing note.

/** A `fetch` that keeps cookies, sends `origin`, and records each call in `calls`. */
export function browserLikeFetch(origin) {
  const jar = new Map();
  const calls = [];
  const fetchImpl = async (input, init = {}) => {
    const request = new Request(input, init);
    const headers = new Headers(request.headers);
    if (jar.size) headers.set('cookie', [...jar].map(([name, value]) => `${name}=${value}`).join('; '));
    headers.set('origin', origin);
    const body = request.method === 'GET' ? undefined : await request.text();
    const response = await fetch(request.url, { method: request.method, headers, body });
    const setCookies = response.headers.getSetCookie();
    for (const line of setCookies) {
      const [pair, ...attributes] = line.split(';').map((part) => part.trim());
      const [name, value] = [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)];
      const expired = attributes.some((attribute) => attribute.toLowerCase() === 'max-age=0');
      if (expired || value === '') jar.delete(name);
      else jar.set(name, value);
    }
    const text = await response.clone().text();
    calls.push({
      request: `${request.method} ${new URL(request.url).pathname}`,
      body: body ? JSON.parse(body) : undefined,
      status: response.status,
      setCookie: setCookies.map(abbreviate),
      answer: text === '' ? undefined : JSON.parse(text),
    });
    return response;
  };
  return { fetchImpl, jar, calls };
}

/** Long tokens shortened, so records stay readable. */
export function abbreviate(value) {
  return typeof value === 'string' ? value.replace(/eyJ[\w-]+\.[\w-]+\.[\w-]+/g, (jwt) => `${jwt.slice(0, 12)}…`) : value;
}
