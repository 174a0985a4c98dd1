// The page: a little JavaScript around the wasm exports. Browser modes run the demo's
// Rust service (the same code the server runs) on browser storage through Plinth;
// server mode calls the server's JSON API, which runs it on SQLite or PostgreSQL.
import init, { DemoStore } from './pkg/plinth_demo.js';

const URLS = { local: 'local://plinth-demo', session: 'session://plinth-demo', indexeddb: 'indexeddb://plinth-demo' };
const NOTES = {
  local: 'localStorage: one key per record under plinth/plinth-demo/…; survives reloads and restarts.',
  session: 'sessionStorage: like localStorage, but this tab only; survives reloads, gone when the tab closes.',
  indexeddb: 'IndexedDB: object stores, every commit one readwrite transaction; survives reloads and restarts.',
  server: 'Server: the same service on plinth-sqlx, through a JSON API.',
};
const COLUMNS = {
  users: ['id', 'username', 'email_address', 'note_count', 'created_at', 'updated_at'],
  notes: ['id', 'title', 'body', 'pinned', 'tags', 'colour', 'author', 'created_at', 'updated_at'],
};
// What a list answers besides each record's to_dict(): loaded through the relation
// (load_children for a user's note count, load_parents for a note's author).
const RELATED = { users: ['note_count'], notes: ['author_username'] };

const problem = (message, status = 422) => ({ status, message });

// JSON as the stores send it, but with integers past 2^53 - 1 (ids on a server whose
// sequence is that high) kept as their exact digits: as JavaScript numbers they would
// be rounded, and the page would edit or delete another record.
const parseJson = (text) => JSON.parse(text, (key, value, context) => (
  typeof value === 'number' && !Number.isSafeInteger(value) && /^-?\d+$/.test(context?.source ?? '') ? context.source : value));

// Each store answers the same calls with the same JSON; failures are {status, message}.
class BrowserStore {
  constructor(store) { this.store = store; }
  static async open(url) {
    try { return new BrowserStore(await DemoStore.open(url)); } catch (e) { throw parseError(e); }
  }
  describe() { return this.store.backend(); }
  async call(promise) {
    try { const text = await promise; return text == null ? null : parseJson(text); } catch (e) { throw parseError(e); }
  }
  list(kind, q, sort, author) { return this.call(this.store.list(kind, q, sort, author == null ? undefined : Number(author))); }
  create(kind, body) { return this.call(this.store.create(kind, JSON.stringify(body))); }
  update(kind, id, body) { return this.call(this.store.update(kind, id, JSON.stringify(body))); }
  remove(kind, id) { return this.call(this.store.remove(kind, id)); }
}

class ServerStore {
  static async open() {
    const store = new ServerStore();
    const info = await store.request('GET', '/api/info');
    store.database = info.database;
    return store;
  }
  describe() { return `server (${this.database})`; }
  async request(method, path, body) {
    let response;
    try {
      response = await fetch(path, {
        method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined,
      });
    } catch (e) {
      throw problem('The server cannot be reached; is `cargo xtask demo` still running?', 503);
    }
    if (response.status === 204) return null;
    const data = await response.text().then(parseJson).catch(() => null);
    if (!response.ok) throw data && data.message ? data : problem(`The server answered ${response.status}.`, response.status);
    return data;
  }
  list(kind, q, sort, author) {
    const by = author == null ? '' : `&author=${encodeURIComponent(author)}`;
    return this.request('GET', `/api/${kind}?q=${encodeURIComponent(q)}&sort=${sort}${by}`);
  }
  create(kind, body) { return this.request('POST', `/api/${kind}`, body); }
  update(kind, id, body) { return this.request('PUT', `/api/${kind}/${id}`, body); }
  remove(kind, id) { return this.request('DELETE', `/api/${kind}/${id}`); }
}

function parseError(e) {
  const text = typeof e === 'string' ? e : (e && e.message) || String(e);
  try { return parseJson(text); } catch { return problem(text, 500); }
}

// What the forms hold, checked before anything is sent (the service checks again).
function readUser(form) {
  const username = form.username.value.trim();
  const email_address = form.email_address.value.trim();
  if (!/^[a-z0-9_]{3,32}$/.test(username)) throw problem('A username is 3 to 32 lower-case letters, digits or underscores.');
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email_address)) throw problem('Enter an email address such as ada@example.com.');
  return { username, email_address };
}

// An id as JSON: its exact digits, even past 2^53 (see parseJson).
const idJson = (digits) => (JSON.rawJSON ? JSON.rawJSON(digits) : Number(digits));

function readNote(form) {
  const title = form.title.value.trim();
  if (!title || title.length > 120) throw problem('A note needs a title of 1 to 120 characters.');
  const body = form.body.value.trim() || null;
  const tags = form.tags.value.split(',').map((t) => t.trim()).filter(Boolean);
  const author_id = form.author_id.value ? idJson(form.author_id.value) : null;
  return { title, body, pinned: form.pinned.checked, tags, colour: form.colour.value, author_id };
}

const $ = (selector) => document.querySelector(selector);
const state = {
  mode: localStorage.getItem('plinth-demo-mode') || 'local', kind: 'users', store: null, rows: [], selected: null,
  // The record being edited, and the version (`updated_at`) it was read at.
  editing: null, editingVersion: null,
  // The user whose notes the notes list shows ({id, username}), or null for every note.
  author: null,
};
const forms = { users: $('#user-form'), notes: $('#note-form') };

function showError(err) {
  const box = $('#error');
  if (!err) { box.hidden = true; box.textContent = ''; return; }
  box.hidden = false;
  box.textContent = err.message || String(err);
}

async function guarded(action) {
  try { showError(null); await action(); } catch (err) { showError(err); }
}

// A note's author as the list shows it: the username loaded with it, or `—`.
function authorName(row) {
  if (row.author == null) return null;
  return row.author_username ?? `user ${row.author}`;
}

function cell(column, value) {
  const td = document.createElement('td');
  if (column === 'created_at' || column === 'updated_at') td.className = 'time';
  if (column === 'tags' && Array.isArray(value)) {
    value.forEach((tag) => { const pill = document.createElement('span'); pill.className = 'pill'; pill.textContent = tag; td.append(pill); });
  } else if (column === 'colour' && value) {
    const swatch = document.createElement('span'); swatch.className = `swatch ${value}`; td.append(swatch, value);
  } else if (td.className === 'time' && typeof value === 'string' && value.includes('T')) {
    // On one line where the table has room; else the time under the date.
    const at = value.indexOf('T') + 1;
    td.append(value.slice(0, at), document.createElement('wbr'), value.slice(at));
  } else if (value == null) {
    td.textContent = '—';
  } else {
    td.textContent = column === 'pinned' ? (value ? '📌' : '') : String(value);
  }
  td.dataset.column = column;
  return td;
}

// A user's note count, as the link to their notes.
function countCell(row) {
  const td = cell('note_count', row.note_count);
  if (row.note_count == null) return td;
  const link = document.createElement('button');
  link.className = 'row-action'; link.dataset.action = 'notes'; link.title = `Show ${row.username}'s notes`;
  link.textContent = `${row.note_count} ${row.note_count === 1 ? 'note' : 'notes'}`;
  td.replaceChildren(link);
  return td;
}

function render() {
  const columns = COLUMNS[state.kind];
  const head = document.createElement('tr');
  [...columns, ''].forEach((c) => { const th = document.createElement('th'); th.textContent = c; head.append(th); });
  $('#records thead').replaceChildren(head);
  const body = state.rows.map((row) => {
    const tr = document.createElement('tr');
    tr.dataset.id = row.id;
    if (state.selected === row.id) tr.className = 'selected';
    columns.forEach((c) => tr.append(c === 'note_count' ? countCell(row) : cell(c, c === 'author' ? authorName(row) : row[c])));
    const actions = document.createElement('td');
    const edit = document.createElement('button');
    edit.className = 'row-action'; edit.textContent = 'Edit'; edit.dataset.action = 'edit';
    const remove = document.createElement('button');
    remove.className = 'row-action danger'; remove.textContent = 'Delete'; remove.dataset.action = 'delete';
    if (state.kind === 'users') remove.title = `Delete ${row.username} and their notes`;
    actions.append(edit, remove);
    tr.append(actions);
    return tr;
  });
  $('#records tbody').replaceChildren(...body);
  $('#empty').hidden = state.rows.length > 0;
  const by = state.kind === 'notes' && state.author ? ` by ${state.author.username}` : '';
  $('#count').textContent = `${state.rows.length} ${state.kind}${by} · ${state.store ? state.store.describe() : ''}`;
  $('#author-filter').hidden = !by;
  $('#author-filter strong').textContent = state.author ? state.author.username : '';
  const chosen = state.rows.find((r) => r.id === state.selected);
  const related = RELATED[state.kind];
  const own = chosen && Object.fromEntries(Object.entries(chosen).filter(([key]) => !related.includes(key)));
  $('#dict').textContent = own ? JSON.stringify(own, null, 2) : 'Select a row.';
  $('#related').textContent = chosen ? related.map((key) => `${key}: ${JSON.stringify(chosen[key])}`).join(', ') : '';
}

async function refresh() {
  const author = state.kind === 'notes' && state.author ? state.author.id : null;
  state.rows = await state.store.list(state.kind, $('#filter').value, $('#sort').value, author);
  render();
}

// The note form's authors: the users of the same storage, and "no author"; a new note
// is by the user whose notes are shown, if any.
async function loadAuthors() {
  const users = await state.store.list('users', '', 'name');
  const select = forms.notes.author_id;
  select.replaceChildren(new Option('no author', ''), ...users.map((u) => new Option(u.username, String(u.id))));
  select.value = state.author ? String(state.author.id) : '';
}

function stopEditing() {
  state.editing = null;
  state.editingVersion = null;
  Object.values(forms).forEach((form) => {
    form.reset();
    form.querySelector('[data-cancel]').hidden = true;
  });
  forms.notes.author_id.value = state.author ? String(state.author.id) : '';
  $('#user-submit').textContent = 'Add user';
  $('#note-submit').textContent = 'Add note';
}

function startEditing(row) {
  state.editing = row.id;
  state.editingVersion = row.updated_at;
  const form = forms[state.kind];
  if (state.kind === 'users') {
    form.username.value = row.username; form.email_address.value = row.email_address;
    $('#user-submit').textContent = `Save user ${row.id}`;
  } else {
    form.title.value = row.title; form.body.value = row.body || ''; form.tags.value = (row.tags || []).join(', ');
    form.pinned.checked = row.pinned; form.colour.value = row.colour || 'yellow';
    form.author_id.value = row.author == null ? '' : String(row.author);
    $('#note-submit').textContent = `Save note ${row.id}`;
  }
  form.querySelector('[data-cancel]').hidden = false;
}

async function switchMode(mode) {
  delete document.body.dataset.loaded;
  delete document.body.dataset.showing;
  state.mode = mode;
  localStorage.setItem('plinth-demo-mode', mode);
  document.querySelectorAll('[data-mode]').forEach((b) => b.setAttribute('aria-checked', String(b.dataset.mode === mode)));
  $('#storage-note').textContent = NOTES[mode];
  state.store = null; state.rows = []; state.selected = null; state.author = null;
  stopEditing();
  render();
  state.store = mode === 'server' ? await ServerStore.open() : await BrowserStore.open(URLS[mode]);
  if (state.kind === 'notes') await loadAuthors();
  await refresh();
  document.body.dataset.loaded = mode;
  document.body.dataset.showing = state.kind;
}

// Shows the `kind` list; the notes of `author` ({id, username}) only, if given.
async function switchKind(kind, author = null) {
  delete document.body.dataset.showing;
  state.kind = kind; state.selected = null; state.author = author;
  stopEditing();
  document.querySelectorAll('[data-kind][role="tab"]').forEach((b) => b.setAttribute('aria-selected', String(b.dataset.kind === kind)));
  Object.entries(forms).forEach(([k, form]) => { form.hidden = k !== kind; });
  if (kind === 'notes') await loadAuthors();
  await refresh();
  document.body.dataset.showing = kind;
}

Object.entries(forms).forEach(([kind, form]) => {
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    guarded(async () => {
      const body = kind === 'users' ? readUser(form) : readNote(form);
      // An edit says which version it was made on, so an edit of a record changed
      // meanwhile (in another tab or browser) is refused instead of overwriting it.
      const saved = state.editing
        ? await state.store.update(kind, state.editing, { ...body, updated_at: state.editingVersion })
        : await state.store.create(kind, body);
      state.selected = saved.id;
      stopEditing();
      await refresh();
    });
  });
  form.querySelector('[data-cancel]').addEventListener('click', stopEditing);
});

$('#records tbody').addEventListener('click', (event) => {
  const tr = event.target.closest('tr');
  if (!tr) return;
  const row = state.rows.find((r) => String(r.id) === tr.dataset.id);
  const action = event.target.dataset.action;
  guarded(async () => {
    if (action === 'delete') {
      await state.store.remove(state.kind, row.id);
      if (state.selected === row.id) state.selected = null;
      if (state.editing === row.id) stopEditing();
      await refresh();
      return;
    }
    if (action === 'notes') {
      $('#filter').value = '';
      await switchKind('notes', { id: row.id, username: row.username });
      return;
    }
    state.selected = row.id;
    if (action === 'edit') startEditing(row);
    render();
  });
});

document.querySelectorAll('[data-mode]').forEach((b) => b.addEventListener('click', () => guarded(() => switchMode(b.dataset.mode))));
document.querySelectorAll('[data-kind][role="tab"]').forEach((b) => b.addEventListener('click', () => guarded(() => switchKind(b.dataset.kind))));
$('#filter').addEventListener('input', () => guarded(refresh));
$('#author-filter button').addEventListener('click', () => guarded(async () => {
  state.author = null;
  if (!state.editing) forms.notes.author_id.value = '';
  await refresh();
}));
$('#sort').addEventListener('change', () => guarded(refresh));

await init();
document.querySelectorAll('[data-kind][role="tab"]').forEach((b) => b.setAttribute('aria-selected', String(b.dataset.kind === state.kind)));
await guarded(() => switchMode(state.mode in NOTES ? state.mode : 'local'));
document.body.dataset.ready = 'true';
