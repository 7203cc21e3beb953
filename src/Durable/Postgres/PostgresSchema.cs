using Microsoft.Extensions.Logging;
using Npgsql;

namespace Fleet.Durable.Postgres;

/// <summary>
/// The store's tables and functions, created and migrated at start-up. Migrations are numbered; each runs once, in
/// order, in one transaction holding a transaction-level advisory lock, so hosts starting at the same time apply each
/// migration exactly once and wait for each other. A database whose schema is newer than this runtime is refused.
/// <para>
/// Every key starts with the hub. Times are UTC ticks supplied by the backend's <see cref="TimeProvider"/> (never the
/// database clock); statuses are <see cref="Storage.InstanceStatus"/> values. Hub and instance IDs use the
/// "C" collation: ordering is by code point whatever the database's locale, and every comparison (including those
/// inside the functions, whose parameters take the collation of their arguments) can use the indexes.
/// </para>
/// </summary>
internal static partial class PostgresSchema
{
    /// <summary>The schema version this runtime writes.</summary>
    public const int Version = 3;

    /// <summary>Statuses that accept messages: Running, Pending, Suspended.</summary>
    public const string LiveStatuses = "(0, 6, 7)";

    /// <summary>
    /// The scan settings of the store's functions, for its own sessions: every statement the store sends is a key
    /// lookup or an ordered index scan, and must stay one whatever statistics the planner last saw.
    /// </summary>
    public const string SessionSettings = "SET enable_seqscan = off; SET enable_bitmapscan = off";

    /// <summary>The advisory-lock sub-key of the migration lock; host liveness locks use sub-keys from 1.</summary>
    public const int MigrationLockKey = 0;

    // Migration n (index n - 1). Placeholder {s} is the quoted schema name.
    private static readonly string[] Migrations =
    [
        """
        CREATE SEQUENCE {s}.dt_owner_seq AS integer MINVALUE 1 MAXVALUE 2147483647 CYCLE;

        CREATE TABLE {s}.dt_instances (
            hub text COLLATE "C" NOT NULL,
            instance_id text COLLATE "C" NOT NULL,
            execution_id text NOT NULL,
            name text NOT NULL,
            version text,
            status smallint NOT NULL,
            created_at bigint NOT NULL,
            last_updated_at bigint NOT NULL,
            completed_at bigint,
            scheduled_start_at bigint,
            input text,
            output text,
            custom_status text,
            failure text,
            parent_instance_id text COLLATE "C",
            history_count integer NOT NULL,
            next_message_at bigint,
            locked_until bigint,
            lock_owner integer,
            lock_token bigint,
            affinity integer,
            PRIMARY KEY (instance_id, hub)
        ) WITH (fillfactor = 80);
        -- No index starts with hub. Before ANALYZE has run the planner guesses that "hub = $1" picks 0.5 % of the
        -- rows, while a database usually holds one hub; an index led by hub then looks selective and a plan cached
        -- while the tables were new scanned a whole hub for every lookup. Led by the selective column, every plan
        -- is right from the first row. Hubs sharing a schema are told apart by filtering.
        CREATE INDEX dt_instances_created ON {s}.dt_instances (created_at, instance_id);
        CREATE INDEX dt_instances_status ON {s}.dt_instances (status, created_at, instance_id);
        CREATE INDEX dt_instances_parent ON {s}.dt_instances (parent_instance_id) WHERE parent_instance_id IS NOT NULL;
        CREATE INDEX dt_instances_ready ON {s}.dt_instances (next_message_at) WHERE next_message_at IS NOT NULL;

        CREATE TABLE {s}.dt_history (
            hub text COLLATE "C" NOT NULL,
            instance_id text COLLATE "C" NOT NULL,
            seq integer NOT NULL,
            data text NOT NULL,
            PRIMARY KEY (instance_id, hub, seq)
        );

        CREATE TABLE {s}.dt_messages (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            hub text COLLATE "C" NOT NULL,
            instance_id text COLLATE "C" NOT NULL,
            execution_id text,
            visible_at bigint NOT NULL,
            attempts integer NOT NULL DEFAULT 0,
            data text NOT NULL
        );
        CREATE INDEX dt_messages_instance ON {s}.dt_messages (instance_id, hub, id) INCLUDE (visible_at);

        CREATE TABLE {s}.dt_activities (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            hub text COLLATE "C" NOT NULL,
            instance_id text COLLATE "C" NOT NULL,
            execution_id text NOT NULL,
            task_id integer NOT NULL,
            name text NOT NULL,
            input text,
            attempts integer NOT NULL DEFAULT 0,
            visible_at bigint NOT NULL,
            lock_owner integer,
            lock_token bigint,
            affinity integer
        ) WITH (fillfactor = 80);
        CREATE INDEX dt_activities_ready ON {s}.dt_activities (visible_at, id);
        CREATE INDEX dt_activities_instance ON {s}.dt_activities (instance_id);

        -- Keys of messages enqueued from outside an episode (events, terminate, suspend, resume): a retry after a
        -- connection lost during the commit finds its key and does not enqueue the message twice.
        CREATE TABLE {s}.dt_message_keys (
            hub text COLLATE "C" NOT NULL,
            key uuid NOT NULL,
            created_at bigint NOT NULL,
            enqueued boolean NOT NULL,
            PRIMARY KEY (key, hub)
        );
        CREATE INDEX dt_message_keys_created ON {s}.dt_message_keys (created_at);

        -- Adds a message for an instance and moves its next_message_at. Messages for another instance go only to a
        -- live one (and to the given execution); messages for the committing instance itself always go.
        CREATE FUNCTION {s}.dt_enqueue(p_hub text, p_id text, p_exec text, p_visible bigint, p_data text, p_only_if_running boolean)
        RETURNS boolean LANGUAGE plpgsql AS $fn$
        BEGIN
            UPDATE {s}.dt_instances SET next_message_at = LEAST(COALESCE(next_message_at, p_visible), p_visible)
            WHERE hub = p_hub AND instance_id = p_id
              AND (NOT p_only_if_running OR (status IN (0, 6, 7) AND (p_exec IS NULL OR execution_id = p_exec)));
            IF NOT FOUND THEN
                RETURN false;
            END IF;
            INSERT INTO {s}.dt_messages (hub, instance_id, execution_id, visible_at, data) VALUES (p_hub, p_id, p_exec, p_visible, p_data);
            RETURN true;
        END $fn$;

        -- The functions the runtime calls run with sequential and bitmap scans disabled. Their statements are key
        -- lookups and ordered index scans, and their plans are cached per connection. The queue tables are often empty
        -- when (auto)vacuum analyzes them; a plan made from those statistics scanned the whole table for every lookup
        -- once the queue filled again (4x slower in the benchmark) and stayed cached until the next analyze.

        -- Enqueues a message from outside an episode for a live instance, once per key: a repeated call returns the
        -- first call's result.
        CREATE FUNCTION {s}.dt_enqueue_external(p_hub text, p_key uuid, p_now bigint, p_id text, p_visible bigint, p_data text)
        RETURNS boolean LANGUAGE plpgsql SET enable_seqscan = off SET enable_bitmapscan = off AS $fn$
        DECLARE
            v_enqueued boolean;
        BEGIN
            SELECT enqueued INTO v_enqueued FROM {s}.dt_message_keys WHERE hub = p_hub AND key = p_key;
            IF FOUND THEN
                RETURN v_enqueued;
            END IF;
            v_enqueued := {s}.dt_enqueue(p_hub, p_id, NULL, p_visible, p_data, true);
            INSERT INTO {s}.dt_message_keys (hub, key, created_at, enqueued) VALUES (p_hub, p_key, p_now, v_enqueued);
            RETURN v_enqueued;
        END $fn$;

        -- Creates an instance with its start message, or replaces a finished one. Returns -1 when created (or when a
        -- retried call finds its own execution already there), else the status of the unfinished instance that blocks it.
        CREATE FUNCTION {s}.dt_create_instance(p_hub text, p_id text, p_exec text, p_name text, p_version text, p_input text,
            p_created bigint, p_scheduled bigint, p_visible bigint, p_message text, p_parent text)
        RETURNS integer LANGUAGE plpgsql SET enable_seqscan = off SET enable_bitmapscan = off AS $fn$
        DECLARE
            v_status smallint;
            v_exec text;
        BEGIN
            SELECT status, execution_id INTO v_status, v_exec FROM {s}.dt_instances WHERE hub = p_hub AND instance_id = p_id FOR UPDATE;
            IF FOUND THEN
                IF v_exec = p_exec THEN
                    RETURN -1;
                END IF;
                IF v_status IN (0, 6, 7) THEN
                    RETURN v_status;
                END IF;
                DELETE FROM {s}.dt_history WHERE hub = p_hub AND instance_id = p_id;
                DELETE FROM {s}.dt_messages WHERE hub = p_hub AND instance_id = p_id;
                DELETE FROM {s}.dt_activities WHERE hub = p_hub AND instance_id = p_id;
                UPDATE {s}.dt_instances SET execution_id = p_exec, name = p_name, version = p_version, status = 6,
                    created_at = p_created, last_updated_at = p_created, completed_at = NULL, scheduled_start_at = p_scheduled,
                    input = p_input, output = NULL, custom_status = NULL, failure = NULL, parent_instance_id = p_parent,
                    history_count = 0, next_message_at = p_visible, locked_until = NULL, lock_owner = NULL, lock_token = NULL
                WHERE hub = p_hub AND instance_id = p_id;
            ELSE
                INSERT INTO {s}.dt_instances (hub, instance_id, execution_id, name, version, status, created_at, last_updated_at,
                    scheduled_start_at, input, parent_instance_id, history_count, next_message_at)
                VALUES (p_hub, p_id, p_exec, p_name, p_version, 6, p_created, p_created, p_scheduled, p_input, p_parent, 0, p_visible)
                ON CONFLICT (instance_id, hub) DO NOTHING;
                IF NOT FOUND THEN
                    -- Created by a concurrent transaction meanwhile.
                    SELECT status, execution_id INTO v_status, v_exec FROM {s}.dt_instances WHERE hub = p_hub AND instance_id = p_id;
                    RETURN CASE WHEN v_exec = p_exec THEN -1 ELSE v_status END;
                END IF;
            END IF;
            INSERT INTO {s}.dt_messages (hub, instance_id, execution_id, visible_at, data) VALUES (p_hub, p_id, p_exec, p_visible, p_message);
            RETURN -1;
        END $fn$;

        -- Commits an episode in one call. Returns next_at -1 (writing nothing) when the version check fails; else the
        -- instance's next message time after the commit (0 when it has none). The lock is released only if this
        -- caller still holds it, or kept (kept = true, until p_keep_until) when messages are already waiting and the
        -- caller asked for that: the visible messages come back with the result and the caller runs the next episode
        -- at once, with its executor still cached.
        CREATE FUNCTION {s}.dt_commit_episode(
            p_hub text, p_id text, p_token bigint, p_now bigint,
            p_update boolean, p_exp_exec text, p_exp_count integer,
            p_status smallint, p_new_exec text, p_new_count integer, p_updated bigint, p_completed bigint,
            p_output text, p_failure text, p_cs_set boolean, p_cs text, p_in_set boolean, p_input text,
            p_replace_history boolean, p_history text[], p_consumed bigint[],
            p_act_task integer[], p_act_name text[], p_act_input text[],
            p_msg_target text[], p_msg_exec text[], p_msg_data text[], p_msg_visible bigint[], p_msg_only_running boolean[],
            p_sub_id text[], p_sub_exec text[], p_sub_name text[], p_sub_version text[], p_sub_input text[],
            p_sub_created bigint[], p_sub_visible bigint[], p_sub_message text[], p_sub_conflict text[],
            p_children_message text, p_keep_until bigint)
        RETURNS TABLE (next_at bigint, kept boolean, msg_ids bigint[], msg_execs text[], msg_data text[], msg_attempts integer[])
        LANGUAGE plpgsql SET enable_seqscan = off SET enable_bitmapscan = off AS $fn$
        DECLARE
            v_i integer;
            v_first integer;
            v_next bigint;
            v_keep boolean;
            v_child text;
        BEGIN
            IF p_update THEN
                PERFORM 1 FROM {s}.dt_instances
                WHERE hub = p_hub AND instance_id = p_id AND execution_id = p_exp_exec AND history_count = p_exp_count
                FOR UPDATE;
                IF NOT FOUND THEN
                    next_at := -1;
                    kept := false;
                    RETURN NEXT;
                    RETURN;
                END IF;
                IF p_replace_history THEN
                    DELETE FROM {s}.dt_history WHERE hub = p_hub AND instance_id = p_id;
                    v_first := 0;
                ELSE
                    v_first := p_exp_count;
                END IF;
                INSERT INTO {s}.dt_history (hub, instance_id, seq, data)
                SELECT p_hub, p_id, v_first + h.ordinal - 1, h.event FROM unnest(p_history) WITH ORDINALITY AS h(event, ordinal);
            END IF;

            DELETE FROM {s}.dt_messages WHERE id = ANY(p_consumed) AND hub = p_hub AND instance_id = p_id;

            -- Work is attributed to the execution that produced it, even when the episode continued as new.
            INSERT INTO {s}.dt_activities (hub, instance_id, execution_id, task_id, name, input, visible_at, affinity)
            SELECT p_hub, p_id, p_exp_exec, a.task_id, a.task_name, a.task_input, p_now, (p_token >> 32)::integer
            FROM unnest(p_act_task, p_act_name, p_act_input) AS a(task_id, task_name, task_input);

            FOR v_i IN 1 .. COALESCE(array_length(p_sub_id, 1), 0) LOOP
                IF {s}.dt_create_instance(p_hub, p_sub_id[v_i], p_sub_exec[v_i], p_sub_name[v_i], p_sub_version[v_i], p_sub_input[v_i],
                        p_sub_created[v_i], NULL, p_sub_visible[v_i], p_sub_message[v_i], p_id) >= 0 THEN
                    INSERT INTO {s}.dt_messages (hub, instance_id, execution_id, visible_at, data)
                    VALUES (p_hub, p_id, p_exp_exec, p_now, p_sub_conflict[v_i]);
                END IF;
            END LOOP;

            FOR v_i IN 1 .. COALESCE(array_length(p_msg_target, 1), 0) LOOP
                IF p_msg_target[v_i] = p_id AND NOT p_msg_only_running[v_i] THEN
                    -- For this instance itself (timers, the next execution's start): next_message_at is set below.
                    INSERT INTO {s}.dt_messages (hub, instance_id, execution_id, visible_at, data)
                    VALUES (p_hub, p_id, p_msg_exec[v_i], p_msg_visible[v_i], p_msg_data[v_i]);
                ELSE
                    PERFORM {s}.dt_enqueue(p_hub, p_msg_target[v_i], p_msg_exec[v_i], p_msg_visible[v_i], p_msg_data[v_i], p_msg_only_running[v_i]);
                END IF;
            END LOOP;

            IF p_children_message IS NOT NULL THEN
                FOR v_child IN
                    SELECT instance_id FROM {s}.dt_instances
                    WHERE hub = p_hub AND parent_instance_id = p_id AND status IN (0, 6, 7)
                    ORDER BY instance_id
                LOOP
                    PERFORM {s}.dt_enqueue(p_hub, v_child, NULL, p_now, p_children_message, false);
                END LOOP;
            END IF;

            IF p_update THEN
                v_next := (SELECT min(m.visible_at) FROM {s}.dt_messages m WHERE m.hub = p_hub AND m.instance_id = p_id);
                IF p_keep_until IS NULL OR v_next IS NULL OR v_next > p_now THEN
                    v_keep := false;
                ELSE
                    v_keep := true;
                END IF;
                UPDATE {s}.dt_instances SET status = p_status, execution_id = p_new_exec, history_count = p_new_count,
                    last_updated_at = p_updated, completed_at = p_completed, output = p_output, failure = p_failure,
                    custom_status = CASE WHEN p_cs_set THEN p_cs ELSE custom_status END,
                    input = CASE WHEN p_in_set THEN p_input ELSE input END,
                    next_message_at = v_next,
                    affinity = (p_token >> 32)::integer,
                    locked_until = CASE WHEN lock_token IS DISTINCT FROM p_token THEN locked_until WHEN v_keep THEN p_keep_until ELSE NULL END,
                    lock_owner = CASE WHEN lock_token = p_token AND NOT v_keep THEN NULL ELSE lock_owner END,
                    lock_token = CASE WHEN lock_token = p_token AND NOT v_keep THEN NULL ELSE lock_token END
                WHERE hub = p_hub AND instance_id = p_id
                RETURNING next_message_at, lock_token IS NOT DISTINCT FROM p_token INTO v_next, kept;
            ELSE
                UPDATE {s}.dt_instances SET
                    next_message_at = (SELECT min(m.visible_at) FROM {s}.dt_messages m WHERE m.hub = p_hub AND m.instance_id = p_id),
                    locked_until = CASE WHEN lock_token = p_token THEN NULL ELSE locked_until END,
                    lock_owner = CASE WHEN lock_token = p_token THEN NULL ELSE lock_owner END,
                    lock_token = CASE WHEN lock_token = p_token THEN NULL ELSE lock_token END
                WHERE hub = p_hub AND instance_id = p_id
                RETURNING next_message_at INTO v_next;
                kept := false;
            END IF;
            next_at := COALESCE(v_next, 0);
            kept := COALESCE(kept, false);
            IF kept THEN
                SELECT array_agg(m.id ORDER BY m.id), array_agg(m.execution_id ORDER BY m.id), array_agg(m.data ORDER BY m.id),
                    array_agg(m.attempts ORDER BY m.id)
                INTO msg_ids, msg_execs, msg_data, msg_attempts
                FROM (SELECT id, execution_id, data, attempts FROM {s}.dt_messages
                      WHERE hub = p_hub AND instance_id = p_id AND visible_at <= p_now ORDER BY id LIMIT 5000) m;
            END IF;
            RETURN NEXT;
        END $fn$;

        -- Locks instance rows in the given order (the caller sorts them), one key lookup each, so that write batches of
        -- competing hosts wait for each other instead of deadlocking.
        CREATE FUNCTION {s}.dt_lock_rows(p_hub text, p_ids text[])
        RETURNS void LANGUAGE plpgsql SET enable_seqscan = off SET enable_bitmapscan = off AS $fn$
        DECLARE
            v_id text;
        BEGIN
            FOREACH v_id IN ARRAY p_ids LOOP
                PERFORM 1 FROM {s}.dt_instances WHERE instance_id = v_id AND hub = p_hub FOR UPDATE;
            END LOOP;
        END $fn$;

        -- Locks up to p_limit instances with visible messages (oldest first, skipping rows other hosts hold) for the
        -- caller and returns each with its visible messages. Instances this host ran last, that no host ran yet, whose
        -- last host is not among the live ones (p_alive), or that have waited since p_overdue come first, so executors
        -- stay cached where they are; instances another live host ran last are taken only when there are none of
        -- those (an idle host helps a busy one), and never wait long for a host that is slow. An instance whose
        -- previous lock was never released (its host died or let it expire) gets an attempt counted on those messages.
        -- p_token also selects rows this caller locked in an earlier attempt whose reply was lost. Rows are updated by
        -- key, so the plan does not depend on table statistics.
        CREATE FUNCTION {s}.dt_lock_ready(p_hub text, p_now bigint, p_limit integer, p_until bigint, p_owner integer, p_token bigint,
            p_alive integer[], p_overdue bigint)
        RETURNS TABLE (instance_id text, reclaimed boolean, execution_id text, history_count integer,
            msg_id bigint, msg_execution_id text, msg_data text, msg_attempts integer)
        LANGUAGE plpgsql SET enable_seqscan = off SET enable_bitmapscan = off AS $fn$
        #variable_conflict use_column
        DECLARE
            v_ids text[] := ARRAY[]::text[];
            v_reclaimed text[] := ARRAY[]::text[];
            v_new text[];
            v_new_reclaimed text[];
            v_phase integer;
        BEGIN
            -- A lock is safe to lose in a server crash (the work is claimed again; every commit checks the version), so
            -- this transaction does not wait for its WAL flush: claims cost no fsync, which bounds throughput with fsync on.
            PERFORM set_config('synchronous_commit', 'off', true);
            FOR v_phase IN 1 .. 2 LOOP
                -- Another live host's instances are taken only when this host found none of its own: work is stolen by
                -- hosts that would otherwise idle, not moved between busy hosts (which costs a history reload).
                EXIT WHEN cardinality(v_ids) >= p_limit OR (v_phase = 2 AND cardinality(v_ids) > 0);
                SELECT COALESCE(array_agg(c.id ORDER BY c.next_at), ARRAY[]::text[]),
                       COALESCE(array_agg(c.id) FILTER (WHERE c.was_locked), ARRAY[]::text[])
                INTO v_new, v_new_reclaimed
                FROM (
                    SELECT i.instance_id AS id, i.next_message_at AS next_at,
                        i.lock_owner IS NOT NULL AND i.lock_token IS DISTINCT FROM p_token AS was_locked
                    FROM {s}.dt_instances i
                    WHERE i.hub = p_hub AND i.next_message_at <= p_now
                      AND (i.locked_until IS NULL OR i.locked_until <= p_now OR i.lock_token = p_token)
                      AND (v_phase = 2 OR i.affinity IS NULL OR i.affinity = p_owner OR i.affinity <> ALL(p_alive) OR i.next_message_at <= p_overdue)
                      AND i.instance_id <> ALL(v_ids)
                    ORDER BY i.next_message_at LIMIT p_limit - cardinality(v_ids)
                    FOR UPDATE SKIP LOCKED) c;
                v_ids := v_ids || v_new;
                v_reclaimed := v_reclaimed || v_new_reclaimed;
            END LOOP;
            IF cardinality(v_ids) = 0 THEN
                RETURN;
            END IF;
            IF cardinality(v_reclaimed) > 0 THEN
                UPDATE {s}.dt_messages m SET attempts = m.attempts + 1
                WHERE m.instance_id = ANY(v_reclaimed) AND m.hub = p_hub AND m.visible_at <= p_now;
            END IF;
            -- One statement for the whole batch: lock each row by key and return it with its visible messages, oldest
            -- instance first (the caller groups the rows by instance).
            RETURN QUERY
                WITH u AS (
                    UPDATE {s}.dt_instances i SET locked_until = p_until, lock_owner = p_owner, lock_token = p_token
                    WHERE i.instance_id = ANY(v_ids) AND i.hub = p_hub
                    RETURNING i.instance_id, i.execution_id, i.history_count)
                SELECT u.instance_id, u.instance_id = ANY(v_reclaimed), u.execution_id, u.history_count,
                    m.id, m.execution_id, m.data, m.attempts
                FROM u LEFT JOIN LATERAL (
                    SELECT m.id, m.execution_id, m.data, m.attempts FROM {s}.dt_messages m
                    WHERE m.instance_id = u.instance_id AND m.hub = p_hub AND m.visible_at <= p_now
                    ORDER BY m.id LIMIT 5000) m ON true
                ORDER BY array_position(v_ids, u.instance_id), m.id;
        END $fn$;

        -- Locks up to p_limit visible activities (oldest first, skipping rows other hosts hold) for the caller, with an
        -- attempt counted on those whose previous lock was never released. Activities scheduled by this host (or by
        -- one that is not live, or waiting since p_overdue) come first: their results then reach an executor cached
        -- here. Others are taken only when there are none of those. On a retry after a lost reply (p_retry) the rows
        -- this caller already locked with p_token come back too.
        CREATE FUNCTION {s}.dt_lock_activities(p_hub text, p_now bigint, p_limit integer, p_until bigint, p_owner integer,
            p_token bigint, p_alive integer[], p_overdue bigint, p_retry boolean)
        RETURNS TABLE (id bigint, instance_id text, execution_id text, task_id integer, name text, input text, attempts integer)
        LANGUAGE plpgsql SET enable_seqscan = off SET enable_bitmapscan = off AS $fn$
        #variable_conflict use_column
        DECLARE
            v_ids bigint[] := ARRAY[]::bigint[];
        BEGIN
            -- A lock is safe to lose in a server crash (the work is claimed again; every commit checks the version), so
            -- this transaction does not wait for its WAL flush: claims cost no fsync, which bounds throughput with fsync on.
            PERFORM set_config('synchronous_commit', 'off', true);
            IF p_retry THEN
                v_ids := ARRAY(SELECT a.id FROM {s}.dt_activities a WHERE a.hub = p_hub AND a.lock_token = p_token);
            END IF;
            IF cardinality(v_ids) < p_limit THEN
                v_ids := v_ids || ARRAY(
                    SELECT a.id FROM {s}.dt_activities a
                    WHERE a.hub = p_hub AND a.visible_at <= p_now
                      AND (a.affinity IS NULL OR a.affinity = p_owner OR a.affinity <> ALL(p_alive) OR a.visible_at <= p_overdue)
                    ORDER BY a.visible_at, a.id LIMIT p_limit - cardinality(v_ids)
                    FOR UPDATE SKIP LOCKED);
            END IF;
            IF cardinality(v_ids) = 0 THEN
                v_ids := ARRAY(
                    SELECT a.id FROM {s}.dt_activities a
                    WHERE a.hub = p_hub AND a.visible_at <= p_now
                    ORDER BY a.visible_at, a.id LIMIT p_limit
                    FOR UPDATE SKIP LOCKED);
            END IF;
            RETURN QUERY
                UPDATE {s}.dt_activities a SET visible_at = p_until, lock_owner = p_owner, lock_token = p_token,
                    attempts = a.attempts + CASE WHEN a.lock_token IS NOT NULL AND a.lock_token <> p_token THEN 1 ELSE 0 END
                WHERE a.id = ANY(v_ids)
                RETURNING a.id, a.instance_id, a.execution_id, a.task_id, a.name, a.input, a.attempts;
        END $fn$;

        -- Deletes the activity row and, if it still existed, delivers the result to the same live execution.
        CREATE FUNCTION {s}.dt_complete_activity(p_hub text, p_activity bigint, p_id text, p_exec text, p_data text, p_now bigint)
        RETURNS boolean LANGUAGE plpgsql SET enable_seqscan = off SET enable_bitmapscan = off AS $fn$
        BEGIN
            DELETE FROM {s}.dt_activities WHERE id = p_activity AND hub = p_hub;
            IF NOT FOUND THEN
                RETURN false;
            END IF;
            RETURN {s}.dt_enqueue(p_hub, p_id, p_exec, p_now, p_data, true);
        END $fn$;

        -- Releases an instance lock this caller holds; its messages stay hidden until p_ready. Counts an attempt on
        -- them when asked. Returns false when the lock was no longer held (nothing changes).
        CREATE FUNCTION {s}.dt_abandon_instance(p_hub text, p_id text, p_token bigint, p_ids bigint[], p_count boolean, p_ready bigint)
        RETURNS boolean LANGUAGE plpgsql SET enable_seqscan = off SET enable_bitmapscan = off AS $fn$
        BEGIN
            UPDATE {s}.dt_instances SET locked_until = p_ready, lock_owner = NULL, lock_token = NULL
            WHERE hub = p_hub AND instance_id = p_id AND lock_token = p_token;
            IF NOT FOUND THEN
                RETURN false;
            END IF;
            IF p_count THEN
                UPDATE {s}.dt_messages SET attempts = attempts + 1 WHERE id = ANY(p_ids) AND hub = p_hub AND instance_id = p_id;
            END IF;
            RETURN true;
        END $fn$;

        -- Deletes a finished instance (with its finished descendants when recursive): returns the IDs deleted, none
        -- when the root is missing or unfinished.
        CREATE FUNCTION {s}.dt_purge(p_hub text, p_root text, p_recursive boolean)
        RETURNS text[] LANGUAGE plpgsql SET enable_seqscan = off SET enable_bitmapscan = off AS $fn$
        DECLARE
            v_ids text[];
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM {s}.dt_instances WHERE hub = p_hub AND instance_id = p_root AND status IN (1, 3, 4, 5)) THEN
                RETURN ARRAY[]::text[];
            END IF;
            IF p_recursive THEN
                WITH RECURSIVE tree(id) AS (
                    SELECT p_root::text COLLATE "C"
                    UNION
                    SELECT i.instance_id FROM {s}.dt_instances i JOIN tree t ON i.hub = p_hub AND i.parent_instance_id = t.id)
                SELECT array_agg(i.instance_id ORDER BY i.instance_id) INTO v_ids
                FROM tree JOIN {s}.dt_instances i ON i.hub = p_hub AND i.instance_id = tree.id
                WHERE i.status IN (1, 3, 4, 5);
            ELSE
                v_ids := ARRAY[p_root];
            END IF;
            DELETE FROM {s}.dt_history WHERE hub = p_hub AND instance_id = ANY(v_ids);
            DELETE FROM {s}.dt_messages WHERE hub = p_hub AND instance_id = ANY(v_ids);
            DELETE FROM {s}.dt_activities WHERE hub = p_hub AND instance_id = ANY(v_ids);
            DELETE FROM {s}.dt_instances WHERE hub = p_hub AND instance_id = ANY(v_ids);
            RETURN v_ids;
        END $fn$;
        """,
        EntityMigration,
        // Instance tags: JSON text of the string map given at creation. The functions that create instances predate
        // it; the writes set the column in the same transaction (InstanceTags).
        "ALTER TABLE {s}.dt_instances ADD COLUMN tags text;",
    ];

    /// <summary>The quoted schema name for SQL text (the name is validated to letters, digits and '_').</summary>
    public static string Quote(string schema) => "\"" + schema + "\"";

    /// <summary>
    /// The first advisory-lock key of this schema's locks (a stable hash of the schema name), so several stores in one
    /// database do not share locks.
    /// </summary>
    public static int LockClass(string schema)
    {
        // FNV-1a: stable across processes and .NET versions, unlike string.GetHashCode.
        var hash = 2166136261u;
        foreach (var c in "fleet.durable:" + schema)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return (int)(hash & 0x7fffffff);
    }

    /// <summary>Creates or migrates the schema; safe when several hosts do it at once.</summary>
    /// <exception cref="InvalidOperationException">The database holds a newer schema version than this runtime knows.</exception>
    public static Task<(int From, int To)> MigrateAsync(NpgsqlConnection connection, string schema, ILogger logger, CancellationToken cancellationToken) =>
        MigrateAsync(connection, schema, Version, logger, cancellationToken);

    /// <summary>Creates or migrates the schema up to <paramref name="upTo"/> (below <see cref="Version"/>: a schema as an earlier runtime left it).</summary>
    internal static async Task<(int From, int To)> MigrateAsync(NpgsqlConnection connection, string schema, int upTo, ILogger logger, CancellationToken cancellationToken)
    {
        var s = Quote(schema);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1, $2)", connection, transaction))
        {
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = LockClass(schema) });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = MigrationLockKey });
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using (var command = new NpgsqlCommand(
            $"CREATE SCHEMA IF NOT EXISTS {s}; CREATE TABLE IF NOT EXISTS {s}.dt_schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());",
            connection,
            transaction))
        {
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        int current;
        await using (var command = new NpgsqlCommand($"SELECT COALESCE(max(version), 0) FROM {s}.dt_schema_version", connection, transaction))
        {
            current = (int)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }

        if (current > Version)
        {
            throw new InvalidOperationException(
                $"The durable store schema '{schema}' was created by a newer version (schema {current}; this runtime knows {Version}). Upgrade this host or use another schema.");
        }

        for (var version = current + 1; version <= upTo; version++)
        {
            logger.SchemaMigrating(schema, version);
            await using (var command = new NpgsqlCommand(Migrations[version - 1].Replace("{s}", s, StringComparison.Ordinal), connection, transaction))
            {
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await using (var command = new NpgsqlCommand($"INSERT INTO {s}.dt_schema_version (version) VALUES ($1)", connection, transaction))
            {
                command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = version });
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return (current, Math.Max(current, upTo));
    }
}
