/**
 * Where the QuestDB suites find a server: BOOKTAPE_TEST_QDB_CLIENT_CONF, or
 * QDB_CLIENT_CONF as the developer's shell had it (test/setup-env.ts moves it
 * there, hidden from every other test). CI has none: those suites skip, and
 * say why in their names.
 */
export const qdbConf = process.env.BOOKTAPE_TEST_QDB_CLIENT_CONF;
export const NO_QDB = qdbConf ? '' : ' (skipped: no QuestDB; set QDB_CLIENT_CONF=http::addr=127.0.0.1:9000; to run)';
