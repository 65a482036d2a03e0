//! Phones that retry (issue 17), against the real server: patient ones wait what
//! `Retry-After` says, impatient ones do not, and a submission sent again with its key is
//! acknowledged with the application first stored (200), never stored twice.

use std::sync::Arc;
use std::time::Duration;

use licence_loadgen::{
    run_phase, sample_photo, seed, verify, ClientModel, Database, Driver, HttpVersion, Ledger,
    Pace, Phase, PhaseReport, Server, Submission,
};

fn phase(clients: ClientModel, pace: Pace, connections: usize) -> Phase {
    Phase {
        name: "retries".into(),
        pace,
        duration: Duration::from_secs(20),
        connections,
        addresses: 1,
        max_requests: 5_000,
        clients,
        http: HttpVersion::Http2,
    }
}

fn run(server: &Server, phase: &Phase, ledger: &Arc<Ledger>) -> PhaseReport {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(run_phase(
        server.address,
        phase,
        ledger.clone(),
        &Submission::new(&sample_photo()),
    ))
}

/// Every driver acknowledged, found once, nothing left uncertain.
fn all_acknowledged(db: &Database, drivers: &[Driver], ledger: &Ledger, report: &PhaseReport) {
    assert_eq!(report.accepted, drivers.len(), "{report:?}");
    assert_eq!((report.unanswered, report.uncertain), (0, 0), "{report:?}");
    assert_eq!(report.refusals_without_retry_after, 0, "{report:?}");
    let v = verify(db, drivers, ledger).unwrap();
    assert_eq!(
        (v.found, v.lost, v.duplicated),
        (drivers.len(), 0, 0),
        "{v:?}"
    );
    assert!(ledger.uncertain.lock().unwrap().is_empty());
    assert_eq!(ledger.waiting(), 0);
}

#[test]
fn patient_phones_wait_as_told_and_impatient_ones_do_not() {
    let bin = licence_loadgen::server_binary();
    let dir = tempfile::tempdir().unwrap();
    let db = Database::for_test(&dir.path().join("retries.sqlite")).unwrap();
    let drivers = seed(&db, 16).unwrap();
    // One source address with a bucket of one token, four a second: of eight phones
    // arriving together one gets in, the others are refused with Retry-After: 1.
    let limits = ["--address-rate=4", "--address-burst=1"].map(String::from);
    let server = Server::start(&bin, &db, &limits).unwrap();
    let at_once = Pace::Rate(1000.0);

    let (patient_drivers, impatient_drivers) = drivers.split_at(8);
    let ledger = Arc::new(Ledger::new(patient_drivers.to_vec()));
    let patient = run(&server, &phase(ClientModel::Patient, at_once, 8), &ledger);
    all_acknowledged(&db, patient_drivers, &ledger, &patient);
    assert!(patient.refused_429 >= 1, "{patient:?}");
    // Each refusal was followed by one attempt more, and none sooner than a second later.
    assert_eq!(patient.retries, patient.refused_429, "{patient:?}");
    assert!(
        patient.retries as f64 <= 8.0 * patient.elapsed.as_secs_f64(),
        "{patient:?}"
    );
    assert!(
        patient.acknowledged_after[3] >= Duration::from_secs(1),
        "{patient:?}"
    );

    let ledger = Arc::new(Ledger::new(impatient_drivers.to_vec()));
    let impatient = run(&server, &phase(ClientModel::Impatient, at_once, 8), &ledger);
    all_acknowledged(&db, impatient_drivers, &ledger, &impatient);
    // Back within 100 ms whatever they were told: many times a second each.
    assert!(
        impatient.retries as f64 > 8.0 * impatient.elapsed.as_secs_f64(),
        "{impatient:?}"
    );
}

#[test]
fn a_submission_sent_again_with_its_key_is_acknowledged_as_a_replay() {
    let bin = licence_loadgen::server_binary();
    let dir = tempfile::tempdir().unwrap();
    let db = Database::for_test(&dir.path().join("replays.sqlite")).unwrap();
    let drivers = seed(&db, 10).unwrap();
    let server = Server::start(&bin, &db, &[]).unwrap();
    let phase = phase(ClientModel::Patient, Pace::ClosedLoop, 2);

    let first = Arc::new(Ledger::new(drivers.clone()));
    let report = run(&server, &phase, &first);
    all_acknowledged(&db, &drivers, &first, &report);
    assert_eq!(report.replays, 0, "{report:?}");

    // The same drivers again, as if every answer had been lost: the same keys bring back
    // the same applications, with 200.
    let again = Arc::new(Ledger::new(drivers.clone()));
    let report = run(&server, &phase, &again);
    all_acknowledged(&db, &drivers, &again, &report);
    assert_eq!(report.replays, drivers.len(), "{report:?}");
    let sorted = |ledger: &Ledger| {
        let mut pairs = ledger.acknowledged.lock().unwrap().clone();
        pairs.sort_unstable();
        pairs
    };
    assert_eq!(sorted(&first), sorted(&again));
}
