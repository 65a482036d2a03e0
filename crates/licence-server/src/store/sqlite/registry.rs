//! [`RegistryStore`] on SQLite: `registry_person`, `registry_licence`, `account`,
//! `unit_papers`, `id_card_review`.

use licence_core::{DrivingLicence, IdCardValidity, IdNumber, MobileNumber, PersonName, UserKind};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{corrupt, db, insert_error, SqliteStore};
use crate::store::{
    Account, AccountId, Effects, IdCardReview, KindUpgrade, NewAccount, RegistryEntry,
    RegistryStore, ReviewState, StoreError, UnitPapers,
};

fn account_from_row(row: &Row<'_>) -> rusqlite::Result<Result<Account, StoreError>> {
    let kind: String = row.get("kind")?;
    let id_number: Option<String> = row.get("id_number")?;
    let mobile: String = row.get("mobile")?;
    let parsed = (|| {
        Ok(Account {
            id: row.get("id").map_err(db)?,
            kind: serde_json::from_str::<UserKind>(&kind).map_err(|e| corrupt("account", e))?,
            id_number: id_number
                .map(|s| s.parse::<IdNumber>())
                .transpose()
                .map_err(|e| corrupt("account", e))?,
            unit_code: row.get("unit_code").map_err(db)?,
            name: row.get("name").map_err(db)?,
            mobile: mobile.parse().map_err(|e| corrupt("account", e))?,
            password_hash: row.get("password_hash").map_err(db)?,
            created_at: row.get("created_at").map_err(db)?,
        })
    })();
    Ok(parsed)
}

fn review_from_row(row: &Row<'_>) -> rusqlite::Result<Result<IdCardReview, StoreError>> {
    let validity: String = row.get("validity")?;
    let state: String = row.get("state")?;
    let parsed = (|| {
        Ok(IdCardReview {
            id: row.get("id").map_err(db)?,
            account: row.get("account_id").map_err(db)?,
            front: row.get("front").map_err(db)?,
            back: row.get("back").map_err(db)?,
            validity: validity.parse().map_err(|e| corrupt("id_card_review", e))?,
            state: state
                .parse::<ReviewState>()
                .map_err(|_| corrupt("id_card_review", &state))?,
            reason: row.get("reason").map_err(db)?,
            submitted_at: row.get("submitted_at").map_err(db)?,
            decided_at: row.get("decided_at").map_err(db)?,
            decided_by: row.get("decided_by").map_err(db)?,
        })
    })();
    Ok(parsed)
}

fn kind_json(kind: &UserKind) -> Result<String, StoreError> {
    serde_json::to_string(kind).map_err(|e| corrupt("account", e))
}

/// Inserts an account row; a taken ID number or unit code is `Duplicate(what)`.
fn insert_account(
    conn: &Connection,
    a: &NewAccount,
    what: &'static str,
) -> Result<AccountId, StoreError> {
    conn.execute(
        "INSERT INTO account (kind, id_number, unit_code, name, mobile, password_hash, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            kind_json(&a.kind)?,
            a.id_number.as_ref().map(IdNumber::as_str),
            a.unit_code,
            a.name,
            a.mobile.as_str(),
            a.password_hash,
            a.created_at
        ],
    )
    .map_err(insert_error(what))?;
    Ok(conn.last_insert_rowid())
}

impl SqliteStore {
    fn account_where<P: rusqlite::Params>(
        &self,
        condition: &str,
        params: P,
    ) -> Result<Option<Account>, StoreError> {
        self.conn()
            .query_row(
                &format!("SELECT * FROM account WHERE {condition}"),
                params,
                account_from_row,
            )
            .optional()
            .map_err(db)?
            .transpose()
    }

    fn reviews_where<P: rusqlite::Params>(
        &self,
        condition: &str,
        params: P,
    ) -> Result<Vec<IdCardReview>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM id_card_review WHERE {condition}"))
            .map_err(db)?;
        let rows = stmt.query_map(params, review_from_row).map_err(db)?;
        rows.map(|r| r.map_err(db)?).collect()
    }
}

impl RegistryStore for SqliteStore {
    fn put_registry_entry(&self, entry: &RegistryEntry) -> Result<(), StoreError> {
        self.in_transaction(|tx| {
            tx.execute(
                "INSERT INTO registry_person (id_number, name, reserved_mobile, photo)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id_number) DO UPDATE SET
                   name = excluded.name, reserved_mobile = excluded.reserved_mobile,
                   photo = excluded.photo",
                params![
                    entry.id_number.as_str(),
                    entry.name.as_str(),
                    entry.reserved_mobile.as_str(),
                    entry.photo
                ],
            )
            .map_err(db)?;
            tx.execute(
                "DELETE FROM registry_licence WHERE id_number = ?1",
                [entry.id_number.as_str()],
            )
            .map_err(db)?;
            if let Some(licence) = &entry.licence {
                let record = serde_json::to_string(licence).map_err(|e| corrupt("registry", e))?;
                tx.execute(
                    "INSERT INTO registry_licence (id_number, file_number, record)
                     VALUES (?1, ?2, ?3)",
                    params![
                        entry.id_number.as_str(),
                        licence.record().file_number.to_string(),
                        record
                    ],
                )
                .map_err(insert_error("licence file number (档案编号)"))?;
            }
            Ok(())
        })
    }

    fn registry_entry(&self, id: &IdNumber) -> Result<Option<RegistryEntry>, StoreError> {
        let conn = self.reader()?;
        let row = conn
            .prepare_cached(
                "SELECT p.name, p.reserved_mobile, p.photo, l.record
                 FROM registry_person p LEFT JOIN registry_licence l USING (id_number)
                 WHERE p.id_number = ?1",
            )
            .map_err(db)?
            .query_row([id.as_str()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<Vec<u8>>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            })
            .optional()
            .map_err(db)?;
        let Some((name, mobile, photo, record)) = row else {
            return Ok(None);
        };
        Ok(Some(RegistryEntry {
            id_number: *id,
            name: name
                .parse::<PersonName>()
                .map_err(|e| corrupt("registry_person", e))?,
            reserved_mobile: mobile
                .parse::<MobileNumber>()
                .map_err(|e| corrupt("registry_person", e))?,
            photo,
            licence: record
                .map(|r| serde_json::from_str::<DrivingLicence>(&r))
                .transpose()
                .map_err(|e| corrupt("registry_licence", e))?,
        }))
    }

    fn registry_size(&self) -> Result<usize, StoreError> {
        self.conn()
            .query_row("SELECT count(*) FROM registry_person", [], |r| r.get(0))
            .map_err(db)
    }

    fn create_account(&self, a: &NewAccount) -> Result<AccountId, StoreError> {
        insert_account(&self.conn(), a, "account")
    }

    fn account(&self, id: AccountId) -> Result<Option<Account>, StoreError> {
        self.reader()?
            .prepare_cached("SELECT * FROM account WHERE id = ?1")
            .map_err(db)?
            .query_row([id], account_from_row)
            .optional()
            .map_err(db)?
            .transpose()
    }

    fn account_by_id_number(&self, id: &IdNumber) -> Result<Option<Account>, StoreError> {
        self.account_where("id_number = ?1", [id.as_str()])
    }

    fn account_by_mobile(&self, mobile: &MobileNumber) -> Result<Option<Account>, StoreError> {
        // A number can belong to several accounts (a person and a unit's agent); sign-in by
        // mobile takes the person's.
        self.account_where(
            "mobile = ?1 ORDER BY id_number IS NULL, id LIMIT 1",
            [mobile.as_str()],
        )
    }

    fn account_by_unit_code(&self, code: &str) -> Result<Option<Account>, StoreError> {
        self.account_where("unit_code = ?1", [code])
    }

    fn set_account_kind(
        &self,
        id: AccountId,
        kind: UserKind,
        id_card_validity: Option<IdCardValidity>,
    ) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "UPDATE account SET kind = ?1,
                   id_card_validity = coalesce(?2, id_card_validity) WHERE id = ?3",
                params![
                    kind_json(&kind)?,
                    id_card_validity.map(|v| v.to_string()),
                    id
                ],
            )
            .map_err(db)?;
        Ok(())
    }

    fn create_unit(&self, a: &NewAccount, papers: &UnitPapers) -> Result<AccountId, StoreError> {
        self.in_transaction(|tx| {
            // A unit has no ID number of its own (its agent's is in the papers).
            let unit = NewAccount {
                id_number: None,
                ..a.clone()
            };
            let id = insert_account(tx, &unit, "unit")?;
            tx.execute(
                "INSERT INTO unit_papers (account_id, agent_name, agent_id_number, attorney,
                   attorney_type)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    id,
                    papers.agent_name.as_str(),
                    papers.agent_id_number.as_str(),
                    papers.attorney,
                    papers.attorney_type
                ],
            )
            .map_err(db)?;
            Ok(id)
        })
    }

    fn add_review(&self, r: &IdCardReview) -> Result<i64, StoreError> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO id_card_review (account_id, front, back, validity, state, reason,
               submitted_at, decided_at, decided_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                r.account,
                r.front,
                r.back,
                r.validity.to_string(),
                r.state.as_str(),
                r.reason,
                r.submitted_at,
                r.decided_at,
                r.decided_by
            ],
        )
        .map_err(db)?;
        Ok(conn.last_insert_rowid())
    }

    fn review(&self, id: i64) -> Result<Option<IdCardReview>, StoreError> {
        Ok(self.reviews_where("id = ?1", [id])?.pop())
    }

    fn reviews_of(&self, account: AccountId) -> Result<Vec<IdCardReview>, StoreError> {
        self.reviews_where("account_id = ?1 ORDER BY id", [account])
    }

    fn pending_reviews(&self) -> Result<Vec<IdCardReview>, StoreError> {
        self.reviews_where(
            "state = ?1 ORDER BY submitted_at, id",
            [ReviewState::Pending.as_str()],
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
        self.in_transaction(|tx| {
            let changed = tx
                .execute(
                    "UPDATE id_card_review SET state = ?1, reason = ?2, decided_by = ?3,
                       decided_at = ?4
                     WHERE id = ?5 AND state = ?6",
                    params![
                        state.as_str(),
                        reason,
                        by,
                        at,
                        id,
                        ReviewState::Pending.as_str()
                    ],
                )
                .map_err(db)?;
            if changed != 1 {
                return Ok(false);
            }
            if let Some(upgrade) = upgrade {
                tx.execute(
                    "UPDATE account SET kind = ?1, id_card_validity = ?2
                     WHERE id = (SELECT account_id FROM id_card_review WHERE id = ?3)
                       AND kind = ?4",
                    params![
                        kind_json(&upgrade.to)?,
                        upgrade.id_card_validity.to_string(),
                        id,
                        kind_json(&upgrade.from)?
                    ],
                )
                .map_err(db)?;
            }
            super::messages::write_effects(tx, effects, at)?;
            Ok(true)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_round_trips_and_replaces() {
        crate::store::registry::tests::the_registry_round_trips_and_replaces(
            &SqliteStore::in_memory().unwrap(),
        );
    }

    #[test]
    fn a_second_account_for_one_person_is_a_duplicate() {
        crate::store::registry::tests::a_second_account_for_one_person_is_a_duplicate(
            &SqliteStore::in_memory().unwrap(),
        );
    }

    #[test]
    fn an_approval_upgrades_only_the_kind_it_was_made_on() {
        crate::store::registry::tests::an_approval_upgrades_only_the_kind_it_was_made_on(
            &SqliteStore::in_memory().unwrap(),
        );
    }

    #[test]
    fn a_review_is_decided_once_and_stored_in_its_spelling() {
        let store = SqliteStore::in_memory().unwrap();
        crate::store::registry::tests::a_review_is_decided_once_and_stored_in_its_spelling(
            &store,
            &|id| {
                store
                    .conn()
                    .query_row(
                        "SELECT state FROM id_card_review WHERE id = ?1",
                        [id],
                        |r| r.get(0),
                    )
                    .unwrap()
            },
        );
    }

    #[test]
    fn a_unit_is_created_with_its_papers_or_not_at_all() {
        let store = SqliteStore::in_memory().unwrap();
        crate::store::registry::tests::a_unit_is_created_with_its_papers_or_not_at_all(
            &store,
            &|| {
                store
                    .conn()
                    .query_row("SELECT count(*) FROM unit_papers", [], |r| r.get(0))
                    .unwrap()
            },
        );
    }
}
