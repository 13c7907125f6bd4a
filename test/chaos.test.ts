import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runChaos } from './chaos/run.js';

test('chaos (CI scale): 1,000 tasks through HTTP and the ingress list survive kills of channel processes, the master and Redis', async () => {
  const report = await runChaos({ tasks: 1000, channelKills: 3, masterKills: 2, seed: 7 });
  console.log(`chaos report: ${JSON.stringify(report)}`);
  assert.equal(report.lost, 0, 'no accepted task is lost');
  assert.ok(
    report.duplicates <= report.inFlightAtKills,
    `duplicates ${report.duplicates} ≤ in flight at the kills ${report.inFlightAtKills}`,
  );
  assert.equal(report.leftLeased, 0, 'nothing remains leased');
  assert.equal(report.executedIds, 1000);
});
