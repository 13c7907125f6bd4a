/**
 * pm2 copies its whole description of the app into the environment: not only `pm_*`/`PM2_*`
 * but `name`, `status`, `cwd`, `username`, `treekill`… (every key of its ecosystem schema plus
 * runtime fields), `NODE_APP_INSTANCE`, its own directories in `NODE_PATH`, and the app's env
 * block as JSON under the app's name. Commands must not inherit them: a script reading `$name`
 * or `$status` would see pm2's values. Measured with pm2 7.0.
 */
const PM2_KEYS = new Set([
  // ecosystem schema keys (lib/API/schema.json)
  ...'script name name_prefix filter_env namespace install_url cwd args exec_interpreter node_args out_file error_file log_file disable_logs log_type log_date_format time env max_memory_restart pid_file restart_delay exp_backoff_restart_delay source_map_support disable_source_map_support wait_ready instances kill_timeout shutdown_with_message listen_timeout cron_restart merge_logs vizion autostart autorestart stop_exit_codes watch_delay watch ignore_watch watch_options min_uptime max_restarts execute_command exec_mode force append_env_to_name post_update trace disable_trace v8 event_loop_inspector deep_monitoring increment_var instance_var pmx automation treekill port username uid gid windowsHide kill_retry_time write io'.split(
    ' ',
  ),
  // runtime fields
  ...'unique_id status created_at restart_time unstable_restarts km_link vizion_running axm_actions axm_monitor axm_options axm_dynamic'.split(
    ' ',
  ),
  'NODE_APP_INSTANCE',
]);

/** True when pm2 started this process (fork or cluster mode). */
export function underPm2(env: NodeJS.ProcessEnv): boolean {
  return env.pm_id !== undefined && env.pm_exec_path !== undefined;
}

/** Removes what pm2 put into `env` (in place); answers the names removed. No-op outside pm2. */
export function stripPm2Environment(env: NodeJS.ProcessEnv): string[] {
  if (!underPm2(env)) return [];
  const removed: string[] = [];
  const appName = env.name;
  for (const key of Object.keys(env)) {
    const isAppEnvBlock = key === appName && /^\s*\{/.test(env[key] ?? '');
    if (PM2_KEYS.has(key) || /^(pm_|PM2_|env_)/.test(key) || isAppEnvBlock) {
      delete env[key];
      removed.push(key);
    }
  }
  if (env.NODE_PATH !== undefined) {
    const kept = env.NODE_PATH.split(':').filter((entry) => entry !== '' && !/[/\\]pm2[/\\]/.test(entry));
    if (kept.length > 0) env.NODE_PATH = kept.join(':');
    else {
      delete env.NODE_PATH;
      removed.push('NODE_PATH');
    }
  }
  return removed;
}
