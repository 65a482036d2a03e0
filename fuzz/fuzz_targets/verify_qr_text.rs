//! Anything a camera might read as QR text goes into the officer's verifier: it must give a
//! verdict, never panic, hang or allocate without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use licence_credential::{verify, TrustList, VerifyOptions};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let trust = TrustList::default();
    let _ = verify(&text, &trust, &[], 1_795_485_600, VerifyOptions::default());
});
