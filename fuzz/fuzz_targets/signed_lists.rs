//! The status list's and the trust list's decoders: arbitrary bytes as a signed list, and the
//! same bytes as the payload of a genuinely signed one (signed here with a fixed key, as a
//! forger holding a trusted key could), so the fuzzer reaches the payload decoders behind
//! the signature; and the deterministic-CBOR check and the key-file readers on their own.
#![no_main]

use coset::{iana, CborSerializable, CoseSign1Builder, HeaderBuilder};
use libfuzzer_sys::fuzz_target;
use licence_credential::{cbor, IssuerKey, StatusList, TrustList, TrustRootKey};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};

const ISSUER_SECRET: [u8; 32] = [7; 32];
const ROOT_SECRET: [u8; 32] = [9; 32];

/// A COSE_Sign1 over `payload` as docs/credential.md describes it, low-S.
fn signed(payload: &[u8], kid: &str, secret: &[u8; 32]) -> Vec<u8> {
    let key = SigningKey::from_slice(secret).expect("a fixed valid scalar");
    CoseSign1Builder::new()
        .protected(
            HeaderBuilder::new()
                .algorithm(iana::Algorithm::ES256)
                .key_id(kid.as_bytes().to_vec())
                .build(),
        )
        .payload(payload.to_vec())
        .create_signature(&[], |tbs| {
            let signature: Signature = key.sign(tbs);
            signature
                .normalize_s()
                .unwrap_or(signature)
                .to_bytes()
                .to_vec()
        })
        .build()
        .to_vec()
        .expect("encoding to memory")
}

fuzz_target!(|data: &[u8]| {
    let issuer = IssuerKey::from_secret("fuzz-1", "fuzz", &ISSUER_SECRET).expect("valid");
    let trust = TrustList {
        issuers: vec![issuer.trusted(i64::MIN, i64::MAX)],
        ..Default::default()
    };
    let root = TrustRootKey::from_secret("root-1", &ROOT_SECRET)
        .expect("valid")
        .root();

    let _ = cbor::check_deterministic(data);
    let _ = StatusList::verify(data, &trust);
    let _ = TrustList::open(data, &root);
    if let Ok(list) = StatusList::verify(&signed(data, "fuzz-1", &ISSUER_SECRET), &trust) {
        let _ = (list.get(0), list.get(u32::MAX), list.len());
    }
    let _ = TrustList::open(&signed(data, "root-1", &ROOT_SECRET), &root);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = licence_credential::TrustRoot::from_text(text);
        let _ = TrustRootKey::from_key_file(text);
        let _ = IssuerKey::from_key_file(text);
    }
});
