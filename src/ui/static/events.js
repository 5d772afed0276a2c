// Events: the newest first, updated live by polling, each with what its source's triggers made of
// it (matched → a run, ignored, disabled, filter_error); an event's page shows its headers, its
// pretty-printed payload, its runs, and replays it.
import {get, listAll, post} from './api.js';
import {badge, clear, code, errorBox, h, pretty, time} from './dom.js';

const POLL_MS = 2000;

function matchItem(match, triggerName) {
  return h('li', {'data-outcome': match.outcome},
    badge(match.outcome), ' ', triggerName(match.trigger_id),
    match.run_id ? [' → ', h('a', {href: `#/runs/${match.run_id}`, 'data-run-id': match.run_id}, `run ${match.run_id}`)] : null,
    match.replay ? h('span', {class: 'muted'}, ' (replay)') : null,
    match.message ? h('span', {class: 'muted'}, ` — ${match.message}`) : null);
}

async function triggerNamer() {
  const names = new Map();
  try {
    for (const t of await listAll('/api/v1/triggers')) names.set(t.id, t.name || t.id);
  } catch {
    // A user without triggers of their own still sees events.
  }
  return (id) => names.get(id) || id;
}

async function list(main) {
  const [sources, triggerName] = await Promise.all([listAll('/api/v1/sources'), triggerNamer()]);
  const sourceName = new Map(sources.map((s) => [s.id, s.name]));
  const live = h('input', {type: 'checkbox', id: 'live-toggle', checked: true});
  const state = h('p', {class: 'muted', id: 'events-state'});
  const items = h('ol', {class: 'event-list', 'aria-label': 'Events, newest first'});
  // Announced politely to screen readers: new events are read out as they arrive.
  const region = h('div', {'aria-live': 'polite', 'aria-relevant': 'additions text', id: 'event-feed'}, items);
  const errors = h('div', {role: 'status'});
  const details = new Map();  // event id → its detail (GET /api/v1/events/{id}), matches included
  let stopped = false;
  let timer = null;
  let lastSignature = null;

  async function detail(event) {
    const cached = details.get(event.id);
    // Matches are written with the event; only a replay adds more (the event page invalidates).
    if (cached) return cached;
    const full = await get(`/api/v1/events/${event.id}`);
    details.set(event.id, full);
    return full;
  }

  async function poll() {
    if (stopped) return;
    try {
      const page = await get('/api/v1/events?limit=50');
      const full = await Promise.all(page.data.map(detail));
      const signature = full.map((e) => `${e.id}:${e.matches.length}`).join(',');
      if (signature !== lastSignature && !stopped) {
        lastSignature = signature;
        // A redraw must not take keyboard focus away from the link the user is on.
        const focused = items.contains(document.activeElement) ? document.activeElement.getAttribute('href') : null;
        clear(items, full.map((e) => h('li', {'data-event-id': e.id},
          h('div', {class: 'event-head'},
            h('a', {href: `#/events/${e.id}`}, h('strong', {}, e.event_type || 'event'), ' ', h('code', {}, e.id)),
            h('span', {}, `from ${sourceName.get(e.source_id) || e.source_id}`),
            time(e.received_at),
            h('span', {class: 'muted'}, `${e.body_bytes} bytes`)),
          e.matches.length
            ? h('ul', {class: 'matches', 'aria-label': 'Triggers'}, e.matches.map((m) => matchItem(m, triggerName)))
            : h('p', {class: 'muted'}, 'No trigger of this source saw it.'))));
        if (!full.length) items.append(h('li', {class: 'muted'}, 'No events yet. Send a webhook to a source\'s URL.'));
        if (focused) [...items.querySelectorAll('a')].find((a) => a.getAttribute('href') === focused)?.focus();
      }
      clear(errors);
      state.textContent = `Updated ${new Date().toLocaleTimeString()}${live.checked ? ', live' : ''}.`;
    } catch (err) {
      clear(errors, errorBox(err));
    }
    if (!stopped && live.checked) timer = setTimeout(poll, POLL_MS);
  }

  live.addEventListener('change', () => {
    clearTimeout(timer);
    if (live.checked) poll();
    else state.textContent = 'Live updates paused.';
  });
  clear(main, h('h1', {}, 'Events'),
    h('div', {class: 'actions'}, h('div', {class: 'field check'}, live, h('label', {for: 'live-toggle'}, 'Live updates')), state),
    errors, region);
  await poll();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

async function one(main, id) {
  const [event, triggerName, runs] = await Promise.all([
    get(`/api/v1/events/${encodeURIComponent(id)}`), triggerNamer(),
    listAll(`/api/v1/runs?event_id=${encodeURIComponent(id)}`)]);
  const runStatus = new Map(runs.map((r) => [r.id, r.status]));
  const flash = h('div', {'aria-live': 'polite'});
  const replay = h('button', {type: 'button', class: 'primary', on: {click: async () => {
    replay.disabled = true;
    try {
      const answer = await post(`/api/v1/events/${event.id}/replay`, {});
      const started = answer.runs.length;
      await one(main, id);
      main.querySelector('[aria-live]').append(h('p', {class: 'notice'},
        `Replayed: ${started} new run${started === 1 ? '' : 's'}.`,
        answer.runs.map((r) => [' ', h('a', {href: `#/runs/${r.run_id}`}, r.run_id)])));
    } catch (err) {
      replay.disabled = false;
      clear(flash, errorBox(err));
    }
  }}}, 'Replay event');
  clear(main,
    h('p', {}, h('a', {href: '#/events'}, '← All events')),
    h('h1', {}, `Event ${event.id}`),
    flash,
    h('dl', {class: 'facts'},
      h('dt', {}, 'Received'), h('dd', {}, time(event.received_at)),
      h('dt', {}, 'Source'), h('dd', {}, h('code', {}, event.source_id)),
      h('dt', {}, 'Event type'), h('dd', {}, event.event_type || '—'),
      h('dt', {}, 'Delivery id'), h('dd', {}, event.delivery_id || '—'),
      h('dt', {}, 'Content type'), h('dd', {}, event.content_type),
      h('dt', {}, 'Verification'), h('dd', {}, event.verification || '—'),
      h('dt', {}, 'From'), h('dd', {}, event.remote_addr || '—')),
    h('div', {class: 'actions'}, replay,
      h('a', {href: `#/playground?event=${event.id}`, class: 'button'}, 'Try a filter on it')),
    h('h2', {}, 'Triggers'),
    event.matches.length
      ? h('ul', {class: 'matches'}, event.matches.map((m) => {
        const item = matchItem(m, triggerName);
        if (m.run_id && runStatus.has(m.run_id)) item.append(' ', badge(runStatus.get(m.run_id)));
        return item;
      }))
      : h('p', {class: 'muted'}, 'No trigger of this source saw it.'),
    h('h2', {}, 'Headers'),
    code(Object.entries(event.headers || {}).map(([k, v]) => `${k}: ${v}`).join('\n'), {'aria-label': 'Headers'}),
    h('h2', {}, 'Payload'),
    event.body_purged ? h('p', {class: 'muted'}, 'The body was purged by retention.')
      : code(pretty(event.payload), {'aria-label': 'Payload', 'data-testid': 'payload'}));
}

export async function render(main, route) {
  if (route.path[1]) return one(main, route.path[1]);
  return list(main);
}

