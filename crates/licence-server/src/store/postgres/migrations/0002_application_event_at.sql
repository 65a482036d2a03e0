-- 2: an application's history by time: the review desk counts today's decisions.
CREATE INDEX application_event_at ON application_event(at);
