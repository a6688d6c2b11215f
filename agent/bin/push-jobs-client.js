#!/usr/bin/env node
// Launcher of the push-jobs-client command; the code is in ../lib/bin/push-jobs-client.js (built from src/bin/).
import { main } from '../lib/bin/push-jobs-client.js';

await main();
