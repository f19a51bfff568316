// Library lookup: WSPRUNE_LIBRARY, then the package directory, then the
// system loader; a missing or wrong library is a clear error listing what was tried.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as w from '../index.mjs';

const pkgDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

function run(dir, env) {
  const script = `const w = require(${JSON.stringify(path.join(dir, 'index.cjs'))});
try { console.log(JSON.stringify({ version: w.version(), path: w.libraryPath() })); }
catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }`;
  const r = spawnSync(process.execPath, ['-e', script], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('WSPRUNE_LIBRARY naming a missing file: the error lists what was tried, and stops there', () => {
  const out = run(pkgDir, { WSPRUNE_LIBRARY: '/nonexistent/libwsprune.so' });
  assert.equal(out.name, 'WsPruneLibraryError');
  assert.equal(out.code, 'ERR_WSPRUNE_LIBRARY');
  assert.match(out.message, /\/nonexistent\/libwsprune\.so \(WSPRUNE_LIBRARY\): no such file/);
  assert.doesNotMatch(out.message, /system loader/);
});

test('WSPRUNE_LIBRARY naming another library: "not libwsprune"', () => {
  const libc = ['/lib/x86_64-linux-gnu/libc.so.6', '/lib/aarch64-linux-gnu/libc.so.6', '/usr/lib/libc.so.6']
    .find((p) => fs.existsSync(p));
  if (!libc) return;
  const out = run(pkgDir, { WSPRUNE_LIBRARY: libc });
  assert.equal(out.name, 'WsPruneLibraryError');
  assert.match(out.message, /not libwsprune/);
});

test('an older libwsprune: the error names its version and every missing function', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsprune-old-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  // A stand-in for a library from before 0.3.0: it has the first functions only.
  fs.writeFileSync(path.join(dir, 'old.c'), 'const char *wsprune_version(void) { return "0.2.0"; }\n'
    + 'const char *wsprune_status_name(int s) { (void)s; return "WSPRUNE_STATUS_OK"; }\n');
  const cc = spawnSync('cc', ['-shared', '-fPIC', '-o', path.join(dir, 'libold.so'), path.join(dir, 'old.c')], { encoding: 'utf8' });
  if (cc.error) return t.skip(`no C compiler: ${cc.error.message}`);
  assert.equal(cc.status, 0, cc.stderr);
  const out = run(pkgDir, { WSPRUNE_LIBRARY: path.join(dir, 'libold.so') });
  assert.equal(out.name, 'WsPruneLibraryError');
  assert.match(out.message, /libwsprune 0\.2\.0 lacks .*wsprune_session_open.*wsprune_list_sessions, wsprune_session_read_metadata/);
  assert.doesNotMatch(out.message, /wsprune_version|wsprune_status_name/);
});

test('without WSPRUNE_LIBRARY: the package directory first, then the system loader', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsprune-pkg-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const f of ['index.cjs', 'package.json']) fs.copyFileSync(path.join(pkgDir, f), path.join(dir, f));
  fs.cpSync(path.join(pkgDir, 'lib'), path.join(dir, 'lib'), { recursive: true });
  fs.symlinkSync(path.join(pkgDir, 'node_modules'), path.join(dir, 'node_modules'));
  // Nothing in the package directory, and the system loader finds nothing.
  const none = run(dir, { LD_LIBRARY_PATH: '/nonexistent' });
  if (none.version) {
    assert.match(none.path, /^libwsprune/); // a system-wide install: found by the loader
  } else {
    assert.match(none.message, /package directory\): no such file/);
    assert.match(none.message, /libwsprune\.so\.0 \(system loader\)/);
  }
  // The library copied next to the package is found without any variable.
  fs.copyFileSync(fs.realpathSync(w.libraryPath().includes('/') ? w.libraryPath() : findLoaded()), path.join(dir, 'libwsprune.so'));
  const found = run(dir, { LD_LIBRARY_PATH: '/nonexistent' });
  assert.equal(found.version, w.version());
  assert.equal(found.path, path.join(dir, 'libwsprune.so'));
});

function findLoaded() {
  // Loaded by name through the system loader: find the file in the process's maps.
  const maps = fs.readFileSync('/proc/self/maps', 'utf8');
  return /\s(\/\S*libwsprune\.so[^\s]*)$/m.exec(maps)[1];
}
