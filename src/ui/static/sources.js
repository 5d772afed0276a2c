// Sources: create a custom source (its URL and secret shown once), rotate its secrets, enable or
// disable it, edit its allowed IPs.
import {listAll, patch, post} from './api.js';
import {badge, checkbox, clear, errorBox, field, h, lines, secretPanel, select} from './dom.js';

function authSummary(auth) {
  const parts = [];
  if (auth && auth.hmac) parts.push(`HMAC ${auth.hmac.algorithm} in ${auth.hmac.header}`);
  if (auth && auth.bearer) parts.push('bearer token');
  return parts.length ? parts.join(' + ') : 'URL secret only';
}

function createForm(onCreated) {
  const name = h('input', {type: 'text', name: 'name', required: true, maxlength: 200});
  const hmac = checkbox('Check an HMAC signature', true, {name: 'hmac'});
  const header = h('input', {type: 'text', name: 'hmac-header', value: 'X-Signature'});
  const algorithm = select([['sha256', 'SHA-256'], ['sha1', 'SHA-1'], ['sha512', 'SHA-512']], 'sha256',
    {name: 'hmac-algorithm'});
  const encoding = select([['hex', 'hex'], ['base64', 'base64']], 'hex', {name: 'hmac-encoding'});
  const prefix = h('input', {type: 'text', name: 'hmac-prefix', value: 'sha256='});
  const bearer = checkbox('Require a bearer token', false, {name: 'bearer'});
  const deliveryId = h('input', {type: 'text', name: 'delivery-id-header', placeholder: 'X-Delivery-Id'});
  const ips = h('textarea', {name: 'allowed-ips', rows: 2, placeholder: '203.0.113.0/24'});
  const hmacFields = h('fieldset', {class: 'grid'}, h('legend', {}, 'Signature'),
    field('Header', header), field('Algorithm', algorithm), field('Encoding', encoding),
    field('Prefix', prefix, 'Text before the signature, e.g. sha256='));
  hmac.input.addEventListener('change', () => { hmacFields.disabled = !hmac.input.checked; });
  algorithm.addEventListener('change', () => {
    if (/^sha(1|256|512)=$/.test(prefix.value)) prefix.value = `${algorithm.value}=`;
  });
  const status = h('div', {'aria-live': 'polite'});
  const form = h('form', {class: 'panel', 'aria-labelledby': 'new-source-title', on: {submit: async (e) => {
    e.preventDefault();
    clear(status);
    const auth = {bearer: bearer.input.checked};
    if (hmac.input.checked) {
      auth.hmac = {header: header.value.trim(), algorithm: algorithm.value, encoding: encoding.value,
        prefix: prefix.value};
    }
    const body = {name: name.value.trim(), kind: 'custom', enabled: true, auth, allowed_ips: lines(ips.value)};
    if (deliveryId.value.trim()) body.delivery_id_header = deliveryId.value.trim();
    try {
      const created = await post('/api/v1/sources', body);
      form.reset();
      await onCreated(created);
    } catch (err) {
      status.append(errorBox(err));
    }
  }}},
  h('h2', {id: 'new-source-title'}, 'New custom source'),
  field('Name', name), hmac.el, hmacFields, bearer.el,
  h('div', {class: 'grid'},
    field('Delivery id header (optional)', deliveryId, 'Repeated deliveries with the same id are stored once.'),
    field('Allowed IPs (optional)', ips, 'One IP or CIDR per line; empty allows every address.')),
  h('button', {type: 'submit', class: 'primary'}, 'Create source'),
  status);
  return form;
}

function ipsEditor(source, onSaved) {
  const ips = h('textarea', {rows: 2, value: (source.allowed_ips || []).join('\n'),
    'aria-label': `Allowed IPs of ${source.name}`});
  const status = h('div', {'aria-live': 'polite'});
  return h('form', {class: 'inline', on: {submit: async (e) => {
    e.preventDefault();
    clear(status);
    try {
      await patch(`/api/v1/sources/${source.id}`, {allowed_ips: lines(ips.value)});
      await onSaved(`Allowed IPs of ${source.name} saved.`);
    } catch (err) {
      status.append(errorBox(err));
    }
  }}}, ips, h('button', {type: 'submit', class: 'small'}, 'Save IPs'), status);
}

export async function render(main) {
  const list = h('div');
  const flash = h('div', {'aria-live': 'polite', id: 'source-flash'});

  async function refresh(message, once) {
    const sources = await listAll('/api/v1/sources');
    clear(flash);
    if (message) flash.append(h('p', {class: 'notice'}, message));
    if (once) flash.append(once);
    if (!sources.length) {
      clear(list, h('p', {class: 'muted'}, 'No sources yet.'));
      return;
    }
    clear(list, h('table', {},
      h('caption', {}, 'Sources'),
      h('thead', {}, h('tr', {}, ['Name', 'Kind', 'Auth', 'Ingest URL', 'Allowed IPs', 'State'].map(
        (t) => h('th', {scope: 'col'}, t)))),
      h('tbody', {}, sources.map((s) => h('tr', {'data-source-id': s.id},
        h('td', {}, h('strong', {}, s.name), h('br'), h('code', {}, s.id)),
        h('td', {}, s.kind),
        h('td', {}, authSummary(s.auth)),
        h('td', {}, s.url ? h('code', {class: 'inline-code'}, s.url) : '—'),
        h('td', {}, ipsEditor(s, (m) => refresh(m))),
        h('td', {}, h('div', {class: 'actions'},
          badge(s.enabled ? 'enabled' : 'disabled'),
          h('button', {type: 'button', class: 'small', on: {click: async () => {
            try {
              await patch(`/api/v1/sources/${s.id}`, {enabled: !s.enabled});
              await refresh(`${s.name} ${s.enabled ? 'disabled' : 'enabled'}.`);
            } catch (err) {
              clear(flash, errorBox(err));
            }
          }}}, s.enabled ? 'Disable' : 'Enable'),
          s.url ? h('button', {type: 'button', class: 'small', on: {click: async () => {
            if (!confirm(`Rotate the secrets of ${s.name}? Senders using the old ones will be refused.`)) return;
            try {
              const rotated = await post(`/api/v1/sources/${s.id}/rotate`, {});
              await refresh(`New secrets for ${s.name}.`,
                secretPanel(`New secrets of ${s.name}`, [['Signing secret', rotated.secret], ['Bearer token', rotated.token],
                  // A source whose URL is its only credential gets a new URL (the old one stops working).
                  ['Ingest URL', rotated.url !== s.url ? rotated.url : '']]));
            } catch (err) {
              clear(flash, errorBox(err));
            }
          }}}, 'Rotate secret') : null)))))));
  }

  clear(main,
    h('h1', {}, 'Sources'),
    h('p', {class: 'muted'}, 'Where webhooks come from. Each source has its own unguessable URL.'),
    flash,
    createForm(async (created) => {
      await refresh(`Source ${created.name} created.`, secretPanel(`${created.name}: URL and secrets`, [
        ['Ingest URL', created.url], ['Signing secret', created.secret], ['Bearer token', created.token]]));
      flash.querySelector('h3')?.setAttribute('tabindex', '-1');
      flash.querySelector('h3')?.focus();
    }),
    list);
  await refresh();
}

// Names of the workspace's sources by id (other pages show names, not ids).
export async function sourceNames() {
  const names = new Map();
  for (const s of await listAll('/api/v1/sources')) names.set(s.id, s.name);
  return names;
}

