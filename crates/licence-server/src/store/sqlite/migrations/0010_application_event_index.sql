-- 10: an application's history by application, as PostgreSQL's schema has it (the rules of
-- a new submission read one driver's history), and by time (the review desk counts today's
-- decisions).
CREATE INDEX application_event_application ON application_event(application_id);
CREATE INDEX application_event_at ON application_event(at);
