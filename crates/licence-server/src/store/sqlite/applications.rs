//! [`ApplicationStore`] on SQLite: `application`, `application_event`, `status_index`;
//! submissions are group-committed.

use licence_core::{
    ApplicantRecord, ApplicationState, ApplicationStatus, DrivingLicence, IdNumber, LicenceStatus,
};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{corrupt, db, SqliteStore};
use crate::store::applications::{
    applicant_record, DeskCounts, APPLICANT_RECORD_SQL, DESK_COUNTS_SQL,
};
use crate::store::{
    AccessStore, AccountId, ApplicantStanding, Application, ApplicationStore, Effects,
    PhotoCheckRecord, Resubmitted, SignedInApplicant, StoreError, Submitted,
};

/// An application still in progress: a second may not be opened beside it.
const OPEN: [ApplicationStatus; 3] = [
    ApplicationStatus::Submitted,
    ApplicationStatus::UnderReview,
    ApplicationStatus::Approved,
];

fn application_from_row(row: &Row<'_>) -> rusqlite::Result<Result<Application, StoreError>> {
    let state: String = row.get("state")?;
    let parsed = (|| {
        Ok(Application {
            id: row.get("id").map_err(db)?,
            account: row.get("account_id").map_err(db)?,
            idempotency_key: row.get("idempotency_key").map_err(db)?,
            photo_source: row.get("photo_source").map_err(db)?,
            photo: row.get("photo").map_err(db)?,
            cropped: row.get("cropped").map_err(db)?,
            check: row.get("check_result").map_err(db)?,
            state: serde_json::from_str(&state).map_err(|e| corrupt("application", e))?,
            submitted_at: row.get("submitted_at").map_err(db)?,
            due_at: row.get("due_at").map_err(db)?,
            updated_at: row.get("updated_at").map_err(db)?,
        })
    })();
    Ok(parsed)
}

fn state_json(state: &ApplicationState) -> Result<String, StoreError> {
    serde_json::to_string(state).map_err(|e| corrupt("application", e))
}

/// Stores a batch of submissions in one transaction (each in a savepoint, so one failing
/// does not undo the others); the answers, once the commit is on disk.
fn commit_submissions(
    conn: &mut Connection,
    batch: Vec<Application>,
) -> Vec<Result<Submitted, StoreError>> {
    let outcome = (|| -> Result<Vec<Result<Submitted, StoreError>>, StoreError> {
        let mut tx = conn.transaction().map_err(db)?;
        let mut results = Vec::with_capacity(batch.len());
        for application in &batch {
            let mut one = tx.savepoint().map_err(db)?;
            let result = submit_one(&one, application);
            if result.is_ok() {
                one.commit().map_err(db)?;
            } else {
                one.rollback().map_err(db)?;
            }
            results.push(result);
        }
        // Durable before the reply: with synchronous=FULL the commit is on disk here.
        tx.commit().map_err(db)?;
        Ok(results)
    })();
    outcome.unwrap_or_else(|e| vec![Err(e); batch.len()])
}

/// The account's [`ApplicantRecord`], read on `conn`.
fn record_on(conn: &Connection, account: AccountId) -> Result<ApplicantRecord, StoreError> {
    conn.prepare_cached(APPLICANT_RECORD_SQL)
        .map_err(db)?
        .query_row([account], |r| Ok(applicant_record(r.get(0)?, r.get(1)?)))
        .map_err(db)
}

fn submit_one(conn: &Connection, new: &Application) -> Result<Submitted, StoreError> {
    let existing = conn
        .prepare_cached("SELECT * FROM application WHERE account_id = ?1 AND idempotency_key = ?2")
        .map_err(db)?
        .query_row(
            params![new.account, new.idempotency_key],
            application_from_row,
        )
        .optional()
        .map_err(db)?
        .transpose()?;
    if let Some(app) = existing {
        return Ok(Submitted::Replayed(app));
    }
    let open = conn
        .prepare_cached(
            "SELECT * FROM application WHERE account_id = ?1 AND status IN (?2, ?3, ?4)
             ORDER BY id DESC LIMIT 1",
        )
        .map_err(db)?
        .query_row(
            params![
                new.account,
                OPEN[0].to_string(),
                OPEN[1].to_string(),
                OPEN[2].to_string()
            ],
            application_from_row,
        )
        .optional()
        .map_err(db)?
        .transpose()?;
    if let Some(app) = open {
        return Ok(Submitted::OpenExists(app));
    }
    let state = state_json(&new.state)?;
    conn.prepare_cached(
        "INSERT INTO application (account_id, idempotency_key, photo_source, photo, cropped,
           check_result, state, status, submitted_at, due_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, NULL, NULL, ?5, ?6, ?7, ?8, ?7)",
    )
    .map_err(db)?
    .execute(params![
        new.account,
        new.idempotency_key,
        new.photo_source,
        new.photo,
        state,
        new.state.status().to_string(),
        new.submitted_at,
        new.due_at
    ])
    .map_err(db)?;
    let id = conn.last_insert_rowid();
    conn.prepare_cached(
        "INSERT INTO application_event (application_id, at, actor, state)
         VALUES (?1, ?2, 'applicant', ?3)",
    )
    .map_err(db)?
    .execute(params![id, new.submitted_at, state])
    .map_err(db)?;
    Ok(Submitted::Created(Application { id, ..new.clone() }))
}

impl SqliteStore {
    /// Applications as `SELECT * FROM application {rest}` finds them (`rest`: an `INDEXED BY`
    /// and the `WHERE` clause).
    fn applications_where<P: rusqlite::Params>(
        &self,
        rest: &str,
        params: P,
    ) -> Result<Vec<Application>, StoreError> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare_cached(&format!("SELECT * FROM application {rest}"))
            .map_err(db)?;
        let rows = stmt.query_map(params, application_from_row).map_err(db)?;
        rows.map(|r| r.map_err(db)?).collect()
    }
}

impl ApplicationStore for SqliteStore {
    /// Group commit (`store::group_commit`): the one writer stores every submission queued
    /// meanwhile in one transaction and one disk flush. Alone, a submission waits for none.
    fn submit_application(&self, new: Application) -> Result<Submitted, StoreError> {
        self.submissions
            .submit(new, |batch| commit_submissions(&mut self.conn(), batch))
    }

    fn application(&self, id: i64) -> Result<Option<Application>, StoreError> {
        Ok(self.applications_where("WHERE id = ?1", [id])?.pop())
    }

    fn applications_of(&self, account: AccountId) -> Result<Vec<Application>, StoreError> {
        self.applications_where("WHERE account_id = ?1 ORDER BY id DESC", [account])
    }

    fn applicant_record(&self, account: AccountId) -> Result<ApplicantRecord, StoreError> {
        record_on(&*self.reader()?, account)
    }

    fn applicant_standing(
        &self,
        account: AccountId,
        id_number: &IdNumber,
        with_photo: bool,
    ) -> Result<ApplicantStanding, StoreError> {
        let conn = self.reader()?;
        // The photo column is not read (its overflow pages not loaded) unless asked for.
        let registry = conn
            .prepare_cached(
                "SELECT l.record IS NOT NULL, CASE WHEN ?2 THEN p.photo END
                 FROM registry_person p LEFT JOIN registry_licence l USING (id_number)
                 WHERE p.id_number = ?1",
            )
            .map_err(db)?
            .query_row(params![id_number.as_str(), with_photo], |r| {
                Ok((r.get::<_, bool>(0)?, r.get::<_, Option<Vec<u8>>>(1)?))
            })
            .optional()
            .map_err(db)?;
        let record = record_on(&conn, account)?;
        let (holds_licence, photo_on_file) = registry.unwrap_or_default();
        Ok(ApplicantStanding {
            holds_licence,
            photo_on_file,
            record,
        })
    }

    fn signed_in_applicant(
        &self,
        token_hash: &[u8],
        with_photo: bool,
    ) -> Result<Option<SignedInApplicant>, StoreError> {
        // Quick reads on the same machine, one after another: no one statement needed.
        let Some((session, account)) = self.signed_in(token_hash)? else {
            return Ok(None);
        };
        let standing = match &account.id_number {
            Some(id_number) => Some(self.applicant_standing(account.id, id_number, with_photo)?),
            None => None,
        };
        Ok(Some(SignedInApplicant {
            session,
            account,
            standing,
        }))
    }

    fn desk_counts(&self, now: i64, since: i64) -> Result<DeskCounts, StoreError> {
        self.reader()?
            .prepare_cached(DESK_COUNTS_SQL)
            .map_err(db)?
            .query_row([now, since], |r| {
                Ok(DeskCounts {
                    waiting: r.get(0)?,
                    overdue: r.get(1)?,
                    reviewed_today: r.get(2)?,
                    approved_today: r.get(3)?,
                    approved_automatically_today: r.get(4)?,
                })
            })
            .map_err(db)
    }

    fn unchecked_applications(&self, limit: usize) -> Result<Vec<Application>, StoreError> {
        self.applications_where(
            // The partial index of migration 7, named: SQLite's planner prefers the status
            // index and sorts every waiting application (see the claim below).
            "INDEXED BY application_unchecked
             WHERE status = 'submitted' AND check_result IS NULL ORDER BY id LIMIT ?1",
            [crate::store::row_limit(limit)],
        )
    }

    fn claim_unchecked_applications(
        &self,
        worker: &str,
        now: i64,
        claim_until: i64,
        limit: usize,
    ) -> Result<Vec<Application>, StoreError> {
        let limit = crate::store::row_limit(limit);
        self.in_transaction(|tx| {
            let apps: Vec<Application> = tx
                .prepare_cached(
                    // The partial index of migration 7 finds the queue in order; claims
                    // filter it. Named, because SQLite's planner preferred the status index
                    // and sorted every waiting application, photos and all, while holding
                    // the writer: 40-140 ms at 17 000 waiting, every round, every submission
                    // queued behind it (docs/performance.md).
                    "SELECT * FROM application INDEXED BY application_unchecked
                     WHERE status = 'submitted' AND check_result IS NULL
                       AND (check_claimed_until IS NULL OR check_claimed_until <= ?1
                            OR check_claimed_by = ?2)
                     ORDER BY id LIMIT ?3",
                )
                .map_err(db)?
                .query_map(params![now, worker, limit], application_from_row)
                .map_err(db)?
                .map(|r| r.map_err(db)?)
                .collect::<Result<_, _>>()?;
            let mut claim = tx
                .prepare_cached(
                    "UPDATE application SET check_claimed_by = ?1, check_claimed_until = ?2
                     WHERE id = ?3",
                )
                .map_err(db)?;
            for app in &apps {
                claim
                    .execute(params![worker, claim_until, app.id])
                    .map_err(db)?;
            }
            Ok(apps)
        })
    }

    fn review_queue(&self, limit: usize) -> Result<Vec<Application>, StoreError> {
        self.applications_where(
            "WHERE status = ?1 ORDER BY due_at, id LIMIT ?2",
            rusqlite::params![
                ApplicationStatus::UnderReview.to_string(),
                crate::store::row_limit(limit)
            ],
        )
    }

    fn record_checks(&self, checks: &[PhotoCheckRecord]) -> Result<Vec<bool>, StoreError> {
        self.in_transaction(|tx| {
            let mut applied = Vec::with_capacity(checks.len());
            for c in checks {
                let to = state_json(&c.to)?;
                let changed = tx
                    .prepare_cached(
                        "UPDATE application SET check_result = ?1, cropped = ?2, state = ?3,
                           status = ?4, updated_at = strftime('%s','now')
                         WHERE id = ?5 AND state = ?6",
                    )
                    .map_err(db)?
                    .execute(params![
                        c.check,
                        c.cropped,
                        to,
                        c.to.status().to_string(),
                        c.id,
                        state_json(&c.from)?
                    ])
                    .map_err(db)?;
                if changed == 1 && c.to != c.from {
                    tx.prepare_cached(
                        "INSERT INTO application_event (application_id, at, actor, state)
                         VALUES (?1, strftime('%s','now'), 'photo check', ?2)",
                    )
                    .map_err(db)?
                    .execute(params![c.id, to])
                    .map_err(db)?;
                }
                if changed == 1 {
                    super::messages::write_effects(tx, &c.effects, crate::now())?;
                }
                applied.push(changed == 1);
            }
            Ok(applied)
        })
    }

    fn transition(
        &self,
        id: i64,
        from: &ApplicationState,
        to: &ApplicationState,
        actor: &str,
        resubmitted: Option<Resubmitted<'_>>,
        effects: &Effects,
        at: i64,
    ) -> Result<bool, StoreError> {
        self.in_transaction(|tx| {
            // A resubmission opens the application again: not beside another open one (the
            // rule a new submission keeps), checked in the same transaction as the move.
            if resubmitted.is_some() {
                let other_open: bool = tx
                    .query_row(
                        "SELECT EXISTS (SELECT 1 FROM application o
                           WHERE o.account_id = (SELECT account_id FROM application WHERE id = ?1)
                             AND o.id != ?1 AND o.status IN (?2, ?3, ?4))",
                        params![
                            id,
                            OPEN[0].to_string(),
                            OPEN[1].to_string(),
                            OPEN[2].to_string()
                        ],
                        |r| r.get(0),
                    )
                    .map_err(db)?;
                if other_open {
                    return Err(StoreError::Duplicate("open application"));
                }
            }
            let changed = tx
                .execute(
                    "UPDATE application SET state = ?1, status = ?2, updated_at = ?3
                     WHERE id = ?4 AND state = ?5",
                    params![
                        state_json(to)?,
                        to.status().to_string(),
                        at,
                        id,
                        state_json(from)?
                    ],
                )
                .map_err(db)?;
            if changed == 1 {
                if let Some(r) = resubmitted {
                    tx.execute(
                        "UPDATE application SET photo_source = ?1, photo = ?2, cropped = NULL,
                           check_result = NULL, submitted_at = ?3, due_at = ?4 WHERE id = ?5",
                        params![r.photo_source, r.photo, at, r.due_at, id],
                    )
                    .map_err(db)?;
                }
                tx.execute(
                    "INSERT INTO application_event (application_id, at, actor, state)
                     VALUES (?1, ?2, ?3, ?4)",
                    params![id, at, actor, state_json(to)?],
                )
                .map_err(db)?;
                super::messages::write_effects(tx, effects, at)?;
            }
            Ok(changed == 1)
        })
    }

    fn status_index(&self, account: AccountId) -> Result<u32, StoreError> {
        let idx = self.in_transaction(|tx| {
            let existing: Option<i64> = tx
                .query_row(
                    "SELECT idx FROM status_index WHERE account_id = ?1",
                    [account],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db)?;
            if let Some(idx) = existing {
                return Ok(idx);
            }
            let next: i64 = tx
                .query_row(
                    "SELECT coalesce(max(idx) + 1, 0) FROM status_index",
                    [],
                    |r| r.get(0),
                )
                .map_err(db)?;
            tx.execute(
                "INSERT INTO status_index (account_id, idx) VALUES (?1, ?2)",
                params![account, next],
            )
            .map_err(db)?;
            Ok(next)
        })?;
        u32::try_from(idx).map_err(|e| corrupt("status_index", e))
    }

    fn stamp_status_list(
        &self,
        kid: &str,
        digest: &[u8],
        now: i64,
        reissue_after: i64,
    ) -> Result<i64, StoreError> {
        self.in_transaction(|tx| {
            let held: Option<(Vec<u8>, i64)> = tx
                .query_row(
                    "SELECT digest, issued_at FROM status_list_stamp WHERE kid = ?1",
                    [kid],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(db)?;
            let issued_at = match held {
                Some((held, at)) if held == digest && at > now - reissue_after => return Ok(at),
                Some((_, at)) => now.max(at + 1),
                None => now,
            };
            tx.execute(
                "INSERT INTO status_list_stamp (kid, digest, issued_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (kid) DO UPDATE SET digest = excluded.digest,
                   issued_at = excluded.issued_at",
                params![kid, digest, issued_at],
            )
            .map_err(db)?;
            Ok(issued_at)
        })
    }

    fn status_entries(
        &self,
        today: time::Date,
    ) -> Result<Vec<(u32, Option<LicenceStatus>)>, StoreError> {
        self.status_rows("ORDER BY s.idx", [], today)
    }

    fn status_entry(
        &self,
        index: u32,
        today: time::Date,
    ) -> Result<Option<Option<LicenceStatus>>, StoreError> {
        Ok(self
            .status_rows("WHERE s.idx = ?1", [i64::from(index)], today)?
            .pop()
            .map(|(_, status)| status))
    }
}

impl SqliteStore {
    /// Status entries (see [`ApplicationStore::status_entries`]) chosen and ordered by
    /// `rest`, the text after the joins.
    fn status_rows(
        &self,
        rest: &str,
        params: impl rusqlite::Params,
        today: time::Date,
    ) -> Result<Vec<(u32, Option<LicenceStatus>)>, StoreError> {
        // A reader: the full list is read every few seconds, and the writer is the
        // submissions'.
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT s.idx, l.record FROM status_index s
                 JOIN account a ON a.id = s.account_id
                 LEFT JOIN registry_licence l ON l.id_number = a.id_number
                 {rest}"
            ))
            .map_err(db)?;
        let rows = stmt
            .query_map(params, |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?))
            })
            .map_err(db)?;
        let mut entries = Vec::new();
        for row in rows {
            let (idx, record) = row.map_err(db)?;
            let status = record
                .map(|r| serde_json::from_str::<DrivingLicence>(&r).map(|l| l.status_on(today)))
                .transpose()
                .map_err(|e| corrupt("registry_licence", e))?;
            entries.push((
                u32::try_from(idx).map_err(|e| corrupt("status_index", e))?,
                status,
            ));
        }
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On a database file, where submissions that arrive together are committed together.
    #[test]
    fn concurrent_submissions_are_group_committed_each_answered_right() {
        let dir = tempfile::tempdir().unwrap();
        crate::store::applications::tests::concurrent_submissions_are_each_answered_right(
            &SqliteStore::open(&dir.path().join("p.sqlite")).unwrap(),
        );
    }

    #[test]
    fn photo_checks_are_claimed_by_one_worker() {
        crate::store::applications::tests::photo_checks_are_claimed_by_one_worker(
            &SqliteStore::in_memory().unwrap(),
        );
    }

    #[test]
    fn status_list_stamps_change_only_with_the_content() {
        crate::store::applications::tests::status_list_stamps_change_only_with_the_content(
            &SqliteStore::in_memory().unwrap(),
        );
    }

    #[test]
    fn status_indexes_are_allocated_once_in_order() {
        crate::store::applications::tests::status_indexes_are_allocated_once_in_order(
            &SqliteStore::in_memory().unwrap(),
        );
    }

    #[test]
    fn a_decision_and_all_it_causes_are_stored_together_or_not_at_all() {
        crate::store::applications::tests::a_decision_and_all_it_causes_are_stored_together_or_not_at_all(
            &SqliteStore::in_memory().unwrap(),
        );
    }

    #[test]
    fn the_applicant_standing_is_the_registry_and_the_record_together() {
        crate::store::applications::tests::the_applicant_standing_is_the_registry_and_the_record_together(
            &SqliteStore::in_memory().unwrap(),
        );
    }

    #[test]
    fn the_applicant_record_counts_reviews_since_the_last_issue() {
        crate::store::applications::tests::the_applicant_record_counts_reviews_since_the_last_issue(
            &SqliteStore::in_memory().unwrap(),
        );
    }

    #[test]
    fn the_desk_counts_what_waits_and_who_decided() {
        crate::store::applications::tests::the_desk_counts_what_waits_and_who_decided(
            &SqliteStore::in_memory().unwrap(),
        );
    }
}
