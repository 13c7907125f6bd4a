import type { Dialect } from './url.js';

/**
 * The history schema, one numbered step at a time. A step is never edited once released: a
 * change is a new step. Coyotes applies the missing ones at start, under a database lock so two
 * hosts starting together apply each once, and records each in `coyotes_history_migrations`.
 */
export interface Migration {
  version: number;
  name: string;
  statements: Record<Dialect, string[]>;
}

export const MIGRATIONS_TABLE = 'coyotes_history_migrations';
export const RUNS_TABLE = 'coyotes_runs';

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'runs table',
    statements: {
      postgres: [
        `CREATE TABLE ${RUNS_TABLE} (
          task_id VARCHAR(128) COLLATE "C" NOT NULL,
          attempt INTEGER NOT NULL,
          channel VARCHAR(64) NOT NULL,
          command TEXT NOT NULL,
          status VARCHAR(16) NOT NULL,
          exit_code INTEGER,
          exit_signal VARCHAR(16),
          node VARCHAR(255) NOT NULL,
          host VARCHAR(255) NOT NULL,
          queued_at BIGINT NOT NULL,
          started_at BIGINT NOT NULL,
          finished_at BIGINT NOT NULL,
          duration_ms BIGINT NOT NULL,
          stdout_tail TEXT NOT NULL,
          stderr_tail TEXT NOT NULL,
          error_text TEXT,
          schedule_name VARCHAR(255),
          PRIMARY KEY (task_id, attempt)
        )`,
        `CREATE INDEX ${RUNS_TABLE}_finished ON ${RUNS_TABLE} (finished_at)`,
        `CREATE INDEX ${RUNS_TABLE}_channel_finished ON ${RUNS_TABLE} (channel, finished_at)`,
      ],
      mysql: [
        `CREATE TABLE ${RUNS_TABLE} (
          task_id VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
          attempt INT NOT NULL,
          channel VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
          command MEDIUMTEXT NOT NULL,
          status VARCHAR(16) NOT NULL,
          exit_code INT NULL,
          exit_signal VARCHAR(16) NULL,
          node VARCHAR(255) NOT NULL,
          host VARCHAR(255) NOT NULL,
          queued_at BIGINT NOT NULL,
          started_at BIGINT NOT NULL,
          finished_at BIGINT NOT NULL,
          duration_ms BIGINT NOT NULL,
          stdout_tail MEDIUMTEXT NOT NULL,
          stderr_tail MEDIUMTEXT NOT NULL,
          error_text TEXT NULL,
          schedule_name VARCHAR(255) NULL,
          PRIMARY KEY (task_id, attempt),
          KEY ${RUNS_TABLE}_finished (finished_at),
          KEY ${RUNS_TABLE}_channel_finished (channel, finished_at)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
      ],
    },
  },
];
