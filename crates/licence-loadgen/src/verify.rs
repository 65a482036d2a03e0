//! The check after the crash: every application the server acknowledged is in the database,
//! exactly once, and nothing is there that should not be.

use crate::database::{Database, Driver};
use crate::ledger::Ledger;

/// What the database holds against what the server acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub acknowledged: usize,
    /// Acknowledged, and found with the same id: must equal `acknowledged`.
    pub found: usize,
    /// Acknowledged but missing or stored under another id: must be 0.
    pub lost: usize,
    /// Accounts with more than one application: must be 0.
    pub duplicated: usize,
    /// Stored although the client never heard back (allowed: the reply was lost).
    pub stored_unacknowledged: usize,
    /// Stored for an account that was refused or never sent: must be 0.
    pub unexpected: usize,
}

/// Opens the database (the server stopped) and checks every driver's applications.
pub fn verify(db: &Database, drivers: &[Driver], ledger: &Ledger) -> anyhow::Result<Verification> {
    let store = db.open()?;
    let acknowledged: std::collections::HashMap<i64, i64> = ledger
        .acknowledged
        .lock()
        .unwrap()
        .iter()
        .copied()
        .collect();
    let uncertain = ledger.uncertain.lock().unwrap().clone();
    let mut v = Verification {
        acknowledged: ledger.acknowledged.lock().unwrap().len(),
        found: 0,
        lost: 0,
        duplicated: 0,
        stored_unacknowledged: 0,
        unexpected: 0,
    };
    for driver in drivers {
        let stored = store.applications_of(driver.account)?;
        if stored.len() > 1 {
            v.duplicated += 1;
        }
        match (acknowledged.get(&driver.account), stored.first()) {
            (Some(&id), Some(app)) if app.id == id && stored.len() == 1 => v.found += 1,
            (Some(_), _) => v.lost += 1,
            (None, Some(_)) if uncertain.contains(&driver.account) => v.stored_unacknowledged += 1,
            (None, Some(_)) => v.unexpected += 1,
            (None, None) => {}
        }
    }
    Ok(v)
}
