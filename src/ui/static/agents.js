// Agents: what runs talk to (an http endpoint, a command, an OpenAI-compatible LLM). Create, edit,
// delete; an http agent's signing secret is shown once.
import {del, listAll, patch, post} from './api.js';
import {clear, errorBox, field, h, secretPanel, select} from './dom.js';

function targetSummary(target) {
  if (!target) return '—';
  if (target.type === 'http') return `http → ${target.url}`;
  if (target.type === 'command') return `command: ${(target.argv || []).join(' ')}`;
  if (target.type === 'llm') return `llm: ${target.model} at ${target.base_url}`;
  return target.type;
}

// The create/edit form. `agent`: the agent to edit, or null to create one.
function agentForm(agent, onDone, onCancel) {
  const t = (agent && agent.target) || {type: 'http'};
  const name = h('input', {type: 'text', name: 'name', required: true, value: agent ? agent.name : ''});
  const instructions = h('textarea', {name: 'instructions', rows: 3, value: agent ? agent.instructions || '' : ''});
  const type = select([['http', 'HTTP endpoint'], ['command', 'Local command'], ['llm', 'LLM (OpenAI-compatible)']],
    t.type, {name: 'target-type'});
  const url = h('input', {type: 'url', name: 'target-url', value: t.url || '', placeholder: 'http://127.0.0.1:9000/hook'});
  const headers = h('textarea', {name: 'target-headers', rows: 2,
    value: t.headers && Object.keys(t.headers).length ? JSON.stringify(t.headers) : '',
    placeholder: '{"Authorization": "Bearer …"}'});
  const argv = h('textarea', {name: 'target-argv', rows: 2, value: (t.argv || []).join('\n'), placeholder: '/usr/local/bin/handle'});
  const cwd = h('input', {type: 'text', name: 'target-cwd', value: t.cwd || ''});
  const baseUrl = h('input', {type: 'url', name: 'target-base-url', value: t.base_url || ''});
  const model = h('input', {type: 'text', name: 'target-model', value: t.model || ''});
  const keyEnv = h('input', {type: 'text', name: 'target-api-key-env', value: t.api_key_env || ''});
  const timeout = h('input', {type: 'number', name: 'target-timeout-ms', min: 1, value: t.timeout_ms || ''});
  const maxAttempts = h('input', {type: 'number', name: 'max-attempts', min: 1, value: agent ? agent.max_attempts : 8});
  const concurrency = h('input', {type: 'number', name: 'concurrency', min: 1, value: agent ? agent.concurrency : 4});
  const groups = {
    http: h('div', {class: 'grid'}, field('URL', url), field('Headers (JSON object, optional)', headers,
      'Stored values show as "[redacted]"; leave one so to keep it (same host only).')),
    command: h('div', {class: 'grid'}, field('Command and arguments', argv, 'One per line, the program first.'),
      field('Working directory (optional)', cwd),
      h('p', {class: 'hint'}, 'The server refuses command agents made here unless its operator allows them (api: {command_agents: true} in triggerd.yaml, admin keys only); they can always be declared in that file.')),
    llm: h('div', {class: 'grid'}, field('Base URL', baseUrl), field('Model', model),
      field('API key environment variable', keyEnv,
        'A server variable the operator lists in triggerd.yaml (api: {llm_api_key_envs: [...]}).')),
  };
  const showGroup = () => {
    for (const [key, el] of Object.entries(groups)) el.hidden = key !== type.value;
  };
  type.addEventListener('change', showGroup);
  showGroup();
  const status = h('div', {'aria-live': 'polite'});
  const title = agent ? `Edit ${agent.name}` : 'New agent';
  const form = h('form', {class: 'panel', 'aria-label': title, on: {submit: async (e) => {
    e.preventDefault();
    clear(status);
    try {
      const target = {type: type.value};
      if (type.value === 'http') {
        target.url = url.value.trim();
        if (headers.value.trim()) target.headers = JSON.parse(headers.value);
      } else if (type.value === 'command') {
        target.argv = argv.value.split('\n').map((s) => s.trim()).filter(Boolean);
        if (cwd.value.trim()) target.cwd = cwd.value.trim();
      } else {
        target.base_url = baseUrl.value.trim();
        target.model = model.value.trim();
        if (keyEnv.value.trim()) target.api_key_env = keyEnv.value.trim();
      }
      if (timeout.value) target.timeout_ms = Number(timeout.value);
      const body = {name: name.value.trim(), instructions: instructions.value, target,
        max_attempts: Number(maxAttempts.value), concurrency: Number(concurrency.value)};
      const saved = agent ? await patch(`/api/v1/agents/${agent.id}`, body) : await post('/api/v1/agents', body);
      await onDone(saved);
    } catch (err) {
      status.append(errorBox(err instanceof SyntaxError ? {type: 'invalid_headers', message: `headers: ${err.message}`} : err));
    }
  }}},
  h('h2', {}, title),
  h('div', {class: 'grid'}, field('Name', name), field('Target', type)),
  field('Instructions (optional)', instructions, 'Sent with every run; the system message for LLM agents.'),
  groups.http, groups.command, groups.llm,
  h('div', {class: 'grid'}, field('Timeout (ms, optional)', timeout), field('Max attempts', maxAttempts),
    field('Concurrency', concurrency)),
  h('div', {class: 'actions'}, h('button', {type: 'submit', class: 'primary'}, agent ? 'Save agent' : 'Create agent'),
    onCancel ? h('button', {type: 'button', on: {click: onCancel}}, 'Cancel') : null),
  status);
  return form;
}

export async function render(main) {
  const list = h('div');
  const flash = h('div', {'aria-live': 'polite'});
  const formSlot = h('div');

  const showCreate = () => clear(formSlot, agentForm(null, async (created) => {
    await refresh(`Agent ${created.name} created.`, created.signing_secret
      ? secretPanel(`${created.name}: signing secret`, [['Signing secret (verify webhook-signature with it)', created.signing_secret]])
      : null);
    showCreate();
  }));

  async function refresh(message, once) {
    const agents = await listAll('/api/v1/agents');
    clear(flash);
    if (message) flash.append(h('p', {class: 'notice'}, message));
    if (once) flash.append(once);
    clear(list, agents.length ? h('table', {},
      h('caption', {}, 'Agents'),
      h('thead', {}, h('tr', {}, ['Name', 'Target', 'Attempts', 'Concurrency', ''].map((t) => h('th', {scope: 'col'}, t)))),
      h('tbody', {}, agents.map((a) => h('tr', {'data-agent-id': a.id},
        h('td', {}, h('strong', {}, a.name), h('br'), h('code', {}, a.id)),
        h('td', {}, h('code', {class: 'inline-code'}, targetSummary(a.target))),
        h('td', {}, String(a.max_attempts)),
        h('td', {}, String(a.concurrency)),
        h('td', {}, h('div', {class: 'actions'},
          h('button', {type: 'button', class: 'small', on: {click: () => {
            clear(formSlot, agentForm(a, async (saved) => {
              await refresh(`Agent ${saved.name} saved.`);
              showCreate();
            }, showCreate));
            formSlot.querySelector('input')?.focus();
          }}}, 'Edit'),
          h('button', {type: 'button', class: 'small danger', on: {click: async () => {
            if (!confirm(`Delete agent ${a.name}?`)) return;
            try {
              await del(`/api/v1/agents/${a.id}`);
              await refresh(`Agent ${a.name} deleted.`);
            } catch (err) {
              clear(flash, errorBox(err));
            }
          }}}, 'Delete'))))))) : h('p', {class: 'muted'}, 'No agents yet.'));
  }

  clear(main, h('h1', {}, 'Agents'),
    h('p', {class: 'muted'}, 'What a run talks to: each matched event becomes a run delivered to the trigger\'s agent.'),
    flash, formSlot, list);
  showCreate();
  await refresh();
}

export async function agentNames() {
  const names = new Map();
  for (const a of await listAll('/api/v1/agents')) names.set(a.id, a.name);
  return names;
}
