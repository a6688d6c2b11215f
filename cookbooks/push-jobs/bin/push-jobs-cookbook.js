#!/usr/bin/env node
// Launcher of the push-jobs-cookbook command; the code is in ../lib/bin/push-jobs-cookbook.js (built from src/bin/).
const { main } = await import('../lib/bin/push-jobs-cookbook.js');
await main();
