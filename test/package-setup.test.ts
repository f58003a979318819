/**
 * `npm ci` installs offline and quietly: onnxruntime-node's postinstall (which on
 * linux/x64 downloads the CUDA provider from NuGet) is denied through package.json's
 * allowScripts (npm >= 11.16) instead of an `.npmrc` key npm does not know (which made
 * every npm/npx call warn "Unknown project config"). The CPU build it needs ships in
 * the package itself. (Checked by hand with a fresh `npm ci` in a temporary copy: no
 * download, no warning on `npx biggan --help`.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { REPO_ROOT } from './fixture-paths.js';
import { packageVersion } from '../src/package-info.js';

const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  version: string;
  allowScripts?: Record<string, boolean>;
};

test('npm ci: no unknown .npmrc keys; onnxruntime-node install script denied via allowScripts', () => {
  const npmrc = path.join(REPO_ROOT, '.npmrc');
  if (fs.existsSync(npmrc)) assert.doesNotMatch(fs.readFileSync(npmrc, 'utf8'), /onnxruntime-node-install/);
  assert.equal(pkg.allowScripts?.['onnxruntime-node'], false);
  // every dependency with an install script is reviewed (npm 12 blocks the others)
  const lock = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { hasInstallScript?: boolean }> };
  const withScripts = Object.entries(lock.packages).filter(([, p]) => p.hasInstallScript).map(([k]) => k.replace(/^.*node_modules\//, ''));
  for (const name of withScripts) assert.ok(name in (pkg.allowScripts ?? {}), `${name} has an install script: list it in allowScripts`);
});

test("onnxruntime-node's CPU binaries ship in the package (nothing to download)", { skip: `${process.platform}/${process.arch}` !== 'linux/x64' }, () => {
  const ort = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
  assert.ok(fs.existsSync(path.join(ort, 'bin', 'napi-v6', 'linux', 'x64', 'onnxruntime_binding.node')));
});

test('--version reads package.json', () => {
  assert.equal(packageVersion(), pkg.version);
});

test("the build leaves every package.json bin executable (`npx biggan` runs the checkout's own bin)", () => {
  const bins = (pkg as { bin?: Record<string, string> }).bin ?? {};
  assert.ok(Object.keys(bins).length > 0);
  for (const [name, file] of Object.entries(bins)) {
    const mode = fs.statSync(path.join(REPO_ROOT, file)).mode;
    assert.ok((mode & 0o100) !== 0, `${name} (${file}) is not executable after npm run build`);
  }
});
