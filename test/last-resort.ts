/**
 * Last-resort cleanup for when afterAll / teardown never runs: the process exits, or is interrupted
 * (Ctrl-C sends SIGINT to the whole process group; CI timeouts send SIGTERM or SIGHUP). The stack's
 * parts run detached in their own sessions, so nothing else would stop them. Tasks are synchronous
 * (only synchronous work runs in an `exit` listener), e.g. SIGKILL by PID.
 */

const tasks = new Set<() => void>();
let installed = false;

function runAll(): void {
  for (const task of [...tasks]) {
    try {
      task();
    } catch {
      // best effort: keep going with the others
    }
  }
  tasks.clear();
}

/**
 * Registers `task` to run once if the process exits or is interrupted before the returned function
 * is called (call it once the normal cleanup has run).
 */
export function onLastResort(task: () => void): () => void {
  if (!installed) {
    installed = true;
    process.on('exit', runAll);
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.once(signal, () => {
        runAll();
        // Then what would have happened without this listener: the runner's own handler, if it has
        // one, else the default action (re-raised now that this `once` listener is gone).
        if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
      });
    }
  }
  tasks.add(task);
  return () => {
    tasks.delete(task);
  };
}
