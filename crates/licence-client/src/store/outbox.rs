//! The outbox's table: applications saved before they are sent, each the signed-in
//! account's, with where its sending stands.

use rusqlite::params;

use super::LocalStore;
use crate::ClientError;

/// Items of the account signed in now (items queued without a session have no account).
const MINE: &str = "account_id IS (SELECT account_id FROM session)";

/// Where an outbox item stands. Its name ([`ItemStateName`]: `waiting`, `sent`, `failed`) is
/// what the `state` column holds and what the UI is shown.
#[derive(Debug, Clone, PartialEq, Eq, strum::EnumDiscriminants)]
#[strum_discriminants(
    name(ItemStateName),
    derive(strum::IntoStaticStr, strum::EnumString),
    strum(serialize_all = "snake_case")
)]
pub enum ItemState {
    /// Not yet accepted: sent when due.
    Waiting,
    /// Accepted by the platform as this application.
    Sent { application_id: i64 },
    /// Refused for good (e.g. another application is open): the driver must act.
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    pub id: i64,
    /// `application` for now.
    pub kind: String,
    pub idempotency_key: String,
    /// The request body, as sent every time.
    pub body: String,
    pub created_at: i64,
    pub attempts: u32,
    /// Unix seconds; not sent before.
    pub next_attempt_at: i64,
    pub state: ItemState,
    /// The last failure's code and message, for the driver.
    pub last_error: Option<String>,
}

impl LocalStore {
    /// Adds an item for the account signed in now, due at once; returns its id.
    pub fn enqueue(
        &self,
        kind: &str,
        idempotency_key: &str,
        body: &str,
        now: i64,
    ) -> Result<i64, ClientError> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO outbox (kind, idempotency_key, body, created_at, next_attempt_at,
               account_id) VALUES (?1, ?2, ?3, ?4, ?4, (SELECT account_id FROM session))",
            params![kind, idempotency_key, body, now],
        )?;
        Ok(conn.last_insert_rowid())
    }

    /// Waiting items of the signed-in account due by `now`, oldest first.
    pub fn due(&self, now: i64) -> Result<Vec<OutboxItem>, ClientError> {
        self.items_where(
            &format!("state = ?1 AND next_attempt_at <= ?2 AND {MINE} ORDER BY id"),
            params![state_name(ItemStateName::Waiting), now],
        )
    }

    pub fn item(&self, id: i64) -> Result<Option<OutboxItem>, ClientError> {
        Ok(self.items_where("id = ?1", [id])?.pop())
    }

    /// Every item of the signed-in account, oldest first (for the app's "sending" list).
    pub fn items(&self) -> Result<Vec<OutboxItem>, ClientError> {
        self.items_where(&format!("{MINE} ORDER BY id"), [])
    }

    fn items_where<P: rusqlite::Params>(
        &self,
        condition: &str,
        params: P,
    ) -> Result<Vec<OutboxItem>, ClientError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT id, kind, idempotency_key, body, created_at, attempts, next_attempt_at,
                    state, application_id, last_error
             FROM outbox WHERE {condition}"
        ))?;
        let rows = stmt.query_map(params, |r| {
            let state: String = r.get(7)?;
            let application_id: Option<i64> = r.get(8)?;
            Ok(OutboxItem {
                id: r.get(0)?,
                kind: r.get(1)?,
                idempotency_key: r.get(2)?,
                body: r.get(3)?,
                created_at: r.get(4)?,
                attempts: r.get::<_, i64>(5)?.clamp(0, i64::from(u32::MAX)) as u32,
                next_attempt_at: r.get(6)?,
                state: match (state.parse(), application_id) {
                    (Ok(ItemStateName::Sent), Some(application_id)) => {
                        ItemState::Sent { application_id }
                    }
                    (Ok(ItemStateName::Failed), _) => ItemState::Failed,
                    _ => ItemState::Waiting,
                },
                last_error: r.get(9)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn mark_sent(&self, id: i64, application_id: i64) -> Result<(), ClientError> {
        self.conn().execute(
            "UPDATE outbox SET state = ?3, application_id = ?2, attempts = attempts + 1,
               last_error = NULL WHERE id = ?1",
            params![id, application_id, state_name(ItemStateName::Sent)],
        )?;
        Ok(())
    }

    /// Not now: try again at `until`.
    pub fn defer(&self, id: i64, until: i64, error: &str) -> Result<(), ClientError> {
        self.conn().execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3
             WHERE id = ?1",
            params![id, until, error],
        )?;
        Ok(())
    }

    pub fn mark_failed(&self, id: i64, error: &str) -> Result<(), ClientError> {
        self.conn().execute(
            "UPDATE outbox SET state = ?3, attempts = attempts + 1, last_error = ?2
             WHERE id = ?1",
            params![id, error, state_name(ItemStateName::Failed)],
        )?;
        Ok(())
    }
}

/// The name of a state, as the `state` column holds it.
pub fn state_name(state: ItemStateName) -> &'static str {
    state.into()
}
