// The bytes a browser downloads for one search of a built site: the search-index/ pieces that
// themes/default/static/search.js would load for QUERY (the word pieces of its words, then the
// page pieces of the first 20 results), following the same rules. search.js itself is loaded
// with every page, searched or not, and is not counted.
//   node bench/search-bytes.js OUTPUT_DIR "query words"
"use strict";
const fs = require("fs");
const path = require("path");
const vm = require("vm");

const [outDir, query] = process.argv.slice(2);
const dir = path.join(outDir, "search-index");
const window = { IMPRIMATUR_SEARCH_PARTS: {} };
const loaded = new Map();

function loadPart(name) {
  if (!loaded.has(name)) {
    const file = path.join(dir, name + ".js");
    if (!fs.existsSync(file)) { loaded.set(name, 0); return null; }
    const text = fs.readFileSync(file, "utf8");
    vm.runInNewContext(text, { window });
    loaded.set(name, Buffer.byteLength(text));
  }
  return window.IMPRIMATUR_SEARCH_PARTS[name] || null;
}

function keyOf(word) {
  return Array.from(word).slice(0, 3)
    .map((c) => (/^[a-z0-9]$/.test(c) ? c : "_" + c.codePointAt(0).toString(16))).join("");
}

const LAST_DIGITS = "0123456789abcdefghijklmnopqrstuv";
const MORE_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZwxyz-_";

function decode(spelled, into) {
  if (spelled[0] === "D") {
    for (let i = 1; i < spelled.length; i++) {
      if (spelled[i] !== "0") { into[i - 1] = Math.max(into[i - 1] || 0, parseInt(spelled[i], 36)); }
    }
    return;
  }
  let next = 0;
  let i = 1;
  while (i < spelled.length) {
    const score = parseInt(spelled[i], 36);
    let distance = 0;
    for (i += 1; i < spelled.length; i++) {
      const last = LAST_DIGITS.indexOf(spelled[i]);
      distance = distance * 32 + (last === -1 ? MORE_DIGITS.indexOf(spelled[i]) : last);
      if (last !== -1) { i += 1; break; }
    }
    const slot = next + distance;
    into[slot] = Math.max(into[slot] || 0, score);
    next = slot + 1;
  }
}

const terms = [...new Set(query.toLowerCase().split(/\s+/).filter(Boolean))].slice(0, 8);
const perTerm = terms.map((term) => {
  const words = loadPart("t-" + keyOf(term)) || {};
  const found = {};
  const whole = Array.from(term).length < 3;
  for (const word of Object.keys(words)) {
    if (whole ? word === term : word.startsWith(term)) { decode(words[word], found); }
  }
  return found;
});
const hits = [];
for (const key of Object.keys(perTerm[0] || {})) {
  const scores = perTerm.map((t) => t[key]);
  if (scores.every(Boolean)) {
    hits.push({ page: Number(key), score: scores.reduce((a, b) => a + b, 0), title: scores.filter((s) => s >= 20).length });
  }
}
hits.sort((a, b) => b.title - a.title || b.score - a.score || a.page - b.page);
for (const hit of hits.slice(0, 20)) { loadPart("p-" + Math.floor(hit.page / 8)); }
const bytes = [...loaded.values()].reduce((a, b) => a + b, 0);
console.log(`${bytes} bytes in ${loaded.size} pieces for "${query}" (${hits.length} results)`);
