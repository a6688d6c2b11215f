#!/usr/bin/env node
// Launcher of the push-jobs-client command; the code is in ../lib/bin/push-jobs-client.js (built from src/bin/).
//
// The agent is a long-lived, mostly idle daemon on every node: V8's lite mode (no optimising
// compiler) and a 1 MB young generation cut its resident memory by about 5 MB (`npm run bench
// -w agent`) at no cost that matters for a process that handles a few messages a second. They
// are set here, before any of the agent's code is compiled. PUSH_JOBS_CLIENT_LITE_MODE=0 keeps
// V8's compilers. Lite mode set at run time rules out WebAssembly, so the agent must not use
// `fetch` (undici compiles WebAssembly): its HTTP goes through node:http (src/http.ts).
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--max-semi-space-size=1');
if (process.env.PUSH_JOBS_CLIENT_LITE_MODE !== '0') setFlagsFromString('--lite-mode');
const { main } = await import('../lib/bin/push-jobs-client.js');
await main();
