// `wechat-scheduler simulate`: run the simulator in the foreground until
// SIGTERM or SIGINT, announcing its URL as one JSON log line.
import { startSimulator } from './server.js';

export interface SimulatorCliOptions {
  port: number;
  host: string;
  expiresIn?: number;
}

/**
 * Rejects when the simulator cannot start (e.g. port in use); otherwise runs
 * until SIGTERM/SIGINT, closes, and exits the process with status 0.
 */
export async function runSimulatorCli(opts: SimulatorCliOptions): Promise<void> {
  const sim = await startSimulator(opts);
  const line = { level: 'info', msg: 'simulator listening', url: sim.url, port: sim.port };
  process.stdout.write(`${JSON.stringify(line)}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      void sim.close().then(resolve);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  process.exit(0);
}
