/** This package's name and version, read once from package.json (for cache keys and reports). */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: { name: string; version: string } | null = null;

export function packageInfo(): { name: string; version: string } {
  if (!cached) {
    let dir = path.dirname(fileURLToPath(import.meta.url));
    while (!fs.existsSync(path.join(dir, 'package.json'))) {
      const up = path.dirname(dir);
      if (up === dir) throw new Error('package.json not found above ' + fileURLToPath(import.meta.url));
      dir = up;
    }
    cached = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name: string; version: string };
  }
  return cached;
}

export function packageVersion(): string {
  return packageInfo().version;
}
