//! Staff sessions by kind (issue 16): an officer's API token never opens the console, and a
//! console cookie's token is no officer's bearer token, whatever the person's role.

mod common;

use common::*;
use serde_json::{json, Value};

#[test]
fn each_door_takes_only_its_own_kind_of_staff_session() {
    let p = Platform::start();
    // An administrator may sign in to both: the console and the officer's verifier.
    p.add_staff("admin01", "管理员", "admin");
    let officer: Value = p
        .post(
            "/api/v1/officer/sessions",
            json!({"username": "admin01", "password": STAFF_PASSWORD}),
        )
        .json()
        .unwrap();
    let token = officer["token"]
        .as_str()
        .expect("an officer token")
        .to_owned();

    // The officer's token as the console's cookie: sent to sign in, not let in.
    let http = no_redirects();
    for path in ["/console", "/console/staff"] {
        let r = http
            .get(format!("{}{path}", p.base))
            .header("cookie", format!("console_session={token}"))
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 303, "{path}");
        assert_eq!(r.headers()["location"], "/console/sign-in", "{path}");
    }
    // It works where it belongs.
    let check = p.post_as(
        &token,
        "/api/v1/officer/checks",
        json!({"qr_text": "DL1:x"}),
    );
    assert_eq!(check.status().as_u16(), 200);

    // The console cookie's token as an officer's bearer token: refused.
    let console = sign_in_staff(&p, "admin01", STAFF_PASSWORD).ok().unwrap();
    assert_eq!(console.get("/console/staff").status().as_u16(), 200);
    let cookie_token = console.cookie.split_once('=').unwrap().1.to_owned();
    expect_error(
        p.post_as(
            &cookie_token,
            "/api/v1/officer/checks",
            json!({"qr_text": "DL1:x"}),
        ),
        401,
        "officer_sign_in_required",
    );
}
