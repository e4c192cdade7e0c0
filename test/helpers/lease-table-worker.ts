// A thread for cluster-lease-table.test.ts: reads the shared lease table, as a shard thread does before a WeChat call.
import { parentPort, workerData } from 'node:worker_threads';
import { LeaseTable } from '../../lib/cluster/lease-table.js';
import { monoNow } from '../../lib/timing.js';

const { buffer, appid } = workerData as { buffer: SharedArrayBuffer; appid: string };
const table = new LeaseTable(buffer);
parentPort!.on('message', () => {
  const now = monoNow();
  parentPort!.postMessage({ now, fence: table.fenceOf(appid), callFence: table.callFence(appid, now) });
});
parentPort!.postMessage('ready');
