// Small DOM helpers: elements are built with h(), never from HTML strings, so text from the API
// (names, payloads, error messages) can never become markup.

let nextId = 0;

// h('button', {class: 'primary', on: {click: fn}}, 'Save') → <button class="primary">Save</button>.
// Attributes: `class`, `text`, `on` (events), booleans (true sets, false omits), others as strings.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'on') {
      for (const [event, handler] of Object.entries(value)) el.addEventListener(event, handler);
    } else if (name === 'text') {
      el.textContent = value;
    } else if (name === 'value') {
      // As the default value too, so form.reset() returns to it.
      if (tag === 'textarea') el.textContent = value;
      else if (tag !== 'select') el.setAttribute('value', value);
    } else if (name === 'checked') {
      el.setAttribute('checked', '');
    } else {
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(el, children);
  if (tag === 'select' && attrs && attrs.value !== undefined) el.value = attrs.value;
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// A labelled form control: <div class="field"><label for=id>…</label><control id=id/>hint</div>.
export function field(label, control, hint) {
  if (!control.id) control.id = `f${++nextId}`;
  const parts = [h('label', {for: control.id}, label), control];
  if (hint) {
    const hintEl = h('p', {class: 'hint', id: `${control.id}-hint`}, hint);
    control.setAttribute('aria-describedby', hintEl.id);
    parts.push(hintEl);
  }
  return h('div', {class: 'field'}, parts);
}

export function checkbox(label, checked, attrs = {}) {
  const input = h('input', {type: 'checkbox', checked, ...attrs});
  input.id = `f${++nextId}`;
  return {input, el: h('div', {class: 'field check'}, input, h('label', {for: input.id}, label))};
}

export function select(options, selected, attrs = {}) {
  return h('select', attrs, options.map(([value, label]) =>
    h('option', {value, selected: value === selected}, label)));
}

// The API's error (ApiError from api.js, or any Error) as an alert box.
export function errorBox(error) {
  const box = h('div', {class: 'error', role: 'alert'});
  box.append(h('strong', {}, error.type ? `${error.type}: ` : 'Error: '), error.message);
  return box;
}

export function pretty(value) {
  return JSON.stringify(value, null, 2);
}

// Text that may hold JSON, pretty-printed when it does.
export function prettyText(text) {
  try {
    return pretty(JSON.parse(text));
  } catch {
    return text;
  }
}

export function code(text, attrs = {}) {
  return h('pre', {class: 'code', ...attrs}, h('code', {}, text));
}

export function time(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return h('time', {datetime: iso, title: iso}, d.toLocaleString());
}

export function badge(text, kind = text) {
  return h('span', {class: `badge badge-${kind}`}, text);
}

// Debounces `fn` by `ms`; the returned function takes the same arguments.
export function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

// One-time secrets (a source's signing secret, an agent's): shown once with a copy button.
export function secretPanel(title, items) {
  const list = h('dl', {class: 'secrets'});
  for (const [label, value] of items) {
    if (!value) continue;
    const copy = h('button', {type: 'button', class: 'small', on: {click: async () => {
      try {
        await navigator.clipboard.writeText(value);
        copy.textContent = 'Copied';
      } catch {
        copy.textContent = 'Select and copy';
      }
    }}}, 'Copy');
    list.append(h('dt', {}, label), h('dd', {}, h('code', {class: 'secret-value'}, value), ' ', copy));
  }
  return h('section', {class: 'once', 'aria-label': title},
    h('h3', {}, title),
    h('p', {}, 'Shown only this once: copy it now. Rotate to get a new one.'),
    list);
}

// Parses "#/path/a?x=1" → {path: ['path', 'a'], query: URLSearchParams}.
export function parseHash(hash) {
  const raw = hash.replace(/^#\/?/, '');
  const [path, query = ''] = raw.split('?');
  return {path: path.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(query)};
}

export function lines(text) {
  return text.split(/[\n,]/).map((s) => s.trim()).filter(Boolean);
}
