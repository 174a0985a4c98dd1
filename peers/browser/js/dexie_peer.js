// The Dexie.js side of tests/dexie.rs, written as a Dexie user writes it: a table
// `rows` with an auto-incremented id and an index on `score`, rows as plain objects.
// Dexie itself comes in as an argument (the test imports its ESM build), so this file
// imports nothing.

function row(i) {
  const now = new Date();
  return {
    name: `row ${String(i).padStart(6, "0")}`,
    score: i % 1000,
    note: i % 3 === 0 ? `note ${i}` : null,
    active: i % 2 === 0,
    created_at: now,
    updated_at: now,
  };
}

export async function openDexie(Dexie, name) {
  const db = new Dexie(name);
  db.version(1).stores({ rows: "++id, score" });
  await db.open();
  return db;
}

// One row added in its own readwrite transaction; its id.
export function dexieInsert(db, i) {
  return db.rows.add(row(i));
}

// Rows from..from + count in one `bulkAdd`; their ids.
export function dexieAddAll(db, from, count) {
  const rows = [];
  for (let k = 0; k < count; k++) rows.push(row(from + k));
  return db.rows.bulkAdd(rows, { allKeys: true });
}

export function dexieGet(db, id) {
  return db.rows.get(id);
}

export function dexieDelete(db, ids) {
  return db.rows.bulkDelete(ids);
}

// Score >= min through the index, ordered by score descending then id, the first 100;
// how many.
export async function dexieTop(db, min) {
  const rows = await db.rows.where("score").aboveOrEqual(min).toArray();
  rows.sort((a, b) => b.score - a.score || a.id - b.id);
  return rows.slice(0, 100).length;
}

export function dexieDrop(db) {
  return db.delete();
}
