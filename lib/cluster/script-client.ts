/** What the cluster's lease code needs of a Redis client: EVAL (a node-redis client is one). */
export interface ScriptClient {
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

/**
 * Run a Lua script, giving up after `timeoutMs`: node-redis queues commands
 * while it reconnects, and an answer that comes too late for the lease is
 * no answer.
 */
export async function runScript(
  client: ScriptClient,
  script: string,
  keys: string[],
  args: string[],
  timeoutMs: number,
): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const call = client.eval(script, { keys, arguments: args });
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([call, late]);
  } finally {
    clearTimeout(timer);
    // A late answer or error after the timeout is of no interest.
    void call.catch(() => undefined);
  }
}
