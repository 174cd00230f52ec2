/**
 * Runs before every test file. A developer's shell may point QDB_CLIENT_CONF
 * at their own QuestDB; a test that inherits it (directly, or in a child
 * process's environment) would pick QuestDB as its store and write into that
 * database. Tests choose their store explicitly instead: the QuestDB suites
 * read the address from BOOKTAPE_TEST_QDB_CLIENT_CONF (set here from the
 * original variable), and nothing else sees it.
 */
if (process.env.QDB_CLIENT_CONF !== undefined) {
  process.env.BOOKTAPE_TEST_QDB_CLIENT_CONF ??= process.env.QDB_CLIENT_CONF;
  delete process.env.QDB_CLIENT_CONF;
}
delete process.env.BOOKTAPE_STORE;
