// Prints one closing line for the whole monorepo test run, summing what each package's mocha
// run recorded (tools/mocha-summary-reporter.cjs). `--reset` clears the records first.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '.test-results');
if (process.argv.includes('--reset')) {
  fs.rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}
let passes = 0;
let failures = 0;
let pending = 0;
const files = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
for (const file of files) {
  const r = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  passes += r.passes;
  failures += r.failures;
  pending += r.pending;
}
if (files.length === 0) {
  console.error('no test results were recorded');
  process.exit(1);
}
console.log(`total: ${passes} passed, ${failures} failed${pending ? `, ${pending} skipped` : ''}`);
// The exit status of the package runs: a package that failed before its tests ran (a type error,
// a crash) records nothing, so the counts alone cannot tell.
const statusArg = process.argv.indexOf('--status');
const status = statusArg >= 0 ? Number(process.argv[statusArg + 1]) : 0;
if (status !== 0) console.error(`the package test runs failed (exit status ${status}); see above`);
process.exit(failures > 0 || status !== 0 ? 1 : 0);
