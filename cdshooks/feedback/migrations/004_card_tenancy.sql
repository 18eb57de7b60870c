-- Tenancy (issue 27): each card row says which caller (the JWT issuer) it
-- was issued to, which suggestion uuids it carried and which override
-- reasons it offered, so that feedback is accepted only for cards issued to
-- the same caller, a snooze only for a suggestion that card carried, and an
-- override reason stored only when the card offered it. Rows from before
-- this migration read '': no caller's feedback names them (their uuids
-- changed anyway: the issuer is now part of the patient pseudonym).

ALTER TABLE cards ADD COLUMN issuer TEXT NOT NULL DEFAULT '';
ALTER TABLE cards ADD COLUMN suggestions TEXT NOT NULL DEFAULT '';
ALTER TABLE cards ADD COLUMN reasons TEXT NOT NULL DEFAULT '';
-- Override reasons stored before this migration were the caller's text,
-- any size: what is not one of the short codes products use becomes other.
UPDATE outcomes SET reason_system = '', reason_code = 'other' WHERE length(reason_code) > 64 OR length(reason_system) > 256;
