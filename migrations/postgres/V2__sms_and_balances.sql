-- SMS sent and received (the whole message as JSON, with the columns searched on), and
-- each SIM's last balance read by USSD.
CREATE TABLE sms (
    id TEXT PRIMARY KEY,
    direction TEXT NOT NULL,
    state TEXT NOT NULL,
    number TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    body JSONB NOT NULL
);
CREATE INDEX sms_by_time ON sms (created_ms);
CREATE INDEX sms_by_state ON sms (direction, state, created_ms);
CREATE INDEX sms_by_number ON sms (number, created_ms);

CREATE TABLE sim_balances (
    imsi TEXT PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    body JSONB NOT NULL
);
