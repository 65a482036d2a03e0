-- 10: an application's history by application, as PostgreSQL's schema has it: the rules of
-- a new submission (reviews rejected, the last photo change) read one driver's history.
CREATE INDEX application_event_application ON application_event(application_id);
