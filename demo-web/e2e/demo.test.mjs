// The demo, used the way a person would: in each storage mode add users, reload, edit
// one and watch updated_at move, try a duplicate username, delete; write notes by a
// user, see each note's author and each user's note count, show one user's notes, and
// delete the user with their notes; then server mode shows rows the server stored, and
// its notes belong to users alike. `cargo xtask test` starts the server and runs this with
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

// Waits for the list of `kind` (`users`, `notes`) to be shown, loaded.
const showing = (kind) => page.waitForFunction((k) => document.body.dataset.showing === k, kind);

async function showKind(kind) {
  await page.click(`[data-kind="${kind}"]`);
  await showing(kind);
}

// Waits until a row whose `column` is `text` is listed (or, with `present` false, none is).
const listed = (column, text, present = true) => page.waitForFunction(({ column, text, present }) => present
  === [...document.querySelectorAll(`#records td[data-column="${column}"]`)].some((td) => td.textContent === text),
{ column, text, present });

// Adds a note by `author` (a username, or null for none; left as the form has it if
// undefined), and waits for it to be listed.
async function addNote(title, author) {
  await page.fill('#note-form [name="title"]', title);
  if (author !== undefined) await page.selectOption('#note-form [name="author_id"]', author === null ? '' : { label: author });
  await page.click('#note-submit');
  await page.waitForFunction((t) => !document.querySelector('#error').hidden
    || [...document.querySelectorAll('#records td[data-column="title"]')].some((td) => td.textContent === t), title);
  assert.equal(await errorText(), '', `the note ${title} was added`);
}

const selectedAuthor = () => page.$eval('#note-form [name="author_id"]', (s) => s.selectedOptions[0]?.textContent);

// Notes belong to users, in `mode`: the form offers the storage's users, each note
// shows its author, each user their note count and a way to their notes only, and
// deleting a user deletes their notes (the demo's rule: `on_delete = "cascade"`).
async function notesBelongToUsers(mode) {
  // Unique per run, so it also passes against a server that has run it before.
  const stamp = Date.now().toString(36);
  const [ann, ben] = [`ann_${stamp}`, `ben_${stamp}`];
  const [plans, builds, loose] = [`${ann} plans`, `${ann} builds`, `nobody's ${stamp}`];
  await chooseMode(mode);
  await addUser(ann, 'ann@example.com');
  await addUser(ben, 'ben@example.com');
  await listed('username', ann);
  await listed('username', ben);
  const annId = (await rows()).find((u) => u.username === ann).id;

  await showKind('notes');
  const offered = await page.$$eval('#note-form [name="author_id"] option', (os) => os.map((o) => o.textContent));
  assert.equal(offered[0], 'no author');
  assert.ok(offered.includes(ann) && offered.includes(ben), `the form offers this storage's users: ${offered}`);
  assert.equal(await selectedAuthor(), 'no author', 'a note has no author unless one is chosen');
  await addNote(plans, ann);
  await addNote(loose, null);
  assert.equal(await errorText(), '');
  const ours = (await rows()).filter((n) => [plans, loose].includes(n.title));
  assert.deepEqual(ours.map((n) => [n.title, n.author]).sort(), [[loose, '—'], [plans, ann]].sort(), 'each note shows its author');
  await page.locator('#records tbody tr', { hasText: plans }).click();
  assert.equal(String(JSON.parse(await page.textContent('#dict')).author), annId, 'to_dict() holds the author\'s id');
  assert.equal(await page.textContent('#related'), `author_username: "${ann}"`);

  await showKind('users');
  const counts = () => rows().then((users) => Object.fromEntries(users.map((u) => [u.username, u.note_count])));
  assert.deepEqual([(await counts())[ann], (await counts())[ben]], ['1 note', '0 notes'], 'each user shows their note count');
  await row(ann).click();
  const dict = JSON.parse(await page.textContent('#dict'));
  assert.deepEqual(Object.keys(dict), ['id', 'username', 'email_address', 'created_at', 'updated_at'], 'the panel is to_dict()');
  assert.equal(await page.textContent('#related'), 'note_count: 1');

  await row(ann).locator('[data-action="notes"]').click();
  await showing('notes');
  assert.ok(await page.isVisible('#author-filter'), 'the list says whose notes it shows');
  assert.deepEqual((await rows()).map((n) => [n.title, n.author]), [[plans, ann]], `only ${ann}'s notes`);
  assert.equal(await selectedAuthor(), ann, 'a note added here is by the user shown');
  await addNote(builds);
  assert.deepEqual((await rows()).map((n) => n.title).sort(), [builds, plans]);
  assert.match(await page.textContent('#count'), new RegExp(`^2 notes by ${ann} · `));
  await page.click('#author-filter button');
  await page.waitForFunction(() => document.querySelector('#author-filter').hidden);
  assert.ok((await rows()).some((n) => n.title === loose), 'every note again');
  await showKind('users');
  await row(ben).locator('[data-action="notes"]').click();
  await showing('notes');
  assert.deepEqual(await rows(), [], `${ben} has no notes`);

  await showKind('users');
  assert.equal((await counts())[ann], '2 notes');
  await row(ann).locator('[data-action="delete"]').click();
  await listed('username', ann, false);
  assert.equal(await errorText(), '');
  await showKind('notes');
  const left = (await rows()).map((n) => n.title);
  assert.ok(!left.includes(plans) && !left.includes(builds), `${ann}'s notes went with ${ann}: ${left}`);
  assert.ok(left.includes(loose), 'a note without an author stays');
  const authors = await page.$$eval('#note-form [name="author_id"] option', (os) => os.map((o) => o.textContent));
  assert.ok(!authors.includes(ann) && authors.includes(ben), `${ann} is no longer offered: ${authors}`);
  await showKind('users');
  noPageErrors();
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

  test(`${mode}: notes belong to users; deleting a user deletes their notes`, () => notesBelongToUsers(mode));
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

  await showKind('notes');
  await page.fill('#note-form [name="title"]', 'Pour the plinth');
  await page.fill('#note-form [name="tags"]', 'concrete, base');
  await page.check('#note-form [name="pinned"]');
  await page.selectOption('#note-form [name="author_id"]', { label: grace });
  await page.click('#note-submit');
  // Grace's note: the server may hold others of that title, from earlier runs.
  await page.waitForFunction((by) => [...document.querySelectorAll('#records tbody tr')]
    .some((tr) => tr.textContent.includes('Pour the plinth') && tr.querySelector('[data-column="author"]').textContent === by), grace);
  const poured = await (await fetch(`${url}/api/notes?q=${encodeURIComponent('Pour the plinth')}`)).json();
  assert.ok(poured.some((n) => n.author_username === grace), 'the server stored the note with its author');
  await showKind('users');
  await page.locator('#records tbody tr', { hasText: grace }).click();
  await page.screenshot({ path: screenshot, fullPage: true });
  noPageErrors();
});

test('server: notes belong to users; deleting a user deletes their notes', async () => {
  const json = { 'content-type': 'application/json' };
  const missing = await fetch(`${url}/api/notes`, { method: 'POST', headers: json, body: JSON.stringify({ title: 'lost', author_id: 999999 }) });
  assert.equal(missing.status, 422, 'a note by a user that does not exist is refused');
  assert.match((await missing.json()).message, /author does not exist/);
  assert.equal((await fetch(`${url}/api/notes?author=nobody`)).status, 422);
  await notesBelongToUsers('server');
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
  // Waits for a handler still answering (the list the delete refreshes), which would
  // otherwise fulfil a route no longer handled.
  await page.unrouteAll({ behavior: 'wait' });
  assert.deepEqual(seen, [`/api/users/${huge}`], 'the delete names the exact id');
  noPageErrors();
});
