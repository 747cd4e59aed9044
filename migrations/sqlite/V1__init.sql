-- The embedded store: every storage port in one SQLite file.
-- Times are Unix milliseconds (INTEGER); text keys are stored as given.

-- Call records: the queried fields as columns, the whole record as JSON.
CREATE TABLE call_records (
    call_id     TEXT    NOT NULL PRIMARY KEY,
    received_ms INTEGER NOT NULL,
    ended_ms    INTEGER NOT NULL,
    caller      TEXT    NOT NULL,
    callee      TEXT    NOT NULL,
    trunk       TEXT,
    modem       TEXT,
    sip_status  INTEGER NOT NULL,
    end_reason  TEXT    NOT NULL,
    gsm_end     TEXT,
    answered_ms INTEGER,
    talk_ms     INTEGER NOT NULL,
    record      TEXT    NOT NULL
);
-- History per number (filters) and search by number, newest first.
CREATE INDEX call_records_callee ON call_records (callee, received_ms);
CREATE INDEX call_records_caller ON call_records (caller, received_ms);
-- Unfiltered search and time ranges, newest first.
CREATE INDEX call_records_received ON call_records (received_ms);
-- Search by trunk or modem.
CREATE INDEX call_records_trunk ON call_records (trunk, received_ms);
CREATE INDEX call_records_modem ON call_records (modem, received_ms);

-- Blocked numbers and prefixes.
CREATE TABLE blacklist (
    pattern    TEXT    NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('exact', 'prefix')),
    party      TEXT    NOT NULL CHECK (party IN ('caller', 'callee', 'both')),
    reason     TEXT    NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER,
    PRIMARY KEY (pattern, kind, party)
);

-- Sticky routes: called number -> modem, until expires_ms.
CREATE TABLE sticky_routes (
    number     TEXT    NOT NULL PRIMARY KEY,
    target     TEXT    NOT NULL,
    expires_ms INTEGER NOT NULL
);
CREATE INDEX sticky_routes_expires ON sticky_routes (expires_ms);

-- Lookup cache: (namespace, key) -> value, until expires_ms.
CREATE TABLE cache_entries (
    ns         TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    expires_ms INTEGER NOT NULL,
    PRIMARY KEY (ns, key)
);
CREATE INDEX cache_entries_expires ON cache_entries (expires_ms);

-- Calendar-window counters: bucket is `d20261122` or `m202611`; window_end_ms is when
-- the window ends (rows are swept a retention period after it).
CREATE TABLE counters (
    key           TEXT    NOT NULL,
    bucket        TEXT    NOT NULL,
    total         INTEGER NOT NULL,
    window_end_ms INTEGER NOT NULL,
    PRIMARY KEY (key, bucket)
);
CREATE INDEX counters_window_end ON counters (window_end_ms);

-- Sliding rate windows: hits per key per whole second; a row is needed until
-- expires_ms (the end of the longest span it was counted for).
CREATE TABLE rate_hits (
    key        TEXT    NOT NULL,
    second     INTEGER NOT NULL,
    hits       INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    PRIMARY KEY (key, second)
);
CREATE INDEX rate_hits_expires ON rate_hits (expires_ms);

-- Modems by IMEI. first_seen_ms is NULL while only usage has been reported.
CREATE TABLE modems (
    imei          TEXT    NOT NULL PRIMARY KEY,
    modem_id      TEXT    NOT NULL,
    model         TEXT,
    firmware      TEXT,
    imsi          TEXT,
    iccid         TEXT,
    operator      TEXT,
    own_number    TEXT,
    first_seen_ms INTEGER,
    last_seen_ms  INTEGER NOT NULL,
    calls         INTEGER NOT NULL DEFAULT 0,
    answered      INTEGER NOT NULL DEFAULT 0,
    talk_seconds  INTEGER NOT NULL DEFAULT 0
);

-- SIMs by IMSI. first_seen_ms is NULL while only usage has been reported.
CREATE TABLE sims (
    imsi          TEXT    NOT NULL PRIMARY KEY,
    iccid         TEXT,
    operator      TEXT,
    own_number    TEXT,
    last_imei     TEXT    NOT NULL,
    first_seen_ms INTEGER,
    last_seen_ms  INTEGER NOT NULL,
    calls         INTEGER NOT NULL DEFAULT 0,
    answered      INTEGER NOT NULL DEFAULT 0,
    talk_seconds  INTEGER NOT NULL DEFAULT 0
);
