/**
 * Path of the api process entry, for master to fork. Its own module (`@coyotes/api/entry`): master
 * imports it without loading Koa, the routes and their dependencies, which only the api process runs.
 */
export const API_PROCESS_ENTRY = new URL('./child.js', import.meta.url);
