//! Group commit (成组提交): writes that arrive together are stored together, in one
//! transaction with one disk flush, and each caller is answered once that commit is durable.
//!
//! Under a surge of submissions the cost of a commit (the log's flush, and with PostgreSQL
//! a round trip, a statement's start-up and a backend's wake-up) is paid once per batch
//! instead of once per submission; a submission that arrives alone waits for nothing.
//!
//! How: a caller queues its item, then takes one of a few *lanes* (SQLite has one writer,
//! so one lane; PostgreSQL commits concurrently, so a few). With a lane, it stores whatever
//! is queued, its own item included unless another lane took it already, and answers each.
//! A caller whose item another lane took waits for that lane's answer. Every queued item is
//! taken: its own caller, once it has a lane, finds it still queued or already answered.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};
use std::sync::{Condvar, Mutex, MutexGuard};

use super::StoreError;

/// Lanes and queued items of one kind of write; `T` is the item, `A` each one's answer.
pub(crate) struct GroupCommit<T, A> {
    queue: Mutex<Vec<Queued<T, A>>>,
    /// Lanes in use.
    busy: Mutex<usize>,
    freed: Condvar,
    lanes: usize,
    max_batch: usize,
    /// A batch's bytes at most (by `size`), its first item whatever its size: a batch is
    /// one message to the database, and the connection that sends it keeps a buffer as
    /// large as the largest it sent.
    max_bytes: usize,
    size: fn(&T) -> usize,
}

struct Queued<T, A> {
    item: T,
    reply: SyncSender<Result<A, StoreError>>,
}

/// A lane held; given back when dropped, also when the commit panicked.
struct Lane<'a> {
    busy: &'a Mutex<usize>,
    freed: &'a Condvar,
}

impl Drop for Lane<'_> {
    fn drop(&mut self) {
        *lock(self.busy) -= 1;
        self.freed.notify_one();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while a queue was held leaves a queue still worth using: no half-done state.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl<T, A> GroupCommit<T, A> {
    /// At most `lanes` batches at once, of at most `max_batch` items and `max_bytes` bytes
    /// (each item's by `size`) each.
    pub(crate) fn new(
        lanes: usize,
        max_batch: usize,
        max_bytes: usize,
        size: fn(&T) -> usize,
    ) -> Self {
        GroupCommit {
            queue: Mutex::new(Vec::new()),
            busy: Mutex::new(0),
            freed: Condvar::new(),
            lanes: lanes.max(1),
            max_batch: max_batch.max(1),
            max_bytes,
            size,
        }
    }

    /// Stores `item` with whatever else is queued, through `commit`, which is given a batch
    /// and returns one answer per item, in the batch's order (an error for the whole batch
    /// is that error for each). Blocks until the item's batch has been committed.
    pub(crate) fn submit(
        &self,
        item: T,
        commit: impl Fn(Vec<T>) -> Vec<Result<A, StoreError>>,
    ) -> Result<A, StoreError> {
        let (reply, answer) = sync_channel(1);
        lock(&self.queue).push(Queued { item, reply });
        let lane = self.take_lane();
        loop {
            match answer.try_recv() {
                Ok(result) => return result,
                Err(TryRecvError::Disconnected) => return Err(unanswered()),
                Err(TryRecvError::Empty) => {}
            }
            let batch = {
                let mut queue = lock(&self.queue);
                let mut bytes = 0;
                let n = queue
                    .iter()
                    .take(self.max_batch)
                    .take_while(|q| {
                        bytes += (self.size)(&q.item);
                        bytes <= self.max_bytes
                    })
                    .count()
                    .max(1)
                    .min(queue.len());
                queue.drain(..n).collect::<Vec<_>>()
            };
            if batch.is_empty() {
                // Another lane took this item and is committing it now.
                drop(lane);
                return wait(&answer);
            }
            let (items, replies): (Vec<T>, Vec<_>) =
                batch.into_iter().map(|q| (q.item, q.reply)).unzip();
            let answers = commit(items);
            // A commit that answered too few leaves the rest unanswered (an error), not
            // waiting for ever: their senders are dropped here.
            for (reply, result) in replies.into_iter().zip(answers) {
                let _ = reply.send(result);
            }
        }
    }

    fn take_lane(&self) -> Lane<'_> {
        let mut busy = lock(&self.busy);
        while *busy >= self.lanes {
            busy = self.freed.wait(busy).unwrap_or_else(|e| e.into_inner());
        }
        *busy += 1;
        Lane {
            busy: &self.busy,
            freed: &self.freed,
        }
    }
}

fn wait<A>(answer: &Receiver<Result<A, StoreError>>) -> Result<A, StoreError> {
    answer.recv().unwrap_or_else(|_| Err(unanswered()))
}

fn unanswered() -> StoreError {
    StoreError::Database("a submission went unanswered".into())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier};
    use std::time::Duration;

    use super::*;

    /// Many callers at once, each answered with its own item's answer; batches bounded in
    /// items, in bytes and in number at once; more than one item per batch when they pile
    /// up.
    #[test]
    fn each_caller_gets_its_own_answer_from_bounded_batches() {
        for lanes in [1, 2, 3] {
            // Items 0-39 of a byte each but every tenth of 30: at most 5 items, 40 bytes.
            let size: fn(&u32) -> usize = |x| if x % 10 == 0 { 30 } else { 1 };
            let group = Arc::new(GroupCommit::<u32, u32>::new(lanes, 5, 40, size));
            let (in_flight, most_in_flight, batches) = (
                Arc::new(AtomicUsize::new(0)),
                Arc::new(AtomicUsize::new(0)),
                Arc::new(Mutex::new(Vec::new())),
            );
            let callers = 40;
            let start = Arc::new(Barrier::new(callers));
            let handles: Vec<_> = (0..callers as u32)
                .map(|i| {
                    let (group, start) = (Arc::clone(&group), Arc::clone(&start));
                    let (in_flight, most_in_flight, batches) = (
                        Arc::clone(&in_flight),
                        Arc::clone(&most_in_flight),
                        Arc::clone(&batches),
                    );
                    std::thread::spawn(move || {
                        start.wait();
                        let answer = group.submit(i, |items| {
                            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                            most_in_flight.fetch_max(now, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(5));
                            lock(&batches).push(items.iter().map(size).collect::<Vec<_>>());
                            in_flight.fetch_sub(1, Ordering::SeqCst);
                            items.iter().map(|x| Ok(x * 10)).collect()
                        });
                        (i, answer.unwrap())
                    })
                })
                .collect();
            for h in handles {
                let (i, answer) = h.join().unwrap();
                assert_eq!(answer, i * 10);
            }
            let batches = lock(&batches);
            let items: usize = batches.iter().map(Vec::len).sum();
            assert_eq!(items, callers, "each item stored once");
            for batch in batches.iter() {
                assert!((1..=5).contains(&batch.len()), "{batches:?}");
                assert!(batch.iter().sum::<usize>() <= 40, "{batches:?}");
            }
            assert!(
                batches.len() < callers,
                "nothing shared a commit: {batches:?}"
            );
            assert!(most_in_flight.load(Ordering::SeqCst) <= lanes);
        }
    }

    /// Items queued while the one lane is busy go in the next batches in order, each batch
    /// cut where the next item would pass its bytes.
    #[test]
    fn a_batch_is_cut_at_its_bytes_in_queue_order() {
        let group = Arc::new(GroupCommit::<u32, u32>::new(1, 5, 40, |&x| x as usize));
        let batches = Arc::new(Mutex::new(Vec::new()));
        let (release, released) = sync_channel::<()>(0);
        let released = Mutex::new(released);
        let holding = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let commit = {
            let (batches, holding) = (Arc::clone(&batches), Arc::clone(&holding));
            move |items: Vec<u32>| {
                if items == [2] {
                    // The first caller holds the lane until the others are queued.
                    holding.store(true, Ordering::SeqCst);
                    let _ = lock(&released).recv();
                }
                lock(&batches).push(items.clone());
                items.into_iter().map(Ok).collect::<Vec<_>>()
            }
        };
        let commit = Arc::new(commit);
        let call = |x: u32| {
            let (group, commit) = (Arc::clone(&group), Arc::clone(&commit));
            std::thread::spawn(move || group.submit(x, |items| commit(items)).unwrap())
        };
        let first = call(2);
        while !holding.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        let mut others = Vec::new();
        for (n, x) in [30, 1, 1, 30, 1, 50].into_iter().enumerate() {
            others.push(call(x));
            while lock(&group.queue).len() < n + 1 {
                std::thread::yield_now();
            }
        }
        release.send(()).unwrap();
        assert_eq!(first.join().unwrap(), 2);
        for (h, x) in others.into_iter().zip([30, 1, 1, 30, 1, 50]) {
            assert_eq!(h.join().unwrap(), x);
        }
        // 30+1+1 = 32 and the next 30 would pass 40; an item over 40 goes alone.
        assert_eq!(
            *lock(&batches),
            [vec![2], vec![30, 1, 1], vec![30, 1], vec![50]]
        );
    }

    /// A batch's errors reach the callers they belong to; a commit that answers too few
    /// items, or panics, leaves the others with an error, not waiting for ever.
    #[test]
    fn failures_reach_their_own_callers() {
        // An item larger than a batch's bytes goes alone.
        let group = GroupCommit::<u32, u32>::new(1, 8, 4, |&x| x as usize);
        let odd_fails = |items: Vec<u32>| {
            items
                .into_iter()
                .map(|x| {
                    if x % 2 == 1 {
                        Err(StoreError::Duplicate("odd"))
                    } else {
                        Ok(x)
                    }
                })
                .collect()
        };
        assert_eq!(group.submit(2, odd_fails).unwrap(), 2);
        assert_eq!(group.submit(10, odd_fails).unwrap(), 10);
        assert!(matches!(
            group.submit(3, odd_fails),
            Err(StoreError::Duplicate("odd"))
        ));
        let none = group.submit(4, |_| Vec::new()).unwrap_err();
        assert!(none.to_string().contains("unanswered"), "{none}");
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            group.submit(5, |_| panic!("a commit failed badly"))
        }));
        assert!(panicked.is_err());
        // The lane came back: the next caller is served.
        assert_eq!(group.submit(6, odd_fails).unwrap(), 6);
    }
}
