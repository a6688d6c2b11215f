#!/usr/bin/env node
// Launcher of the push-jobs-server command; the code is in ../lib/bin/main.js (built from src/bin/).
import { runCli } from '../lib/bin/main.js';

await runCli();
