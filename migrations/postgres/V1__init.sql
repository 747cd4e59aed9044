-- e173gw production schema, version 1.
-- Every statement runs in the gateway's own schema (the connection's search_path).

-- Call records, partitioned by month of the INVITE's arrival (Unix milliseconds, UTC).
-- Monthly partitions (`call_records_yYYYYmMM`) are created by the gateway on demand; rows
-- outside the range it partitions land in the default partition, so an insert never fails
-- for want of a partition.
-- A record's `received_ms` never changes, so UNIQUE (call_id, received_ms) makes replays
-- harmless; its index, led by call_id, also finds a record by Call-ID alone.
CREATE TABLE call_records (
    call_id      TEXT    NOT NULL,
    received_ms  BIGINT  NOT NULL,
    trunk        TEXT,
    caller       TEXT    NOT NULL,
    callee       TEXT    NOT NULL,
    -- Modem id when the call went to a modem.
    modem        TEXT,
    -- `none`, `modem` or `agent`.
    target_kind  TEXT    NOT NULL,
    answered_ms  BIGINT,
    ended_ms     BIGINT  NOT NULL,
    sip_status   INTEGER NOT NULL,
    end_reason   TEXT    NOT NULL,
    gsm_end      TEXT,
    q850         INTEGER,
    talk_ms      BIGINT  NOT NULL,
    -- The filter verdict trace (JSON array of strings).
    verdict      JSONB   NOT NULL,
    -- The whole record as inserted: what `get` and `search` return.
    record       JSONB   NOT NULL,
    -- Insertion order: among records received in the same millisecond, the later
    -- insert counts as the newer.
    seq          BIGSERIAL,
    CONSTRAINT call_records_call_id_received_ms_key UNIQUE (call_id, received_ms)
) PARTITION BY RANGE (received_ms);

CREATE TABLE call_records_default PARTITION OF call_records DEFAULT;

-- History queries: index-only scans over one number's window.
CREATE INDEX call_records_callee_received ON call_records (callee, received_ms)
    INCLUDE (caller, answered_ms, talk_ms);
CREATE INDEX call_records_caller_received ON call_records (caller, received_ms)
    INCLUDE (callee, answered_ms, talk_ms);
-- API searches, newest first.
CREATE INDEX call_records_received ON call_records (received_ms);
CREATE INDEX call_records_trunk_received ON call_records (trunk, received_ms);
CREATE INDEX call_records_modem_received ON call_records (modem, received_ms);
CREATE INDEX call_records_status_received ON call_records (sip_status, received_ms);

-- Blocked numbers and prefixes; one entry per (pattern, kind, party).
CREATE TABLE blacklist (
    pattern    TEXT   NOT NULL,
    kind       TEXT   NOT NULL CHECK (kind IN ('exact', 'prefix')),
    party      TEXT   NOT NULL CHECK (party IN ('caller', 'callee', 'both')),
    reason     TEXT   NOT NULL,
    created_ms BIGINT NOT NULL,
    -- NULL: never expires.
    expires_ms BIGINT,
    PRIMARY KEY (pattern, kind, party)
);

-- Modems seen, by IMEI, with lifetime counters. first_seen_ms is NULL while only
-- usage has been reported.
CREATE TABLE modems (
    imei          TEXT   PRIMARY KEY,
    modem_id      TEXT   NOT NULL,
    model         TEXT,
    firmware      TEXT,
    imsi          TEXT,
    iccid         TEXT,
    operator      TEXT,
    own_number    TEXT,
    first_seen_ms BIGINT,
    last_seen_ms  BIGINT NOT NULL,
    calls         BIGINT NOT NULL DEFAULT 0,
    answered      BIGINT NOT NULL DEFAULT 0,
    talk_seconds  BIGINT NOT NULL DEFAULT 0
);

-- SIMs seen, by IMSI, with lifetime counters. first_seen_ms is NULL while only usage
-- has been reported.
CREATE TABLE sims (
    imsi          TEXT   PRIMARY KEY,
    iccid         TEXT,
    operator      TEXT,
    own_number    TEXT,
    last_imei     TEXT   NOT NULL,
    first_seen_ms BIGINT,
    last_seen_ms  BIGINT NOT NULL,
    calls         BIGINT NOT NULL DEFAULT 0,
    answered      BIGINT NOT NULL DEFAULT 0,
    talk_seconds  BIGINT NOT NULL DEFAULT 0
);
