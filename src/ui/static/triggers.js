// Triggers: which events of a source start runs of an agent. The editor checks the filter as you
// type (POST /api/v1/filters/check) and can draft one from a description ("Describe it": POST
// /api/v1/filters/generate, which needs a model configured on the server).
import {get, listAll, patch, post} from './api.js';
import {badge, checkbox, clear, code, debounce, errorBox, field, h, lines, pretty, select} from './dom.js';
import {renderExplanation, resultBadge} from './explain.js';

function filterCheck(filter, status, getContext) {
  return debounce(async () => {
    const text = filter.value;
    const body = {filter: text};
    const {kind, eventTypes} = getContext();
    if (kind && kind !== 'custom' && kind !== 'schedule' && kind !== 'poll') {
      body.kind = kind;
      body.event_types = eventTypes;
    }
    try {
      const answer = await post('/api/v1/filters/check', body);
      if (filter.value !== text) return;
      if (answer.ok) {
        filter.removeAttribute('aria-invalid');
        clear(status, h('p', {class: 'notice'}, text.trim() ? 'The filter compiles.' : 'No filter: every event matches.'),
          (answer.warnings || []).map((w) => h('p', {class: 'hint'}, `Warning: ${w}`)));
      } else {
        filter.setAttribute('aria-invalid', 'true');
        clear(status, errorBox({type: `line ${answer.error.line}, column ${answer.error.column}`, message: answer.error.message}));
      }
    } catch (err) {
      clear(status, errorBox(err));
    }
  }, 250);
}

// sample_results of /api/v1/filters/generate: [{origin: "catalog"|"event", event_type, event_id?,
// sample, matched, explanation}], the drafted filter evaluated on each sample.
function sampleResults(results) {
  if (!Array.isArray(results) || !results.length) return null;
  return [h('h4', {}, 'On sample events'), h('ul', {class: 'samples'}, results.map((r) => h('li', {},
    resultBadge(Boolean(r.matched)), ' ',
    r.origin === 'event' ? `stored event ${r.event_id || ''}` : 'catalog sample',
    r.event_type ? ` (${r.event_type})` : '',
    h('details', {}, h('summary', {}, 'Sample and explanation'), code(pretty(r.sample)),
      r.explanation ? renderExplanation(r.explanation) : null))))];
}

function describeBox(filter, afterFill, getContext) {
  const description = h('textarea', {name: 'describe', rows: 2,
    placeholder: 'e.g. pull requests opened against main with more than 20 changed files'});
  const status = h('div', {'aria-live': 'polite', class: 'generate-result'});
  const button = h('button', {type: 'button', on: {click: async () => {
    clear(status, h('p', {class: 'muted'}, 'Asking the model…'));
    button.disabled = true;
    const {sourceId, eventTypes} = getContext();
    const body = {description: description.value, source_id: sourceId};
    // The event type is sent only when the trigger names one (absent: any of the source's events).
    if (eventTypes.length) body.event_type = eventTypes[0];
    try {
      const answer = await post('/api/v1/filters/generate', body);
      filter.value = answer.filter || '';
      afterFill();
      clear(status, h('p', {class: 'notice'}, 'Filter filled in from the description: check it before saving.'),
        answer.explanation ? h('p', {}, answer.explanation) : null,
        sampleResults(answer.sample_results));
    } catch (err) {
      // 422: the model's last attempt did not compile; the body carries it with the error.
      const tried = err.body && err.body.error && err.body.error.filter;
      clear(status, errorBox(err), tried ? [h('p', {}, 'The model\'s last attempt:'), code(tried)] : null);
    } finally {
      button.disabled = false;
    }
  }}}, 'Generate filter');
  return h('section', {class: 'panel', 'aria-labelledby': 'describe-title'},
    h('h3', {id: 'describe-title'}, 'Describe it'),
    field('What should this trigger react to?', description, 'Natural language; a model drafts the filter.'),
    button, status);
}

async function editor(main, triggerId) {
  const [sources, agents] = await Promise.all([listAll('/api/v1/sources'), listAll('/api/v1/agents')]);
  const trigger = triggerId ? await get(`/api/v1/triggers/${encodeURIComponent(triggerId)}`) : null;
  const title = trigger ? `Edit trigger ${trigger.name || trigger.id}` : 'New trigger';
  const name = h('input', {type: 'text', name: 'name', value: trigger ? trigger.name || '' : ''});
  const source = select(sources.map((s) => [s.id, `${s.name} (${s.kind})`]), trigger ? trigger.source_id : undefined, {name: 'source', required: true});
  const agent = select(agents.map((a) => [a.id, a.name]), trigger ? trigger.agent_id : undefined, {name: 'agent', required: true});
  const eventTypes = h('input', {type: 'text', name: 'event-types', value: trigger ? trigger.event_types.join(', ') : '',
    placeholder: 'pull_request.opened, issues'});
  const includePayload = checkbox('Include the payload in the run\'s message', trigger ? trigger.include_payload : true, {name: 'include-payload'});
  const enabled = checkbox('Enabled', trigger ? trigger.enabled : true, {name: 'enabled'});
  const filter = h('textarea', {name: 'filter', rows: 4, spellcheck: 'false', value: trigger && trigger.filter ? trigger.filter : '',
    placeholder: '(and (eq "action" "opened") (gt "pull_request.changed_files" 20))'});
  const filterStatus = h('div', {'aria-live': 'polite', class: 'filter-status'});
  const context = () => {
    const s = sources.find((x) => x.id === source.value);
    return {sourceId: source.value, kind: s ? s.kind : '', eventTypes: lines(eventTypes.value)};
  };
  const check = filterCheck(filter, filterStatus, context);
  filter.addEventListener('input', check);
  source.addEventListener('change', check);
  eventTypes.addEventListener('input', check);
  const playground = h('a', {href: '#/playground', class: 'button'}, 'Try it in the playground');
  const updateLink = () => playground.setAttribute('href', `#/playground?filter=${encodeURIComponent(filter.value)}`);
  filter.addEventListener('input', updateLink);
  updateLink();
  const status = h('div', {'aria-live': 'polite'});
  const form = h('form', {class: 'panel', 'aria-labelledby': 'trigger-form-title', on: {submit: async (e) => {
    e.preventDefault();
    clear(status);
    const body = {name: name.value.trim(), source_id: source.value, agent_id: agent.value,
      filter: filter.value.trim() ? filter.value : null, event_types: lines(eventTypes.value),
      include_payload: includePayload.input.checked, enabled: enabled.input.checked};
    try {
      const saved = trigger ? await patch(`/api/v1/triggers/${trigger.id}`, body) : await post('/api/v1/triggers', body);
      sessionStorage.setItem('triggerd.flash', `Trigger ${saved.name || saved.id} saved.`);
      location.hash = '#/triggers';
    } catch (err) {
      status.append(errorBox(err));
      if (err.body && err.body.error && err.body.error.line) filter.focus();
    }
  }}},
  h('div', {class: 'grid'}, field('Name', name), field('Source', source), field('Agent', agent)),
  field('Event types (optional)', eventTypes, 'Comma-separated; empty: every event type of the source.'),
  field('Filter', filter, 'Lisp-style, e.g. (eq "action" "opened"). Empty: every event matches.'),
  filterStatus,
  h('div', {class: 'grid'}, includePayload.el, enabled.el),
  h('div', {class: 'actions'}, h('button', {type: 'submit', class: 'primary'}, trigger ? 'Save trigger' : 'Create trigger'),
    playground, h('a', {href: '#/triggers'}, 'Cancel')),
  status);
  if (!sources.length || !agents.length) {
    clear(main, h('h1', {}, title), h('p', {class: 'error', role: 'alert'},
      'A trigger needs a source and an agent: create them first.'),
    h('p', {}, h('a', {href: '#/sources'}, 'Sources'), ' · ', h('a', {href: '#/agents'}, 'Agents')));
    return;
  }
  clear(main, h('h1', {id: 'trigger-form-title'}, title), form, describeBox(filter, () => {
    check();
    updateLink();
  }, context));
  if (filter.value) check();
}

export async function render(main, route) {
  const id = route.path[1];
  if (id) return editor(main, id === 'new' ? null : id);
  const [triggers, sources, agents] = await Promise.all([
    listAll('/api/v1/triggers'), listAll('/api/v1/sources'), listAll('/api/v1/agents')]);
  const sourceName = new Map(sources.map((s) => [s.id, s.name]));
  const agentName = new Map(agents.map((a) => [a.id, a.name]));
  const flash = h('div', {'aria-live': 'polite'});
  const saved = sessionStorage.getItem('triggerd.flash');
  if (saved) {
    sessionStorage.removeItem('triggerd.flash');
    flash.append(h('p', {class: 'notice'}, saved));
  }
  const list = h('div');
  const draw = (items) => clear(list, items.length ? h('table', {},
    h('caption', {}, 'Triggers'),
    h('thead', {}, h('tr', {}, ['Name', 'Source → agent', 'Filter', 'Event types', 'State'].map((t) => h('th', {scope: 'col'}, t)))),
    h('tbody', {}, items.map((t) => h('tr', {'data-trigger-id': t.id},
      h('td', {}, h('a', {href: `#/triggers/${t.id}`}, t.name || t.id), h('br'), h('code', {}, t.id)),
      h('td', {}, `${sourceName.get(t.source_id) || t.source_id} → ${agentName.get(t.agent_id) || t.agent_id}`),
      h('td', {}, t.filter ? h('code', {class: 'inline-code'}, t.filter) : h('span', {class: 'muted'}, 'every event')),
      h('td', {}, t.event_types.length ? t.event_types.join(', ') : h('span', {class: 'muted'}, 'all')),
      h('td', {}, h('div', {class: 'actions'}, badge(t.enabled ? 'enabled' : 'disabled'),
        h('button', {type: 'button', class: 'small', on: {click: async () => {
          try {
            await patch(`/api/v1/triggers/${t.id}`, {enabled: !t.enabled});
            clear(flash, h('p', {class: 'notice'}, `${t.name || t.id} ${t.enabled ? 'disabled' : 'enabled'}.`));
            draw(await listAll('/api/v1/triggers'));
          } catch (err) {
            clear(flash, errorBox(err));
          }
        }}}, t.enabled ? 'Disable' : 'Enable'),
        h('a', {href: `#/triggers/${t.id}`, class: 'button small'}, 'Edit'))))))) : h('p', {class: 'muted'}, 'No triggers yet.'));
  draw(triggers);
  clear(main, h('h1', {}, 'Triggers'),
    h('p', {class: 'muted'}, 'Which events of a source start runs of an agent.'),
    flash, h('p', {}, h('a', {href: '#/triggers/new', class: 'button primary'}, 'New trigger')), list);
}
