#!/usr/bin/env node
// Entry point of the `hnas` command: runs the compiled CLI (dist/, built by
// `npm install` through the package's prepare script).
import('../dist/src/cli/cli.js')
  .then(({ main }) => main(process.argv))
  .catch((error) => {
    console.error(`hnas: ${error?.message ?? error}`);
    process.exitCode = 1;
  });
