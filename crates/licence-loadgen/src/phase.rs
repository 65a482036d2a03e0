//! Running one phase: how arrivals are paced, the phase's connections shared by its phones,
//! and each phone sending its driver's submission until a final answer or the phase's end.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use crate::database::Driver;
use crate::ledger::{Ledger, Pending};
use crate::phones::{next_step, Answer, ClientModel, Next};
use crate::report::{summarise, Log, PhaseReport, Sample};
use crate::submission::{
    connect, source_address, submit, Failure, HttpVersion, Sender, Submission, SubmissionBody,
    REQUEST_TIMEOUT,
};

/// How first attempts are paced.
#[derive(Debug, Clone, Copy)]
pub enum Pace {
    /// Each connection takes the next driver as soon as the last one is done with (answered
    /// for good, or out of time).
    ClosedLoop,
    /// Driver `i` arrives (sends their first attempt) at `i / rate` seconds; latency counts
    /// from when a request was due, so a slow server cannot hide its queue (no coordinated
    /// omission). Retries come on top of this rate.
    Rate(f64),
}

/// `closed loop` or `1000/s`.
pub fn pace_name(pace: Pace) -> String {
    match pace {
        Pace::ClosedLoop => "closed loop".into(),
        Pace::Rate(rate) => format!("{rate:.0}/s"),
    }
}

#[derive(Debug, Clone)]
pub struct Phase {
    pub name: String,
    pub pace: Pace,
    pub duration: Duration,
    pub connections: usize,
    /// Distinct loopback source addresses the connections are spread over.
    pub addresses: usize,
    /// Hard bound on requests (first attempts and retries), whatever the pace.
    pub max_requests: u64,
    /// How the phones take refusals and silence.
    pub clients: ClientModel,
    /// Which HTTP they speak.
    pub http: HttpVersion,
}

/// A connection from one loopback source address, made when first needed and again only
/// once the server has closed it.
struct Slot {
    local: IpAddr,
    sender: Option<Sender>,
}

/// What a phase's phones share: the connections (taken in turn, first in first out, so that
/// the source addresses share the load evenly) and the bounds.
struct PhaseRun {
    server: SocketAddr,
    ledger: Arc<Ledger>,
    submission: Submission,
    clients: ClientModel,
    http: HttpVersion,
    deadline: Instant,
    max_requests: u64,
    /// Attempts so far (first attempts and retries), against `max_requests`.
    attempts: AtomicU64,
    slots: Mutex<VecDeque<Slot>>,
    free: Semaphore,
    opened: AtomicUsize,
}

impl PhaseRun {
    fn out_of_requests(&self) -> bool {
        self.attempts.load(Ordering::Relaxed) >= self.max_requests
    }

    /// One attempt over the next free connection.
    async fn attempt(&self, driver: &Driver, body: &SubmissionBody) -> (Answer, Option<i64>) {
        let _permit = self.free.acquire().await.expect("the pool stays open");
        let mut slot = self
            .slots
            .lock()
            .unwrap()
            .pop_front()
            .expect("a connection for each permit");
        let outcome = self.attempt_on(&mut slot, driver, body).await;
        // Back before the permit goes, so that the next holder finds it.
        self.slots.lock().unwrap().push_back(slot);
        outcome
    }

    async fn attempt_on(
        &self,
        slot: &mut Slot,
        driver: &Driver,
        body: &SubmissionBody,
    ) -> (Answer, Option<i64>) {
        loop {
            let mut fresh = false;
            if slot.sender.as_ref().is_none_or(|s| s.is_closed()) {
                slot.sender = None;
                let connecting = connect(self.server, slot.local, self.http);
                match tokio::time::timeout(REQUEST_TIMEOUT, connecting).await {
                    Ok(Ok(sender)) => {
                        self.opened.fetch_add(1, Ordering::Relaxed);
                        slot.sender = Some(sender);
                        fresh = true;
                    }
                    _ => return (Answer::NotConnected, None),
                }
            }
            let sender = slot.sender.as_mut().expect("connected");
            let submitted =
                tokio::time::timeout(REQUEST_TIMEOUT, submit(sender, self.server, driver, body))
                    .await;
            match submitted {
                Ok(Ok(reply)) => {
                    if reply.close {
                        slot.sender = None;
                    }
                    let answer = Answer::Status {
                        code: reply.status,
                        retry_after: reply.retry_after,
                    };
                    return (answer, reply.id);
                }
                // A kept connection the server had closed meanwhile: nothing went out, so
                // send over a new one at once, as an HTTP client does.
                Ok(Err(Failure::Unsent)) if !fresh => slot.sender = None,
                Ok(Err(Failure::Unsent)) => {
                    slot.sender = None;
                    return (Answer::NotConnected, None);
                }
                Ok(Err(Failure::Lost)) | Err(_) => {
                    slot.sender = None;
                    return (Answer::NoAnswer, None);
                }
            }
        }
    }
}

/// One phone: a driver's submission, sent first when `arrived` and again (the same key)
/// after each refusal or silence, as the phase's client model says, until a final answer,
/// the phase's deadline or its bound on requests. A driver left without a final answer
/// goes back to the ledger for the next phase, with the same key.
async fn phone(run: &PhaseRun, pending: Pending, arrived: Instant) -> Log {
    let mut log = Log::default();
    let account = pending.driver.account;
    let body = run.submission.body(&pending.key);
    let mut due = arrived;
    let mut attempt = 1u32;
    loop {
        if run.attempts.fetch_add(1, Ordering::Relaxed) >= run.max_requests {
            break;
        }
        tokio::time::sleep_until(due.into()).await;
        let (answer, id) = run.attempt(&pending.driver, &body).await;
        let (status, retry_after) = match answer {
            Answer::Status { code, retry_after } => (code, retry_after.is_some_and(|s| s >= 1)),
            Answer::NoAnswer | Answer::NotConnected => (0, false),
        };
        log.samples.push(Sample {
            status,
            connected: answer != Answer::NotConnected,
            first: attempt == 1,
            latency: due.elapsed(),
            retry_after,
        });
        if answer == Answer::NoAnswer {
            run.ledger.uncertain.lock().unwrap().insert(account);
        }
        match next_step(answer, run.clients, attempt, rand::random::<f64>()) {
            Next::Acknowledged { .. } => {
                let id = id.expect("an acknowledgement carries the id");
                run.ledger.acknowledged.lock().unwrap().push((account, id));
                run.ledger.uncertain.lock().unwrap().remove(&account);
                log.acknowledged_after.push(arrived.elapsed());
                return log;
            }
            Next::GiveUp => {
                // An unexpected answer: what the server did is not known.
                run.ledger.uncertain.lock().unwrap().insert(account);
                return log;
            }
            Next::Retry(pause) => {
                due = Instant::now() + pause;
                if due >= run.deadline || run.out_of_requests() {
                    break;
                }
                attempt += 1;
            }
        }
    }
    if run.ledger.uncertain.lock().unwrap().contains(&account) {
        log.uncertain_at_end += 1;
    }
    run.ledger.give_back(pending);
    log
}

/// Runs one phase against the server; returns what it measured.
pub async fn run_phase(
    server: SocketAddr,
    phase: &Phase,
    ledger: Arc<Ledger>,
    submission: &Submission,
) -> PhaseReport {
    let started = Instant::now();
    let connections = phase.connections.max(1);
    let run = Arc::new(PhaseRun {
        server,
        ledger,
        submission: submission.clone(),
        clients: phase.clients,
        http: phase.http,
        deadline: started + phase.duration,
        max_requests: phase.max_requests,
        attempts: AtomicU64::new(0),
        slots: Mutex::new(
            (0..connections)
                .map(|k| Slot {
                    local: source_address(k % phase.addresses.max(1)),
                    sender: None,
                })
                .collect(),
        ),
        free: Semaphore::new(connections),
        opened: AtomicUsize::new(0),
    });
    let mut tasks = Vec::new();
    match phase.pace {
        Pace::ClosedLoop => {
            for _ in 0..connections {
                let run = run.clone();
                tasks.push(tokio::spawn(async move {
                    let mut log = Log::default();
                    while Instant::now() < run.deadline && !run.out_of_requests() {
                        let Some(pending) = run.ledger.take() else {
                            break;
                        };
                        log.append(phone(&run, pending, Instant::now()).await);
                    }
                    log
                }));
            }
        }
        Pace::Rate(rate) => {
            for i in 0u64.. {
                let due = started + Duration::from_secs_f64(i as f64 / rate);
                if due >= run.deadline || run.out_of_requests() {
                    break;
                }
                tokio::time::sleep_until(due.into()).await;
                let Some(pending) = run.ledger.take() else {
                    break;
                };
                let run = run.clone();
                tasks.push(tokio::spawn(async move { phone(&run, pending, due).await }));
            }
        }
    }
    let mut log = Log::default();
    for task in tasks {
        log.append(task.await.unwrap_or_default());
    }
    let elapsed = started.elapsed();
    summarise(
        &phase.name,
        phase.clients,
        elapsed,
        log,
        run.opened.load(Ordering::Relaxed),
    )
}
