/** Schema of the embedded store; `user_version` tells which one a file has. */
export const SCHEMA_VERSION = 1;

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS apps (
  appid TEXT PRIMARY KEY,
  secret TEXT NOT NULL,
  secret_gen INTEGER NOT NULL DEFAULT 1,
  verify_ticket TEXT,
  verify_ticket_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS tasks (
  appid TEXT NOT NULL,
  type INTEGER NOT NULL,
  sub TEXT NOT NULL DEFAULT '',
  notify TEXT,
  params TEXT NOT NULL,
  stable INTEGER NOT NULL DEFAULT 0,
  reg_gen INTEGER NOT NULL DEFAULT 1,
  value TEXT,
  expires_at INTEGER,
  expires_in INTEGER,
  refreshed_at INTEGER,
  fetched_secret_gen INTEGER NOT NULL DEFAULT 0,
  refresh_token TEXT,
  authorizer_appid TEXT,
  state TEXT NOT NULL DEFAULT 'pending',
  last_error TEXT,
  next_refresh_at INTEGER,
  fetch_count INTEGER NOT NULL DEFAULT 0,
  fail_count INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (appid, type, sub)
) WITHOUT ROWID;
`;
