// The web console (/ui/) end to end in a real browser, against the real triggerd binary:
// sign in with the admin key, create a custom HMAC source (its secret shown once), an agent whose
// http target is a loopback receiver run here, and a trigger with a filter; send a signed webhook
// with curl; watch the event and its run appear in the live events view; open the run, retry it
// and see the new attempt; and the filter playground answering as one types.
//
// Usage: node console_test.mjs <triggerd binary> <screenshot dir> <chromium>
// Exit 0: passed; 1: failed (the step and why are printed). Bounded: every wait has a deadline
// and the whole test is cut at HARD_LIMIT_MS.
import {execFileSync, spawn} from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {chromium} from 'playwright-core';

const [binary, screenshotDir, chromiumPath] = process.argv.slice(2);
if (!binary || !screenshotDir || !chromiumPath) {
  console.error('usage: node console_test.mjs <triggerd binary> <screenshot dir> <chromium>');
  process.exit(2);
}
// "Did not hang": a run takes 15-35 s here (more on a loaded machine; ctest's TIMEOUT is 120 s).
const HARD_LIMIT_MS = 100_000;
const WAIT_MS = 20_000;        // per step: the live views poll every 1.5-2 s
const started = Date.now();
const cleanups = [];
let step = 'start';
const timings = [];  // [step, seconds]
let stepStarted = Date.now();
function begin(name) {
  timings.push([step, (Date.now() - stepStarted) / 1000]);
  step = name;
  stepStarted = Date.now();
}

async function cleanup() {
  for (const fn of cleanups.reverse()) {
    try {
      await fn();
    } catch {
      // Best effort: the test's verdict is already decided.
    }
  }
}

const hardTimer = setTimeout(async () => {
  console.error(`FAIL: the browser test did not finish within ${HARD_LIMIT_MS / 1000} s (at step: ${step})`);
  await cleanup();
  process.exit(1);
}, HARD_LIMIT_MS);

function check(condition, message) {
  if (!condition) throw new Error(message);
}

// --- the loopback peer of triggerd, two endpoints in one server:
// /hook, the agent's endpoint: refuses the first delivery (a 4xx fails the run at once), then
// answers every later one, so a retry from the console makes a second, successful attempt;
// /v1/chat/completions, the model behind POST /api/v1/filters/generate (`llm:` in the config): a
// description saying "nonsense" gets a filter that does not compile (the route's error answer),
// any other gets (eq "number" 7).
function completion(content) {
  return JSON.stringify({id: 'chatcmpl-ui', object: 'chat.completion',
    choices: [{index: 0, message: {role: 'assistant', content}, finish_reason: 'stop'}]});
}

function startPeer() {
  const deliveries = [];
  const modelCalls = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      if (req.url.endsWith('/chat/completions')) {
        modelCalls.push(body);
        const nonsense = body.includes('nonsense');
        res.writeHead(200, {'Content-Type': 'application/json'});
        res.end(completion(nonsense ? '```filter\n(eqq "action" "opened")\n```'
          : '```filter\n(eq "number" 7)\n```\nEvents whose number is 7.'));
        return;
      }
      deliveries.push({headers: req.headers, body});
      if (deliveries.length === 1) {
        res.writeHead(400, {'Content-Type': 'application/json'});
        res.end(JSON.stringify({error: 'first delivery refused on purpose'}));
      } else {
        res.writeHead(200, {'Content-Type': 'application/json'});
        res.end(JSON.stringify({reply: 'handled by the loopback receiver', delivery: deliveries.length}));
      }
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({server, deliveries, modelCalls, port: server.address().port}));
  });
}

// --- triggerd serve on a free loopback port with a fresh data dir.
async function startTriggerd(dataDir, config) {
  const child = spawn(binary, ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--config', config], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  cleanups.push(() => new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.on('exit', resolve);
    child.kill('SIGTERM');
    setTimeout(() => { child.kill('SIGKILL'); resolve(); }, 5000).unref();
  }));
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const m = output.match(/listening on 127\.0\.0\.1:(\d+)/);
    const keyFile = path.join(dataDir, 'admin-key');
    if (m && fs.existsSync(keyFile)) {
      return {child, port: Number(m[1]), adminKey: fs.readFileSync(keyFile, 'utf8').trim(), output: () => output};
    }
    if (child.exitCode !== null) throw new Error(`triggerd exited with ${child.exitCode}:\n${output}`);
    if (Date.now() > deadline) throw new Error(`triggerd did not start listening:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function main() {
  fs.mkdirSync(screenshotDir, {recursive: true});
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'triggerd-ui-'));
  cleanups.push(() => fs.rmSync(scratch, {recursive: true, force: true}));
  const dataDir = path.join(scratch, 'data');
  fs.mkdirSync(dataDir);

  begin('start the receiver and triggerd');
  const receiver = await startPeer();
  cleanups.push(() => new Promise((r) => {
    receiver.server.close(r);
    receiver.server.closeAllConnections();  // triggerd's keep-alive connections, else close waits
  }));
  const config = path.join(scratch, 'triggerd.yaml');
  fs.writeFileSync(config, `llm:\n  base_url: http://127.0.0.1:${receiver.port}/v1\n  model: test-model\n` +
    '  api_key_env: ""\n  timeout_ms: 10000\n');
  const triggerd = await startTriggerd(dataDir, config);
  const base = `http://127.0.0.1:${triggerd.port}`;

  begin('launch chromium');
  // A fresh profile; no background networking: this machine has no network but loopback.
  const context = await chromium.launchPersistentContext(path.join(scratch, 'profile'), {
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: {width: 1280, height: 900},
  });
  cleanups.push(() => context.close());
  context.setDefaultTimeout(WAIT_MS);
  const page = context.pages()[0] || await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // A Content-Security-Policy refusal is reported on the console only.
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) problems.push(`console error: ${m.text()}`);
  });
  const navLink = (name) => page.getByRole('navigation', {name: 'Main'}).getByRole('link', {name, exact: true});
  const shots = [];
  const shot = async (name) => {
    const file = path.join(screenshotDir, `${name}.png`);
    await page.screenshot({path: file, fullPage: true});
    shots.push(file);
  };

  begin('sign in');
  await page.goto(`${base}/ui`);
  check(page.url() === `${base}/ui/`, `GET /ui did not land on /ui/: ${page.url()}`);
  for (const role of ['banner', 'main']) check(await page.getByRole(role).count() === 1, `no ${role} landmark`);
  const keyField = page.getByLabel('API key');
  await keyField.waitFor();
  check(!(await page.getByRole('button', {name: 'Sign out'}).isVisible()), 'Sign out is shown before signing in');
  await keyField.fill('tdk_wrong');
  await keyField.press('Enter');  // the keyboard submits the form
  await page.getByRole('alert').first().waitFor();
  await keyField.fill(triggerd.adminKey);
  await keyField.press('Enter');
  await page.locator('#whoami', {hasText: 'admin'}).waitFor();
  await page.getByRole('navigation', {name: 'Main'}).waitFor();
  await shot('01-signed-in');

  begin('create a custom HMAC source');
  await navLink('Sources').click();
  await page.getByRole('heading', {name: 'Sources', level: 1, exact: true}).waitFor();
  await page.getByLabel('Name', {exact: true}).fill('browser app');
  check(await page.getByLabel('Check an HMAC signature').isChecked(), 'HMAC is not the default');
  await page.getByLabel('Header', {exact: true}).fill('X-Signature');
  await page.getByLabel('Algorithm').selectOption('sha256');
  await page.getByLabel('Prefix').fill('sha256=');
  await page.getByLabel('Delivery id header (optional)').fill('X-Delivery-Id');
  await page.getByRole('button', {name: 'Create source'}).click();
  const once = page.locator('section.once');
  await once.waitFor();
  const values = await once.locator('.secret-value').allTextContents();
  const ingestUrl = values.find((v) => v.startsWith('http'));
  const secret = values.find((v) => v.startsWith('whsec_'));
  check(ingestUrl && secret, `the new source's URL and secret are not shown: ${JSON.stringify(values)}`);
  await shot('02-source-created');
  // Shown once: after a reload of the page the secret is gone, the URL stays in the list.
  await navLink('Events').click();
  await navLink('Sources').click();
  await page.locator('tr[data-source-id]').first().waitFor();
  check(!(await page.content()).includes(secret), 'the signing secret is shown again');
  // Enable/disable round trip.
  const sourceRow = page.locator('tr[data-source-id]', {hasText: 'browser app'});
  await sourceRow.getByRole('button', {name: 'Disable'}).click();
  await sourceRow.getByText('disabled', {exact: true}).waitFor();
  await sourceRow.getByRole('button', {name: 'Enable'}).click();
  await sourceRow.getByText('enabled', {exact: true}).waitFor();

  begin('create an agent with an http target');
  await navLink('Agents').click();
  await page.getByRole('heading', {name: 'Agents', level: 1, exact: true}).waitFor();
  await page.getByLabel('Name', {exact: true}).fill('receiver');
  await page.getByLabel('Target', {exact: true}).selectOption('http');
  await page.getByLabel('URL', {exact: true}).fill(`http://127.0.0.1:${receiver.port}/hook`);
  check(!(await page.getByLabel('Base URL').isVisible()), 'the llm target\'s fields show for an http target');
  await page.getByLabel('Max attempts').fill('3');
  await page.getByRole('button', {name: 'Create agent'}).click();
  await page.locator('section.once .secret-value', {hasText: 'whsec_'}).waitFor();
  await page.locator('tr[data-agent-id]', {hasText: 'receiver'}).waitFor();

  begin('create a trigger with a filter');
  await navLink('Triggers').click();
  await page.getByRole('link', {name: 'New trigger'}).click();
  await page.getByRole('heading', {name: 'New trigger'}).waitFor();
  await page.getByLabel('Name', {exact: true}).fill('opened only');
  await page.getByLabel('Source', {exact: true}).selectOption({label: 'browser app (custom)'});
  await page.getByLabel('Agent', {exact: true}).selectOption({label: 'receiver'});
  const filterField = page.getByLabel('Filter', {exact: true});
  await filterField.fill('(eq "action" "opene');
  await page.locator('.filter-status [role=alert]').waitFor();
  await filterField.fill('(eq "action" "opened")');
  await page.locator('.filter-status', {hasText: 'The filter compiles.'}).waitFor();
  // "Describe it", the error path: the route's JSON error message is shown, the filter is kept.
  const describe = {description: 'nonsense that no filter can say',
    source_id: await page.getByLabel('Source', {exact: true}).inputValue()};
  await page.getByLabel('What should this trigger react to?').fill(describe.description);
  const direct = await fetch(`${base}/api/v1/filters/generate`, {method: 'POST',
    headers: {Authorization: `Bearer ${triggerd.adminKey}`, 'Content-Type': 'application/json'}, body: JSON.stringify(describe)});
  const directBody = await direct.json().catch(() => null);
  const message = directBody && directBody.error && directBody.error.message;
  check(!direct.ok && message, `/api/v1/filters/generate answered ${direct.status} without a JSON error body`);
  await page.getByRole('button', {name: 'Generate filter'}).click();
  await page.locator('.generate-result [role=alert]', {hasText: message}).waitFor();
  check(await filterField.inputValue() === '(eq "action" "opened")', 'a failed generation changed the filter');
  await shot('03-trigger-editor');
  await page.getByRole('button', {name: 'Create trigger'}).click();
  const triggerRow = page.locator('tr[data-trigger-id]', {hasText: 'opened only'});
  await triggerRow.waitFor();
  await triggerRow.getByRole('button', {name: 'Disable'}).click();
  await triggerRow.getByText('disabled', {exact: true}).waitFor();
  await triggerRow.getByRole('button', {name: 'Enable'}).click();
  await triggerRow.getByText('enabled', {exact: true}).waitFor();

  begin('send signed webhooks with curl');
  await navLink('Events').click();
  await page.locator('#event-feed[aria-live=polite] li').first().waitFor();
  const send = (payload, deliveryId) => {
    const body = JSON.stringify(payload);
    const signature = crypto.createHmac('sha256', secret).update(body).digest('hex');
    const out = execFileSync('curl', ['-sS', '--max-time', '10', '-X', 'POST', ingestUrl,
      '-H', 'Content-Type: application/json', '-H', `X-Signature: sha256=${signature}`,
      '-H', `X-Delivery-Id: ${deliveryId}`, '--data-binary', body, '-w', '\n%{http_code}'], {encoding: 'utf8'});
    const cut = out.lastIndexOf('\n');
    const [json, status] = [out.slice(0, cut).trim(), out.slice(cut + 1).trim()];
    check(status === '200', `ingest answered ${status}: ${json}`);
    return JSON.parse(json);
  };
  const ignored = send({action: 'closed', number: 6}, 'delivery-1');
  check(ignored.runs.length === 0, `a closed event started runs: ${JSON.stringify(ignored)}`);
  const matched = send({action: 'opened', number: 7, pull_request: {title: 'Console'}}, 'delivery-2');
  check(matched.runs.length === 1, `the opened event started no run: ${JSON.stringify(matched)}`);
  const runId = matched.runs[0].run_id;

  begin('see the event and its run in the live events view');
  const eventItem = page.locator(`li[data-event-id="${matched.event_id}"]`);
  await eventItem.locator(`a[data-run-id="${runId}"]`).waitFor();
  await eventItem.locator('[data-outcome=matched]').waitFor();
  await page.locator(`li[data-event-id="${ignored.event_id}"] [data-outcome=ignored]`).waitFor();
  await shot('04-events');
  await eventItem.getByRole('link', {name: /^event/}).click();
  await page.getByRole('heading', {name: `Event ${matched.event_id}`}).waitFor();
  const payloadText = await page.locator('[data-testid=payload]').textContent();
  check(payloadText.includes('"title": "Console"'), `the payload is not pretty-printed: ${payloadText}`);
  check((await page.getByLabel('Headers').textContent()).includes('X-Delivery-Id: delivery-2'), 'the headers are not shown');

  begin('open the run, see it fail, retry it and see the new attempt');
  await page.locator(`a[data-run-id="${runId}"]`).click();
  await page.getByRole('heading', {name: `Run ${runId}`}).waitFor();
  await page.locator('#run-status .badge-failed').waitFor();
  await page.locator('.messages [data-role=event]').waitFor();
  await page.locator('.messages [data-role=error]').waitFor();
  check(await page.locator('#attempts tbody tr').count() === 1, 'the failed run does not show one attempt');
  await page.getByRole('button', {name: 'Retry run'}).click();
  await page.locator('#run-status .badge-succeeded').waitFor();
  await page.locator('.messages [data-role=agent]', {hasText: 'handled by the loopback receiver'}).waitFor();
  check(await page.locator('#attempts tbody tr').count() === 2, 'the retry did not add an attempt');
  check(receiver.deliveries.length === 2, `the receiver saw ${receiver.deliveries.length} deliveries`);
  check(receiver.deliveries[1].headers['webhook-signature'], 'the delivery is not signed');
  await shot('05-run');

  begin('edit the trigger: "Describe it" fills the filter from the model\'s answer');
  await navLink('Triggers').click();
  await page.locator('tr[data-trigger-id]').getByRole('link', {name: 'opened only'}).click();
  await page.getByRole('heading', {name: 'Edit trigger opened only'}).waitFor();
  await page.getByLabel('What should this trigger react to?').fill('events whose number is 7');
  await page.getByRole('button', {name: 'Generate filter'}).click();
  await page.locator('.generate-result', {hasText: 'Events whose number is 7.'}).waitFor();
  check(await filterField.inputValue() === '(eq "number" 7)', `the filter was not filled in: ${await filterField.inputValue()}`);
  // The stored events were the samples: #7 matches, #6 does not.
  await page.locator('.generate-result .samples li', {hasText: matched.event_id}).locator('.result-true').waitFor();
  await page.locator('.generate-result .samples li', {hasText: ignored.event_id}).locator('.result-false').waitFor();
  await page.locator('.filter-status', {hasText: 'The filter compiles.'}).waitFor();
  await shot('06-describe-it');
  await page.getByRole('button', {name: 'Save trigger'}).click();
  await page.locator('tr[data-trigger-id]', {hasText: '(eq "number" 7)'}).waitFor();

  begin('the filter playground answers while typing');
  // By keyboard: the navigation is real links, the actions real buttons.
  await navLink('Filter playground').focus();
  await page.keyboard.press('Enter');
  await page.getByRole('heading', {name: 'Filter playground'}).waitFor();
  const playgroundFilter = page.getByRole('textbox', {name: 'Filter', exact: true});
  await playgroundFilter.fill('');
  await playgroundFilter.pressSequentially('(and (eq "action" "opened") (gt "pull_request.changed_files" 2))', {delay: 5});
  const result = page.locator('#playground-output [data-testid=filter-result]');
  await result.filter({hasText: 'true'}).waitFor();
  const explained = page.locator('#playground-output .explain li');
  await explained.nth(2).waitFor();
  check((await page.locator('#playground-output .explain').textContent()).includes('pull_request.changed_files'),
    'the explanation does not name the sub-expression\'s field');
  await playgroundFilter.fill('(and (eq "action" "opened") (gt "pull_request.changed_files" 20))');
  await result.filter({hasText: 'false'}).waitFor();
  // The failing sub-expression is the innermost false item naming the field.
  await page.locator('#playground-output .explain li[data-result=false]:not(:has(li))', {hasText: 'changed_files'}).waitFor();
  await page.locator('#playground-output .explain li[data-result=true]:not(:has(li))', {hasText: '"opened"'}).waitFor();
  // A stored event as the payload.
  await page.getByLabel('Stored event').selectOption(matched.event_id);
  await page.waitForFunction(() => document.querySelector('textarea[name=payload]').value.includes('"Console"'));
  await playgroundFilter.fill('(eq "pull_request.title" "Console")');
  await result.filter({hasText: 'true'}).waitFor();
  await shot('07-playground');

  begin('sign out');
  await page.getByRole('button', {name: 'Sign out'}).focus();
  await page.keyboard.press('Enter');
  await page.getByLabel('API key').waitFor();
  check(await page.evaluate(() => sessionStorage.length) === 0, 'the key stayed in sessionStorage');

  check(problems.length === 0, `the page reported problems:\n${problems.join('\n')}`);
  begin('done');
  return shots;
}

let failed = false;
try {
  const shots = await main();
  console.log(`ui browser test: passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(timings.map(([name, secs]) => `  ${secs.toFixed(1).padStart(5)} s  ${name}`).join('\n'));
  console.log(`screenshots:\n${shots.map((s) => `  ${s}`).join('\n')}`);
} catch (e) {
  failed = true;
  console.error(`FAIL at step "${step}": ${e.stack || e}`);
}
const cleanupStarted = Date.now();
await cleanup();
clearTimeout(hardTimer);
console.log(`cleanup (browser, receiver, triggerd, temp dirs): ${((Date.now() - cleanupStarted) / 1000).toFixed(1)} s`);
process.exit(failed ? 1 : 0);
