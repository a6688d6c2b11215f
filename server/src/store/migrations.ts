/**
 * Versioned schema migrations, as data. Each is applied once, in order, in its own
 * transaction, and recorded in `schema_migrations(version, name, applied_at)`. Never edit an
 * applied migration: add a new one.
 *
 * Timestamps: SQLite stores INTEGER milliseconds since the epoch (UTC), PostgreSQL
 * `timestamptz`. Booleans: SQLite INTEGER 0/1, PostgreSQL `boolean`. JSON: `job_options.env`
 * is JSON text in both (as in the original); `nodes.document` is JSON text in SQLite and
 * `jsonb` in PostgreSQL. Names in PostgreSQL use the "C" collation so both databases order
 * them the same way.
 *
 * @module
 */

/** One schema migration, in both dialects. */
export interface Migration {
  /** 1, 2, 3, ...: applied in this order. */
  version: number;
  name: string;
  sqlite: string;
  postgres: string;
}

const JOB_STATUS_SEED = `INSERT INTO job_status (id, description) VALUES
  (0, 'voting'), (1, 'running'), (2, 'complete'), (3, 'quorum_failed'),
  (4, 'aborted'), (5, 'new'), (6, 'timed_out'), (7, 'crashed');`;

const GROUP_MEMBER_CHECK = `CHECK (CASE member_type
    WHEN 'user' THEN user_id IS NOT NULL AND client_id IS NULL AND member_group_id IS NULL
    WHEN 'client' THEN client_id IS NOT NULL AND user_id IS NULL AND member_group_id IS NULL
    WHEN 'group' THEN member_group_id IS NOT NULL AND user_id IS NULL AND client_id IS NULL
    ELSE FALSE END)`;

const KEY_OWNER_CHECK = `CHECK (CASE principal_type
    WHEN 'user' THEN user_id IS NOT NULL AND client_id IS NULL AND org_id IS NULL
    WHEN 'client' THEN client_id IS NOT NULL AND user_id IS NULL AND org_id IS NOT NULL
    ELSE FALSE END)`;

/** Indexes shared by both dialects (the same syntax works in each). */
const INDEXES = `
CREATE INDEX org_members_user ON org_members (user_id);
CREATE INDEX principal_keys_org ON principal_keys (org_id);
CREATE INDEX group_members_user ON group_members (user_id);
CREATE INDEX group_members_client ON group_members (client_id);
CREATE INDEX group_members_group ON group_members (member_group_id);
CREATE INDEX jobs_org_created ON jobs (org_id, created_at DESC, id DESC);
CREATE INDEX jobs_org_status_created ON jobs (org_id, status, created_at DESC, id DESC);
CREATE INDEX jobs_status ON jobs (status);
CREATE INDEX job_nodes_org ON job_nodes (org_id);
`;

const SQLITE_V1 = `
CREATE TABLE job_status (
  id INTEGER PRIMARY KEY,
  description TEXT NOT NULL UNIQUE
);
${JOB_STATUS_SEED}
CREATE TABLE orgs (
  guid TEXT PRIMARY KEY CHECK (length(guid) = 32),
  name TEXT NOT NULL UNIQUE,
  full_name TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  display_name TEXT NOT NULL,
  email TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE org_members (
  org_id TEXT NOT NULL REFERENCES orgs (guid) ON DELETE CASCADE,
  user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (org_id, user_id)
);
CREATE TABLE clients (
  id INTEGER PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES orgs (guid) ON DELETE CASCADE,
  name TEXT NOT NULL,
  validator INTEGER NOT NULL DEFAULT 0 CHECK (validator IN (0, 1)),
  created_at INTEGER NOT NULL,
  UNIQUE (org_id, name)
);
CREATE TABLE principal_keys (
  id INTEGER PRIMARY KEY,
  principal_type TEXT NOT NULL,
  org_id TEXT REFERENCES orgs (guid) ON DELETE CASCADE,
  user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,
  client_id INTEGER REFERENCES clients (id) ON DELETE CASCADE,
  key_name TEXT NOT NULL,
  public_key TEXT NOT NULL,
  expires_at INTEGER,
  created_at INTEGER NOT NULL,
  ${KEY_OWNER_CHECK},
  UNIQUE (user_id, key_name),
  UNIQUE (client_id, key_name)
);
CREATE TABLE groups (
  id INTEGER PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES orgs (guid) ON DELETE CASCADE,
  name TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (org_id, name)
);
CREATE TABLE group_members (
  group_id INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
  member_type TEXT NOT NULL,
  user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,
  client_id INTEGER REFERENCES clients (id) ON DELETE CASCADE,
  member_group_id INTEGER REFERENCES groups (id) ON DELETE CASCADE,
  ${GROUP_MEMBER_CHECK},
  UNIQUE (group_id, user_id),
  UNIQUE (group_id, client_id),
  UNIQUE (group_id, member_group_id)
);
CREATE TABLE nodes (
  org_id TEXT NOT NULL REFERENCES orgs (guid) ON DELETE CASCADE,
  name TEXT NOT NULL,
  document TEXT NOT NULL CHECK (json_valid(document)),
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (org_id, name)
);
CREATE TABLE jobs (
  id TEXT PRIMARY KEY CHECK (length(id) = 32),
  org_id TEXT NOT NULL REFERENCES orgs (guid) ON DELETE CASCADE,
  command TEXT NOT NULL,
  status INTEGER NOT NULL REFERENCES job_status (id),
  run_timeout INTEGER,
  quorum INTEGER,
  last_updated_by TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE job_nodes (
  job_id TEXT NOT NULL REFERENCES jobs (id) ON UPDATE CASCADE ON DELETE CASCADE,
  org_id TEXT NOT NULL REFERENCES orgs (guid) ON DELETE CASCADE,
  node_name TEXT NOT NULL,
  status INTEGER NOT NULL CHECK (status BETWEEN 0 AND 11),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (job_id, node_name)
);
CREATE TABLE job_options (
  job_id TEXT PRIMARY KEY REFERENCES jobs (id) ON UPDATE CASCADE ON DELETE CASCADE,
  job_user TEXT,
  dir TEXT,
  env TEXT CHECK (env IS NULL OR json_valid(env)),
  capture INTEGER CHECK (capture IN (0, 1)),
  job_file TEXT
);
CREATE TABLE job_output (
  job_id TEXT NOT NULL REFERENCES jobs (id) ON UPDATE CASCADE ON DELETE CASCADE,
  node_name TEXT NOT NULL,
  stdout TEXT NOT NULL,
  stderr TEXT NOT NULL,
  stdout_truncated INTEGER NOT NULL DEFAULT 0 CHECK (stdout_truncated IN (0, 1)),
  stderr_truncated INTEGER NOT NULL DEFAULT 0 CHECK (stderr_truncated IN (0, 1)),
  UNIQUE (job_id, node_name)
);
${INDEXES}`;

const POSTGRES_V1 = `
CREATE TABLE job_status (
  id integer PRIMARY KEY,
  description text NOT NULL UNIQUE
);
${JOB_STATUS_SEED}
CREATE TABLE orgs (
  guid char(32) PRIMARY KEY,
  name text COLLATE "C" NOT NULL UNIQUE,
  full_name text NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE TABLE users (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text COLLATE "C" NOT NULL UNIQUE,
  display_name text NOT NULL,
  email text NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE TABLE org_members (
  org_id char(32) NOT NULL REFERENCES orgs (guid) ON DELETE CASCADE,
  user_id integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (org_id, user_id)
);
CREATE TABLE clients (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  org_id char(32) NOT NULL REFERENCES orgs (guid) ON DELETE CASCADE,
  name text COLLATE "C" NOT NULL,
  validator boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL,
  UNIQUE (org_id, name)
);
CREATE TABLE principal_keys (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  principal_type text NOT NULL,
  org_id char(32) REFERENCES orgs (guid) ON DELETE CASCADE,
  user_id integer REFERENCES users (id) ON DELETE CASCADE,
  client_id integer REFERENCES clients (id) ON DELETE CASCADE,
  key_name text COLLATE "C" NOT NULL,
  public_key text NOT NULL,
  expires_at timestamptz,
  created_at timestamptz NOT NULL,
  ${KEY_OWNER_CHECK},
  UNIQUE (user_id, key_name),
  UNIQUE (client_id, key_name)
);
CREATE TABLE groups (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  org_id char(32) NOT NULL REFERENCES orgs (guid) ON DELETE CASCADE,
  name text COLLATE "C" NOT NULL,
  created_at timestamptz NOT NULL,
  UNIQUE (org_id, name)
);
CREATE TABLE group_members (
  group_id integer NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
  member_type text NOT NULL,
  user_id integer REFERENCES users (id) ON DELETE CASCADE,
  client_id integer REFERENCES clients (id) ON DELETE CASCADE,
  member_group_id integer REFERENCES groups (id) ON DELETE CASCADE,
  ${GROUP_MEMBER_CHECK},
  UNIQUE (group_id, user_id),
  UNIQUE (group_id, client_id),
  UNIQUE (group_id, member_group_id)
);
CREATE TABLE nodes (
  org_id char(32) NOT NULL REFERENCES orgs (guid) ON DELETE CASCADE,
  name text COLLATE "C" NOT NULL,
  document jsonb NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (org_id, name)
);
CREATE TABLE jobs (
  id char(32) PRIMARY KEY,
  org_id char(32) NOT NULL REFERENCES orgs (guid) ON DELETE CASCADE,
  command text NOT NULL,
  status integer NOT NULL REFERENCES job_status (id),
  run_timeout integer,
  quorum integer,
  last_updated_by text NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE TABLE job_nodes (
  job_id char(32) NOT NULL REFERENCES jobs (id) ON UPDATE CASCADE ON DELETE CASCADE,
  org_id char(32) NOT NULL REFERENCES orgs (guid) ON DELETE CASCADE,
  node_name text COLLATE "C" NOT NULL,
  status integer NOT NULL CHECK (status BETWEEN 0 AND 11),
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  UNIQUE (job_id, node_name)
);
CREATE TABLE job_options (
  job_id char(32) PRIMARY KEY REFERENCES jobs (id) ON UPDATE CASCADE ON DELETE CASCADE,
  job_user text,
  dir text,
  env text,
  capture boolean,
  job_file text
);
CREATE TABLE job_output (
  job_id char(32) NOT NULL REFERENCES jobs (id) ON UPDATE CASCADE ON DELETE CASCADE,
  node_name text COLLATE "C" NOT NULL,
  stdout text NOT NULL,
  stderr text NOT NULL,
  stdout_truncated boolean NOT NULL DEFAULT false,
  stderr_truncated boolean NOT NULL DEFAULT false,
  UNIQUE (job_id, node_name)
);
${INDEXES}`;

/**
 * Version 2: `jobs.owner`, the id of the server that runs the job (only it may crash-recover the
 * job at its restart), and output as bytes. SQLite keeps the TEXT columns: their affinity stores
 * a BLOB as given, and rows written before stay text (read back as their UTF-8 bytes).
 */
const SQLITE_V2 = `
ALTER TABLE jobs ADD COLUMN owner TEXT;
CREATE INDEX jobs_owner_status ON jobs (owner, status);
`;

const POSTGRES_V2 = `
ALTER TABLE jobs ADD COLUMN owner text;
CREATE INDEX jobs_owner_status ON jobs (owner, status);
ALTER TABLE job_output
  ALTER COLUMN stdout TYPE bytea USING convert_to(stdout, 'UTF8'),
  ALTER COLUMN stderr TYPE bytea USING convert_to(stderr, 'UTF8');
`;

/**
 * Version 3: targeting and rollouts. A job keeps the search query its nodes were chosen by and
 * its rollout limits (`max_concurrency`, `max_errors`, as given: `"3"` or `"10%"`); a node of a
 * job keeps how its command ended (exit status or signal, start and end on the node's clock).
 * New statuses: job `max_errors_exceeded` (8), node-in-job `skipped` (12). SQLite cannot change
 * a CHECK constraint, so `job_nodes` is rebuilt there.
 */
const SQLITE_V3 = `
INSERT INTO job_status (id, description) VALUES (8, 'max_errors_exceeded');
ALTER TABLE jobs ADD COLUMN search TEXT;
ALTER TABLE job_options ADD COLUMN max_concurrency TEXT;
ALTER TABLE job_options ADD COLUMN max_errors TEXT;
CREATE TABLE job_nodes_v3 (
  job_id TEXT NOT NULL REFERENCES jobs (id) ON UPDATE CASCADE ON DELETE CASCADE,
  org_id TEXT NOT NULL REFERENCES orgs (guid) ON DELETE CASCADE,
  node_name TEXT NOT NULL,
  status INTEGER NOT NULL CHECK (status BETWEEN 0 AND 12),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  exit_status INTEGER,
  signal TEXT,
  started_at INTEGER,
  ended_at INTEGER,
  UNIQUE (job_id, node_name)
);
INSERT INTO job_nodes_v3 (job_id, org_id, node_name, status, created_at, updated_at)
  SELECT job_id, org_id, node_name, status, created_at, updated_at FROM job_nodes;
DROP TABLE job_nodes;
ALTER TABLE job_nodes_v3 RENAME TO job_nodes;
CREATE INDEX job_nodes_org ON job_nodes (org_id);
`;

const POSTGRES_V3 = `
INSERT INTO job_status (id, description) VALUES (8, 'max_errors_exceeded');
ALTER TABLE jobs ADD COLUMN search text;
ALTER TABLE job_options ADD COLUMN max_concurrency text, ADD COLUMN max_errors text;
ALTER TABLE job_nodes
  DROP CONSTRAINT job_nodes_status_check,
  ADD CONSTRAINT job_nodes_status_check CHECK (status BETWEEN 0 AND 12),
  ADD COLUMN exit_status integer,
  ADD COLUMN signal text,
  ADD COLUMN started_at timestamptz,
  ADD COLUMN ended_at timestamptz;
`;

/**
 * Version 4: node revisions, so a search index refreshes by asking only what changed. Each org
 * has a counter (`node_revisions`); every write of a node (insert, update, delete, by this
 * server or any other writer of the database: triggers, not store code, keep it) takes the next
 * value of its org's counter: the node's `revision`, or for a delete a row of `node_tombstones`
 * (removed when a node of that name comes back). A reader that holds everything up to revision R
 * reads `revision > R` from both tables and is current.
 *
 * Why a counter row and not a sequence: in PostgreSQL, sequence values are handed out at once
 * but commit in any order, so a reader could see 7 before 6 commits and skip 6 for ever. The
 * counter row is locked by the writer until it commits, so the next writer of the org takes its
 * value only after the previous one committed: any snapshot holds every revision up to the
 * highest it holds (a prefix). SQLite has one writer at a time anyway. Existing nodes get
 * distinct revisions (their rowid in SQLite, their rank by name per org in PostgreSQL).
 */
const SQLITE_V4 = `
ALTER TABLE nodes ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
CREATE TABLE node_revisions (
  org_id TEXT PRIMARY KEY REFERENCES orgs (guid) ON DELETE CASCADE,
  revision INTEGER NOT NULL
);
CREATE TABLE node_tombstones (
  org_id TEXT NOT NULL REFERENCES orgs (guid) ON DELETE CASCADE,
  name TEXT NOT NULL,
  revision INTEGER NOT NULL,
  PRIMARY KEY (org_id, name)
);
UPDATE nodes SET revision = rowid;
INSERT INTO node_revisions (org_id, revision)
  SELECT o.guid, coalesce((SELECT max(n.revision) FROM nodes n WHERE n.org_id = o.guid), 0) FROM orgs o;
CREATE INDEX nodes_org_revision ON nodes (org_id, revision);
CREATE INDEX node_tombstones_org_revision ON node_tombstones (org_id, revision);
CREATE TRIGGER nodes_revision_insert AFTER INSERT ON nodes BEGIN
  INSERT INTO node_revisions (org_id, revision)
    SELECT NEW.org_id, 0 WHERE NOT EXISTS (SELECT 1 FROM node_revisions WHERE org_id = NEW.org_id);
  UPDATE node_revisions SET revision = revision + 1 WHERE org_id = NEW.org_id;
  UPDATE nodes SET revision = (SELECT revision FROM node_revisions WHERE org_id = NEW.org_id)
    WHERE org_id = NEW.org_id AND name = NEW.name;
  DELETE FROM node_tombstones WHERE org_id = NEW.org_id AND name = NEW.name;
END;
CREATE TRIGGER nodes_revision_update AFTER UPDATE OF org_id, name, document, updated_at ON nodes BEGIN
  INSERT INTO node_revisions (org_id, revision)
    SELECT NEW.org_id, 0 WHERE NOT EXISTS (SELECT 1 FROM node_revisions WHERE org_id = NEW.org_id);
  UPDATE node_revisions SET revision = revision + 1 WHERE org_id = OLD.org_id;
  INSERT INTO node_tombstones (org_id, name, revision)
    SELECT OLD.org_id, OLD.name, revision FROM node_revisions
    WHERE org_id = OLD.org_id AND (OLD.org_id <> NEW.org_id OR OLD.name <> NEW.name)
    ON CONFLICT (org_id, name) DO UPDATE SET revision = excluded.revision;
  UPDATE node_revisions SET revision = revision + 1 WHERE org_id = NEW.org_id;
  UPDATE nodes SET revision = (SELECT revision FROM node_revisions WHERE org_id = NEW.org_id)
    WHERE org_id = NEW.org_id AND name = NEW.name;
  DELETE FROM node_tombstones WHERE org_id = NEW.org_id AND name = NEW.name;
END;
CREATE TRIGGER nodes_revision_delete AFTER DELETE ON nodes BEGIN
  UPDATE node_revisions SET revision = revision + 1 WHERE org_id = OLD.org_id;
  INSERT INTO node_tombstones (org_id, name, revision)
    SELECT OLD.org_id, OLD.name, revision FROM node_revisions
    WHERE org_id = OLD.org_id AND EXISTS (SELECT 1 FROM orgs WHERE guid = OLD.org_id)
    ON CONFLICT (org_id, name) DO UPDATE SET revision = excluded.revision;
END;
`;

const POSTGRES_V4 = `
ALTER TABLE nodes ADD COLUMN revision bigint NOT NULL DEFAULT 0;
CREATE TABLE node_revisions (
  org_id char(32) PRIMARY KEY REFERENCES orgs (guid) ON DELETE CASCADE,
  revision bigint NOT NULL
);
CREATE TABLE node_tombstones (
  org_id char(32) NOT NULL REFERENCES orgs (guid) ON DELETE CASCADE,
  name text COLLATE "C" NOT NULL,
  revision bigint NOT NULL,
  PRIMARY KEY (org_id, name)
);
UPDATE nodes n SET revision = r.rank
  FROM (SELECT org_id, name, row_number() OVER (PARTITION BY org_id ORDER BY name) AS rank FROM nodes) r
  WHERE n.org_id = r.org_id AND n.name = r.name;
INSERT INTO node_revisions (org_id, revision)
  SELECT o.guid, coalesce(max(n.revision), 0) FROM orgs o LEFT JOIN nodes n ON n.org_id = o.guid GROUP BY o.guid;
CREATE INDEX nodes_org_revision ON nodes (org_id, revision);
CREATE INDEX node_tombstones_org_revision ON node_tombstones (org_id, revision);
CREATE FUNCTION nodes_revision() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
DECLARE
  rev bigint;
BEGIN
  IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND (OLD.org_id, OLD.name) IS DISTINCT FROM (NEW.org_id, NEW.name)) THEN
    -- No tombstone while the org itself is being deleted (its rows go with it).
    IF EXISTS (SELECT 1 FROM orgs WHERE guid = OLD.org_id) THEN
      UPDATE node_revisions SET revision = revision + 1 WHERE org_id = OLD.org_id RETURNING revision INTO rev;
      IF FOUND THEN
        INSERT INTO node_tombstones (org_id, name, revision) VALUES (OLD.org_id, OLD.name, rev)
          ON CONFLICT (org_id, name) DO UPDATE SET revision = excluded.revision;
      END IF;
    END IF;
  END IF;
  IF TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  INSERT INTO node_revisions (org_id, revision) VALUES (NEW.org_id, 1)
    ON CONFLICT (org_id) DO UPDATE SET revision = node_revisions.revision + 1
    RETURNING revision INTO rev;
  NEW.revision := rev;
  IF TG_OP = 'INSERT' OR (OLD.org_id, OLD.name) IS DISTINCT FROM (NEW.org_id, NEW.name) THEN
    DELETE FROM node_tombstones WHERE org_id = NEW.org_id AND name = NEW.name;
  END IF;
  RETURN NEW;
END
$fn$;
CREATE TRIGGER nodes_revision_write BEFORE INSERT OR UPDATE ON nodes
  FOR EACH ROW EXECUTE FUNCTION nodes_revision();
CREATE TRIGGER nodes_revision_delete AFTER DELETE ON nodes
  FOR EACH ROW EXECUTE FUNCTION nodes_revision();
`;

/**
 * Version 5: live output. `job_output_chunks` keeps each chunk of a node's output the server
 * took while the job ran (`seq` from the agent, unique per job and node, so a repeat is stored
 * once), so `GET .../output/NODE/CHANNEL` can answer before the node's final message; `truncated`
 * marks the chunk at which the node reached the job's cap.
 */
const SQLITE_V5 = `
CREATE TABLE job_output_chunks (
  job_id TEXT NOT NULL REFERENCES jobs (id) ON UPDATE CASCADE ON DELETE CASCADE,
  node_name TEXT NOT NULL,
  seq INTEGER NOT NULL CHECK (seq >= 0),
  channel INTEGER NOT NULL CHECK (channel IN (1, 2)),
  data BLOB NOT NULL,
  truncated INTEGER NOT NULL DEFAULT 0 CHECK (truncated IN (0, 1)),
  UNIQUE (job_id, node_name, seq)
);
`;

const POSTGRES_V5 = `
CREATE TABLE job_output_chunks (
  job_id char(32) NOT NULL REFERENCES jobs (id) ON UPDATE CASCADE ON DELETE CASCADE,
  node_name text COLLATE "C" NOT NULL,
  seq integer NOT NULL CHECK (seq >= 0),
  channel smallint NOT NULL CHECK (channel IN (1, 2)),
  data bytea NOT NULL,
  truncated boolean NOT NULL DEFAULT false,
  UNIQUE (job_id, node_name, seq)
);
`;

/**
 * Version 6: cluster mode (several servers on one PostgreSQL; see `server/src/cluster/`).
 * `cluster_instances` holds each running instance with its lease; `cluster_nodes` which instance
 * holds each connected node (written in batches by that instance); `cluster_messages` batches of
 * relayed job traffic addressed to one instance (consumed by it); `cluster_feed` batches of feed
 * events every other instance replays. Cluster mode needs PostgreSQL: SQLite gets no tables.
 */
const SQLITE_V6 = `
-- cluster mode needs PostgreSQL
SELECT 1;
`;

const POSTGRES_V6 = `
CREATE TABLE cluster_instances (
  id uuid PRIMARY KEY,
  name text COLLATE "C" NOT NULL,
  server_id text NOT NULL,
  api_port integer NOT NULL,
  command_endpoint text NOT NULL,
  heartbeat_endpoint text NOT NULL,
  host text NOT NULL,
  pid integer NOT NULL,
  state text NOT NULL CHECK (state IN ('active', 'draining', 'expired', 'gone')),
  started_at timestamptz NOT NULL,
  lease_until timestamptz NOT NULL,
  node_count integer NOT NULL DEFAULT 0,
  job_count integer NOT NULL DEFAULT 0,
  ended_at timestamptz,
  ended_by uuid
);
CREATE INDEX cluster_instances_name ON cluster_instances (name);
CREATE INDEX cluster_instances_state ON cluster_instances (state, lease_until);
CREATE TABLE cluster_nodes (
  org_name text COLLATE "C" NOT NULL,
  node_name text COLLATE "C" NOT NULL,
  instance_id uuid NOT NULL,
  incarnation text NOT NULL,
  state text NOT NULL,
  job_id text,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (org_name, node_name)
);
CREATE INDEX cluster_nodes_instance ON cluster_nodes (instance_id);
CREATE TABLE cluster_messages (
  id bigserial PRIMARY KEY,
  to_instance uuid NOT NULL,
  from_instance uuid NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  items jsonb NOT NULL
);
CREATE INDEX cluster_messages_to ON cluster_messages (to_instance, id);
CREATE TABLE cluster_feed (
  id bigserial PRIMARY KEY,
  from_instance uuid NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  events jsonb NOT NULL
);
CREATE INDEX cluster_feed_created ON cluster_feed (created_at);
`;

/** Every migration, in order. */
export const MIGRATIONS: readonly Migration[] = Object.freeze([
  { version: 1, name: 'initial schema', sqlite: SQLITE_V1, postgres: POSTGRES_V1 },
  { version: 2, name: 'job owner, output as bytes', sqlite: SQLITE_V2, postgres: POSTGRES_V2 },
  { version: 3, name: 'job search, rollouts, node results', sqlite: SQLITE_V3, postgres: POSTGRES_V3 },
  { version: 4, name: 'node revisions for search', sqlite: SQLITE_V4, postgres: POSTGRES_V4 },
  { version: 5, name: 'live output chunks', sqlite: SQLITE_V5, postgres: POSTGRES_V5 },
  { version: 6, name: 'cluster mode', sqlite: SQLITE_V6, postgres: POSTGRES_V6 },
]);

/** The schema version once every migration is applied. */
export const LATEST_VERSION: number = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

/** The migrations not yet applied, in order. */
export function pendingMigrations(applied: Iterable<number>): Migration[] {
  const done = new Set(applied);
  return [...MIGRATIONS].sort((a, b) => a.version - b.version).filter((m) => !done.has(m.version));
}

/** Creates the migration log (the same DDL in both dialects). */
export const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version integer PRIMARY KEY,
  name text NOT NULL,
  applied_at text NOT NULL
)`;

/** Records one applied migration (`?` placeholders: version, name, ISO timestamp). */
export const RECORD_MIGRATION = 'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)';

/** The versions already applied. */
export const SELECT_APPLIED = 'SELECT version FROM schema_migrations ORDER BY version';
