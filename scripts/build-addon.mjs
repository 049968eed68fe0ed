#!/usr/bin/env node
// Builds the native addon with cmake-js (offline: package.json pins
// "binary": {"napi_versions": [8]}, so cmake-js uses the bundled Node-API
// headers instead of downloading Node's). Skips the build when the addon is
// already there unless --force is given. HNAS_CUDA=ON|OFF|AUTO is passed on.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const addon = join(root, 'build', 'Release', 'hnas.node');
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

if (!force && existsSync(addon) && statSync(addon).mtimeMs >= newestSource()) {
  console.log(`hnas: native addon up to date (${addon}); npm run build:native forces a rebuild`);
  process.exit(0);
}
const cmakeJs = join(root, 'node_modules', 'cmake-js', 'bin', 'cmake-js');
const args = [cmakeJs, 'compile', '--release'];
const cuda = process.env.HNAS_CUDA;
if (cuda) args.push(`--CDHNAS_CUDA=${cuda}`);
const parallel = process.env.CMAKE_BUILD_PARALLEL_LEVEL ?? '2';
const result = spawnSync(process.execPath, args, {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, CMAKE_BUILD_PARALLEL_LEVEL: parallel },
});
if (result.status !== 0) {
  console.error('hnas: building the native addon failed (see the output above).');
  process.exit(result.status ?? 1);
}
