// The filter playground: a payload (pasted, or a stored event's) and a filter; as you type, the
// filter is checked (POST /api/v1/filters/check) and evaluated (POST /api/v1/filters/eval), showing
// true/false and what each sub-expression found.
import {get, post} from './api.js';
import {clear, debounce, errorBox, field, h, pretty, select} from './dom.js';
import {renderExplanation, resultBadge} from './explain.js';

const SAMPLE = {action: 'opened', pull_request: {title: 'Fix the parser', changed_files: 3, labels: [{name: 'bug'}]}};

export async function render(main, route) {
  const recent = await get('/api/v1/events?limit=20');
  const eventPicker = select([['', '— paste a payload, or pick a stored event —'],
    ...recent.data.map((e) => [e.id, `${e.event_type || 'event'} · ${e.id} · ${new Date(e.received_at).toLocaleString()}`])],
  '', {name: 'stored-event'});
  const payload = h('textarea', {name: 'payload', rows: 14, spellcheck: 'false', value: pretty(SAMPLE)});
  const headers = h('textarea', {name: 'headers', rows: 2, spellcheck: 'false', placeholder: '{"X-GitHub-Event": "pull_request"}'});
  const eventType = h('input', {type: 'text', name: 'event-type'});
  const filter = h('textarea', {name: 'filter', rows: 5, spellcheck: 'false',
    value: route.query.get('filter') ?? '(eq "action" "opened")'});
  const output = h('div', {'aria-live': 'polite', id: 'playground-output'});
  let generation = 0;

  const evaluate = debounce(async () => {
    const mine = ++generation;
    let payloadValue;
    let headerValue;
    try {
      payloadValue = JSON.parse(payload.value);
    } catch (e) {
      clear(output, errorBox({type: 'payload', message: `not JSON: ${e.message}`}));
      return;
    }
    try {
      headerValue = headers.value.trim() ? JSON.parse(headers.value) : undefined;
    } catch (e) {
      clear(output, errorBox({type: 'headers', message: `not JSON: ${e.message}`}));
      return;
    }
    try {
      const check = await post('/api/v1/filters/check', {filter: filter.value});
      if (mine !== generation) return;
      if (!check.ok) {
        filter.setAttribute('aria-invalid', 'true');
        clear(output, h('p', {}, 'Result: ', h('span', {class: 'result result-false', 'data-testid': 'filter-result'}, 'does not compile')),
          errorBox({type: `line ${check.error.line}, column ${check.error.column}`, message: check.error.message}));
        return;
      }
      filter.removeAttribute('aria-invalid');
      const body = {filter: filter.value, payload: payloadValue};
      if (headerValue) body.headers = headerValue;
      if (eventType.value.trim()) body.event_type = eventType.value.trim();
      const answer = await post('/api/v1/filters/eval', body);
      if (mine !== generation) return;
      clear(output, h('p', {}, 'Result: ', resultBadge(answer.result)),
        h('h2', {}, 'Why'), renderExplanation(answer.explanation));
    } catch (err) {
      if (mine === generation) clear(output, errorBox(err));
    }
  }, 200);

  eventPicker.addEventListener('change', async () => {
    if (!eventPicker.value) return;
    try {
      const event = await get(`/api/v1/events/${eventPicker.value}`);
      payload.value = pretty(event.payload);
      headers.value = pretty(event.headers || {});
      eventType.value = event.event_type || '';
      evaluate();
    } catch (err) {
      clear(output, errorBox(err));
    }
  });
  for (const input of [payload, headers, eventType, filter]) input.addEventListener('input', evaluate);

  clear(main, h('h1', {}, 'Filter playground'),
    h('p', {class: 'muted'}, 'Nothing here is saved: it evaluates a filter against a payload as a trigger would.'),
    h('div', {class: 'columns'},
      h('section', {'aria-labelledby': 'pg-event'}, h('h2', {id: 'pg-event'}, 'Event'),
        field('Stored event', eventPicker), field('Payload (JSON)', payload),
        field('Headers (JSON object, optional)', headers, 'For $headers.… in filters.'),
        field('Event type (optional)', eventType, 'For $event in filters.')),
      h('section', {'aria-labelledby': 'pg-filter'}, h('h2', {id: 'pg-filter'}, 'Filter'),
        field('Filter', filter, 'e.g. (and (eq "action" "opened") (lt "pull_request.changed_files" 20))'),
        output)));

  const wanted = route.query.get('event');
  if (wanted) {
    if (![...eventPicker.options].some((o) => o.value === wanted)) eventPicker.append(h('option', {value: wanted}, wanted));
    eventPicker.value = wanted;
    eventPicker.dispatchEvent(new Event('change'));
  } else {
    evaluate();
  }
  return null;
}
