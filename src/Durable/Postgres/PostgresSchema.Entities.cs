namespace Fleet.Durable.Postgres;

/// <summary>Migration 2: the functions durable entities need.</summary>
internal static partial class PostgresSchema
{
    private const string EntityMigration =
        """
        -- Durable entities: an entity is an instance row '@name@key' that stays Running, with execution ID 'entity' and
        -- its version as history count. Its row is created by the first message sent to it. Callers lock the rows
        -- they touch first (the writer's dt_lock_rows), so creation, messages and removal of one entity never interleave.
        CREATE FUNCTION {s}.dt_ensure_entity(p_hub text, p_id text, p_name text, p_now bigint)
        RETURNS void LANGUAGE plpgsql SET enable_seqscan = off SET enable_bitmapscan = off AS $fn$
        BEGIN
            INSERT INTO {s}.dt_instances (hub, instance_id, execution_id, name, status, created_at, last_updated_at, history_count)
            VALUES (p_hub, p_id, 'entity', p_name, 0, p_now, p_now, 0)
            ON CONFLICT (instance_id, hub) DO NOTHING;
        END $fn$;

        -- Sends a message to an entity from outside an episode (a client's signal), once per key.
        CREATE FUNCTION {s}.dt_enqueue_entity_external(p_hub text, p_key uuid, p_now bigint, p_id text, p_name text, p_visible bigint, p_data text)
        RETURNS boolean LANGUAGE plpgsql SET enable_seqscan = off SET enable_bitmapscan = off AS $fn$
        BEGIN
            PERFORM 1 FROM {s}.dt_message_keys WHERE hub = p_hub AND key = p_key;
            IF FOUND THEN
                RETURN true;
            END IF;
            PERFORM {s}.dt_ensure_entity(p_hub, p_id, p_name, p_now);
            PERFORM {s}.dt_enqueue(p_hub, p_id, NULL, p_visible, p_data, false);
            INSERT INTO {s}.dt_message_keys (hub, key, created_at, enqueued) VALUES (p_hub, p_key, p_now, true);
            RETURN true;
        END $fn$;

        -- Deletes an entity row that is still at the version the caller read and that no message waits for.
        CREATE FUNCTION {s}.dt_delete_empty_entity(p_hub text, p_id text, p_version integer)
        RETURNS boolean LANGUAGE plpgsql SET enable_seqscan = off SET enable_bitmapscan = off AS $fn$
        BEGIN
            DELETE FROM {s}.dt_instances
            WHERE hub = p_hub AND instance_id = p_id AND execution_id = 'entity' AND history_count = p_version
              AND next_message_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM {s}.dt_messages m WHERE m.instance_id = p_id AND m.hub = p_hub);
            RETURN FOUND;
        END $fn$;

        -- dt_commit_episode, plus what entities need: the rows of entities the episode sends messages to (p_msg_entity,
        -- their names) are created first, and orchestrations without a parent are started (p_new_*: an entity starts
        -- them; one whose ID an unfinished instance holds is left alone). Nothing is written when the version check fails.
        CREATE FUNCTION {s}.dt_commit_batch(
            p_hub text, p_id text, p_token bigint, p_now bigint,
            p_update boolean, p_exp_exec text, p_exp_count integer,
            p_status smallint, p_new_exec text, p_new_count integer, p_updated bigint, p_completed bigint,
            p_output text, p_failure text, p_cs_set boolean, p_cs text, p_in_set boolean, p_input text,
            p_replace_history boolean, p_history text[], p_consumed bigint[],
            p_act_task integer[], p_act_name text[], p_act_input text[],
            p_msg_target text[], p_msg_exec text[], p_msg_data text[], p_msg_visible bigint[], p_msg_only_running boolean[],
            p_sub_id text[], p_sub_exec text[], p_sub_name text[], p_sub_version text[], p_sub_input text[],
            p_sub_created bigint[], p_sub_visible bigint[], p_sub_message text[], p_sub_conflict text[],
            p_children_message text, p_keep_until bigint,
            p_msg_entity text[],
            p_new_id text[], p_new_exec_ids text[], p_new_name text[], p_new_version text[], p_new_input text[],
            p_new_created bigint[], p_new_visible bigint[], p_new_message text[])
        RETURNS TABLE (next_at bigint, kept boolean, msg_ids bigint[], msg_execs text[], msg_data text[], msg_attempts integer[])
        LANGUAGE plpgsql SET enable_seqscan = off SET enable_bitmapscan = off AS $fn$
        DECLARE
            v_i integer;
        BEGIN
            IF p_update THEN
                PERFORM 1 FROM {s}.dt_instances
                WHERE hub = p_hub AND instance_id = p_id AND execution_id = p_exp_exec AND history_count = p_exp_count;
                IF NOT FOUND THEN
                    RETURN QUERY SELECT -1::bigint, false, NULL::bigint[], NULL::text[], NULL::text[], NULL::integer[];
                    RETURN;
                END IF;
            END IF;
            FOR v_i IN 1 .. COALESCE(array_length(p_msg_entity, 1), 0) LOOP
                IF p_msg_entity[v_i] IS NOT NULL THEN
                    PERFORM {s}.dt_ensure_entity(p_hub, p_msg_target[v_i], p_msg_entity[v_i], p_now);
                END IF;
            END LOOP;
            FOR v_i IN 1 .. COALESCE(array_length(p_new_id, 1), 0) LOOP
                PERFORM {s}.dt_create_instance(p_hub, p_new_id[v_i], p_new_exec_ids[v_i], p_new_name[v_i], p_new_version[v_i], p_new_input[v_i],
                    p_new_created[v_i], CASE WHEN p_new_visible[v_i] > p_new_created[v_i] THEN p_new_visible[v_i] END,
                    p_new_visible[v_i], p_new_message[v_i], NULL);
            END LOOP;
            RETURN QUERY SELECT * FROM {s}.dt_commit_episode(
                p_hub, p_id, p_token, p_now, p_update, p_exp_exec, p_exp_count,
                p_status, p_new_exec, p_new_count, p_updated, p_completed,
                p_output, p_failure, p_cs_set, p_cs, p_in_set, p_input,
                p_replace_history, p_history, p_consumed,
                p_act_task, p_act_name, p_act_input,
                p_msg_target, p_msg_exec, p_msg_data, p_msg_visible, p_msg_only_running,
                p_sub_id, p_sub_exec, p_sub_name, p_sub_version, p_sub_input,
                p_sub_created, p_sub_visible, p_sub_message, p_sub_conflict,
                p_children_message, p_keep_until);
        END $fn$;
        """;
}
