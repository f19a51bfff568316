// Every C function of include/wsprune.h is declared by the binding, with the
// same number of parameters and the same types (up to the binding's
// deliberate spellings, SAME below), so a new C function cannot be forgotten
// and a changed signature cannot go unnoticed.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { PROTOTYPES, nameOf } = require('../lib/native.cjs');
const headerPath = new URL('../../../include/wsprune.h', import.meta.url);

function arity(params) {
  const p = params.trim();
  return p === '' || p === 'void' ? 0 : p.split(',').length;
}

function headerFunctions() {
  const text = fs.readFileSync(headerPath, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
  const fns = new Map();
  // Declarations: `<type> wsprune_name(<params>);` (typedefs are excluded).
  for (const m of text.matchAll(/^(?!typedef)[^\n;]*?\b(wsprune_[a-z0-9_]+)\(([^)]*)\);/gm)) {
    fns.set(m[1], arity(m[2]));
  }
  return fns;
}

function bindingFunctions(list) {
  return new Map(list.map((p) => [nameOf(p), arity(/\((.*)\)\s*$/.exec(p)[1])]));
}

test('the header has functions to compare (the parser works)', () => {
  const h = headerFunctions();
  assert.ok(h.size >= 30, `only ${h.size} found`);
  assert.equal(h.get('wsprune_session_create'), 5);
  assert.equal(h.get('wsprune_version'), 0);
});

test('every header function is declared, with its arity', () => {
  const declared = bindingFunctions(PROTOTYPES);
  for (const [name, n] of headerFunctions()) {
    assert.ok(declared.has(name), `${name} is in include/wsprune.h but not declared in lib/native.cjs`);
    assert.equal(declared.get(name), n, `${name}: ${n} parameters in the header`);
  }
});

// Types, as the header and the binding spell them: without parameter names,
// `struct`/`enum` and koffi's `_Out_`/`_Inout_`, one space around each `*`.
function signature(decl) {
  const m = /^\s*(.*?)\b(wsprune_\w+)\((.*)\)\s*;?\s*$/s.exec(decl);
  const norm = (t) => t.replace(/\b(_Out_|_Inout_|struct|enum)\b/g, '').replace(/\*/g, ' * ').trim().split(/\s+/).join(' ');
  const params = m[3].trim() === '' || m[3].trim() === 'void' ? [] : m[3].split(',');
  return {
    name: m[2],
    result: norm(m[1]),
    params: params.map((p) => norm(p.trim().replace(/\w+$/, ''))),
  };
}

function headerSignatures() {
  const text = fs.readFileSync(headerPath, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
  const out = new Map();
  for (const m of text.matchAll(/^(?!typedef)[^\n;{}()#]*?\bwsprune_[a-z0-9_]+\([^)]*\);/gm)) {
    const s = signature(m[0]);
    out.set(s.name, s);
  }
  return out;
}

// The binding's deliberate spellings of a header type: a `char *` it fills
// is a byte buffer, an owned `char *` (result or out-parameter) is kept as a
// `void *` to free it, and koffi takes the callback type as a pointer.
const SAME = {
  'char *': ['char *', 'uint8_t *', 'void *'],
  'char * *': ['void * *'],
  wsprune_log_fn: ['wsprune_log_fn *'],
};
const sameType = (header, ours) => header === ours || (SAME[header] || []).includes(ours);

test('every declaration has the header\'s types', () => {
  const header = headerSignatures();
  assert.equal(header.get('wsprune_session_create').params[4], 'wsprune_error * *', 'parsed the header');
  const wrong = [];
  for (const p of PROTOTYPES) {
    const ours = signature(p);
    const h = header.get(ours.name);
    if (!h) continue; // reported by the test above
    if (!sameType(h.result, ours.result)) wrong.push(`${ours.name}: result ${h.result} in the header, ${ours.result} here`);
    h.params.forEach((t, i) => {
      if (!sameType(t, ours.params[i])) wrong.push(`${ours.name} #${i}: ${t} in the header, ${ours.params[i]} here`);
    });
  }
  assert.deepEqual(wrong, []);
});

test('every declaration is in the header', () => {
  const h = headerFunctions();
  for (const name of bindingFunctions(PROTOTYPES).keys()) {
    assert.ok(h.has(name), `${name} is declared but not in the header`);
  }
});

test('every header function is callable from JS (nativeFunctions)', async () => {
  const w = await import('../index.mjs');
  const table = w.nativeFunctions();
  for (const name of headerFunctions().keys()) {
    assert.equal(typeof table[name], 'function', `${name} missing from the loaded library`);
  }
  // The first prune entry point, reached through the table: a missing root is an empty result.
  const f = table;
  const r = f.wsprune_prune_sessions('/nonexistent/wsprune-root', 24, true, [null]);
  assert.ok(r);
  assert.equal(f.wsprune_prune_result_deleted_count(r), 0);
  f.wsprune_prune_result_free(r);
});
