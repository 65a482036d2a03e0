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
