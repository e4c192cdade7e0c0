// Public entry of the WeChat API simulator (see README.md in this folder).
export { startSimulator, type RunningSimulator, type SimulatorOptions } from './server.js';
export { runSimulatorCli, type SimulatorCliOptions } from './cli.js';
