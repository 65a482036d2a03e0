//! Who has had a final answer: the drivers still waiting, each with the one idempotency key
//! they keep across attempts and phases, and what the server acknowledged or left uncertain.

use std::collections::HashSet;
use std::sync::Mutex;

use crate::database::Driver;

/// A driver who has not had a final answer yet, and the idempotency key of their
/// submission: the same for every attempt, in this phase and the next, until they do.
#[derive(Debug, Clone)]
pub struct Pending {
    pub driver: Driver,
    pub key: String,
}

/// Drivers without a final answer (a driver still refused or unanswered when a phase ends
/// goes back, with their key, for the next phase) and what became of the others.
#[derive(Default)]
pub struct Ledger {
    waiting: Mutex<Vec<Pending>>,
    /// (account, application id) for every acknowledgement (201, or 200 for a replay).
    pub acknowledged: Mutex<Vec<(i64, i64)>>,
    /// Accounts that sent a submission which went unanswered (timeout, reset) and have had
    /// no final answer since: stored or not. A later refusal does not settle it (the
    /// unanswered attempt may have been stored); an acknowledgement does. Also accounts that
    /// gave up on an unexpected answer.
    pub uncertain: Mutex<HashSet<i64>>,
}

impl Ledger {
    pub fn new(drivers: Vec<Driver>) -> Ledger {
        let mut waiting: Vec<Pending> = drivers
            .into_iter()
            .map(|driver| Pending {
                key: format!("load-{}", driver.account),
                driver,
            })
            .collect();
        // Popped from the end: the lowest accounts go first.
        waiting.reverse();
        Ledger {
            waiting: Mutex::new(waiting),
            ..Ledger::default()
        }
    }

    pub(crate) fn take(&self) -> Option<Pending> {
        self.waiting.lock().unwrap().pop()
    }

    pub(crate) fn give_back(&self, pending: Pending) {
        self.waiting.lock().unwrap().push(pending);
    }

    /// Drivers without a final answer who are not trying right now.
    pub fn waiting(&self) -> usize {
        self.waiting.lock().unwrap().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_driver_keeps_one_key_until_answered() {
        let driver = |account| Driver {
            account,
            token: "t".into(),
        };
        let ledger = Ledger::new(vec![driver(7), driver(8)]);
        let first = ledger.take().unwrap();
        assert_eq!((first.driver.account, first.key.as_str()), (7, "load-7"));
        // Given back unanswered, the driver comes next, with the same key.
        ledger.give_back(first);
        let again = ledger.take().unwrap();
        assert_eq!((again.driver.account, again.key.as_str()), (7, "load-7"));
        assert_eq!(ledger.take().unwrap().key, "load-8");
        assert_eq!(ledger.waiting(), 0);
    }
}
