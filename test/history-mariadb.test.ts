import { historyBehaviour } from './helpers/history-behaviour.js';
import { startMariadb } from './helpers/mariadb.js';

historyBehaviour('MariaDB', startMariadb);
