-- PostgreSQL roles for parity (run once per database, as the database owner or a superuser;
-- safe to run again). On RDS/Aurora run it as the master user: it is not a superuser, but it has
-- CREATEROLE and owns the application's tables, which is all this script needs. docs/operations.md "PostgreSQL roles" shows how to create the login users.
--
--   parity_checker  the consumer, the KCL processor and the reconciler: SELECT on the mapped tables,
--                   nothing else on them; creates and writes the parity store schema.
--   parity_replay   `parity replay --apply` only: INSERT/UPDATE/DELETE (and SELECT) on the mapped
--                   tables, and writes (never creates) the parity store's tables.
--
-- Both are NOLOGIN group roles; give each job its own LOGIN user in one of them, e.g.
--   CREATE ROLE parity_consumer LOGIN PASSWORD '...' IN ROLE parity_checker;
--   ALTER ROLE parity_consumer SET role = 'parity_checker';   -- store tables end up owned by the group
--
-- Edit the two settings below: the store schema ([postgres].store_schema, default parity) and the
-- mapped tables (every [[entity]].table of your parity config, schema-qualified, comma-separated).
-- The defaults are the example app's (parity/local/example.toml).
SET parity.store_schema = 'parity';
SET parity.mapped_tables = 'public.sessions,public.campaigns';

DO $roles$
DECLARE
    store  text := current_setting('parity.store_schema');
    tables text[] := string_to_array(replace(current_setting('parity.mapped_tables'), ' ', ''), ',');
    t      text;
    rel    regclass;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'parity_checker') THEN
        CREATE ROLE parity_checker NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'parity_replay') THEN
        CREATE ROLE parity_replay NOLOGIN;
    END IF;

    -- CREATE SCHEMA ... AUTHORIZATION and ALTER DEFAULT PRIVILEGES FOR ROLE below act as the group
    -- role, which a non-superuser may do only as a member allowed to SET ROLE to it. A CREATEROLE
    -- user (the RDS master user) gets only ADMIN on the roles it creates (PostgreSQL 16+), and no
    -- membership at all before 16: grant the membership, without inheriting the roles' rights.
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        IF current_setting('server_version_num')::int >= 160000 THEN
            EXECUTE format('GRANT parity_checker, parity_replay TO %I WITH INHERIT FALSE, SET TRUE', current_user);
        ELSIF NOT pg_has_role(current_user, 'parity_checker', 'MEMBER')
              OR NOT pg_has_role(current_user, 'parity_replay', 'MEMBER') THEN
            EXECUTE format('GRANT parity_checker, parity_replay TO %I', current_user);
        END IF;
    END IF;

    EXECUTE format('GRANT CONNECT ON DATABASE %I TO parity_checker, parity_replay', current_database());

    -- The store schema: created here, owned by parity_checker (whose jobs run the migrations), and
    -- written by both roles. Tables the checker creates later are granted to replay by default.
    EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION parity_checker', store);
    IF (SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = store) <> 'parity_checker' THEN
        EXECUTE format('ALTER SCHEMA %I OWNER TO parity_checker', store);
    END IF;
    -- The store's grants are the checker's to give (it owns the schema and the tables in it): act as it.
    SET LOCAL ROLE parity_checker;
    -- Usage only: the store's tables are made by its owner (parity runs every migration as
    -- parity_checker, and refuses a replay job that starts first on a fresh store).
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO parity_replay', store);
    EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM parity_replay', store);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO parity_checker, parity_replay', store);
    EXECUTE format('GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA %I TO parity_checker, parity_replay', store);
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE parity_checker IN SCHEMA %I'
                   ' GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO parity_replay', store);
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE parity_checker IN SCHEMA %I'
                   ' GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO parity_replay', store);
    RESET ROLE;

    -- The mapped tables: read-only for the checkers, read-write (no DDL, no TRUNCATE) for replay.
    FOREACH t IN ARRAY tables LOOP
        rel := to_regclass(t);
        IF rel IS NULL THEN
            RAISE EXCEPTION 'parity roles: mapped table % does not exist', t
                USING HINT = 'set parity.mapped_tables at the top of deploy/postgres-roles.sql to your [[entity]] tables';
        END IF;
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO parity_checker, parity_replay',
                       (SELECT nspname FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid WHERE c.oid = rel));
        EXECUTE format('REVOKE ALL ON %s FROM parity_checker', rel);
        EXECUTE format('GRANT SELECT ON %s TO parity_checker', rel);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO parity_replay', rel);
    END LOOP;
END
$roles$;

RESET parity.store_schema;
RESET parity.mapped_tables;
