// The demo, used the way a person would: in each storage mode add users, reload, edit
// one and watch updated_at move, try a duplicate username, delete; then server mode
// shows rows the server stored. `cargo xtask test` starts the server and runs this with
// DEMO_URL set; by hand: `DEMO_URL=http://127.0.0.1:8080 node --test` after `cargo xtask demo`.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { launch, url } from './chromium.mjs';

const screenshot = process.env.DEMO_SCREENSHOT ?? '../../target/demo.png';
let browser;
let page;
// Every uncaught error in the page fails the test it happened in.
const pageErrors = [];
const noPageErrors = () => assert.deepEqual(pageErrors.splice(0).map(String), [], 'errors in the page');

before(async () => {
  browser = await launch();
  page = await browser.newPage({ viewport: { width: 1360, height: 860 } });
  page.on('pageerror', (err) => pageErrors.push(err));
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]');
});

after(async () => {
  await browser?.close();
});

const rows = () => page.$$eval('#records tbody tr', (trs) => trs.map((tr) => Object.fromEntries(
  [...tr.querySelectorAll('td[data-column]')].map((td) => [td.dataset.column, td.textContent]),
)));
const errorText = () => page.$eval('#error', (e) => (e.hidden ? '' : e.textContent));
const row = (username) => page.locator('#records tbody tr', { hasText: username });

async function chooseMode(mode) {
  await page.click(`[data-mode="${mode}"]`);
  await page.waitForFunction((m) => document.body.dataset.loaded === m, mode);
}

async function addUser(username, email) {
  await page.fill('#user-form [name="username"]', username);
  await page.fill('#user-form [name="email_address"]', email);
  await page.click('#user-submit');
  await page.waitForFunction(() => !document.querySelector('#user-form [name="username"]').value
    || !document.querySelector('#error').hidden);
}

for (const mode of ['local', 'session', 'indexeddb']) {
  test(`${mode}: add, reload, edit, duplicate, delete`, async () => {
    await chooseMode(mode);
    await addUser('ada', 'ada@example.com');
    await addUser('bob', 'bob@example.com');
    assert.equal(await errorText(), '');
    assert.deepEqual((await rows()).map((r) => r.username).sort(), ['ada', 'bob']);

    await page.reload();
    await page.waitForFunction((m) => document.body.dataset.loaded === m, mode);
    assert.equal(await page.getAttribute(`[data-mode="${mode}"]`, 'aria-checked'), 'true');
    const reloaded = await rows();
    assert.deepEqual(reloaded.map((r) => r.username).sort(), ['ada', 'bob'], 'the users survive a reload');
    const before = reloaded.find((r) => r.username === 'bob');
    assert.equal(before.created_at, before.updated_at);

    await page.waitForTimeout(20);
    await row('bob').locator('[data-action="edit"]').click();
    await page.fill('#user-form [name="email_address"]', 'robert@example.org');
    await page.click('#user-submit');
    await page.waitForFunction(() => document.querySelector('#records').textContent.includes('robert@example.org'));
    const edited = (await rows()).find((r) => r.username === 'bob');
    assert.equal(edited.created_at, before.created_at);
    assert.ok(edited.updated_at > before.updated_at, `updated_at moved: ${before.updated_at} → ${edited.updated_at}`);
    const dict = JSON.parse(await page.textContent('#dict'));
    assert.deepEqual(Object.keys(dict), ['id', 'username', 'email_address', 'created_at', 'updated_at']);
    assert.equal(dict.email_address, 'robert@example.org');

    await addUser('ada', 'another@example.com');
    assert.match(await errorText(), /already taken/);
    await page.fill('#user-form [name="username"]', '');

    await addUser('X', 'nope');
    assert.match(await errorText(), /3 to 32 lower-case letters/, 'bad input is refused before it is sent');
    await page.fill('#user-form [name="username"]', '');
    await page.fill('#user-form [name="email_address"]', '');

    await row('ada').locator('[data-action="delete"]').click();
    await page.waitForFunction(() => !document.querySelector('#records').textContent.includes('ada@example.com'));
    assert.deepEqual((await rows()).map((r) => r.username), ['bob']);
    await row('bob').locator('[data-action="delete"]').click();
    await page.waitForSelector('#empty:not([hidden])');
    noPageErrors();
  });
}

test('server: the page shows what the server stored', async () => {
  // Unique per run, so the test also passes against a server that has run it before.
  const grace = `grace_${Date.now().toString(36)}`;
  const linus = `linus_${Date.now().toString(36)}`;
  const response = await fetch(`${url}/api/users`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: grace, email_address: 'grace@example.com' }),
  });
  assert.equal(response.status, 201);
  const json = { 'content-type': 'application/json' };
  const duplicate = await fetch(`${url}/api/users`, {
    method: 'POST', headers: json, body: JSON.stringify({ username: grace, email_address: 'g@example.com' }),
  });
  assert.equal(duplicate.status, 409);
  assert.equal((await fetch(`${url}/api/users/999999`, { method: 'DELETE' })).status, 404);
  assert.equal((await fetch(`${url}/api/users`, { method: 'POST', headers: json, body: '{"username":"G"}' })).status, 422);
  const plain = await fetch(`${url}/api/users`, { method: 'POST', body: JSON.stringify({ username: 'mallory', email_address: 'm@example.com' }) });
  assert.equal(plain.status, 415, 'a text/plain write, as another site could send, is refused');

  await chooseMode('server');
  assert.ok((await rows()).some((r) => r.username === grace));
  await addUser(linus, 'linus@example.com');
  const stored = await (await fetch(`${url}/api/users?sort=name`)).json();
  assert.deepEqual(stored.map((u) => u.username).filter((u) => u === grace || u === linus), [grace, linus]);

  await page.click('[data-kind="notes"]');
  await page.fill('#note-form [name="title"]', 'Pour the plinth');
  await page.fill('#note-form [name="tags"]', 'concrete, base');
  await page.check('#note-form [name="pinned"]');
  await page.click('#note-submit');
  await page.waitForFunction(() => document.querySelector('#records').textContent.includes('Pour the plinth'));
  await page.click('[data-kind="users"]');
  await page.locator('#records tbody tr', { hasText: grace }).click();
  await page.screenshot({ path: screenshot, fullPage: true });
  noPageErrors();
});

test('server: an edit of a record changed meanwhile is refused, not written over', async () => {
  const name = `edith_${Date.now().toString(36)}`;
  const json = { 'content-type': 'application/json' };
  const created = await (await fetch(`${url}/api/users`, {
    method: 'POST', headers: json, body: JSON.stringify({ username: name, email_address: 'edith@example.com' }),
  })).json();
  await chooseMode('server');
  await row(name).locator('[data-action="edit"]').click();
  // Another browser saves first.
  const other = await fetch(`${url}/api/users/${created.id}`, {
    method: 'PUT', headers: json,
    body: JSON.stringify({ username: name, email_address: 'other@example.com', updated_at: created.updated_at }),
  });
  assert.equal(other.status, 200);
  await page.fill('#user-form [name="email_address"]', 'mine@example.com');
  await page.click('#user-submit');
  await page.waitForFunction(() => !document.querySelector('#error').hidden);
  assert.match(await errorText(), /changed this record meanwhile/);
  const stored = await (await fetch(`${url}/api/users?q=${name}`)).json();
  assert.equal(stored[0].email_address, 'other@example.com', 'the other browser\'s edit stands');
  await page.click('#user-form [data-cancel]');
  noPageErrors();
});

test('server: ids past 2^53 keep every digit on their way through the page', async () => {
  const huge = '9007199254740993';
  const seen = [];
  await page.route('**/api/users?*', async (route) => {
    const text = await (await route.fetch()).text();
    const entry = `{"id":${huge},"username":"huge","email_address":"huge@example.com","created_at":"2024-01-01T00:00:00.000000Z","updated_at":"2024-01-01T00:00:00.000000Z"}`;
    await route.fulfill({ status: 200, contentType: 'application/json', body: text.replace(/^\[/, `[${entry}${text === '[]' ? '' : ','}`) });
  });
  await page.route(`**/api/users/*`, async (route) => { seen.push(new URL(route.request().url()).pathname); await route.fulfill({ status: 204 }); });
  await chooseMode('local');
  await chooseMode('server');
  assert.equal((await rows()).find((r) => r.username === 'huge').id, huge, 'the id shown is exact');
  await row('huge@example.com').locator('[data-action="delete"]').click();
  for (let i = 0; i < 100 && seen.length === 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
  await page.unrouteAll();
  assert.deepEqual(seen, [`/api/users/${huge}`], 'the delete names the exact id');
  noPageErrors();
});
