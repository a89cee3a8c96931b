// `fermyon:spin/variables@2.0.0` for jco-transpiled components, from a plain object.
import { HostError } from './sqlite-host.mjs';

// Spin's rule for variable names: lower snake case.
const NAME = /^[a-z][a-z0-9_]*$/;

/** The `fermyon:spin/variables` import object serving `values` (name -> string). */
export function variablesImport(values, { log } = {}) {
  return {
    get(name) {
      log?.(name);
      if (!NAME.test(name)) throw new HostError({ tag: 'invalid-name', val: name });
      if (!Object.hasOwn(values, name) || values[name] === undefined) {
        throw new HostError({ tag: 'undefined', val: name });
      }
      return String(values[name]);
    },
  };
}
