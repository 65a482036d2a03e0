//! [`ApplicationStore`] on PostgreSQL: `application`, `application_event`, `status_index`.
//!
//! Several instances share the database, so what SQLite gets from its one writer is taken
//! here with locks, under READ COMMITTED: a submission, and a resubmission that opens an
//! application again, lock the account's row first, so that one account's openings run one
//! at a time (a replayed key finds the first application, two keys at once never open two);
//! a new status-list position is allocated under an advisory lock. Submissions that arrive
//! together are stored together (`store::group_commit`): one round trip, one statement and one
//! commit for the batch, in a few lanes at once, where each took its own.

use deadpool_postgres::GenericClient;
use licence_core::{
    ApplicantRecord, ApplicationState, ApplicationStatus, DrivingLicence, IdNumber, LicenceStatus,
};
use tokio_postgres::Row;

use super::access::{signed_in_from_row, signed_in_sql};
use super::{corrupt, exec, get, lock_key, one, row, rows, Params, PostgresStore};
use crate::store::applications::{
    applicant_record, applicant_record_sql, DeskCounts, APPLICANT_RECORD_SQL, DESK_COUNTS_SQL,
};
use crate::store::{
    AccountId, ApplicantStanding, Application, ApplicationStore, Effects, PhotoCheckRecord,
    Resubmitted, SignedInApplicant, StoreError, Submitted,
};

/// The registry's word on the person `$person` (an SQL expression): whether it holds a
/// licence of theirs, and their photo when `$2` is true. The photo is not fetched from its
/// TOAST chunks unless asked for. No row for a person the registry does not know.
macro_rules! registry_standing_sql {
    ($person:expr) => {
        concat!(
            "SELECT l.record IS NOT NULL, CASE WHEN $2 THEN p.photo END
             FROM registry_person p LEFT JOIN registry_licence l USING (id_number)
             WHERE p.id_number = ",
            $person
        )
    };
}

/// [`ApplicationStore::signed_in_applicant`] in one statement: the session and its account
/// (columns 0-10), the registry's word on the account's person (11, 12: NULL where it
/// knows no such person, or the account has no ID number) and the account's record (13, 14).
const SIGNED_IN_APPLICANT: &str = signed_in_sql!(
    ", reg.*, rec.*",
    concat!(
        "
     LEFT JOIN LATERAL (",
        registry_standing_sql!("a.id_number"),
        ") reg ON true
     CROSS JOIN LATERAL (",
        applicant_record_sql!("s.account_id"),
        ") rec"
    )
);

/// The columns [`application_from_row`] reads, in its order.
const APPLICATION_COLUMNS: &str = "id, account_id, idempotency_key, photo_source, photo, \
     cropped, check_result, state, submitted_at, due_at, updated_at";

/// The spellings of the statuses of an application still in progress: a second may not be
/// opened beside it. Migration 1 spells them too, in the index `application_open` and the
/// function `submit_application` (a test holds them to this list).
fn open_statuses() -> Vec<&'static str> {
    [
        ApplicationStatus::Submitted,
        ApplicationStatus::UnderReview,
        ApplicationStatus::Approved,
    ]
    .map(ApplicationStatus::as_str)
    .to_vec()
}

fn application_from_row(r: &Row) -> Result<Application, StoreError> {
    let state: String = get(r, "application", 7)?;
    Ok(Application {
        id: get(r, "application", 0)?,
        account: get(r, "application", 1)?,
        idempotency_key: get(r, "application", 2)?,
        photo_source: get(r, "application", 3)?,
        photo: get(r, "application", 4)?,
        cropped: get(r, "application", 5)?,
        check: get(r, "application", 6)?,
        state: serde_json::from_str(&state).map_err(|e| corrupt("application", e))?,
        submitted_at: get(r, "application", 8)?,
        due_at: get(r, "application", 9)?,
        updated_at: get(r, "application", 10)?,
    })
}

/// A state as stored: its JSON, which conditional updates compare.
fn state_json(state: &ApplicationState) -> Result<String, StoreError> {
    serde_json::to_string(state).map_err(|e| corrupt("application", e))
}

/// A licence record as stored in `registry_licence`, and its status on `today`.
fn licence_status(record: &str, today: time::Date) -> Result<LicenceStatus, StoreError> {
    serde_json::from_str::<DrivingLicence>(record)
        .map(|l| l.status_on(today))
        .map_err(|e| corrupt("registry_licence", e))
}

async fn applications_where<C: GenericClient>(
    c: &C,
    condition: &str,
    params: &Params<'_>,
) -> Result<Vec<Application>, StoreError> {
    rows(
        c,
        &format!("SELECT {APPLICATION_COLUMNS} FROM application WHERE {condition}"),
        params,
    )
    .await?
    .iter()
    .map(application_from_row)
    .collect()
}

/// The account's status-list position, if it has one.
async fn allocated_index<C: GenericClient>(
    c: &C,
    account: AccountId,
) -> Result<Option<i64>, StoreError> {
    row(
        c,
        "SELECT idx FROM status_index WHERE account_id = $1",
        &[&account],
    )
    .await?
    .map(|r| get(&r, "status_index", 0))
    .transpose()
}

/// An [`ApplicantRecord`] from the row of `APPLICANT_RECORD_SQL`.
fn record_from_row(row: &Row) -> Result<ApplicantRecord, StoreError> {
    Ok(applicant_record(
        get(row, "application_event", 0)?,
        get(row, "application_event", 1)?,
    ))
}

/// What `submit_applications` (migration 3) decided for each submission of a batch, in the
/// batch's order: `created`, `replayed` or `open`, and the application's id.
async fn decide<C: GenericClient>(
    c: &C,
    batch: &[Application],
) -> Result<Vec<(String, i64)>, StoreError> {
    let states = batch
        .iter()
        .map(|a| state_json(&a.state))
        .collect::<Result<Vec<_>, _>>()?;
    let column = |f: fn(&Application) -> &str| batch.iter().map(f).collect::<Vec<&str>>();
    let accounts: Vec<AccountId> = batch.iter().map(|a| a.account).collect();
    let photos: Vec<&[u8]> = batch.iter().map(|a| a.photo.as_slice()).collect();
    let submitted_at: Vec<i64> = batch.iter().map(|a| a.submitted_at).collect();
    let due_at: Vec<i64> = batch.iter().map(|a| a.due_at).collect();
    let decided = rows(
        c,
        "SELECT o_n, o_outcome, o_id FROM submit_applications($1, $2, $3, $4, $5, $6, $7, $8)
         ORDER BY o_n",
        &[
            &accounts,
            &column(|a| &a.idempotency_key),
            &column(|a| &a.photo_source),
            &photos,
            &states,
            &column(|a| a.state.status().as_str()),
            &submitted_at,
            &due_at,
        ],
    )
    .await?;
    // One answer for each position, 1 to n: anything else is a fault of the function.
    let positions: Vec<i64> = decided
        .iter()
        .map(|r| get(r, "application", 0))
        .collect::<Result<_, _>>()?;
    if !positions.iter().copied().eq(1..=batch.len() as i64) {
        return Err(corrupt(
            "application",
            format!(
                "answers for positions {positions:?} to {} submissions",
                batch.len()
            ),
        ));
    }
    decided
        .iter()
        .map(|r| Ok((get(r, "application", 1)?, get(r, "application", 2)?)))
        .collect()
}

/// The answer to each submission of a batch from what was decided for it: a replay or an
/// open application comes with the application found (fetched together, in one query).
async fn answers<C: GenericClient>(
    c: &C,
    batch: Vec<Application>,
    decided: Vec<(String, i64)>,
) -> Result<Vec<Result<Submitted, StoreError>>, StoreError> {
    let found_ids: Vec<i64> = decided
        .iter()
        .filter(|(outcome, _)| outcome != "created")
        .map(|(_, id)| *id)
        .collect();
    let found: std::collections::HashMap<i64, Application> = if found_ids.is_empty() {
        Default::default()
    } else {
        applications_where(c, "id = ANY($1)", &[&found_ids])
            .await?
            .into_iter()
            .map(|a| (a.id, a))
            .collect()
    };
    let stored = |id: i64| {
        found
            .get(&id)
            .cloned()
            .ok_or_else(|| corrupt("application", format!("{id} vanished")))
    };
    Ok(batch
        .into_iter()
        .zip(decided)
        .map(|(new, (outcome, id))| match outcome.as_str() {
            "created" => Ok(Submitted::Created(Application { id, ..new })),
            "replayed" => stored(id).map(Submitted::Replayed),
            "open" => stored(id).map(Submitted::OpenExists),
            other => Err(corrupt("application", format!("outcome {other}"))),
        })
        .collect())
}

impl PostgresStore {
    /// Stores a batch of submissions in one statement and transaction; each one's answer, in
    /// order.
    ///
    /// Should the batch fail for a reason of one of its submissions (an account that does
    /// not exist, say), nothing of it was stored: each is then stored alone, so that only
    /// that one is refused. A fault of the database or of the connection is every
    /// submission's answer, worth a retry as it is for one.
    async fn store_submissions(
        &self,
        batch: Vec<Application>,
    ) -> Result<Vec<Result<Submitted, StoreError>>, StoreError> {
        let c = self.client().await?;
        match decide(&c, &batch).await {
            Ok(decided) => answers(&c, batch, decided).await,
            Err(e) if batch.len() > 1 && !matches!(e, StoreError::Unavailable(_)) => {
                let mut each = Vec::with_capacity(batch.len());
                for new in batch {
                    let answer = match decide(&c, std::slice::from_ref(&new)).await {
                        Ok(decided) => answers(&c, vec![new], decided).await.and_then(|mut a| {
                            a.pop()
                                .unwrap_or_else(|| Err(corrupt("application", "no answer")))
                        }),
                        Err(e) => Err(e),
                    };
                    each.push(answer);
                }
                Ok(each)
            }
            Err(e) => Err(e),
        }
    }
}

impl ApplicationStore for PostgresStore {
    fn submit_application(&self, new: Application) -> Result<Submitted, StoreError> {
        self.submissions.submit(new, |batch| {
            let n = batch.len();
            self.run(self.store_submissions(batch))
                .unwrap_or_else(|e| vec![Err(e); n])
        })
    }

    fn application(&self, id: i64) -> Result<Option<Application>, StoreError> {
        self.run(async {
            let c = self.client().await?;
            Ok(applications_where(&c, "id = $1", &[&id]).await?.pop())
        })
    }

    fn applications_of(&self, account: AccountId) -> Result<Vec<Application>, StoreError> {
        self.run(async {
            let c = self.client().await?;
            applications_where(&c, "account_id = $1 ORDER BY id DESC", &[&account]).await
        })
    }

    fn applicant_record(&self, account: AccountId) -> Result<ApplicantRecord, StoreError> {
        self.run(async {
            let c = self.client().await?;
            record_from_row(&one(&c, APPLICANT_RECORD_SQL, &[&account]).await?)
        })
    }

    fn applicant_standing(
        &self,
        account: AccountId,
        id_number: &IdNumber,
        with_photo: bool,
    ) -> Result<ApplicantStanding, StoreError> {
        self.run(async {
            let c = self.client().await?;
            // Both statements are sent before either answer is awaited: one round trip.
            let person = id_number.as_str();
            let (by_person, by_account): (&Params, &Params) =
                (&[&person, &with_photo], &[&account]);
            let (registry, record) = tokio::try_join!(
                row(&c, registry_standing_sql!("$1"), by_person),
                one(&c, APPLICANT_RECORD_SQL, by_account),
            )?;
            let (holds_licence, photo_on_file) = match registry {
                Some(r) => (
                    get(&r, "registry_licence", 0)?,
                    get(&r, "registry_person", 1)?,
                ),
                None => (false, None),
            };
            Ok(ApplicantStanding {
                holds_licence,
                photo_on_file,
                record: record_from_row(&record)?,
            })
        })
    }

    fn signed_in_applicant(
        &self,
        token_hash: &[u8],
        with_photo: bool,
    ) -> Result<Option<SignedInApplicant>, StoreError> {
        self.run(async {
            let c = self.client().await?;
            let Some(r) = row(&c, SIGNED_IN_APPLICANT, &[&token_hash, &with_photo]).await? else {
                return Ok(None);
            };
            let (session, account) = signed_in_from_row(&r)?;
            let holds_licence: Option<bool> = get(&r, "registry_licence", 11)?;
            let standing = match account.id_number {
                Some(_) => Some(ApplicantStanding {
                    holds_licence: holds_licence.unwrap_or(false),
                    photo_on_file: get(&r, "registry_person", 12)?,
                    record: applicant_record(
                        get(&r, "application_event", 13)?,
                        get(&r, "application_event", 14)?,
                    ),
                }),
                None => None,
            };
            Ok(Some(SignedInApplicant {
                session,
                account,
                standing,
            }))
        })
    }

    fn desk_counts(&self, now: i64, since: i64) -> Result<DeskCounts, StoreError> {
        self.run(async {
            let c = self.client().await?;
            let r = one(&c, DESK_COUNTS_SQL, &[&now, &since]).await?;
            let count = |i| get::<i64>(&r, "application", i);
            Ok(DeskCounts {
                waiting: count(0)?,
                overdue: count(1)?,
                reviewed_today: count(2)?,
                approved_today: count(3)?,
                approved_automatically_today: count(4)?,
            })
        })
    }

    fn unchecked_applications(&self, limit: usize) -> Result<Vec<Application>, StoreError> {
        let limit = crate::store::row_limit(limit);
        self.run(async {
            let c = self.client().await?;
            applications_where(
                &c,
                // Spelled as in the partial index `application_unchecked`, so that it is used.
                "status = 'submitted' AND check_result IS NULL ORDER BY id LIMIT $1",
                &[&limit],
            )
            .await
        })
    }

    fn claim_unchecked_applications(
        &self,
        worker: &str,
        now: i64,
        claim_until: i64,
        limit: usize,
    ) -> Result<Vec<Application>, StoreError> {
        let limit = crate::store::row_limit(limit);
        self.run(async {
            let c = self.client().await?;
            // One statement: the rows are locked as they are chosen, and rows another
            // worker is claiming this moment are passed over rather than waited for.
            rows(
                &c,
                &format!(
                    "UPDATE application SET check_claimed_by = $1, check_claimed_until = $2
                     WHERE id IN (
                       SELECT id FROM application
                        WHERE status = 'submitted' AND check_result IS NULL
                          AND (check_claimed_until IS NULL OR check_claimed_until <= $3
                               OR check_claimed_by = $1)
                        ORDER BY id LIMIT $4
                        FOR UPDATE SKIP LOCKED)
                     RETURNING {APPLICATION_COLUMNS}"
                ),
                &[&worker, &claim_until, &now, &limit],
            )
            .await?
            .iter()
            .map(application_from_row)
            .collect::<Result<Vec<_>, _>>()
            .map(|mut apps| {
                // RETURNING keeps no order: oldest first, as the queue is.
                apps.sort_by_key(|a| a.id);
                apps
            })
        })
    }

    fn review_queue(&self, limit: usize) -> Result<Vec<Application>, StoreError> {
        let under_review = ApplicationStatus::UnderReview.as_str();
        let limit = crate::store::row_limit(limit);
        self.run(async {
            let c = self.client().await?;
            applications_where(
                &c,
                "status = $1 ORDER BY due_at, id LIMIT $2",
                &[&under_review, &limit],
            )
            .await
        })
    }

    fn record_checks(&self, checks: &[PhotoCheckRecord]) -> Result<Vec<bool>, StoreError> {
        if checks.is_empty() {
            return Ok(Vec::new());
        }
        self.run(self.in_transaction(async |tx| {
            let mut applied = Vec::with_capacity(checks.len());
            for c in checks {
                let to = state_json(&c.to)?;
                let changed = exec(
                    tx,
                    // The database's clock, in whole seconds as SQLite's strftime('%s').
                    "UPDATE application SET check_result = $1, cropped = $2, state = $3,
                       status = $4, updated_at = floor(extract(epoch FROM now()))::bigint
                     WHERE id = $5 AND state = $6",
                    &[
                        &c.check,
                        &c.cropped,
                        &to,
                        &c.to.status().as_str(),
                        &c.id,
                        &state_json(&c.from)?,
                    ],
                )
                .await?
                    == 1;
                if changed && c.to != c.from {
                    exec(
                        tx,
                        "INSERT INTO application_event (application_id, at, actor, state)
                         VALUES ($1, floor(extract(epoch FROM now()))::bigint, 'photo check', $2)",
                        &[&c.id, &to],
                    )
                    .await?;
                }
                if changed {
                    super::messages::write_effects(tx, &c.effects, crate::now()).await?;
                }
                applied.push(changed);
            }
            Ok(applied)
        }))
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
        let (from, to, status) = (state_json(from)?, state_json(to)?, to.status().as_str());
        self.run(self.in_transaction(async |tx| {
            // A resubmission opens the application again: not beside another open one (the
            // rule a new submission keeps), checked under the account's lock as submissions
            // are, in the same transaction as the move. `NO KEY UPDATE` conflicts with itself
            // but not with the key share that inserting a row referring to the account takes
            // (a session, an inbox message): openings of one account queue up, nothing else
            // waits, and no deadlock with a decision that writes the account's inbox.
            if resubmitted.is_some() {
                exec(
                    tx,
                    "SELECT 1 FROM account
                     WHERE id = (SELECT account_id FROM application WHERE id = $1)
                     FOR NO KEY UPDATE",
                    &[&id],
                )
                .await?;
                let other_open = one(
                    tx,
                    "SELECT EXISTS (SELECT 1 FROM application o
                       WHERE o.account_id = (SELECT account_id FROM application WHERE id = $1)
                         AND o.id <> $1 AND o.status = ANY($2))",
                    &[&id, &open_statuses()],
                )
                .await?;
                if get::<bool>(&other_open, "application", 0)? {
                    return Err(StoreError::Duplicate("open application"));
                }
            }
            let changed = exec(
                tx,
                "UPDATE application SET state = $1, status = $2, updated_at = $3
                 WHERE id = $4 AND state = $5",
                &[&to, &status, &at, &id, &from],
            )
            .await?
                == 1;
            if changed {
                if let Some(r) = resubmitted {
                    exec(
                        tx,
                        "UPDATE application SET photo_source = $1, photo = $2, cropped = NULL,
                           check_result = NULL, submitted_at = $3, due_at = $4 WHERE id = $5",
                        &[&r.photo_source, &r.photo, &at, &r.due_at, &id],
                    )
                    .await?;
                }
                exec(
                    tx,
                    "INSERT INTO application_event (application_id, at, actor, state)
                     VALUES ($1, $2, $3, $4)",
                    &[&id, &at, &actor, &to],
                )
                .await?;
                super::messages::write_effects(tx, effects, at).await?;
            }
            Ok(changed)
        }))
    }

    fn status_index(&self, account: AccountId) -> Result<u32, StoreError> {
        let idx = self.run(self.in_transaction(async |tx| {
            // Most calls find the position allocated: they need not wait for the lock.
            if let Some(idx) = allocated_index(tx, account).await? {
                return Ok(idx);
            }
            // One allocation at a time across instances, so that max + 1 is free; the
            // statements after the lock see the allocations committed before it.
            lock_key(tx, "status_index").await?;
            if let Some(idx) = allocated_index(tx, account).await? {
                return Ok(idx);
            }
            let r = one(
                tx,
                "INSERT INTO status_index (account_id, idx)
                 SELECT $1, coalesce(max(idx) + 1, 0) FROM status_index RETURNING idx",
                &[&account],
            )
            .await?;
            get(&r, "status_index", 0)
        }))?;
        u32::try_from(idx).map_err(|e| corrupt("status_index", e))
    }

    fn stamp_status_list(
        &self,
        kid: &str,
        digest: &[u8],
        now: i64,
        reissue_after: i64,
    ) -> Result<i64, StoreError> {
        self.run(self.in_transaction(async |tx| {
            // The row of the key, locked (made first if there is none): instances stamp
            // one after another.
            exec(
                tx,
                "INSERT INTO status_list_stamp (kid, digest, issued_at) VALUES ($1, $2, $3)
                 ON CONFLICT (kid) DO NOTHING",
                &[&kid, &digest, &now],
            )
            .await?;
            let held = one(
                tx,
                "SELECT digest, issued_at FROM status_list_stamp WHERE kid = $1 FOR UPDATE",
                &[&kid],
            )
            .await?;
            let (held_digest, at): (Vec<u8>, i64) = (
                get(&held, "status_list_stamp", 0)?,
                get(&held, "status_list_stamp", 1)?,
            );
            if held_digest == digest && at > now - reissue_after {
                return Ok(at);
            }
            let issued_at = now.max(at + 1);
            exec(
                tx,
                "UPDATE status_list_stamp SET digest = $2, issued_at = $3 WHERE kid = $1",
                &[&kid, &digest, &issued_at],
            )
            .await?;
            Ok(issued_at)
        }))
    }

    fn status_entries(
        &self,
        today: time::Date,
    ) -> Result<Vec<(u32, Option<LicenceStatus>)>, StoreError> {
        self.run(status_rows(self, "ORDER BY s.idx", &[], today))
    }

    fn status_entry(
        &self,
        index: u32,
        today: time::Date,
    ) -> Result<Option<Option<LicenceStatus>>, StoreError> {
        let index = i64::from(index);
        self.run(async {
            Ok(status_rows(self, "WHERE s.idx = $1", &[&index], today)
                .await?
                .pop()
                .map(|(_, status)| status))
        })
    }
}

/// Status entries (see [`ApplicationStore::status_entries`]) chosen and ordered by `rest`,
/// the text after the joins.
async fn status_rows(
    store: &PostgresStore,
    rest: &str,
    params: &Params<'_>,
    today: time::Date,
) -> Result<Vec<(u32, Option<LicenceStatus>)>, StoreError> {
    let c = store.client().await?;
    rows(
        &c,
        &format!(
            "SELECT s.idx, l.record FROM status_index s
             JOIN account a ON a.id = s.account_id
             LEFT JOIN registry_licence l ON l.id_number = a.id_number
             {rest}"
        ),
        params,
    )
    .await?
    .iter()
    .map(|r| {
        let idx: i64 = get(r, "status_index", 0)?;
        let record: Option<String> = get(r, "registry_licence", 1)?;
        Ok((
            u32::try_from(idx).map_err(|e| corrupt("status_index", e))?,
            record.map(|r| licence_status(&r, today)).transpose()?,
        ))
    })
    .collect()
}

#[cfg(test)]
#[path = "applications_tests.rs"]
mod tests;
