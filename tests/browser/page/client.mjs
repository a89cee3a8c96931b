// The front end's auth client, exactly as a Next.js app writes it (seed 004, "Configure
// Better Auth"): the unmodified better-auth client, pointed at itsor. Bundled for the
// browser by lib/pages.mjs; the test page reads it from `window.itsorAuth`.
import { createAuthClient } from 'better-auth/client';

// Where itsor is: the page's `?itsor=` parameter (the test starts itsor on a free port).
const baseURL = new URL(window.location.href).searchParams.get('itsor');

window.itsorAuth = createAuthClient({ baseURL, basePath: '/api/auth' });
