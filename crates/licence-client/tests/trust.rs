//! The trust list on the device (issue 15): taken only when the trust root signed it, and
//! never replaced by an older one.

use licence_client::app::DriverApp;
use licence_credential::{TrustList, TrustRootKey};

mod common;
use common::Platform;

fn app(p: &Platform, name: &str) -> DriverApp {
    DriverApp::open(
        &p.dir.path().join(name),
        &format!("http://{}", p.server.address),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trust_list_from_another_root_is_refused_and_an_older_one_never_replaces_a_newer() {
    let p = Platform::start(&[]);

    // The platform's list, signed by its root, is taken.
    let phone = app(&p, "phone").with_trust_root(p.trust_root());
    phone.refresh_verifier_data().await.unwrap();
    let (held, _) = phone.store().verifier_data("trust_list").unwrap().unwrap();
    let held = TrustList::open(&held, &p.trust_root()).unwrap();
    assert_eq!(held.issuers.len(), 1);

    // An app that trusts another root takes nothing from this platform.
    let stranger = TrustRootKey::generate("dev-root", &mut rand::rngs::OsRng);
    let other = app(&p, "other-phone").with_trust_root(stranger.root());
    let refused = other.refresh_verifier_data().await.unwrap_err();
    assert_eq!(refused.code, "unexpected_answer");
    assert!(
        refused.message_en.contains("not signed by the trust root"),
        "{refused:?}"
    );
    assert!(other.store().verifier_data("trust_list").unwrap().is_none());
    // Nor does an app with no root at all (a build that names none, and none given).
    let rootless = app(&p, "rootless-phone");
    if licence_tls::built_in_trust_root().is_none()
        && std::env::var_os("LICENCE_TRUST_ROOT").is_none()
    {
        assert_eq!(
            rootless.refresh_verifier_data().await.unwrap_err().code,
            "no_trust_root"
        );
    }

    // The device holds a newer list (signed by the same root) than the platform now serves,
    // fetched long ago: the platform's older list does not replace it.
    let root_key = TrustRootKey::from_key_file(
        &std::fs::read_to_string(p.dir.path().join("platform.trust-root.key")).unwrap(),
    )
    .unwrap();
    let newer = TrustList {
        sequence: held.sequence + 1_000_000,
        ..held.clone()
    };
    phone
        .store()
        .put_verifier_data("trust_list", &newer.sign(&root_key).unwrap(), 0)
        .unwrap();
    phone.refresh_verifier_data().await.unwrap();
    let (kept, _) = phone.store().verifier_data("trust_list").unwrap().unwrap();
    assert_eq!(TrustList::open(&kept, &p.trust_root()).unwrap(), newer);
}

/// Requests the server has logged to `route` that it answered with `status`, once the log
/// shows `expected` of them (its lines are written by a thread of their own, a moment after
/// the answer), or after two seconds.
fn logged(p: &Platform, route: &str, status: u16, expected: usize) -> usize {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        let n = std::fs::read_to_string(p.dir.path().join("platform.log"))
            .unwrap_or_default()
            .lines()
            .filter(|l| {
                l.contains(&format!("route={route} ")) && l.contains(&format!("status={status} "))
            })
            .count();
        if n == expected || std::time::Instant::now() > deadline {
            return n;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn lists_the_device_holds_already_cost_a_304_each() {
    let p = Platform::start(&["--status-list-every", "60"]);
    let phone = app(&p, "phone").with_trust_root(p.trust_root());
    phone.refresh_verifier_data().await.unwrap();
    let status_list = "/api/v1/status-list";
    assert_eq!(logged(&p, status_list, 200, 1), 1);

    // Nothing changed: the status list is asked for again, and not sent again.
    assert!(!phone.refresh_verifier_data().await.unwrap());
    assert_eq!(
        (
            logged(&p, status_list, 304, 1),
            logged(&p, status_list, 200, 1)
        ),
        (1, 1)
    );

    // The trust list is asked for again once it is an hour old: unchanged, a 304, and the
    // copy held counts as fetched now (not asked for again at every refresh).
    let (held, _) = phone.store().verifier_data("trust_list").unwrap().unwrap();
    let hour_ago = time::OffsetDateTime::now_utc().unix_timestamp() - 3700;
    phone
        .store()
        .put_verifier_data("trust_list", &held, hour_ago)
        .unwrap();
    assert!(!phone.refresh_verifier_data().await.unwrap());
    assert_eq!(logged(&p, "/api/v1/trust-list", 304, 1), 1);
    let (still, at) = phone.store().verifier_data("trust_list").unwrap().unwrap();
    assert_eq!(still, held);
    assert!(at > hour_ago + 3600, "{at}");
    phone.refresh_verifier_data().await.unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(
        logged(&p, "/api/v1/trust-list", 200, 1) + logged(&p, "/api/v1/trust-list", 304, 1),
        2
    );
}
