-- 8: a staff session is of one kind, and each door takes only its own: a console cookie
-- (`console`) or an officer's API token (`officer`). Sessions made before the kinds existed
-- end here (everyone signs in again), so that no officer token carries on as a console one.
DELETE FROM staff_session;
ALTER TABLE staff_session ADD COLUMN kind TEXT NOT NULL DEFAULT 'console'
  CHECK (kind IN ('console', 'officer'));
