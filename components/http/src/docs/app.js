// The API reference page: renders /openapi.json (OpenAPI 3.1) and tries its operations with
// fetch on this origin. Plain browser JavaScript, no build step, nothing from elsewhere; every
// text from the description goes in with textContent, never as HTML.

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const TOKEN_KEY = 'itsor-docs-token';

let spec = null;

const $ = (id) => document.getElementById(id);

/** An element with attributes and children (strings become text). */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') element.className = value;
    else if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** Text with `code` spans, as the description writes them. */
function prose(text, tag = 'p') {
  const element = h(tag);
  String(text ?? '').split('`').forEach((part, index) => {
    element.append(index % 2 ? h('code', {}, part) : document.createTextNode(part));
  });
  return element;
}

/** What a local `$ref` points at. */
function resolve(node, seen = 0) {
  if (!node || typeof node !== 'object' || typeof node.$ref !== 'string' || seen > 20) return node;
  const target = node.$ref.replace(/^#\//, '').split('/').reduce(
    (value, key) => value?.[key.replaceAll('~1', '/').replaceAll('~0', '~')],
    spec,
  );
  return resolve(target, seen + 1);
}

const refName = (node) => (typeof node?.$ref === 'string' ? node.$ref.split('/').pop() : null);

/** A short human description of a schema's type. */
function typeOf(schema, depth = 0) {
  if (!schema || depth > 4) return 'any';
  const name = refName(schema);
  if (name) return name;
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  if (schema.enum) return schema.enum.map((value) => JSON.stringify(value)).join(' | ');
  for (const keyword of ['oneOf', 'anyOf']) {
    if (schema[keyword] && !schema.type) return schema[keyword].map((branch) => typeOf(branch, depth + 1)).join(' | ');
  }
  if (schema.allOf && !schema.type) return schema.allOf.map((branch) => typeOf(branch, depth + 1)).join(' & ');
  const types = [].concat(schema.type ?? 'any');
  return types.map((type) => {
    if (type === 'array') return `array of ${typeOf(schema.items, depth + 1)}`;
    if (type === 'string' && schema.format) return `string (${schema.format})`;
    return type;
  }).join(' | ');
}

/** The constraints of a schema, in words. */
function constraints(schema) {
  const target = resolve(schema) ?? {};
  const words = [];
  const range = (low, high, unit) => {
    if (low !== undefined && high !== undefined) words.push(`${low}–${high}${unit}`);
    else if (low !== undefined) words.push(`≥ ${low}${unit}`);
    else if (high !== undefined) words.push(`≤ ${high}${unit}`);
  };
  range(target.minLength, target.maxLength, ' characters');
  range(target.minimum, target.maximum, '');
  if (target.default !== undefined) words.push(`default ${JSON.stringify(target.default)}`);
  if (target.pattern) words.push('pattern');
  return words.join(', ');
}

/** An example value for a schema: its own example, else one built from its type. */
function exampleOf(schema, depth = 0) {
  if (!schema || depth > 8) return null;
  if (schema.example !== undefined) return schema.example;
  if (Array.isArray(schema.examples) && schema.examples.length) return schema.examples[0];
  if (schema.$ref) return exampleOf(resolve(schema), depth + 1);
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return schema.enum[0];
  if (schema.default !== undefined) return schema.default;
  for (const keyword of ['oneOf', 'anyOf']) {
    if (schema[keyword] && !schema.type && !schema.properties) return exampleOf(schema[keyword][0], depth + 1);
  }
  if (schema.allOf) {
    return Object.assign({}, ...schema.allOf.map((branch) => exampleOf(branch, depth + 1)), exampleOf({ ...schema, allOf: undefined }, depth + 1));
  }
  const type = [].concat(schema.type ?? (schema.properties ? 'object' : 'string')).find((t) => t !== 'null') ?? 'null';
  switch (type) {
    case 'object':
      return Object.fromEntries(Object.entries(schema.properties ?? {}).map(([key, value]) => [key, exampleOf(value, depth + 1)]));
    case 'array':
      return [exampleOf(schema.items, depth + 1)];
    case 'integer':
    case 'number':
      return schema.minimum ?? 0;
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      if (schema.format === 'uuid') return '00000000-0000-0000-0000-000000000000';
      if (schema.format === 'email') return 'user@example.com';
      if (schema.format === 'date-time') return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      return 'string';
  }
}

/** A media type's example, as the text to send. */
function exampleText(mediaType, media) {
  const value = media.example ?? exampleOf(media.schema);
  if (mediaType === 'application/x-www-form-urlencoded') {
    return new URLSearchParams(Object.entries(value ?? {}).filter(([, v]) => v !== null).map(([k, v]) => [k, String(v)])).toString();
  }
  return JSON.stringify(value, null, 2);
}

function securityNote(operation) {
  const requirements = operation.security ?? spec.security ?? [];
  if (!requirements.length) return '';
  const names = requirements.map((requirement) => Object.keys(requirement).join(' + ') || 'none');
  return names.includes('none') ? `optional: ${names.filter((n) => n !== 'none').join(' or ')}` : names.join(' or ');
}

function schemaLink(schema) {
  const name = refName(schema);
  const text = typeOf(schema);
  return name ? h('a', { href: `#schema-${name}` }, text) : h('code', {}, text);
}

function parametersTable(parameters) {
  if (!parameters.length) return null;
  return h('table', {},
    h('thead', {}, h('tr', {}, h('th', {}, 'Parameter'), h('th', {}, 'In'), h('th', {}, 'Type'), h('th', {}, 'Description'))),
    h('tbody', {}, parameters.map((parameter) => h('tr', {},
      h('td', {}, h('code', {}, parameter.name), parameter.required ? h('span', { class: 'required' }, ' required') : null),
      h('td', {}, parameter.in),
      h('td', {}, schemaLink(parameter.schema), ' ', h('span', { class: 'muted' }, constraints(parameter.schema))),
      h('td', {}, prose(parameter.description, 'span')),
    ))));
}

function requestBodySection(requestBody) {
  if (!requestBody) return null;
  return h('div', {},
    h('h4', {}, 'Request body', requestBody.required ? h('span', { class: 'required' }, ' required') : null),
    requestBody.description ? prose(requestBody.description) : null,
    Object.entries(requestBody.content ?? {}).map(([mediaType, media]) => h('div', {},
      h('p', {}, h('code', {}, mediaType), ': ', schemaLink(media.schema)),
      h('pre', {}, exampleText(mediaType, media)))));
}

function responsesTable(responses) {
  return h('table', {},
    h('thead', {}, h('tr', {}, h('th', {}, 'Status'), h('th', {}, 'Description'), h('th', {}, 'Body'))),
    h('tbody', {}, Object.entries(responses ?? {}).map(([status, reference]) => {
      const response = resolve(reference);
      const content = Object.entries(response.content ?? {});
      const headers = Object.keys(response.headers ?? {});
      const example = content.length ? exampleText(content[0][0], content[0][1]) : null;
      return h('tr', {},
        h('td', { class: 'status' }, status),
        h('td', {}, prose(response.description, 'span'),
          headers.length ? h('div', { class: 'muted' }, `Headers: ${headers.join(', ')}`) : null,
          Object.keys(response.links ?? {}).length ? h('div', { class: 'muted' }, `Links: ${Object.keys(response.links).join(', ')}`) : null),
        h('td', {}, content.map(([mediaType, media]) => h('div', {}, h('code', {}, mediaType), ' ', schemaLink(media.schema))),
          example && content[0][0] === 'application/json' ? h('details', {}, h('summary', {}, 'example'), h('pre', {}, example)) : null));
    })));
}

/** The "Try it" form of one operation. */
function tryForm(path, method, operation, parameters) {
  const sendable = parameters.filter((parameter) => parameter.in !== 'cookie');
  const inputs = new Map();
  const fields = h('div', { class: 'fields' }, sendable.map((parameter) => {
    const example = parameter.example ?? resolve(parameter.schema)?.example;
    const input = h('input', {
      name: parameter.name,
      value: parameter.in === 'path' ? (example ?? '') : '',
      placeholder: parameter.in === 'path' ? '' : `optional${parameter.schema?.default !== undefined ? `, default ${parameter.schema.default}` : ''}`,
      required: parameter.required,
      spellcheck: 'false',
    });
    inputs.set(parameter, input);
    return h('label', {}, `${parameter.name} (${parameter.in})`, input);
  }));
  const content = Object.entries(operation.requestBody?.content ?? {});
  const textarea = content.length ? h('textarea', { name: 'body', spellcheck: 'false' }, exampleText(content[0][0], content[0][1])) : null;
  const mediaSelect = content.length > 1
    ? h('select', { name: 'content-type', onchange: () => { textarea.value = exampleText(mediaSelect.value, operation.requestBody.content[mediaSelect.value]); } },
      content.map(([mediaType]) => h('option', { value: mediaType }, mediaType)))
    : null;
  const result = h('div', { class: 'result', 'aria-live': 'polite' });

  const send = async (event) => {
    event.preventDefault();
    let target = path;
    const query = new URLSearchParams();
    const headers = {};
    for (const [parameter, input] of inputs) {
      const value = input.value;
      if (parameter.in === 'path') target = target.replace(`{${parameter.name}}`, encodeURIComponent(value));
      else if (value === '') continue;
      else if (parameter.in === 'query') query.append(parameter.name, value);
      else if (parameter.in === 'header') headers[parameter.name] = value;
    }
    const token = $('token').value.trim();
    if (token && (operation.security ?? []).some((requirement) => 'bearer' in requirement)) headers.Authorization = `Bearer ${token}`;
    const init = { method: method.toUpperCase(), headers, credentials: 'include' };
    if (textarea) {
      headers['Content-Type'] = mediaSelect ? mediaSelect.value : content[0][0];
      init.body = textarea.value;
    }
    const search = query.toString();
    const url = search ? `${target}?${search}` : target;
    result.replaceChildren(h('p', { class: 'muted' }, `${init.method} ${url} …`));
    const started = performance.now();
    try {
      const response = await fetch(url, init);
      const text = await response.text();
      const elapsed = Math.round(performance.now() - started);
      let shown = text;
      let parsed = null;
      try {
        parsed = JSON.parse(text);
        shown = JSON.stringify(parsed, null, 2);
      } catch {
        // Not JSON: shown as it came.
      }
      const returned = parsed && typeof parsed === 'object' ? (parsed.access_token ?? parsed.token) : null;
      result.replaceChildren(
        h('p', { class: `line ${response.ok ? 'ok' : 'error'}` }, `${init.method} ${url} → ${response.status} ${response.statusText} · ${elapsed} ms`),
        h('details', {}, h('summary', {}, 'Response headers'), h('pre', {}, [...response.headers].map(([name, value]) => `${name}: ${value}`).join('\n'))),
        h('pre', {}, shown || '(no body)'),
        typeof returned === 'string'
          ? h('button', { type: 'button', onclick: () => { $('token').value = returned; $('token').dispatchEvent(new Event('change')); } }, 'Use this token')
          : null,
      );
    } catch (error) {
      result.replaceChildren(h('p', { class: 'line error' }, `${init.method} ${url}: ${error.message}`));
    }
  };

  return h('form', { class: 'try', onsubmit: send },
    h('h4', {}, 'Try it'),
    sendable.length ? fields : null,
    mediaSelect ? h('label', {}, 'Content-Type', mediaSelect) : null,
    textarea ? h('label', {}, 'Body', textarea) : null,
    h('button', { type: 'submit' }, 'Send'),
    result);
}

function operationElement(path, method, operation, pathItem) {
  const parameters = [...(pathItem.parameters ?? []), ...(operation.parameters ?? [])].map((parameter) => resolve(parameter));
  const lock = securityNote(operation);
  const element = h('details', { class: 'operation', id: operation.operationId },
    h('summary', {},
      h('span', { class: `method ${method}` }, method.toUpperCase()),
      h('span', { class: 'path' }, path),
      h('span', {}, operation.summary ?? ''),
      lock ? h('span', { class: 'lock', title: 'security' }, lock) : null),
    h('div', { class: 'body' },
      operation.description ? prose(operation.description) : null,
      parametersTable(parameters),
      requestBodySection(operation.requestBody),
      h('h4', {}, 'Responses'),
      responsesTable(operation.responses),
      tryForm(path, method, operation, parameters)));
  element.dataset.search = [path, method, operation.summary, operation.operationId, ...(operation.tags ?? [])].join(' ').toLowerCase();
  return element;
}

function schemaElement(name, schema) {
  const target = resolve(schema);
  const required = new Set(target.required ?? []);
  const properties = Object.entries(target.properties ?? {});
  return h('div', { class: 'schema', id: `schema-${name}` },
    h('h3', {}, name, ' ', h('span', { class: 'muted' }, typeOf({ ...target, example: undefined }))),
    target.description ? prose(target.description) : null,
    properties.length
      ? h('table', {},
        h('thead', {}, h('tr', {}, h('th', {}, 'Member'), h('th', {}, 'Type'), h('th', {}, 'Description'))),
        h('tbody', {}, properties.map(([property, value]) => h('tr', {},
          h('td', {}, h('code', {}, property), required.has(property) ? h('span', { class: 'required' }, ' required') : null),
          h('td', {}, schemaLink(value), ' ', h('span', { class: 'muted' }, constraints(value))),
          h('td', {}, prose(resolve(value)?.description, 'span'))))))
      : h('p', { class: 'muted' }, constraints(target)),
    target.example !== undefined ? h('details', {}, h('summary', {}, 'example'), h('pre', {}, JSON.stringify(target.example, null, 2))) : null);
}

function render() {
  const { info = {} } = spec;
  document.title = `${info.title ?? 'API'} ${info.version ?? ''} · API reference`;
  $('title').textContent = `${info.title ?? 'API'} ${info.version ?? ''}`;
  $('intro').replaceChildren(...[info.summary, ...String(info.description ?? '').split('\n\n')].filter(Boolean).map((text) => prose(text)));

  const tags = [...(spec.tags ?? [])];
  const groups = new Map(tags.map((tag) => [tag.name, []]));
  for (const [path, pathItem] of Object.entries(spec.paths ?? {})) {
    for (const method of METHODS) {
      const operation = pathItem[method];
      if (!operation) continue;
      const tag = operation.tags?.[0] ?? 'other';
      if (!groups.has(tag)) {
        groups.set(tag, []);
        tags.push({ name: tag });
      }
      groups.get(tag).push(operationElement(path, method, operation, pathItem));
    }
  }
  $('toc').replaceChildren(...tags.map((tag) => h('a', { href: `#tag-${tag.name}` }, tag.name)), h('a', { href: '#schemas' }, 'schemas'));
  $('operations').replaceChildren(...tags.map((tag) => h('section', { id: `tag-${tag.name}`, class: 'tag' },
    h('h2', {}, tag.name),
    tag.description ? prose(tag.description) : null,
    groups.get(tag.name))));
  $('schema-list').replaceChildren(...Object.entries(spec.components?.schemas ?? {}).map(([name, schema]) => schemaElement(name, schema)));
  $('schemas').hidden = false;
  if (location.hash) document.getElementById(location.hash.slice(1))?.setAttribute('open', '');
}

function filter() {
  const words = $('filter').value.toLowerCase().split(/\s+/).filter(Boolean);
  for (const element of document.querySelectorAll('details.operation')) {
    element.classList.toggle('hidden', !words.every((word) => element.dataset.search.includes(word)));
  }
  for (const section of document.querySelectorAll('section.tag')) {
    section.classList.toggle('hidden', words.length > 0 && !section.querySelector('details.operation:not(.hidden)'));
  }
}

async function main() {
  $('token').value = sessionStorage.getItem(TOKEN_KEY) ?? '';
  $('token').addEventListener('change', () => sessionStorage.setItem(TOKEN_KEY, $('token').value.trim()));
  $('filter').addEventListener('input', filter);
  $('settings').addEventListener('submit', (event) => event.preventDefault());
  try {
    const response = await fetch('/openapi.json', { credentials: 'same-origin' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    spec = await response.json();
    render();
  } catch (error) {
    $('status').textContent = `Could not load /openapi.json: ${error.message}`;
    $('status').className = 'error';
  }
}

main();
