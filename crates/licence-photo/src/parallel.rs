//! Two independent model runs at once: the two eyes, a face and its mirror image. Each run
//! is a few milliseconds of one core, phones and servers have more than one, and the check's
//! wall time is what a driver waits for (docs/performance.md).

use std::sync::Mutex;
use std::thread;

/// `a()` on this thread and `b()` on another, both results. When no thread can be started,
/// `b` runs here after `a`. A panic in either reaches the caller, as if they ran in turn.
pub(crate) fn join<A, B, FB>(a: impl FnOnce() -> A, b: FB) -> (A, B)
where
    B: Send,
    FB: FnOnce() -> B + Send,
{
    // The spawned thread takes `b` from here; a failed spawn leaves it for this thread.
    let slot = Mutex::new(Some(b));
    let take = || slot.lock().map_or(None, |mut s| s.take());
    thread::scope(|scope| {
        let other = thread::Builder::new()
            .name("photo-check".into())
            .spawn_scoped(scope, || take().map(|b| b()));
        let first = a();
        let second = match other.map(|handle| handle.join()) {
            Ok(Ok(Some(second))) => second,
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            // Not started: `b` is still here.
            Ok(Ok(None)) | Err(_) => match take() {
                Some(b) => b(),
                None => unreachable!("`b` is taken once, by whichever thread runs it"),
            },
        };
        (first, second)
    })
}

#[cfg(test)]
mod tests {
    use super::join;

    #[test]
    fn both_results_come_back_in_order() {
        let data = [1, 2, 3];
        let (a, b) = join(|| data[0] + 10, || data.iter().sum::<i32>());
        assert_eq!((a, b), (11, 6));
    }

    #[test]
    fn a_panic_on_the_other_thread_reaches_the_caller() {
        let outcome = std::panic::catch_unwind(|| join(|| 1, || -> i32 { panic!("second") }));
        let panic = outcome.expect_err("the panic is the caller's");
        assert_eq!(panic.downcast_ref::<&str>(), Some(&"second"));
    }
}
