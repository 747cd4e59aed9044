-- Calls refused by screening never reached the network: the history queries leave them
-- out (end_reason <> 'screened'), so a number refused for its history is not refused
-- again for the refusals themselves. end_reason joins the covering indexes so those
-- queries still read the index alone.
DROP INDEX call_records_caller_history;
DROP INDEX call_records_callee_history;
CREATE INDEX call_records_caller_history ON call_records
    (caller, received_ms, callee, answered_ms, talk_ms, sip_status, gsm_end, end_reason);
CREATE INDEX call_records_callee_history ON call_records
    (callee, received_ms, caller, answered_ms, talk_ms, sip_status, gsm_end, end_reason);
