import type { Command } from 'commander';
import { createLogger } from '../api/logger';
import { Runtime } from '../runtime';

/** The installation directory: `--home`, `$CLEARHUB_HOME`, or the current directory. */
export function homeOf(cmd: Command): string {
  return (cmd.optsWithGlobals().home as string | undefined) ?? process.env.CLEARHUB_HOME ?? process.cwd();
}

/** Opens the runtime for one command and closes it afterwards, whatever happens. */
export async function withRuntime<T>(cmd: Command, fn: (rt: Runtime) => Promise<T>): Promise<T> {
  // Connector call lines (scrubbed) go to stderr, so `--json` output on stdout stays clean; LOG_LEVEL=info shows them.
  const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'warn', json: true, stream: process.stderr });
  const rt = await Runtime.open({ home: homeOf(cmd), callLog: (line) => logger.info('call', line) });
  try {
    return await fn(rt);
  } finally {
    // PGlite's WebAssembly runtime sets process.exitCode to 0 when it shuts down: keep the command's own.
    const code = process.exitCode;
    await rt.close();
    process.exitCode = code;
  }
}
