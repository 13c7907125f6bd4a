// Preloaded through NODE_OPTIONS=--import by bench/profile.ts (Node 20 refuses --cpu-prof in
// NODE_OPTIONS): profiles the whole process with the inspector and writes
// $BENCH_PROFILE_DIR/<role>-<pid>.cpuprofile when it exits.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';

const dir = process.env.BENCH_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 500 });
  session.post('Profiler.start');
  process.on('exit', () => {
    // a session connected to its own thread answers synchronously, so this runs before exit
    session.post('Profiler.stop', (error, result) => {
      if (error) return;
      const role = path.basename(path.dirname(path.dirname(process.argv[1] ?? 'node'))) || 'node';
      writeFileSync(path.join(dir, `${role}-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
