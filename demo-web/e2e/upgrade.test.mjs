// Version 2 of the demo opens version 1's data: `version-1.json` holds the keys a
// version-1 page left under plinth/plinth-demo/ (checked by demo-web/tests/version_one.rs
// to be exactly what Plinth wrote for that model). They are put in localStorage and
// sessionStorage before the page runs, and in IndexedDB as a version-1 page stored them;
// the server was seeded by `cargo run --example seed_version_one`. Today's page then
// finds every old note, upgraded to yellow and without an author, in all four storages.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { launch, url } from './chromium.mjs';

const fixture = JSON.parse(readFileSync(new URL('./version-1.json', import.meta.url), 'utf8'));
let browser;
let page;
const pageErrors = [];

before(async () => {
  browser = await launch();
  // A context of its own: storage as a version-1 page left it, nothing else.
  const context = await browser.newContext();
  await context.addInitScript((entries) => {
    if (sessionStorage.getItem('plinth-e2e-seeded')) return;
    for (const [key, value] of Object.entries(entries)) {
      localStorage.setItem(key, value);
      sessionStorage.setItem(key, value);
    }
    sessionStorage.setItem('plinth-e2e-seeded', 'yes');
  }, fixture);
  page = await context.newPage();
  page.on('pageerror', (err) => pageErrors.push(err));
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]');
});

after(async () => {
  await browser?.close();
});

/// The web-storage keys as IndexedDB holds them: rows in `records` under [table, id],
/// schemas and id sequences in `meta`, unique values in `unique`.
async function seedIndexedDb(entries) {
  await page.evaluate((entries) => new Promise((resolve, reject) => {
    const open = indexedDB.open('plinth/plinth-demo', 1);
    open.onupgradeneeded = () => ['records', 'unique', 'meta'].forEach((store) => open.result.createObjectStore(store));
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const tx = db.transaction(['records', 'unique', 'meta'], 'readwrite');
      for (const [key, value] of Object.entries(entries)) {
        const [table, kind, ...rest] = key.replace('plinth/plinth-demo/t/', '').split('/');
        if (kind === 'r') tx.objectStore('records').put(value, [table, Number(rest[0])]);
        if (kind === 'schema') tx.objectStore('meta').put(value, ['schema', table]);
        if (kind === 'seq') tx.objectStore('meta').put(Number(value), ['seq', table]);
        if (kind === 'u') tx.objectStore('unique').put(Number(value), [table, rest[0], rest.slice(1).join('/')]);
      }
      tx.oncomplete = () => { db.close(); resolve(); };
      tx.onerror = () => reject(tx.error);
    };
  }), entries);
}

async function chooseMode(mode) {
  await page.click(`[data-mode="${mode}"]`);
  await page.waitForFunction((m) => document.body.dataset.loaded === m, mode);
}

const notes = () => page.$$eval('#records tbody tr', (trs) => trs.map((tr) => Object.fromEntries(
  [...tr.querySelectorAll('td[data-column]')].map((td) => [td.dataset.column, td.textContent]),
)));

test('every version-1 note opens upgraded, yellow and without an author, in all four storages', async () => {
  await page.click('[data-kind="notes"]');
  await seedIndexedDb(fixture);
  for (const mode of ['local', 'session', 'indexeddb', 'server']) {
    await chooseMode(mode);
    const old = (await notes()).filter((n) => n.title.startsWith('Old note'));
    assert.deepEqual(old.map((n) => [n.title, n.colour]).sort(), [['Old note one', 'yellow'], ['Old note two', 'yellow']], mode);
    assert.ok(old.every((n) => n.body === 'from version 1' && n.tags === 'v1'), `${mode}: the old values are kept`);
    assert.ok(old.every((n) => n.author === '—'), `${mode}: the old notes have no author`);
  }
  // And the upgraded storage takes notes of today's version.
  await chooseMode('indexeddb');
  await page.fill('#note-form [name="title"]', 'A blue note');
  await page.selectOption('#note-form [name="colour"]', 'blue');
  await page.click('#note-submit');
  await page.waitForFunction(() => document.querySelector('#records').textContent.includes('A blue note'));
  const added = (await notes()).find((n) => n.title === 'A blue note');
  assert.equal(added.colour, 'blue');
  assert.deepEqual(pageErrors.map(String), [], 'errors in the page');
});
