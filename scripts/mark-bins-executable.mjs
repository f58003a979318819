// tsc writes dist/ files without the executable bit. npm sets it on bins only when it installs the
// package elsewhere, so `npx biggan` inside a fresh checkout (and `mpiexec … npx biggan`) would get
// "Permission denied": mark every package.json bin executable after each build.
import fs from 'node:fs';

const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const bins = typeof pkg.bin === 'string' ? [pkg.bin] : Object.values(pkg.bin ?? {});
for (const bin of bins) {
  const file = new URL(`../${bin}`, import.meta.url);
  fs.chmodSync(file, fs.statSync(file).mode | 0o111);
}
