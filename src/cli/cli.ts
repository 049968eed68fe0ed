/**
 * The `hnas` command line: one file per command under commands/. Errors
 * thrown by a command are printed as one line with their code, and set the
 * exit status; a stack trace appears only with HNAS_DEBUG=1.
 */
import { Command } from 'commander';
import { HnasError } from '../errors.js';
import { benchCommand } from './commands/bench.js';
import { correlateCommand } from './commands/correlate.js';
import { exportCommand } from './commands/export.js';
import { hybridCommand } from './commands/hybrid.js';
import { infoCommand } from './commands/info.js';
import { scoreCommand } from './commands/score.js';
import { searchCommand } from './commands/search.js';
import { trainCommand } from './commands/train.js';
import { unifyCommand } from './commands/unify.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('hnas')
    .description('Training-free and hybrid neural architecture search over a native gradient engine')
    .version('0.1.0')
    .showHelpAfterError();
  program.addCommand(infoCommand());
  program.addCommand(exportCommand());
  program.addCommand(scoreCommand());
  program.addCommand(correlateCommand());
  program.addCommand(unifyCommand());
  program.addCommand(hybridCommand());
  program.addCommand(searchCommand());
  program.addCommand(trainCommand());
  program.addCommand(benchCommand());
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof HnasError) {
      console.error(`hnas: ${error.message} [${error.code}]`);
    } else {
      console.error(`hnas: ${(error as Error)?.message ?? String(error)}`);
    }
    if (process.env.HNAS_DEBUG === '1') console.error(error);
    process.exitCode = 1;
  }
}
