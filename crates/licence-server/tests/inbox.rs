//! The in-app inbox (R3.5): an open app long-polling hears the review result as soon as it is
//! decided; an app opened later finds it; messages are marked read.

mod common;

use common::*;
use serde_json::{json, Value};

#[test]
fn a_waiting_app_hears_the_result_and_a_later_one_finds_it() {
    let p = Platform::start();
    p.add_staff("review01", "李警官", "reviewer");
    let token = face_signed(&p, 0);
    // The app long-polls from before the decision; the reviewer decides a second later.
    let poll = {
        let (url, token) = (
            format!("{}/api/v1/me/inbox?after=0&wait=25", p.base),
            token.clone(),
        );
        let http = p.http.clone();
        std::thread::spawn(move || -> Vec<Value> {
            http.get(url)
                .bearer_auth(token)
                .send()
                .unwrap()
                .json()
                .unwrap()
        })
    };
    let (_, _) = approved(&p, 2, || {});
    // Person 2's inbox got the message; person 0's long poll is still waiting (nothing for them).
    let (mobile, other_token) = {
        let token2 = p.post(
            "/api/v1/sessions",
            json!({"login": demo_person(2).1, "password": PASSWORD}),
        );
        (
            demo_person(2).2,
            token2.json::<Value>().unwrap()["token"]
                .as_str()
                .unwrap()
                .to_owned(),
        )
    };
    let theirs: Vec<Value> = p.get_as(&other_token, "/api/v1/me/inbox").json().unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0]["title"], "驾驶证电子版审核结果");
    assert!(theirs[0]["body"].as_str().unwrap().contains("已审核通过"));
    assert_eq!(theirs[0]["read"], false);
    p.wait_for_message(&mobile, "已审核通过");

    // Now person 0's own application is decided: the waiting poll answers with it.
    let started = std::time::Instant::now();
    let reviewer = sign_in_staff(&p, "review01", STAFF_PASSWORD).ok().unwrap();
    let id = under_review(&p, &token);
    let csrf = reviewer.csrf();
    reviewer.post(
        &format!("/console/applications/{id}"),
        &[("csrf", &csrf), ("decision", "approve")],
    );
    let heard = poll.join().unwrap();
    assert_eq!(heard.len(), 1, "{heard:?}");
    assert!(heard[0]["body"].as_str().unwrap().contains("已审核通过"));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(25),
        "answered by the event, not the timeout"
    );

    // Nothing newer; read marks stick; others' messages are not yours.
    let last = heard[0]["id"].as_i64().unwrap();
    let newer: Vec<Value> = p
        .get_as(&token, &format!("/api/v1/me/inbox?after={last}"))
        .json()
        .unwrap();
    assert!(newer.is_empty());
    let read = p.post_as(&token, &format!("/api/v1/me/inbox/{last}/read"), json!({}));
    assert_eq!(read.status().as_u16(), 204);
    let all: Vec<Value> = p.get_as(&token, "/api/v1/me/inbox").json().unwrap();
    assert_eq!(all[0]["read"], true);
    let theirs_id = theirs[0]["id"].as_i64().unwrap();
    expect_error(
        p.post_as(
            &token,
            &format!("/api/v1/me/inbox/{theirs_id}/read"),
            json!({}),
        ),
        404,
        "message_not_found",
    );
}

/// Behind a load balancer the app's long-poll may wait on one instance while a reviewer
/// decides on another: it hears the result all the same, not when its wait runs out.
#[test]
fn a_poll_on_another_instance_hears_the_result() {
    let p = Platform::start();
    let second = p.another_instance();
    p.add_staff("review01", "李警官", "reviewer");
    let token = face_signed(&p, 0);
    let id = under_review(&p, &token);
    let poll = {
        let (url, token) = (
            format!("{}/api/v1/me/inbox?after=0&wait=25", second.base),
            token.clone(),
        );
        let http = p.http.clone();
        std::thread::spawn(move || -> (Vec<Value>, std::time::Duration) {
            let started = std::time::Instant::now();
            let heard = http
                .get(url)
                .bearer_auth(token)
                .send()
                .unwrap()
                .json()
                .unwrap();
            (heard, started.elapsed())
        })
    };
    // The poll is waiting on the second instance (there is nothing yet) when the first decides.
    std::thread::sleep(std::time::Duration::from_secs(1));
    let reviewer = sign_in_staff(&p, "review01", STAFF_PASSWORD).ok().unwrap();
    let csrf = reviewer.csrf();
    reviewer.post(
        &format!("/console/applications/{id}"),
        &[("csrf", &csrf), ("decision", "approve")],
    );
    let (heard, waited) = poll.join().unwrap();
    assert_eq!(heard.len(), 1, "{heard:?}");
    assert!(heard[0]["body"].as_str().unwrap().contains("已审核通过"));
    assert!(
        waited < std::time::Duration::from_secs(25),
        "answered by the arrival, not the end of the wait ({waited:?})"
    );
}
