-- 7: the photo-check queue, found without reading past every waiting photo.
CREATE INDEX application_unchecked ON application(id)
  WHERE status = 'submitted' AND check_result IS NULL;
