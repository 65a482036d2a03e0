//! Notifications (R3.5) go through a durable SMS outbox: retried while the gateway fails,
//! never sent twice for one event, and not lost when the server crashes.

mod common;

use common::*;

fn count(p: &Platform, mobile: &str, text: &str) -> usize {
    p.messages_to(mobile)
        .iter()
        .filter(|m| m.contains(text))
        .count()
}

#[test]
fn a_failing_gateway_delays_the_message_and_a_lost_answer_does_not_double_it() {
    let p = Platform::start_with(&["--outbox-retry", "0.2"]);
    p.add_staff("review01", "李警官", "reviewer");
    // Three failures: the first round (one try and two quick retries) fails; a later round
    // of the outbox delivers it.
    let (mobile, _) = approved(&p, 0, || p.script("sms", "error", 3));
    p.wait_for_message(&mobile, "已审核通过");
    assert_eq!(count(&p, &mobile, "已审核通过"), 1);

    // The gateway sends but the answer is lost: the retry carries the same reference, and the
    // gateway does not send it again.
    let (mobile, _) = approved(&p, 2, || p.script("sms", "lost", 1));
    p.wait_for_message(&mobile, "已审核通过");
    std::thread::sleep(std::time::Duration::from_millis(800));
    assert_eq!(count(&p, &mobile, "已审核通过"), 1);
}

#[test]
fn a_queued_message_survives_a_crash() {
    let mut p = Platform::start_with(&["--outbox-retry", "0.2"]);
    p.add_staff("review01", "李警官", "reviewer");
    // The gateway is down for a long time.
    let (mobile, _) = approved(&p, 4, || p.script("sms", "error", 1000));
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(count(&p, &mobile, "已审核通过"), 0);
    p.restart();
    // The gateway comes back (its scripted failures cleared): the message queued before the
    // crash goes out, once.
    p.http
        .post(format!("{}/sandbox/reset", p.sandbox))
        .send()
        .unwrap();
    p.wait_for_message(&mobile, "已审核通过");
    assert_eq!(count(&p, &mobile, "已审核通过"), 1);
}
