import { historyBehaviour } from './helpers/history-behaviour.js';
import { startPostgres } from './helpers/postgres.js';

historyBehaviour('PostgreSQL', startPostgres);
