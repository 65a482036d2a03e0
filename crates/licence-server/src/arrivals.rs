//! Waking the inbox's long-polls (R3.5) when a message arrives for their account, whichever
//! instance added it.
//!
//! Each instance watches the store's newest inbox messages: a query by primary key every
//! [`EVERY`], and at once after a change of its own ([`InboxArrivals::look_now`]). It wakes
//! only the polls of the accounts the new messages are for. Before, a change woke every
//! waiting poll of the instance that made it (each then read its inbox, to find nothing in
//! almost every case), and the polls on the other instances behind the load balancer heard
//! nothing until their wait ran out.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::Notify;

use crate::store::AccountId;
use crate::AppState;

/// How often the store is asked for new messages without a change of this instance's own:
/// a poll on another instance hears of a message within about this.
pub const EVERY: Duration = Duration::from_millis(500);
/// Messages read per query; more are read at once, page by page.
const PAGE: usize = 500;
/// How far back (in ids) each look reaches again. PostgreSQL hands out ids when a transaction
/// inserts, not when it commits, so a message can become visible after a newer one was seen;
/// within this many ids it is still found (and announced once: `announced` remembers).
const LOOK_BACK: i64 = 256;

/// The long-polls waiting on this instance, by account, and the watcher's wake-up.
#[derive(Debug, Default)]
pub struct InboxArrivals {
    polls: Mutex<HashMap<AccountId, Weak<Notify>>>,
    look_now: Notify,
}

impl InboxArrivals {
    fn polls(&self) -> std::sync::MutexGuard<'_, HashMap<AccountId, Weak<Notify>>> {
        self.polls.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What a long-poll of `account` waits on: notified when a message for the account
    /// arrives. Held for as long as the poll waits (the polls of one account share it).
    pub fn watch(&self, account: AccountId) -> Arc<Notify> {
        let mut polls = self.polls();
        if let Some(notify) = polls.get(&account).and_then(Weak::upgrade) {
            return notify;
        }
        let notify = Arc::new(Notify::new());
        polls.insert(account, Arc::downgrade(&notify));
        notify
    }

    /// Wakes the polls of `account`, if it has any here.
    fn wake(&self, account: AccountId) {
        let notify = self.polls().get(&account).and_then(Weak::upgrade);
        if let Some(notify) = notify {
            notify.notify_waiters();
        }
    }

    /// Forgets accounts whose polls have all ended.
    fn forget_ended(&self) {
        self.polls().retain(|_, poll| poll.strong_count() > 0);
    }

    /// This instance stored a message: look without waiting for the next round.
    pub fn look_now(&self) {
        self.look_now.notify_one();
    }
}

/// Starts the watcher. Call within the runtime.
pub fn spawn_watcher(state: AppState) {
    tokio::spawn(watch(state));
}

async fn watch(state: AppState) {
    // From the newest message now: earlier ones are found by the polls' own first read.
    let mut seen = loop {
        match crate::api::with_store(&state, |s| s.newest_inbox_id()).await {
            Ok(newest) => break newest,
            Err(e) => {
                tracing::warn!(error = ?e, "inbox arrivals: store unavailable");
                tokio::time::sleep(EVERY).await;
            }
        }
    };
    let mut announced = BTreeSet::new();
    let mut rounds = 0u32;
    loop {
        let _ = tokio::time::timeout(EVERY, state.inbox.look_now.notified()).await;
        if let Err(e) = look(&state, &mut seen, &mut announced).await {
            tracing::warn!(error = ?e, "inbox arrivals: store unavailable");
        }
        rounds = rounds.wrapping_add(1);
        if rounds % 120 == 0 {
            state.inbox.forget_ended();
        }
    }
}

/// One look at the messages from a little before the newest seen: wakes the account of each
/// message not announced yet.
async fn look(
    state: &AppState,
    seen: &mut i64,
    announced: &mut BTreeSet<i64>,
) -> Result<(), crate::error::ApiError> {
    let mut after = seen.saturating_sub(LOOK_BACK);
    loop {
        let page = crate::api::with_store(state, move |s| s.inbox_arrivals(after, PAGE)).await?;
        for &(id, account) in &page {
            if announced.insert(id) {
                state.inbox.wake(account);
            }
            *seen = (*seen).max(id);
        }
        let Some(&(last, _)) = page.last() else { break };
        if page.len() < PAGE {
            break;
        }
        after = last;
    }
    // Only the window the next look reads again needs remembering.
    *announced = announced.split_off(&seen.saturating_sub(LOOK_BACK));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_poll_is_woken_for_its_own_account_only_and_forgotten_when_it_ends() {
        let arrivals = InboxArrivals::default();
        let (mine, other) = (arrivals.watch(1), arrivals.watch(2));
        assert!(Arc::ptr_eq(&mine, &arrivals.watch(1)), "one per account");
        {
            let mut woken = std::pin::pin!(mine.notified());
            let mut not_woken = std::pin::pin!(other.notified());
            woken.as_mut().enable();
            not_woken.as_mut().enable();
            arrivals.wake(1);
            assert!(ready(woken.as_mut()));
            assert!(!ready(not_woken.as_mut()));
        }
        assert_eq!(arrivals.polls().len(), 2);
        drop((mine, other));
        assert!(arrivals
            .polls()
            .values()
            .all(|poll| poll.strong_count() == 0));
        arrivals.forget_ended();
        assert!(arrivals.polls().is_empty());
        // Waking an account nobody polls for does nothing.
        arrivals.wake(1);
    }

    /// Whether a future is ready on its first poll.
    fn ready<F: std::future::Future>(f: std::pin::Pin<&mut F>) -> bool {
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        f.poll(&mut cx).is_ready()
    }
}
