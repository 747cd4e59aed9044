-- History per number answered from the index alone.
--
-- number_history (src/adapters/sqlite/records.rs) reads, for one caller or callee since
-- a time: count(*), count(answered_ms), answered calls with talk_ms under a threshold,
-- count(DISTINCT <the other party>), and the newest call's received_ms, sip_status,
-- gsm_end and talk_ms. With (number, received_ms) alone every matching row was fetched
-- from the table: a busy number has hundreds of calls in 90 days, each a random page.
-- SQLite has no INCLUDE, so the columns those queries read follow received_ms in the
-- key; the (number, received_ms) prefix still serves search by caller or callee, newest
-- first (ties on received_ms are then put in rowid order by a sort of that one block,
-- which stops at the LIMIT).
DROP INDEX call_records_caller;
DROP INDEX call_records_callee;
CREATE INDEX call_records_caller_history ON call_records
    (caller, received_ms, callee, answered_ms, talk_ms, sip_status, gsm_end);
CREATE INDEX call_records_callee_history ON call_records
    (callee, received_ms, caller, answered_ms, talk_ms, sip_status, gsm_end);
