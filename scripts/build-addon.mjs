#!/usr/bin/env node
// Builds the native addon with cmake-js (offline: package.json pins
// "binary": {"napi_versions": [8]}, so cmake-js uses the bundled Node-API
// headers instead of downloading Node's). Skips the build when the addon is
// already there, newer than every file under native/ (native/cuda included)
// and CMakeLists.txt, and built with the same CUDA setting — unless --force
// is given.
//
// --emulated builds the HNAS_CUDA=EMULATE addon into build-emulated/ instead
// (the CUDA kernels on the host emulator; the test suite runs the CUDA parity
// tests against it where no GPU is present: docs/cuda.md).
//
// Environment (docs/cuda.md):
//   HNAS_CUDA=AUTO|ON|OFF|EMULATE  the CUDA path (default AUTO: CUDA when nvcc is found)
//   CUDAARCHS="90-real;90-virtual" GPU architectures (CMake's CMAKE_CUDA_ARCHITECTURES)
//   CMAKE_BUILD_PARALLEL_LEVEL     compile jobs (default 2)
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const emulated = process.argv.includes('--emulated');
const buildDir = emulated ? 'build-emulated' : 'build';
const addon = join(root, buildDir, 'Release', 'hnas.node');
const buildInfoPath = join(root, buildDir, 'build-info.json');
const force = process.argv.includes('--force');

if (process.argv.includes('--gyp')) {
  // The secondary build: node-gyp from binding.gyp (CPU sources only). node-gyp
  // downloads Node's headers unless --nodedir names a local copy; Debian's
  // nodejs package ships them under /usr/include/node.
  const nodeGyp = join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  const args = [nodeGyp, 'rebuild'];
  const nodedir = process.env.HNAS_NODEDIR ?? (existsSync('/usr/include/node/node_api.h') ? '/usr' : undefined);
  if (nodedir) args.push(`--nodedir=${nodedir}`);
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const cuda = emulated ? 'EMULATE' : (process.env.HNAS_CUDA || 'AUTO').toUpperCase();
if (!['AUTO', 'ON', 'OFF', 'EMULATE'].includes(cuda)) {
  console.error(`hnas: HNAS_CUDA must be AUTO, ON, OFF or EMULATE, got "${process.env.HNAS_CUDA}"`);
  process.exit(1);
}
const cudaArchs = process.env.CUDAARCHS;

// Newest modification time among the files the addon is built from.
function newestSource() {
  let newest = statSync(join(root, 'CMakeLists.txt')).mtimeMs;
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  walk(join(root, 'native'));
  return newest;
}

// The CUDA setting the existing build was configured with (build-info.json).
function builtWith() {
  try {
    const info = JSON.parse(readFileSync(buildInfoPath, 'utf8'));
    return { cuda: info.cuda_requested, archs: info.cuda_architectures };
  } catch {
    return undefined;
  }
}

const previous = builtWith();
const sameSetting =
  previous !== undefined &&
  previous.cuda === cuda &&
  (cudaArchs === undefined || !previous.archs || previous.archs === cudaArchs);
if (!force && existsSync(addon) && sameSetting && statSync(addon).mtimeMs >= newestSource()) {
  console.log(`hnas: native addon up to date (${addon}); --force rebuilds it`);
  process.exit(0);
}

const cmakeJs = join(root, 'node_modules', 'cmake-js', 'bin', 'cmake-js');
// `cmake-js compile` configures only a fresh build folder, so -D options would
// be ignored on a rebuild: configure explicitly, then build.
const options = ['--release', `--out=${buildDir}`, `--CDHNAS_CUDA=${cuda}`];
if (cudaArchs) options.push(`--CDCMAKE_CUDA_ARCHITECTURES=${cudaArchs}`);
const parallel = process.env.CMAKE_BUILD_PARALLEL_LEVEL ?? '2';
const run = (command) =>
  spawnSync(process.execPath, [cmakeJs, command, ...options], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, CMAKE_BUILD_PARALLEL_LEVEL: parallel },
  }).status === 0;

const started = performance.now();
let ok = run('configure') && run('build');
if (!ok) {
  // A stale build folder (another Node, a moved checkout) fails in odd ways;
  // one clean retry, as `cmake-js compile` does.
  console.error('hnas: build failed; retrying once from a clean build folder');
  ok = run('rebuild');
}
if (!ok) {
  console.error('hnas: building the native addon failed (see the output above).');
  process.exit(1);
}
const after = builtWith();
console.log(
  `hnas: native addon built in ${((performance.now() - started) / 1000).toFixed(1)} s ` +
    `(HNAS_CUDA=${cuda}: ${after?.archs ? `CUDA ${after.archs}` : 'CPU only'})`,
);
