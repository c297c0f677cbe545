/** `jwt-refresh/stores/mysql`: the MySQL 8 / MariaDB 10.11 store (./mysql/). */
export * from './mysql/mysql-store.js';
