// pm2: `pm2 start ecosystem.config.js` (Node >= 20.19, which loads this ES module for pm2).
// Settings go in COYOTES_* variables (below, or in the shell that runs `pm2 start`) or in a
// -config file. Each pm2 setting here exists so that `pm2 stop`/`pm2 restart` drains: running
// commands finish and are recorded. Why each is what it is: README.md, "Running under pm2".
export const apps = [
  {
    name: 'coyotes',
    cwd: import.meta.dirname,
    script: 'packages/cli/bin/coyotes.js',
    interpreter: 'node',
    // one master per host; cluster mode would make it exit when pm2's IPC closes
    exec_mode: 'fork',
    instances: 1,
    // pm2 would otherwise signal every descendant, running commands included, and SIGKILL
    // survivors after 1.6 s; Coyotes drains its own children over IPC
    treekill: false,
    // how long `pm2 stop` lets a drain run before SIGKILL: longer than -shutdown-timeout, after
    // which Coyotes itself requeues and kills what still runs and exits cleanly
    kill_timeout: 660_000,
    // exit code 2 is a fatal configuration error: restarting cannot fix it
    stop_exit_codes: [2],
    // open files: pm2 has no setting for them; apps inherit the pm2 daemon's limit (Node raises
    // the soft one to the hard one). `pm2 startup systemd` writes LimitNOFILE=infinity into
    // pm2's unit; a daemon started from a shell has the shell's (`ulimit -Hn`), which must allow
    // 2 fds per running command of a channel and some 30 more: docs/operations.md, "File descriptors"
    env: {
      COYOTES_SHUTDOWN_TIMEOUT: '600',
    },
  },
];

export default { apps };
