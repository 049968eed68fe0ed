/**
 * The command line of CommandEvaluator: a template string split into argv
 * once, with shell-like quoting, and placeholders substituted per argument.
 * No shell ever sees the result: architecture strings hold `|`, `~`, `(`,
 * quotes and spaces, and substituting them into text a shell parses would
 * invite both breakage and injection.
 *
 * Quoting (a POSIX-shell subset):
 *  - unquoted spaces, tabs and newlines separate arguments;
 *  - '…' keeps everything literally up to the next single quote;
 *  - "…" keeps everything literally, except that a backslash escapes
 *    `"`, `\`, `$` and `` ` `` and removes a following newline;
 *  - an unquoted backslash makes the next character literal (before a
 *    newline it removes both);
 *  - '' or "" is an empty argument.
 * Nothing else is special: no variables, globs, pipes, redirections,
 * `&&` or comments — those characters are passed on as they are. An
 * unterminated quote or a trailing backslash is an InvalidArgumentError.
 *
 * Placeholders: `{arch}`, `{onnx}`, `{space}`, `{step}`, `{index}`, replaced
 * in a single pass (a value that itself contains `{step}` is not expanded
 * again). Any other `{name}` is an InvalidArgumentError, so a typo such as
 * `{arc}` fails at construction instead of reaching the command; braces not
 * around a plain name (`{}`, `{"a": 1}`) are literal.
 */
import { InvalidArgumentError } from '../../errors.js';

export const COMMAND_PLACEHOLDERS = ['arch', 'onnx', 'space', 'step', 'index'] as const;
export type CommandPlaceholder = (typeof COMMAND_PLACEHOLDERS)[number];

export interface CommandTemplate {
  /** The arguments, placeholders still in place; argv[0] is the program. */
  readonly argv: readonly string[];
  /** The placeholders the template uses. */
  readonly placeholders: ReadonlySet<CommandPlaceholder>;
}

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
const WHITESPACE = new Set([' ', '\t', '\n', '\r']);
const DOUBLE_QUOTE_ESCAPABLE = new Set(['"', '\\', '$', '`']);

/** Splits a command line into arguments (quoting rules in the module comment). */
export function splitCommandLine(text: string): string[] {
  if (typeof text !== 'string') throw new InvalidArgumentError(`a command line must be a string, got ${typeof text}`);
  const args: string[] = [];
  let current = '';
  let inArg = false;
  let i = 0;
  const fail = (what: string) => new InvalidArgumentError(`command line ${JSON.stringify(text)}: ${what}`);
  while (i < text.length) {
    const ch = text[i];
    if (WHITESPACE.has(ch)) {
      if (inArg) args.push(current);
      current = '';
      inArg = false;
      i++;
    } else if (ch === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw fail(`unterminated single quote at position ${i}`);
      current += text.slice(i + 1, end);
      inArg = true;
      i = end + 1;
    } else if (ch === '"') {
      inArg = true;
      i++;
      for (;;) {
        if (i >= text.length) throw fail('unterminated double quote');
        const c = text[i];
        if (c === '"') {
          i++;
          break;
        }
        if (c === '\\' && i + 1 < text.length && (text[i + 1] === '\n' || DOUBLE_QUOTE_ESCAPABLE.has(text[i + 1]))) {
          if (text[i + 1] !== '\n') current += text[i + 1];
          i += 2;
        } else {
          current += c;
          i++;
        }
      }
    } else if (ch === '\\') {
      if (i + 1 >= text.length) throw fail('trailing backslash');
      if (text[i + 1] !== '\n') {
        current += text[i + 1];
        inArg = true;
      }
      i += 2;
    } else {
      current += ch;
      inArg = true;
      i++;
    }
  }
  if (inArg) args.push(current);
  return args;
}

/** A template from a command line string (split here) or an argv array (taken as is). */
export function parseCommandTemplate(command: string | readonly string[]): CommandTemplate {
  const argv = typeof command === 'string' ? splitCommandLine(command) : checkArgv(command);
  if (argv.length === 0) throw new InvalidArgumentError('the evaluation command is empty');
  const placeholders = new Set<CommandPlaceholder>();
  for (const arg of argv) {
    for (const match of arg.matchAll(PLACEHOLDER)) {
      const name = match[1];
      if (!isPlaceholder(name)) {
        throw new InvalidArgumentError(
          `unknown placeholder {${name}} in the evaluation command; known: ${COMMAND_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}`,
        );
      }
      placeholders.add(name);
    }
  }
  return Object.freeze({ argv: Object.freeze(argv.slice()), placeholders });
}

/** The argv with every placeholder replaced; a placeholder without a value is an InvalidArgumentError. */
export function expandCommandTemplate(template: CommandTemplate, values: Partial<Record<CommandPlaceholder, string>>): string[] {
  return template.argv.map((arg) =>
    arg.replace(PLACEHOLDER, (_, name: string) => {
      const value = isPlaceholder(name) ? values[name] : undefined;
      if (value === undefined) throw new InvalidArgumentError(`the evaluation command uses {${name}}, which has no value for this candidate`);
      return value;
    }),
  );
}

/** argv as one line for messages, each argument single-quoted when it needs to be. */
export function formatCommandLine(argv: readonly string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(' ');
}

function isPlaceholder(name: string): name is CommandPlaceholder {
  return (COMMAND_PLACEHOLDERS as readonly string[]).includes(name);
}

function checkArgv(argv: readonly string[]): string[] {
  if (!Array.isArray(argv) || !argv.every((a) => typeof a === 'string')) {
    throw new InvalidArgumentError('the evaluation command must be a string or an array of strings');
  }
  return argv.slice();
}
