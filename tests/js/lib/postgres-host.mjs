// `spin:postgres/postgres@4.0.0` for jco-transpiled components: a stub. Node has no
// synchronous PostgreSQL client, and the component's imports are synchronous, so this
// embedding stores in SQLite only; the component calls this import only when its
// `database_url` variable is a postgres:// URL, and then every `open` fails with
// `connection-failed`, which the component reports as its `unavailable` error.
import { HostError } from './sqlite-host.mjs';

/** The stub import object; `opened` records every address the component tried. */
export function postgresImport({ opened = [] } = {}) {
  class Connection {
    static open(address) {
      opened.push(address);
      throw new HostError({ tag: 'connection-failed', val: 'PostgreSQL is not available in this embedding' });
    }

    query() {
      throw new HostError({ tag: 'other', val: 'unreachable: no connection can be opened' });
    }

    execute() {
      throw new HostError({ tag: 'other', val: 'unreachable: no connection can be opened' });
    }
  }
  return { Connection };
}
