//! Arbitrary bytes as the deflated presentation behind a valid prefix and base45, so the
//! fuzzer reaches the CBOR and COSE parsers instead of stopping at base45; and the same bytes
//! straight into the credential and trust-list parsers, which an untrusted issuer never
//! reaches through `verify`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use licence_credential::{base45, verify, Credential, TrustList, VerifyOptions, PREFIX};

fuzz_target!(|data: &[u8]| {
    // Raw deflate of the fuzzer's bytes with stored blocks: what comes out is exactly `data`.
    let mut deflated = Vec::new();
    for (i, chunk) in data.chunks(65_535).enumerate() {
        let last = (i + 1) * 65_535 >= data.len();
        deflated.push(u8::from(last));
        let len = chunk.len() as u16;
        deflated.extend_from_slice(&len.to_le_bytes());
        deflated.extend_from_slice(&(!len).to_le_bytes());
        deflated.extend_from_slice(chunk);
    }
    if data.is_empty() {
        deflated.extend_from_slice(&[1, 0, 0, 0xFF, 0xFF]);
    }
    let text = format!("{PREFIX}{}", base45::encode(&deflated));
    let _ = verify(
        &text,
        &TrustList::default(),
        &[],
        1_795_485_600,
        VerifyOptions::default(),
    );
    let _ = Credential::from_cbor(data);
    let _ = TrustList::from_cbor(data);
});
