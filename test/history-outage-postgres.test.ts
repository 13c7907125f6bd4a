import { historyOutage } from './helpers/history-outage.js';
import { startPostgres } from './helpers/postgres.js';

historyOutage('PostgreSQL', startPostgres);
