// Mocha reporter: mocha's spec output, then a plain closing line `N passed, N failed` so CI
// can tell that tests ran. It also records the counts under .test-results/ at the repo root,
// so the root test script can print one total for every package (tools/test-summary.mjs).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const Mocha = require('mocha');

const { Spec } = Mocha.reporters;
const { EVENT_RUN_END } = Mocha.Runner.constants;

class SummaryReporter extends Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const { passes = 0, failures = 0, pending = 0 } = this.stats;
      const pendingPart = pending > 0 ? `, ${pending} skipped` : '';
      process.stdout.write(`${passes} passed, ${failures} failed${pendingPart}\n`);
      const dir = path.join(__dirname, '..', '.test-results');
      fs.mkdirSync(dir, { recursive: true });
      const name = path.basename(process.cwd()) + '-' + process.pid + '.json';
      fs.writeFileSync(
        path.join(dir, name),
        JSON.stringify({ cwd: process.cwd(), passes, failures, pending }),
      );
    });
  }
}

module.exports = SummaryReporter;
