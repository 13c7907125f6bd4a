// `pnpm test:chaos [tasks]`: the full chaos run (10,000 tasks by default); prints the counts.
import { runChaos } from './run.js';

const tasks = Number(process.argv[2] ?? 10_000);
const report = await runChaos({
  tasks,
  channelKills: Math.max(3, Math.round(tasks / 1000)),
  masterKills: Math.max(2, Math.round(tasks / 2500)),
  log: (line) => console.log(`chaos: ${line}`),
});
console.log(JSON.stringify(report, null, 2));
const ok = report.lost === 0 && report.duplicates <= report.inFlightAtKills && report.leftLeased === 0;
console.log(ok ? 'chaos: PASS (0 lost, duplicates within in-flight)' : 'chaos: FAIL');
process.exit(ok ? 0 : 1);
