//! [`RegistryStore`] on PostgreSQL: tables `registry_person`, `registry_licence`, `account`,
//! `unit_papers`, `id_card_review`.

use deadpool_postgres::GenericClient;
use licence_core::{DrivingLicence, IdCardValidity, IdNumber, MobileNumber, PersonName, UserKind};
use tokio_postgres::Row;

use super::{corrupt, db, exec, get, insert, insert_id, one, row, rows, Params, PostgresStore};
use crate::store::{
    Account, AccountId, Effects, IdCardReview, KindUpgrade, NewAccount, RegistryEntry,
    RegistryStore, ReviewState, StoreError, UnitPapers,
};

/// The columns [`account_from_row`] reads, in its order (`access::SIGNED_IN` reads them
/// too, from a join).
const ACCOUNT_COLUMNS: &str =
    "id, kind, id_number, unit_code, name, mobile, password_hash, created_at";

/// The columns [`review_from_row`] reads, in its order.
const REVIEW_COLUMNS: &str = "id, account_id, front, back, validity, state, reason, \
     submitted_at, decided_at, decided_by";

pub(super) fn account_from_row(r: &Row) -> Result<Account, StoreError> {
    let kind: String = get(r, "account", 1)?;
    let id_number: Option<String> = get(r, "account", 2)?;
    let mobile: String = get(r, "account", 5)?;
    Ok(Account {
        id: get(r, "account", 0)?,
        kind: serde_json::from_str::<UserKind>(&kind).map_err(|e| corrupt("account", e))?,
        id_number: id_number
            .map(|s| s.parse::<IdNumber>())
            .transpose()
            .map_err(|e| corrupt("account", e))?,
        unit_code: get(r, "account", 3)?,
        name: get(r, "account", 4)?,
        mobile: mobile.parse().map_err(|e| corrupt("account", e))?,
        password_hash: get(r, "account", 6)?,
        created_at: get(r, "account", 7)?,
    })
}

fn review_from_row(r: &Row) -> Result<IdCardReview, StoreError> {
    const TABLE: &str = "id_card_review";
    let validity: String = get(r, TABLE, 4)?;
    let state: String = get(r, TABLE, 5)?;
    Ok(IdCardReview {
        id: get(r, TABLE, 0)?,
        account: get(r, TABLE, 1)?,
        front: get(r, TABLE, 2)?,
        back: get(r, TABLE, 3)?,
        validity: validity.parse().map_err(|e| corrupt(TABLE, e))?,
        state: state
            .parse::<ReviewState>()
            .map_err(|_| corrupt(TABLE, &state))?,
        reason: get(r, TABLE, 6)?,
        submitted_at: get(r, TABLE, 7)?,
        decided_at: get(r, TABLE, 8)?,
        decided_by: get(r, TABLE, 9)?,
    })
}

/// The person `id` from a row of name, reserved mobile, photo and licence record.
fn entry_from_row(id: IdNumber, r: &Row) -> Result<RegistryEntry, StoreError> {
    let name: String = get(r, "registry_person", 0)?;
    let mobile: String = get(r, "registry_person", 1)?;
    let record: Option<String> = get(r, "registry_licence", 3)?;
    Ok(RegistryEntry {
        id_number: id,
        name: name
            .parse::<PersonName>()
            .map_err(|e| corrupt("registry_person", e))?,
        reserved_mobile: mobile
            .parse::<MobileNumber>()
            .map_err(|e| corrupt("registry_person", e))?,
        photo: get(r, "registry_person", 2)?,
        licence: record
            .map(|r| serde_json::from_str::<DrivingLicence>(&r))
            .transpose()
            .map_err(|e| corrupt("registry_licence", e))?,
    })
}

fn kind_json(kind: &UserKind) -> Result<String, StoreError> {
    serde_json::to_string(kind).map_err(|e| corrupt("account", e))
}

/// Inserts an account row; a taken ID number or unit code is `Duplicate(what)`.
async fn insert_account<C: GenericClient>(
    c: &C,
    a: &NewAccount,
    what: &'static str,
) -> Result<AccountId, StoreError> {
    insert_id(
        c,
        what,
        "INSERT INTO account (kind, id_number, unit_code, name, mobile, password_hash,
           created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        &[
            &kind_json(&a.kind)?,
            &a.id_number.as_ref().map(IdNumber::as_str),
            &a.unit_code,
            &a.name,
            &a.mobile.as_str(),
            &a.password_hash,
            &a.created_at,
        ],
    )
    .await
}

impl PostgresStore {
    /// The account `condition` finds (at most one: a unique key, or `LIMIT 1`).
    fn account_where(
        &self,
        condition: &str,
        params: &Params<'_>,
    ) -> Result<Option<Account>, StoreError> {
        self.run(async {
            let c = self.client().await?;
            row(
                &c,
                &format!("SELECT {ACCOUNT_COLUMNS} FROM account WHERE {condition}"),
                params,
            )
            .await?
            .as_ref()
            .map(account_from_row)
            .transpose()
        })
    }

    fn reviews_where(
        &self,
        condition: &str,
        params: &Params<'_>,
    ) -> Result<Vec<IdCardReview>, StoreError> {
        self.run(async {
            let c = self.client().await?;
            rows(
                &c,
                &format!("SELECT {REVIEW_COLUMNS} FROM id_card_review WHERE {condition}"),
                params,
            )
            .await?
            .iter()
            .map(review_from_row)
            .collect()
        })
    }
}

impl RegistryStore for PostgresStore {
    fn put_registry_entry(&self, entry: &RegistryEntry) -> Result<(), StoreError> {
        let id = entry.id_number.as_str();
        self.run(self.in_transaction(async |tx| {
            // The upsert locks the person's row until commit, so two writers of one person
            // replace the licence one after the other.
            exec(
                tx,
                "INSERT INTO registry_person (id_number, name, reserved_mobile, photo)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (id_number) DO UPDATE SET
                   name = excluded.name, reserved_mobile = excluded.reserved_mobile,
                   photo = excluded.photo",
                &[
                    &id,
                    &entry.name.as_str(),
                    &entry.reserved_mobile.as_str(),
                    &entry.photo,
                ],
            )
            .await?;
            exec(
                tx,
                "DELETE FROM registry_licence WHERE id_number = $1",
                &[&id],
            )
            .await?;
            if let Some(licence) = &entry.licence {
                let record = serde_json::to_string(licence).map_err(|e| corrupt("registry", e))?;
                insert(
                    tx,
                    "licence file number (档案编号)",
                    "INSERT INTO registry_licence (id_number, file_number, record)
                     VALUES ($1, $2, $3)",
                    &[&id, &licence.record().file_number.to_string(), &record],
                )
                .await?;
            }
            Ok(())
        }))
    }

    fn registry_entry(&self, id: &IdNumber) -> Result<Option<RegistryEntry>, StoreError> {
        self.run(async {
            let c = self.client().await?;
            row(
                &c,
                "SELECT p.name, p.reserved_mobile, p.photo, l.record
                 FROM registry_person p LEFT JOIN registry_licence l USING (id_number)
                 WHERE p.id_number = $1",
                &[&id.as_str()],
            )
            .await?
            .map(|r| entry_from_row(*id, &r))
            .transpose()
        })
    }

    fn registry_size(&self) -> Result<usize, StoreError> {
        self.run(async {
            let c = self.client().await?;
            let n: i64 = get(
                &one(&c, "SELECT count(*) FROM registry_person", &[]).await?,
                "registry_person",
                0,
            )?;
            usize::try_from(n).map_err(db)
        })
    }

    fn create_account(&self, a: &NewAccount) -> Result<AccountId, StoreError> {
        self.run(async {
            let c = self.client().await?;
            insert_account(&c, a, "account").await
        })
    }

    fn account(&self, id: AccountId) -> Result<Option<Account>, StoreError> {
        self.account_where("id = $1", &[&id])
    }

    fn account_by_id_number(&self, id: &IdNumber) -> Result<Option<Account>, StoreError> {
        self.account_where("id_number = $1", &[&id.as_str()])
    }

    fn account_by_mobile(&self, mobile: &MobileNumber) -> Result<Option<Account>, StoreError> {
        // A number can belong to several accounts (a person and a unit's agent); sign-in by
        // mobile takes the person's (false sorts before true).
        self.account_where(
            "mobile = $1 ORDER BY id_number IS NULL, id LIMIT 1",
            &[&mobile.as_str()],
        )
    }

    fn account_by_unit_code(&self, code: &str) -> Result<Option<Account>, StoreError> {
        self.account_where("unit_code = $1", &[&code])
    }

    fn set_account_kind(
        &self,
        id: AccountId,
        kind: UserKind,
        id_card_validity: Option<IdCardValidity>,
    ) -> Result<(), StoreError> {
        let kind = kind_json(&kind)?;
        let validity = id_card_validity.map(|v| v.to_string());
        self.run(async {
            let c = self.client().await?;
            exec(
                &c,
                "UPDATE account SET kind = $1,
                   id_card_validity = coalesce($2, id_card_validity) WHERE id = $3",
                &[&kind, &validity, &id],
            )
            .await
            .map(|_| ())
        })
    }

    fn create_unit(&self, a: &NewAccount, papers: &UnitPapers) -> Result<AccountId, StoreError> {
        // A unit has no ID number of its own (its agent's is in the papers).
        let unit = NewAccount {
            id_number: None,
            ..a.clone()
        };
        self.run(self.in_transaction(async |tx| {
            let id = insert_account(tx, &unit, "unit").await?;
            exec(
                tx,
                "INSERT INTO unit_papers (account_id, agent_name, agent_id_number, attorney,
                   attorney_type)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &id,
                    &papers.agent_name.as_str(),
                    &papers.agent_id_number.as_str(),
                    &papers.attorney,
                    &papers.attorney_type,
                ],
            )
            .await?;
            Ok(id)
        }))
    }

    fn add_review(&self, r: &IdCardReview) -> Result<i64, StoreError> {
        self.run(async {
            let c = self.client().await?;
            let added = one(
                &c,
                "INSERT INTO id_card_review (account_id, front, back, validity, state, reason,
                   submitted_at, decided_at, decided_by)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                &[
                    &r.account,
                    &r.front,
                    &r.back,
                    &r.validity.to_string(),
                    &r.state.as_str(),
                    &r.reason,
                    &r.submitted_at,
                    &r.decided_at,
                    &r.decided_by,
                ],
            )
            .await?;
            get(&added, "id_card_review", 0)
        })
    }

    fn review(&self, id: i64) -> Result<Option<IdCardReview>, StoreError> {
        Ok(self.reviews_where("id = $1", &[&id])?.pop())
    }

    fn reviews_of(&self, account: AccountId) -> Result<Vec<IdCardReview>, StoreError> {
        self.reviews_where("account_id = $1 ORDER BY id", &[&account])
    }

    fn pending_reviews(&self) -> Result<Vec<IdCardReview>, StoreError> {
        self.reviews_where(
            "state = $1 ORDER BY submitted_at, id",
            &[&ReviewState::Pending.as_str()],
        )
    }

    fn decide_review(
        &self,
        id: i64,
        state: ReviewState,
        reason: Option<&str>,
        by: &str,
        upgrade: Option<KindUpgrade>,
        effects: &Effects,
        at: i64,
    ) -> Result<bool, StoreError> {
        let upgrade = match upgrade {
            Some(u) => Some((
                kind_json(&u.to)?,
                u.id_card_validity.to_string(),
                kind_json(&u.from)?,
            )),
            None => None,
        };
        self.run(self.in_transaction(async |tx| {
            // The decision: of several instances deciding at once, the first to update takes
            // the row's lock; the others wait for its commit, then find the review no longer
            // pending and change nothing.
            let Some(decided) = row(
                tx,
                "UPDATE id_card_review SET state = $1, reason = $2, decided_by = $3,
                   decided_at = $4
                 WHERE id = $5 AND state = $6 RETURNING account_id",
                &[
                    &state.as_str(),
                    &reason,
                    &by,
                    &at,
                    &id,
                    &ReviewState::Pending.as_str(),
                ],
            )
            .await?
            else {
                return Ok(false);
            };
            if let Some((kind, validity, from)) = &upgrade {
                let account: AccountId = get(&decided, "id_card_review", 0)?;
                exec(
                    tx,
                    "UPDATE account SET kind = $1, id_card_validity = $2
                     WHERE id = $3 AND kind = $4",
                    &[kind, validity, &account, from],
                )
                .await?;
            }
            super::messages::write_effects(tx, effects, at).await?;
            Ok(true)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::postgres::tests::fresh_store;
    use crate::store::registry::tests::{entry, pending_review, person};
    use crate::store::{AuditEntry, MessageStore, Notice, StaffStore};
    use licence_core::FaceSignChannel;

    /// The one value a query of the store's database gives.
    fn query<T: for<'a> tokio_postgres::types::FromSql<'a>>(
        store: &PostgresStore,
        sql: &str,
        params: &Params<'_>,
    ) -> T {
        store
            .run(async {
                let c = store.client().await?;
                one(&c, sql, params).await
            })
            .unwrap()
            .get(0)
    }

    #[test]
    #[ignore = "needs PostgreSQL: cargo xtask test postgres"]
    fn the_registry_round_trips_and_replaces() {
        crate::store::registry::tests::the_registry_round_trips_and_replaces(&fresh_store());
    }

    #[test]
    #[ignore = "needs PostgreSQL: cargo xtask test postgres"]
    fn a_taken_file_number_leaves_the_registry_as_it_was() {
        let store = fresh_store();
        let e = entry();
        store.put_registry_entry(&e).unwrap();
        // Another person with the same licence file number: nothing of them is stored.
        let other = RegistryEntry {
            id_number: "11010519491231002X".parse().unwrap(),
            ..e.clone()
        };
        assert!(matches!(
            store.put_registry_entry(&other),
            Err(StoreError::Duplicate("licence file number (档案编号)"))
        ));
        assert_eq!(store.registry_entry(&other.id_number).unwrap(), None);
        assert_eq!(store.registry_entry(&e.id_number).unwrap(), Some(e));
        assert_eq!(store.registry_size().unwrap(), 1);
    }

    #[test]
    #[ignore = "needs PostgreSQL: cargo xtask test postgres"]
    fn a_second_account_for_one_person_is_a_duplicate() {
        crate::store::registry::tests::a_second_account_for_one_person_is_a_duplicate(
            &fresh_store(),
        );
    }

    #[test]
    #[ignore = "needs PostgreSQL: cargo xtask test postgres"]
    fn an_approval_upgrades_only_the_kind_it_was_made_on() {
        crate::store::registry::tests::an_approval_upgrades_only_the_kind_it_was_made_on(
            &fresh_store(),
        );
    }

    #[test]
    #[ignore = "needs PostgreSQL: cargo xtask test postgres"]
    fn a_review_is_decided_once_and_stored_in_its_spelling() {
        let store = fresh_store();
        crate::store::registry::tests::a_review_is_decided_once_and_stored_in_its_spelling(
            &store,
            &|id| {
                query(
                    &store,
                    "SELECT state FROM id_card_review WHERE id = $1",
                    &[&id],
                )
            },
        );
    }

    #[test]
    #[ignore = "needs PostgreSQL: cargo xtask test postgres"]
    fn of_instances_deciding_one_review_at_once_one_decides_and_upgrades() {
        let store = fresh_store();
        let account = store.create_account(&person()).unwrap();
        let review = pending_review(account);
        let id = store.add_review(&review).unwrap();
        let face_signed = UserKind::FaceSigned {
            via: FaceSignChannel::ManualIdReview,
        };
        let event_key = format!("id_card_review:{id}:approved");
        let contenders = 6;
        let barrier = std::sync::Barrier::new(contenders);
        let winners = std::thread::scope(|s| {
            let deciding: Vec<_> = (0..contenders)
                .map(|i| {
                    let (store, barrier, event_key) = (&store, &barrier, &event_key);
                    s.spawn(move || {
                        let by = format!("reviewer{i}");
                        let effects = Effects {
                            notice: Some(Notice {
                                account,
                                to: "13800138000".parse().unwrap(),
                                event_key: event_key.clone(),
                                title: "审核通过".into(),
                                text: "您的身份证审核已通过".into(),
                            }),
                            audit: Some(AuditEntry {
                                at: 10,
                                actor: by.clone(),
                                action: "review.approve".into(),
                                detail: format!("review {id}"),
                            }),
                        };
                        barrier.wait();
                        store
                            .decide_review(
                                id,
                                ReviewState::Approved,
                                None,
                                &by,
                                Some(KindUpgrade {
                                    from: UserKind::OnlineRegistered,
                                    to: face_signed,
                                    id_card_validity: review.validity,
                                }),
                                &effects,
                                10,
                            )
                            .unwrap()
                    })
                })
                .collect();
            deciding
                .into_iter()
                .map(|d| d.join().unwrap())
                .filter(|won| *won)
                .count()
        });
        assert_eq!(winners, 1);
        let decided = store.review(id).unwrap().unwrap();
        assert_eq!(decided.state, ReviewState::Approved);
        assert_eq!(store.account(account).unwrap().unwrap().kind, face_signed);
        // The winner's effects only, once.
        let audit = store.audit_log(10).unwrap();
        assert_eq!(audit.len(), 1);
        assert_eq!(Some(&audit[0].actor), decided.decided_by.as_ref());
        assert!(store.outbox_message(&event_key).unwrap().is_some());
        assert_eq!(store.inbox(account, 0, 10).unwrap().len(), 1);
        let validity: String = query(
            &store,
            "SELECT id_card_validity FROM account WHERE id = $1",
            &[&account],
        );
        assert_eq!(validity, review.validity.to_string());
    }

    #[test]
    #[ignore = "needs PostgreSQL: cargo xtask test postgres"]
    fn a_unit_is_created_with_its_papers_or_not_at_all() {
        let store = fresh_store();
        crate::store::registry::tests::a_unit_is_created_with_its_papers_or_not_at_all(
            &store,
            &|| query(&store, "SELECT count(*) FROM unit_papers", &[]),
        );
    }
}
