// The console's shell: sign-in, navigation (hash routes: #/events, #/runs/<id>, …) and the page
// modules. Each page module exports render(main, route) and may return a cleanup function
// (stops its polling) that runs when the user navigates away.
import {ApiError, apiKey, get, onUnauthorized, setApiKey} from './api.js';
import {clear, errorBox, field, h, parseHash} from './dom.js';
import * as agents from './agents.js';
import * as events from './events.js';
import * as playground from './playground.js';
import * as runs from './runs.js';
import * as sources from './sources.js';
import * as triggers from './triggers.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const account = document.getElementById('account');
const whoami = document.getElementById('whoami');

const pages = {
  events: events.render,
  runs: runs.render,
  sources: sources.render,
  agents: agents.render,
  triggers: triggers.render,
  playground: playground.render,
};

let cleanup = null;
let navigation = 0;  // counts route() calls
let me = null;

function stopPage() {
  if (cleanup) cleanup();
  cleanup = null;
}

function showSignIn(error) {
  stopPage();
  ++navigation;
  me = null;
  nav.hidden = true;
  account.hidden = true;
  document.title = 'Sign in · triggerd console';
  const input = h('input', {type: 'password', name: 'api-key', autocomplete: 'off', required: true,
    spellcheck: 'false', placeholder: 'tdk_…'});
  const status = h('div', {'aria-live': 'polite'});
  if (error) status.append(errorBox(error));
  const form = h('form', {class: 'panel', 'aria-labelledby': 'signin-title', on: {submit: async (e) => {
    e.preventDefault();
    setApiKey(input.value.trim());
    clear(status);
    try {
      await signedIn();
    } catch (err) {
      setApiKey(null);
      clear(status, errorBox(err));
      input.focus();
    }
  }}},
  h('h1', {id: 'signin-title'}, 'Sign in'),
  h('p', {}, 'Paste an API key. It is kept in this tab only (sessionStorage) and sent as ',
    h('code', {}, 'Authorization: Bearer'), '. The first start of triggerd writes an admin key to ',
    h('code', {}, 'data/admin-key'), '.'),
  field('API key', input),
  h('button', {type: 'submit', class: 'primary'}, 'Sign in'),
  status);
  clear(main, form);
  input.focus();
}

async function signedIn() {
  me = await get('/api/v1/me');
  whoami.textContent = `${me.role} · ${me.key_id} · workspace ${me.workspace_id}`;
  nav.hidden = false;
  account.hidden = false;
  if (!location.hash.startsWith('#/')) location.hash = '#/events';
  else route();
}

async function route() {
  if (!apiKey() || !me) return;
  const {path, query} = parseHash(location.hash);
  const name = path[0] in pages ? path[0] : 'events';
  for (const link of nav.querySelectorAll('a')) {
    if (link.getAttribute('href') === `#/${name}`) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  stopPage();
  clear(main, h('p', {class: 'muted'}, 'Loading…'));
  // The page renders into its own container, shown once it has loaded; a page whose user has
  // navigated on meanwhile is stopped and never shown.
  const token = ++navigation;
  const view = h('div', {class: 'view'});
  let stop = null;
  try {
    stop = (await pages[name](view, {path, query, me})) || null;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return;
    clear(view, h('h1', {}, 'Something went wrong'), errorBox(e));
  }
  if (token !== navigation) {
    if (stop) stop();
    return;
  }
  cleanup = stop;
  clear(main, view);
  const heading = main.querySelector('h1');
  document.title = `${heading ? heading.textContent : 'triggerd'} · triggerd console`;
  // Moves focus to the new page for keyboard and screen-reader users, as a page load would.
  if (heading && !main.contains(document.activeElement)) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({preventScroll: true});
  }
}

window.addEventListener('hashchange', () => {
  // The skip link's "#main" is not a route.
  if (location.hash === '#main') {
    main.focus();
    return;
  }
  route();
});

document.getElementById('sign-out').addEventListener('click', () => {
  setApiKey(null);
  history.replaceState(null, '', '#/events');
  showSignIn();
});

onUnauthorized((error) => {
  setApiKey(null);
  showSignIn(error);
});

if (apiKey()) {
  signedIn().catch((e) => {
    setApiKey(null);
    showSignIn(e);
  });
} else {
  showSignIn();
}
