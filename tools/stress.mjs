// Runs end-to-end test suites beside a CPU hog, to find tests that only hold on an idle machine.
//
//   node tools/stress.mjs [SUITE|FILE ...] [MOCHA OPTIONS ...]
//
// SUITE is one of the names in SUITES (default: e2e and engine); FILE is a test file
// (`server/test/feeds-routes.test.ts`), run alone in its package. Everything from the first
// argument that starts with `-` on is passed to every mocha run (`--grep forged`).
//
// Environment: PUSH_JOBS_STRESS_HOGS busy processes (default 2 x cores), PUSH_JOBS_STRESS_RUNS
// repetitions (default 1), PUSH_JOBS_STRESS_VERBOSE=1 to show every run's output as it comes
// (otherwise only a failed run's output is shown). Prints one line per run and a total; exits 1
// when any suite run failed. The hog is stopped however the script ends: a normal end, a
// failure, Ctrl-C or SIGTERM, and a hog whose parent died (SIGKILL) stops by itself.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout } from 'node:timers';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const mochaBin = path.join(root, 'node_modules', 'mocha', 'bin', 'mocha.js');

/** Named suites: the package directory and the mocha arguments (`--no-config` runs name their files). */
const SUITES = {
  e2e: { dir: 'test', args: [] },
  engine: {
    dir: 'server',
    args: ['--no-config', '--import=tsx', '--timeout', '30000', 'test/engine-e2e.test.ts'],
  },
  feeds: {
    dir: 'server',
    args: [
      '--no-config',
      '--import=tsx',
      '--timeout',
      '30000',
      'test/feeds-format.test.ts',
      'test/feeds-hub.test.ts',
      'test/feeds-routes.test.ts',
    ],
  },
};
const DEFAULT_SUITES = ['e2e', 'engine'];

function wholeNumber(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) {
    console.error(`${name} must be a whole number, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return n;
}

/** Resolves a suite name or a test file to { name, dir, args }. */
function suiteOf(arg) {
  if (Object.hasOwn(SUITES, arg)) return { name: arg, ...SUITES[arg] };
  const file = path.resolve(arg);
  if (!fs.existsSync(file)) {
    console.error(`unknown suite or file '${arg}'; suites: ${Object.keys(SUITES).join(', ')}`);
    process.exit(2);
  }
  let dir = path.dirname(file);
  while (!fs.existsSync(path.join(dir, 'package.json')) && dir !== root) dir = path.dirname(dir);
  const timeout = path.relative(root, dir) === 'test' ? '60000' : '30000';
  return {
    name: path.relative(root, file),
    dir: path.relative(root, dir),
    args: ['--no-config', '--import=tsx', '--timeout', timeout, path.relative(dir, file)],
  };
}

const argv = process.argv.slice(2);
const firstOption = argv.findIndex((a) => a.startsWith('-'));
const names = firstOption < 0 ? argv : argv.slice(0, firstOption);
const mochaExtra = firstOption < 0 ? [] : argv.slice(firstOption);
const suites = (names.length > 0 ? names : DEFAULT_SUITES).map(suiteOf);
const hogCount = wholeNumber('PUSH_JOBS_STRESS_HOGS', 2 * os.availableParallelism());
const runs = Math.max(1, wholeNumber('PUSH_JOBS_STRESS_RUNS', 1));
const verbose = process.env.PUSH_JOBS_STRESS_VERBOSE === '1';

// A hog spins, and checks now and then that its parent is still there, so that it does not
// outlive a stress run that was killed outright.
const HOG = 'const p=process.ppid;for(let i=1;;i++)if(i%50000000===0&&process.ppid!==p)process.exit(0)';
const hogs = [];
/** The test run in progress: its child (leader of its own process group). */
let current;
/** The signal that interrupted the script, if one did. */
let interrupted;

function startHogs() {
  for (let i = 0; i < hogCount; i++) {
    const hog = spawn(process.execPath, ['-e', HOG], { stdio: 'ignore' });
    hog.on('error', (error) => console.error(`hog ${i + 1} did not start: ${error.message}`));
    hogs.push(hog);
  }
}

function stopHogs() {
  for (const hog of hogs.splice(0)) {
    if (hog.exitCode === null && hog.signalCode === null) hog.kill('SIGKILL');
  }
}

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is gone already.
  }
}

/** Runs one suite; resolves with its counts, exit status, output (without colours) and seconds. */
function runSuite(suite) {
  return new Promise((resolve) => {
    const started = performance.now();
    const color = verbose && process.stdout.isTTY ? '--color' : '--no-color';
    const args = [mochaBin, ...suite.args, '--reporter', 'spec', color, ...mochaExtra];
    // Its own process group, so that an interrupted run can be stopped with everything it spawned.
    const child = spawn(process.execPath, args, {
      cwd: path.join(root, suite.dir),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    current = child;
    let output = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    const collect = (stream) => (chunk) => {
      output += chunk;
      if (verbose) stream.write(chunk);
    };
    child.stdout.on('data', collect(process.stdout));
    child.stderr.on('data', collect(process.stderr));
    // Whatever the run started and left behind goes with it (and lets its output pipes close).
    child.on('exit', () => killGroup(child, 'SIGKILL'));
    child.on('close', (code, signal) => {
      current = undefined;
      // eslint-disable-next-line no-control-regex
      const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
      const passed = Number(/^\s*(\d+) passing/m.exec(plain)?.[1] ?? 0);
      const failed = Number(/^\s*(\d+) failing/m.exec(plain)?.[1] ?? 0);
      const seconds = (performance.now() - started) / 1000;
      resolve({ ok: code === 0 && failed === 0, code, signal, passed, failed, plain, seconds });
    });
  });
}

/** The interesting part of a failed run's output: from mocha's failure list, or its last lines. */
function failureReport(result) {
  const at = result.plain.search(/^\s*\d+ failing/m);
  if (at >= 0) return result.plain.slice(at);
  return result.plain.split('\n').slice(-80).join('\n');
}

/**
 * Ctrl-C, SIGTERM, SIGHUP: the hog stops at once, the test run gets SIGTERM (SIGKILL 5 s later, or
 * at a second signal), and the script ends once it has gone.
 */
function interrupt(signal) {
  const child = current;
  if (interrupted !== undefined) {
    if (child !== undefined) killGroup(child, 'SIGKILL');
    return;
  }
  interrupted = signal;
  console.error(`\n${signal}: stopping the test run and the hog`);
  stopHogs();
  if (child !== undefined) {
    killGroup(child, 'SIGTERM');
    setTimeout(() => killGroup(child, 'SIGKILL'), 5000).unref();
  }
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => interrupt(signal));
process.on('exit', stopHogs);

const label = suites.map((s) => s.name).join(', ');
console.log(
  `stress: ${label}, ${runs} run${runs === 1 ? '' : 's'}, beside ${hogCount} busy process${
    hogCount === 1 ? '' : 'es'
  } (${os.availableParallelism()} cores)`,
);
const failures = new Map(suites.map((s) => [s.name, 0]));
let completed = 0;
startHogs();
try {
  for (let run = 1; run <= runs && interrupted === undefined; run++) {
    const parts = [];
    for (const suite of suites) {
      const result = await runSuite(suite);
      if (interrupted !== undefined) break;
      const counts = `${result.passed} passed, ${result.failed} failed`;
      const how =
        result.ok || result.failed > 0 ? '' : `, exit ${result.signal ?? result.code}, no mocha summary`;
      parts.push(
        `${suite.name} ${result.ok ? 'passed' : 'FAILED'} (${counts}${how}, ${result.seconds.toFixed(1)} s)`,
      );
      if (!result.ok) {
        failures.set(suite.name, failures.get(suite.name) + 1);
        if (!verbose) console.log(`--- run ${run}, ${suite.name}:\n${failureReport(result)}`);
      }
    }
    if (interrupted !== undefined) break;
    completed = run;
    console.log(`run ${run}/${runs}: ${parts.join('; ')}`);
  }
} finally {
  stopHogs();
}
const total = [...failures].map(([name, n]) => `${name} failed ${n}/${completed}`).join(', ');
if (interrupted !== undefined) {
  console.log(`total of ${completed} runs (of ${runs}; interrupted by ${interrupted}): ${total}`);
  process.exit(interrupted === 'SIGINT' ? 130 : 143);
}
console.log(`total: ${total}`);
process.exit([...failures.values()].some((n) => n > 0) ? 1 : 0);
