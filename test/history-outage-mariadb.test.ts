import { historyOutage } from './helpers/history-outage.js';
import { startMariadb } from './helpers/mariadb.js';

historyOutage('MariaDB', startMariadb);
