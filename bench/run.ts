/**
 * `npm run bench`: every benchmark side by side with PyTorch 1.13 in one run (ratios,
 * not absolute numbers, are what to compare on a shared machine). Results go to stdout
 * and .bench-out/results.md. Sections: `npm run bench -- sampling` runs one.
 */
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { benchSampling } from './sampling.js';
import { benchTraining } from './training.js';

const OUT = path.resolve('.bench-out');

const sections: Record<string, () => Promise<string>> = {
  sampling: async () => (await benchSampling(OUT)).table,
  training: async () => (await benchTraining(OUT)).table,
  inception: async () => (await (await import('./inception.js')).benchInception(OUT)).table,
};

async function main(): Promise<void> {
  fs.mkdirSync(OUT, { recursive: true });
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !(w in sections));
  if (unknown.length) {
    console.error(`unknown bench section(s): ${unknown.join(', ')}; have ${Object.keys(sections).join(', ')}`);
    process.exit(2);
  }
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  let report = `# biggan-ts benchmarks\n\n${new Date().toISOString()}, ${os.cpus().length} x ${cpu}, Node ${process.version}\n`;
  for (const name of wanted.length ? wanted : Object.keys(sections)) {
    console.error(`running ${name} ...`);
    const text = await sections[name]();
    report += `\n## ${name}\n\n${text}\n`;
    console.log(`\n## ${name}\n\n${text}`);
  }
  fs.writeFileSync(path.join(OUT, 'results.md'), report);
}

await main();
