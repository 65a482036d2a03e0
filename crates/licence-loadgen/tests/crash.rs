//! The crash test of R5.1: the server is killed (SIGKILL) in the middle of a load run and
//! started again on the same database. Every application it acknowledged must be there
//! exactly once, and the background photo checks must pick up where they stopped.

use std::sync::Arc;
use std::time::{Duration, Instant};

use licence_loadgen::{
    run_phase, sample_photo, seed, verify, ClientModel, Database, HttpVersion, Ledger, Pace, Phase,
    Server, Submission,
};

#[test]
fn every_acknowledged_application_survives_a_kill_and_the_checks_resume() {
    let bin = licence_loadgen::server_binary();
    let dir = tempfile::tempdir().unwrap();
    let db = Database::for_test(&dir.path().join("crash.sqlite")).unwrap();
    let drivers = seed(&db, 400).unwrap();
    let mut server = Server::start(&bin, &db, &[]).unwrap();
    let address = server.address;
    let ledger = Arc::new(Ledger::new(drivers.clone()));

    // Kill the server once a good number of submissions have been acknowledged, while the
    // generator is still sending.
    let watched = ledger.clone();
    let killer = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        while watched.acknowledged.lock().unwrap().len() < 120 {
            assert!(
                Instant::now() < deadline,
                "the server never took 120 applications"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        server.kill();
        server
    });
    let phase = Phase {
        name: "crash".into(),
        pace: Pace::Rate(150.0),
        duration: Duration::from_secs(60),
        connections: 32,
        addresses: 8,
        // First attempts and retries: once the server is gone the phones retry (connection
        // refused) until this is spent, which ends the run.
        max_requests: 400,
        clients: ClientModel::Patient,
        http: HttpVersion::Http2,
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let report = runtime.block_on(run_phase(
        address,
        &phase,
        ledger.clone(),
        &Submission::new(&sample_photo()),
    ));
    let _killed = killer.join().unwrap();
    let acknowledged = ledger.acknowledged.lock().unwrap().len();
    assert!(acknowledged >= 120, "{report:?}");
    assert!(
        report.unanswered > 0,
        "the kill came after the load run ended: {report:?}"
    );

    // Started again on the same file: the acknowledged ones are all there, once each.
    let restarted = Server::start(&bin, &db, &[]).unwrap();
    let found = verify(&db, &drivers, &ledger).unwrap();
    assert_eq!(found.acknowledged, acknowledged);
    assert_eq!(found.found, acknowledged, "{found:?}");
    assert_eq!(
        (found.lost, found.duplicated, found.unexpected),
        (0, 0, 0),
        "{found:?}"
    );

    // The photo checks resume after the restart and get through every waiting application
    // (the sample photo has no real face, so each is rejected with the reason).
    let store = db.open().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !store.unchecked_applications(1).unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the photo checks did not resume");
        std::thread::sleep(Duration::from_millis(200));
    }
    for &(account, id) in ledger.acknowledged.lock().unwrap().iter() {
        let apps = store.applications_of(account).unwrap();
        assert_eq!(apps.len(), 1);
        assert_eq!(apps[0].id, id);
        assert!(
            apps[0].check.is_some(),
            "application {id} was never checked"
        );
        assert_eq!(apps[0].state.status().to_string(), "rejected");
    }
    drop(restarted);
}
