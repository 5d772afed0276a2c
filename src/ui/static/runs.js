// A run: one event delivered to one trigger's agent. The conversation (the message sent, then each
// attempt's reply or error), the attempts with their timings, and retry / cancel. The page polls
// while the run is still moving.
import {get, post} from './api.js';
import {badge, clear, code, errorBox, h, prettyText, time} from './dom.js';

const POLL_MS = 1500;
const MOVING = new Set(['queued', 'running', 'retrying']);

function seconds(fromIso, toIso) {
  if (!fromIso || !toIso) return '—';
  const ms = new Date(toIso) - new Date(fromIso);
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

// One row per attempt: when it ended, how long after the step before it (the run's creation or
// the previous attempt), and what it produced.
function attemptRows(run) {
  const rows = [];
  let previous = run.created_at;
  for (const message of run.messages) {
    if (message.role === 'event') continue;
    rows.push(h('tr', {'data-attempt': String(message.attempt)},
      h('td', {}, String(message.attempt)),
      h('td', {}, badge(message.role === 'agent' ? 'succeeded' : 'failed')),
      h('td', {}, time(message.at)),
      h('td', {}, seconds(previous, message.at))));
    previous = message.at;
  }
  return rows;
}

function conversation(run) {
  const label = {event: 'Message in', agent: 'Reply', error: 'Error'};
  return h('ol', {class: 'messages', 'aria-label': 'Conversation'}, run.messages.map((m) =>
    h('li', {class: `message message-${m.role}`, 'data-role': m.role},
      h('div', {class: 'message-head'}, h('strong', {}, label[m.role] || m.role),
        m.attempt ? h('span', {class: 'muted'}, `attempt ${m.attempt}`) : null, time(m.at)),
      code(prettyText(m.content)))));
}

export async function render(main, route) {
  const id = route.path[1];
  if (!id) {
    clear(main, h('h1', {}, 'Runs'), h('p', {}, 'Open a run from an event: ', h('a', {href: '#/events'}, 'Events'), '.'));
    return null;
  }
  let stopped = false;
  let timer = null;
  const flash = h('div', {'aria-live': 'polite'});
  const body = h('div');
  const statusLine = h('p', {'aria-live': 'polite', id: 'run-status'});

  function draw(run) {
    const retry = h('button', {type: 'button', class: 'primary', disabled: !(run.status === 'failed' || run.status === 'dead'),
      on: {click: async () => {
        retry.disabled = true;
        try {
          const updated = await post(`/api/v1/runs/${run.id}/retry`, {});
          clear(flash, h('p', {class: 'notice'}, 'Queued again with a fresh budget of attempts.'));
          draw(updated);
          schedule(updated);
        } catch (err) {
          clear(flash, errorBox(err));
          retry.disabled = false;
        }
      }}}, 'Retry run');
    const cancel = h('button', {type: 'button', class: 'danger', disabled: !(run.status === 'queued' || run.status === 'retrying'),
      on: {click: async () => {
        try {
          draw(await post(`/api/v1/runs/${run.id}/cancel`, {}));
        } catch (err) {
          clear(flash, errorBox(err));
        }
      }}}, 'Cancel run');
    clear(statusLine, 'Status: ', badge(run.status), ` — attempt ${run.attempts} of ${run.max_attempts}`);
    const focused = document.activeElement && body.contains(document.activeElement) ? document.activeElement.textContent : null;
    clear(body,
      h('dl', {class: 'facts'},
        h('dt', {}, 'Event'), h('dd', {}, h('a', {href: `#/events/${run.event_id}`}, run.event_id)),
        h('dt', {}, 'Trigger'), h('dd', {}, h('a', {href: `#/triggers/${run.trigger_id}`}, run.trigger_id)),
        h('dt', {}, 'Agent'), h('dd', {}, h('code', {}, run.agent_id)),
        h('dt', {}, 'Created'), h('dd', {}, time(run.created_at)),
        h('dt', {}, 'Started'), h('dd', {}, time(run.started_at)),
        h('dt', {}, 'Finished'), h('dd', {}, time(run.finished_at)),
        run.next_attempt_at ? [h('dt', {}, 'Next attempt'), h('dd', {}, time(run.next_attempt_at))] : null,
        run.last_error ? [h('dt', {}, 'Last error'), h('dd', {}, run.last_error)] : null),
      h('div', {class: 'actions'}, retry, cancel),
      h('h2', {}, 'Attempts'),
      h('table', {id: 'attempts'}, h('caption', {class: 'visually-hidden'}, 'Attempts'),
        h('thead', {}, h('tr', {}, ['Attempt', 'Outcome', 'Ended', 'Took'].map((t) => h('th', {scope: 'col'}, t)))),
        h('tbody', {}, attemptRows(run))),
      h('h2', {}, 'Conversation'),
      conversation(run));
    // Keeps keyboard focus on the same button across a redraw.
    if (focused) [...body.querySelectorAll('button')].find((b) => b.textContent === focused)?.focus();
  }

  function schedule(run) {
    clearTimeout(timer);
    if (!stopped && MOVING.has(run.status)) {
      timer = setTimeout(async () => {
        try {
          const next = await get(`/api/v1/runs/${encodeURIComponent(id)}`);
          if (stopped) return;
          draw(next);
          schedule(next);
        } catch (err) {
          clear(flash, errorBox(err));
        }
      }, POLL_MS);
    }
  }

  const run = await get(`/api/v1/runs/${encodeURIComponent(id)}`);
  clear(main, h('p', {}, h('a', {href: `#/events/${run.event_id}`}, '← Its event')),
    h('h1', {}, `Run ${run.id}`), statusLine, flash, body);
  draw(run);
  schedule(run);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
