//! [`AccessStore`] on PostgreSQL: `limit_event`, `sms_challenge`, `session`, `device`.
//!
//! Every limit holds across all the instances sharing the database. A reservation takes a
//! transaction-scoped advisory lock on each limit's kind and key before it counts, so no
//! other reservation of the same limit counts or inserts in between; under READ COMMITTED
//! every statement reads a fresh snapshot, so the count taken after the lock sees each
//! reservation committed before it. Attempts at a code and its use are single conditional
//! UPDATEs, whose condition PostgreSQL checks again on the row's newest version when two
//! meet.

use std::collections::BTreeSet;

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::{
    corrupt, count, exec, get, insert, insert_id, lock_key, one, row, rows, PostgresStore,
};
use crate::store::{
    AccessStore, Account, AccountId, CodePurpose, Device, Limit, Session, SmsChallenge, StoreError,
};

/// The session `$1` and its account: the account's columns as `account_from_row` reads
/// them, then the session's (what [`signed_in_from_row`] reads), then `$columns`; `$joins`
/// may bring those (`session s` and `account a` are in scope).
macro_rules! signed_in_sql {
    ($columns:expr, $joins:expr) => {
        concat!(
            "SELECT a.id, a.kind, a.id_number, a.unit_code, a.name, a.mobile,
       a.password_hash, a.created_at, s.account_id, s.created_at, s.expires_at",
            $columns,
            "
     FROM session s JOIN account a ON a.id = s.account_id",
            $joins,
            "
     WHERE s.token_hash = $1"
        )
    };
}
pub(super) use signed_in_sql;

const SIGNED_IN: &str = signed_in_sql!("", "");

/// The session and its account from a row of [`signed_in_sql`].
pub(super) fn signed_in_from_row(r: &Row) -> Result<(Session, Account), StoreError> {
    let session = Session {
        account: get(r, "session", 8)?,
        created_at: get(r, "session", 9)?,
        expires_at: get(r, "session", 10)?,
    };
    Ok((session, super::registry::account_from_row(r)?))
}

const RECORD_EVENT: &str = "INSERT INTO limit_event (kind, key, at) VALUES ($1, $2, $3)";

const COUNT_EVENTS: &str =
    "SELECT count(*) FROM limit_event WHERE kind = $1 AND key = $2 AND at >= $3";

/// The columns [`challenge_from_row`] reads, in its order.
const CHALLENGE_COLUMNS: &str = "id, purpose, subject, name, mobile, code_hash, salt,
    created_at, expires_at, attempts, consumed";

fn challenge_from_row(r: &Row) -> Result<SmsChallenge, StoreError> {
    const TABLE: &str = "sms_challenge";
    let purpose: String = get(r, TABLE, 1)?;
    let mobile: String = get(r, TABLE, 4)?;
    Ok(SmsChallenge {
        id: get(r, TABLE, 0)?,
        purpose: purpose
            .parse::<CodePurpose>()
            .map_err(|_| corrupt(TABLE, &purpose))?,
        subject: get(r, TABLE, 2)?,
        name: get(r, TABLE, 3)?,
        mobile: mobile.parse().map_err(|e| corrupt(TABLE, e))?,
        code_hash: get(r, TABLE, 5)?,
        salt: get(r, TABLE, 6)?,
        created_at: get(r, TABLE, 7)?,
        expires_at: get(r, TABLE, 8)?,
        attempts: count(get::<i32>(r, TABLE, 9)?.into()),
        consumed: get(r, TABLE, 10)?,
    })
}

fn session_from_row(r: &Row) -> Result<Session, StoreError> {
    Ok(Session {
        account: get(r, "session", 0)?,
        created_at: get(r, "session", 1)?,
        expires_at: get(r, "session", 2)?,
    })
}

fn device_from_row(r: &Row) -> Result<Device, StoreError> {
    Ok(Device {
        id: get(r, "device", 0)?,
        account: get(r, "device", 1)?,
        public_key: get(r, "device", 2)?,
        name: get(r, "device", 3)?,
        created_at: get(r, "device", 4)?,
    })
}

/// The advisory lock that serialises the reservations of one limit, on every instance.
fn limit_lock(kind: &str, key: &str) -> String {
    format!("limit:{kind}:{key}")
}

/// A count of attempts (or a limit on them) as the `INTEGER` column holds it, saturating:
/// no count gets that far.
fn counter(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// How many events of `kind` for `key` happened since `since`.
async fn events_since<C: GenericClient>(
    c: &C,
    kind: &str,
    key: &str,
    since: i64,
) -> Result<i64, StoreError> {
    get(
        &one(c, COUNT_EVENTS, &[&kind, &key, &since]).await?,
        "limit_event",
        0,
    )
}

impl AccessStore for PostgresStore {
    fn record_event(&self, kind: &str, key: &str, at: i64) -> Result<(), StoreError> {
        self.run(async {
            let c = self.client().await?;
            exec(&c, RECORD_EVENT, &[&kind, &key, &at])
                .await
                .map(|_| ())
        })
    }

    fn count_events(&self, kind: &str, key: &str, since: i64) -> Result<u32, StoreError> {
        self.run(async {
            let c = self.client().await?;
            events_since(&c, kind, key, since).await.map(count)
        })
    }

    fn last_event(&self, kind: &str, key: &str) -> Result<Option<i64>, StoreError> {
        self.run(async {
            let c = self.client().await?;
            let r = one(
                &c,
                "SELECT max(at) FROM limit_event WHERE kind = $1 AND key = $2",
                &[&kind, &key],
            )
            .await?;
            get(&r, "limit_event", 0)
        })
    }

    fn reserve_event(
        &self,
        kind: &str,
        key: &str,
        since: i64,
        limit: u32,
        at: i64,
    ) -> Result<Option<u32>, StoreError> {
        self.run(self.in_transaction(async |tx| {
            lock_key(tx, &limit_lock(kind, key)).await?;
            let made = events_since(tx, kind, key, since).await?;
            if made >= i64::from(limit) {
                return Ok(None);
            }
            exec(tx, RECORD_EVENT, &[&kind, &key, &at]).await?;
            Ok(Some(count(made + 1)))
        }))
    }

    fn reserve_events(&self, limits: &[Limit<'_>], at: i64) -> Result<Option<usize>, StoreError> {
        // Sorted, and each once: two reservations that share limits lock them in the same
        // order, so neither holds a lock the other waits for while it waits for one.
        let locks: BTreeSet<String> = limits.iter().map(|l| limit_lock(l.kind, l.key)).collect();
        self.run(self.in_transaction(async |tx| {
            for key in &locks {
                lock_key(tx, key).await?;
            }
            for (i, l) in limits.iter().enumerate() {
                if events_since(tx, l.kind, l.key, l.since).await? >= i64::from(l.limit) {
                    // Nothing is recorded: the transaction ends without a write.
                    return Ok(Some(i));
                }
            }
            for l in limits {
                exec(tx, RECORD_EVENT, &[&l.kind, &l.key, &at]).await?;
            }
            Ok(None)
        }))
    }

    fn release_events(&self, limits: &[Limit<'_>], at: i64) -> Result<(), StoreError> {
        // One event per limit, as many as were reserved. `FOR UPDATE` makes two releases of
        // the same second take different events: one that finds its pick deleted by the
        // other moves on to the next instead of deleting nothing.
        self.run(self.in_transaction(async |tx| {
            for l in limits {
                exec(
                    tx,
                    "DELETE FROM limit_event WHERE ctid = (SELECT ctid FROM limit_event
                       WHERE kind = $1 AND key = $2 AND at = $3 LIMIT 1 FOR UPDATE)",
                    &[&l.kind, &l.key, &at],
                )
                .await?;
            }
            Ok(())
        }))
    }

    fn clear_events(&self, kind: &str, key: &str) -> Result<(), StoreError> {
        self.run(async {
            let c = self.client().await?;
            exec(
                &c,
                "DELETE FROM limit_event WHERE kind = $1 AND key = $2",
                &[&kind, &key],
            )
            .await
            .map(|_| ())
        })
    }

    fn put_challenge(&self, c: &SmsChallenge) -> Result<(), StoreError> {
        self.run(async {
            let client = self.client().await?;
            insert(
                &client,
                "challenge",
                "INSERT INTO sms_challenge (id, purpose, subject, name, mobile, code_hash, salt,
                   created_at, expires_at, attempts, consumed)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                &[
                    &c.id,
                    &c.purpose.as_str(),
                    &c.subject,
                    &c.name,
                    &c.mobile.as_str(),
                    &c.code_hash,
                    &c.salt,
                    &c.created_at,
                    &c.expires_at,
                    &counter(c.attempts),
                    &c.consumed,
                ],
            )
            .await
            .map(|_| ())
        })
    }

    fn challenge(&self, id: &str) -> Result<Option<SmsChallenge>, StoreError> {
        self.run(async {
            let c = self.client().await?;
            row(
                &c,
                &format!("SELECT {CHALLENGE_COLUMNS} FROM sms_challenge WHERE id = $1"),
                &[&id],
            )
            .await?
            .as_ref()
            .map(challenge_from_row)
            .transpose()
        })
    }

    fn reserve_attempt(&self, id: &str, limit: u32) -> Result<Option<u32>, StoreError> {
        self.run(async {
            let c = self.client().await?;
            row(
                &c,
                "UPDATE sms_challenge SET attempts = attempts + 1
                 WHERE id = $1 AND attempts < $2 RETURNING attempts",
                &[&id, &counter(limit)],
            )
            .await?
            .map(|r| Ok(count(get::<i32>(&r, "sms_challenge", 0)?.into())))
            .transpose()
        })
    }

    fn consume_challenge(&self, id: &str) -> Result<bool, StoreError> {
        self.run(async {
            let c = self.client().await?;
            let changed = exec(
                &c,
                "UPDATE sms_challenge SET consumed = TRUE WHERE id = $1 AND NOT consumed",
                &[&id],
            )
            .await?;
            Ok(changed == 1)
        })
    }

    fn delete_challenge(&self, id: &str) -> Result<(), StoreError> {
        self.run(async {
            let c = self.client().await?;
            exec(&c, "DELETE FROM sms_challenge WHERE id = $1", &[&id])
                .await
                .map(|_| ())
        })
    }

    fn put_session(&self, token_hash: &[u8], s: &Session) -> Result<(), StoreError> {
        self.run(async {
            let c = self.client().await?;
            insert(
                &c,
                "session",
                "INSERT INTO session (token_hash, account_id, created_at, expires_at)
                 VALUES ($1, $2, $3, $4)",
                &[&token_hash, &s.account, &s.created_at, &s.expires_at],
            )
            .await
            .map(|_| ())
        })
    }

    fn session(&self, token_hash: &[u8]) -> Result<Option<Session>, StoreError> {
        self.run(async {
            let c = self.client().await?;
            row(
                &c,
                "SELECT account_id, created_at, expires_at FROM session WHERE token_hash = $1",
                &[&token_hash],
            )
            .await?
            .as_ref()
            .map(session_from_row)
            .transpose()
        })
    }

    fn ping(&self) -> Result<(), StoreError> {
        self.run(async {
            let c = self.client().await?;
            one(&c, "SELECT 1", &[]).await.map(|_| ())
        })
    }

    fn signed_in(&self, token_hash: &[u8]) -> Result<Option<(Session, Account)>, StoreError> {
        self.run(async {
            let c = self.client().await?;
            row(&c, SIGNED_IN, &[&token_hash])
                .await?
                .as_ref()
                .map(signed_in_from_row)
                .transpose()
        })
    }

    fn delete_session(&self, token_hash: &[u8]) -> Result<(), StoreError> {
        self.run(async {
            let c = self.client().await?;
            exec(
                &c,
                "DELETE FROM session WHERE token_hash = $1",
                &[&token_hash],
            )
            .await
            .map(|_| ())
        })
    }

    fn delete_sessions(&self, account: AccountId) -> Result<u64, StoreError> {
        self.run(async {
            let c = self.client().await?;
            exec(&c, "DELETE FROM session WHERE account_id = $1", &[&account]).await
        })
    }

    fn purge(&self, events_before: i64, expired_before: i64) -> Result<u64, StoreError> {
        self.run(self.in_transaction(async |tx| {
            let mut n = exec(
                tx,
                "DELETE FROM limit_event WHERE at < $1",
                &[&events_before],
            )
            .await?;
            n += exec(
                tx,
                "DELETE FROM sms_challenge WHERE expires_at < $1",
                &[&expired_before],
            )
            .await?;
            n += exec(
                tx,
                "DELETE FROM session WHERE expires_at < $1",
                &[&expired_before],
            )
            .await?;
            Ok(n)
        }))
    }

    fn add_device(&self, d: &Device) -> Result<i64, StoreError> {
        self.run(async {
            let c = self.client().await?;
            insert_id(
                &c,
                "device",
                "INSERT INTO device (account_id, public_key, name, created_at)
                 VALUES ($1, $2, $3, $4) RETURNING id",
                &[&d.account, &d.public_key, &d.name, &d.created_at],
            )
            .await
        })
    }

    fn devices(&self, account: AccountId) -> Result<Vec<Device>, StoreError> {
        self.run(async {
            let c = self.client().await?;
            rows(
                &c,
                "SELECT id, account_id, public_key, name, created_at FROM device
                 WHERE account_id = $1 ORDER BY id",
                &[&account],
            )
            .await?
            .iter()
            .map(device_from_row)
            .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::access::tests::challenge;
    use crate::store::postgres::tests::{fresh_store, race, two_instances};
    use crate::store::registry::tests::unit;

    #[test]
    #[ignore = "needs PostgreSQL: cargo xtask test postgres"]
    fn a_code_is_consumed_once() {
        crate::store::access::tests::a_code_is_consumed_once(&fresh_store());
    }

    #[test]
    #[ignore = "needs PostgreSQL: cargo xtask test postgres"]
    fn a_code_reads_back_as_it_was_put() {
        let store = fresh_store();
        let put = SmsChallenge {
            attempts: 3,
            consumed: true,
            ..challenge(CodePurpose::SignIn)
        };
        store.put_challenge(&put).unwrap();
        assert_eq!(store.challenge("c1").unwrap(), Some(put));
    }

    #[test]
    #[ignore = "needs PostgreSQL: cargo xtask test postgres"]
    fn a_code_keeps_its_purpose_in_the_stored_spelling() {
        let store = fresh_store();
        crate::store::access::tests::a_code_keeps_its_purpose_in_the_stored_spelling(
            &store,
            &|| {
                store
                    .run(async {
                        let c = store.client().await?;
                        one(&c, "SELECT purpose FROM sms_challenge WHERE id = 'c1'", &[]).await
                    })
                    .unwrap()
                    .get(0)
            },
            &|spelling| {
                store
                    .run(async {
                        let c = store.client().await?;
                        exec(&c, "UPDATE sms_challenge SET purpose = $1", &[&spelling]).await
                    })
                    .unwrap();
            },
        );
    }

    #[test]
    #[ignore = "needs PostgreSQL: cargo xtask test postgres"]
    fn limit_events_are_counted_by_kind_and_key_and_cleared() {
        crate::store::access::tests::limit_events_are_counted_by_kind_and_key_and_cleared(
            &fresh_store(),
        );
    }

    #[test]
    #[ignore = "needs PostgreSQL: cargo xtask test postgres"]
    fn several_limits_are_reserved_all_or_none_and_can_be_released() {
        crate::store::access::tests::several_limits_are_reserved_all_or_none_and_can_be_released(
            &fresh_store(),
        );
    }

    #[test]
    #[ignore = "needs PostgreSQL: cargo xtask test postgres"]
    fn the_purge_removes_old_events_and_expired_codes_and_sessions_only() {
        crate::store::access::tests::the_purge_removes_old_events_and_expired_codes_and_sessions_only(
            &fresh_store(),
        );
    }

    #[test]
    #[ignore = "needs PostgreSQL: cargo xtask test postgres"]
    fn sessions_and_devices_belong_to_their_account() {
        let store = fresh_store();
        let (a, b) = (unit(&store, 1), unit(&store, 2));
        let session = |account| Session {
            account,
            created_at: 1,
            expires_at: 100,
        };
        for (token, account) in [(&b"a1"[..], a), (b"a2", a), (b"b1", b)] {
            store.put_session(token, &session(account)).unwrap();
        }
        assert!(matches!(
            store.put_session(b"a1", &session(b)),
            Err(StoreError::Duplicate("session"))
        ));
        assert_eq!(store.session(b"a1").unwrap(), Some(session(a)));
        store.delete_session(b"a1").unwrap();
        assert_eq!(store.session(b"a1").unwrap(), None);
        assert_eq!(store.delete_sessions(a).unwrap(), 1);
        assert_eq!(store.session(b"a2").unwrap(), None);
        assert_eq!(store.session(b"b1").unwrap(), Some(session(b)));

        let device = |account, key: u8, name: &str| Device {
            id: 0,
            account,
            public_key: vec![key; 33],
            name: name.into(),
            created_at: 7,
        };
        let first = store.add_device(&device(a, 1, "手机")).unwrap();
        let second = store.add_device(&device(a, 2, "平板")).unwrap();
        // The same key on another account is another device; on the same one, a duplicate.
        store.add_device(&device(b, 1, "手机")).unwrap();
        assert!(matches!(
            store.add_device(&device(a, 1, "again")),
            Err(StoreError::Duplicate("device"))
        ));
        assert_eq!(
            store.devices(a).unwrap(),
            vec![
                Device {
                    id: first,
                    ..device(a, 1, "手机")
                },
                Device {
                    id: second,
                    ..device(a, 2, "平板")
                },
            ]
        );
    }

    #[test]
    #[ignore = "needs PostgreSQL: cargo xtask test postgres"]
    fn a_limit_holds_across_instances_when_requests_race() {
        let (store, other) = two_instances();
        let got = race([&store, &other], 20, |i, s| {
            s.reserve_event("pw", "k", 0, 5, 100 + i as i64).unwrap()
        });
        let mut made: Vec<u32> = got.into_iter().flatten().collect();
        made.sort_unstable();
        assert_eq!(made, [1, 2, 3, 4, 5]);
        assert_eq!(store.count_events("pw", "k", 0).unwrap(), 5);
    }

    #[test]
    #[ignore = "needs PostgreSQL: cargo xtask test postgres"]
    fn several_limits_hold_across_instances_in_any_order_without_deadlock() {
        let (store, other) = two_instances();
        let got = race([&store, &other], 20, |i, s| {
            let a = Limit {
                kind: "a",
                key: "k",
                since: 0,
                limit: 5,
            };
            let b = Limit {
                kind: "b",
                limit: 7,
                ..a
            };
            // Half name the limits one way round, half the other: the locks are still taken
            // in one order.
            let limits = if i % 2 == 0 { [a, b] } else { [b, a] };
            s.reserve_events(&limits, 100).unwrap()
        });
        assert_eq!(got.iter().filter(|full| full.is_none()).count(), 5);
        assert_eq!(store.count_events("a", "k", 0).unwrap(), 5);
        assert_eq!(store.count_events("b", "k", 0).unwrap(), 5);
    }

    #[test]
    #[ignore = "needs PostgreSQL: cargo xtask test postgres"]
    fn releases_racing_at_the_same_second_take_one_event_each() {
        let (store, other) = two_instances();
        let limits = [Limit {
            kind: "code",
            key: "k",
            since: 0,
            limit: 100,
        }];
        for _ in 0..10 {
            assert_eq!(store.reserve_events(&limits, 100).unwrap(), None);
        }
        race([&store, &other], 10, move |_, s| {
            s.release_events(&limits, 100).unwrap()
        });
        assert_eq!(store.count_events("code", "k", 0).unwrap(), 0);
    }

    #[test]
    #[ignore = "needs PostgreSQL: cargo xtask test postgres"]
    fn attempts_at_a_code_hold_across_instances_when_guesses_race() {
        let (store, other) = two_instances();
        store
            .put_challenge(&challenge(CodePurpose::SignIn))
            .unwrap();
        let got = race([&store, &other], 20, |_, s| {
            s.reserve_attempt("c1", 5).unwrap()
        });
        let mut made: Vec<u32> = got.into_iter().flatten().collect();
        made.sort_unstable();
        assert_eq!(made, [1, 2, 3, 4, 5]);
        assert_eq!(store.challenge("c1").unwrap().unwrap().attempts, 5);
        // And the code is used up once, however many ask at once.
        let used = race([&store, &other], 20, |_, s| {
            s.consume_challenge("c1").unwrap()
        });
        assert_eq!(used.iter().filter(|&&used| used).count(), 1);
    }
}
