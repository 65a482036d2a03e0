//! Device engagement and session encryption, ISO/IEC 18013-5 §9.1.1:
//!
//! 1. The holder's device shows a QR, `mdoc:` + base64url of its DeviceEngagement, which
//!    carries an ephemeral P-256 key (EDeviceKey) and how to reach the device.
//! 2. The reader makes its own ephemeral key (EReaderKey); both derive the session keys from
//!    their ECDH secret with HKDF-SHA-256, salted with the SHA-256 of the SessionTranscript,
//!    info "SKReader" / "SKDevice"; each message is AES-256-GCM with a 12-byte nonce of an
//!    8-byte sender identifier (reader 0, device 1) and a 4-byte counter from 1.
//! 3. The reader sends SessionEstablishment (its key and the encrypted DeviceRequest); the
//!    device answers SessionData (the encrypted DeviceResponse), signed over the same transcript.
//!
//! The transport is anything that carries bytes ([`Transport`]): BLE on a phone (the mobile
//! step, docs/app.md), an in-memory pair in the tests.

use aes_gcm::aead::Aead;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::Engine;
use ciborium::Value;
use p256::ecdh::EphemeralSecret;
use p256::elliptic_curve::rand_core::CryptoRngCore;
use p256::PublicKey;
use sha2::Digest;

use crate::cbor::{self, int_key, tag24, text_key};
use crate::issue::{cose_key, read_cose_key};
use crate::MdocError;

/// The QR text's prefix.
pub const QR_PREFIX: &str = "mdoc:";

/// SessionData status: the session ends (§9.1.1.4, 20).
pub const SESSION_TERMINATION: u64 = 20;

/// The transcript both sides sign and derive their keys over: DeviceEngagementBytes,
/// EReaderKeyBytes and the handover (null for a QR engagement).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionTranscript(pub(crate) Value);

impl SessionTranscript {
    /// For a QR engagement: `[#6.24(DeviceEngagement), #6.24(EReaderKey), null]`.
    pub fn for_qr(device_engagement: &[u8], e_reader_key: &[u8]) -> SessionTranscript {
        SessionTranscript(Value::Array(vec![
            Value::Tag(24, Box::new(Value::Bytes(device_engagement.to_vec()))),
            Value::Tag(24, Box::new(Value::Bytes(e_reader_key.to_vec()))),
            Value::Null,
        ]))
    }

    /// SessionTranscriptBytes: `#6.24(bstr .cbor SessionTranscript)`, what other readers take
    /// (e.g. @auth0/mdl's `encodedSessionTranscript`).
    pub fn to_bytes(&self) -> Vec<u8> {
        cbor::encode(&tag24(&self.0))
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<SessionTranscript, MdocError> {
        let value = cbor::open24(&cbor::decode(bytes)?, "SessionTranscriptBytes is #6.24")?;
        match &value {
            Value::Array(a) if a.len() == 3 => Ok(SessionTranscript(value)),
            _ => Err(MdocError::Malformed(
                "a SessionTranscript is an array of three",
            )),
        }
    }
}

/// A message carrier between holder and reader.
pub trait Transport {
    fn send(&mut self, message: Vec<u8>) -> Result<(), MdocError>;
    fn receive(&mut self) -> Result<Vec<u8>, MdocError>;
}

/// Two ends of an in-memory channel (tests, and a reader and holder in one process).
pub struct MemoryTransport {
    tx: std::sync::mpsc::Sender<Vec<u8>>,
    rx: std::sync::mpsc::Receiver<Vec<u8>>,
}

impl MemoryTransport {
    pub fn pair() -> (MemoryTransport, MemoryTransport) {
        let (a_tx, b_rx) = std::sync::mpsc::channel();
        let (b_tx, a_rx) = std::sync::mpsc::channel();
        (
            MemoryTransport { tx: a_tx, rx: a_rx },
            MemoryTransport { tx: b_tx, rx: b_rx },
        )
    }
}

impl Transport for MemoryTransport {
    fn send(&mut self, message: Vec<u8>) -> Result<(), MdocError> {
        self.tx
            .send(message)
            .map_err(|_| MdocError::Malformed("the other side has gone"))
    }

    fn receive(&mut self) -> Result<Vec<u8>, MdocError> {
        self.rx
            .recv()
            .map_err(|_| MdocError::Malformed("the other side has gone"))
    }
}

fn public_cose_key(key: &PublicKey) -> Value {
    cose_key(&p256::ecdsa::VerifyingKey::from(key), false)
}

fn read_public(value: &Value) -> Result<PublicKey, MdocError> {
    Ok(PublicKey::from(read_cose_key(value)?))
}

/// One direction's key and counter.
struct Sealer {
    cipher: Aes256Gcm,
    identifier: [u8; 8],
    counter: u32,
}

impl Sealer {
    fn nonce(&self) -> [u8; 12] {
        let mut nonce = [0u8; 12];
        nonce[..8].copy_from_slice(&self.identifier);
        nonce[8..].copy_from_slice(&self.counter.to_be_bytes());
        nonce
    }

    fn seal(&mut self, plain: &[u8]) -> Result<Vec<u8>, MdocError> {
        self.counter = self.counter.checked_add(1).ok_or(MdocError::Decryption)?;
        self.cipher
            .encrypt(&Nonce::from(self.nonce()), plain)
            .map_err(|_| MdocError::Decryption)
    }

    fn open(&mut self, sealed: &[u8]) -> Result<Vec<u8>, MdocError> {
        self.counter = self.counter.checked_add(1).ok_or(MdocError::Decryption)?;
        self.cipher
            .decrypt(&Nonce::from(self.nonce()), sealed)
            .map_err(|_| MdocError::Decryption)
    }
}

const READER_ID: [u8; 8] = [0, 0, 0, 0, 0, 0, 0, 0];
const DEVICE_ID: [u8; 8] = [0, 0, 0, 0, 0, 0, 0, 1];

/// The two session keys: (SKReader, SKDevice).
fn session_keys(
    secret: &p256::ecdh::SharedSecret,
    transcript: &SessionTranscript,
) -> Result<(Aes256Gcm, Aes256Gcm), MdocError> {
    let salt = sha2::Sha256::digest(transcript.to_bytes());
    let hkdf = secret.extract::<sha2::Sha256>(Some(&salt));
    let key = |info: &[u8]| -> Result<Aes256Gcm, MdocError> {
        let mut k = [0u8; 32];
        hkdf.expand(info, &mut k)
            .map_err(|_| MdocError::Decryption)?;
        Aes256Gcm::new_from_slice(&k).map_err(|_| MdocError::Decryption)
    };
    Ok((key(b"SKReader")?, key(b"SKDevice")?))
}

/// The holder's side of a session, from showing the QR to answering.
pub struct HolderSession {
    secret: EphemeralSecret,
    engagement: Vec<u8>,
    keys: Option<(Sealer, Sealer)>,
    transcript: Option<SessionTranscript>,
}

impl HolderSession {
    /// A fresh ephemeral key and the DeviceEngagement that carries it (version 1.0, cipher
    /// suite 1, BLE as the retrieval method, mdoc peripheral server mode).
    pub fn start(rng: &mut impl CryptoRngCore) -> HolderSession {
        let secret = EphemeralSecret::random(rng);
        let mut uuid = [0u8; 16];
        rng.fill_bytes(&mut uuid);
        let engagement = cbor::encode(&Value::Map(vec![
            int_key(0, Value::Text("1.0".into())),
            int_key(
                1,
                Value::Array(vec![
                    Value::Integer(1.into()),
                    tag24(&public_cose_key(&secret.public_key())),
                ]),
            ),
            int_key(
                2,
                Value::Array(vec![Value::Array(vec![
                    Value::Integer(2.into()),
                    Value::Integer(1.into()),
                    Value::Map(vec![
                        int_key(0, Value::Bool(true)),
                        int_key(1, Value::Bool(false)),
                        int_key(10, Value::Bytes(uuid.to_vec())),
                    ]),
                ])]),
            ),
        ]));
        HolderSession {
            secret,
            engagement,
            keys: None,
            transcript: None,
        }
    }

    /// The engagement QR's text.
    pub fn qr_text(&self) -> String {
        format!(
            "{QR_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&self.engagement)
        )
    }

    /// Opens the reader's SessionEstablishment: derives the keys and returns the decrypted
    /// DeviceRequest bytes.
    pub fn establish(&mut self, message: &[u8]) -> Result<Vec<u8>, MdocError> {
        let value = cbor::decode(message)?;
        let entries = cbor::map(&value, "SessionEstablishment is a map")?;
        let reader_key_item = cbor::need(
            entries,
            "eReaderKey",
            "SessionEstablishment without eReaderKey",
        )?;
        let reader_key_bytes = cbor::untag24(reader_key_item, "eReaderKey is #6.24")?;
        let reader_key = read_public(&cbor::decode(reader_key_bytes)?)?;
        let data = cbor::need(entries, "data", "SessionEstablishment without data")?
            .as_bytes()
            .ok_or(MdocError::Malformed("data is a byte string"))?;
        let transcript = SessionTranscript::for_qr(&self.engagement, reader_key_bytes);
        let shared = self.secret.diffie_hellman(&reader_key);
        let (sk_reader, sk_device) = session_keys(&shared, &transcript)?;
        let mut from_reader = Sealer {
            cipher: sk_reader,
            identifier: READER_ID,
            counter: 0,
        };
        let request = from_reader.open(data)?;
        let to_reader = Sealer {
            cipher: sk_device,
            identifier: DEVICE_ID,
            counter: 0,
        };
        self.keys = Some((from_reader, to_reader));
        self.transcript = Some(transcript);
        Ok(request)
    }

    /// The transcript the response must be signed over (after [`HolderSession::establish`]).
    pub fn transcript(&self) -> Option<&SessionTranscript> {
        self.transcript.as_ref()
    }

    /// SessionData carrying the encrypted DeviceResponse.
    pub fn answer(&mut self, device_response: &[u8]) -> Result<Vec<u8>, MdocError> {
        let (_, to_reader) = self
            .keys
            .as_mut()
            .ok_or(MdocError::Malformed("no session yet"))?;
        let data = to_reader.seal(device_response)?;
        Ok(cbor::encode(&Value::Map(vec![text_key(
            "data",
            Value::Bytes(data),
        )])))
    }
}

/// The reader's side: scans the QR, asks, and opens the answer.
pub struct ReaderSession {
    keys: (Sealer, Sealer),
    transcript: SessionTranscript,
    reader_key_bytes: Vec<u8>,
}

impl ReaderSession {
    /// From the engagement QR's text: a fresh reader key and the session keys.
    pub fn from_qr(text: &str, rng: &mut impl CryptoRngCore) -> Result<ReaderSession, MdocError> {
        let encoded = text
            .trim()
            .strip_prefix(QR_PREFIX)
            .ok_or(MdocError::Malformed("an engagement QR starts with mdoc:"))?;
        let engagement = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(encoded.trim_end_matches('='))
            .map_err(|_| MdocError::Malformed("an engagement QR is base64url"))?;
        let value = cbor::decode(&engagement)?;
        let entries = cbor::map(&value, "DeviceEngagement is a map")?;
        if cbor::get_int(entries, 0).and_then(|v| v.as_text()) != Some("1.0") {
            return Err(MdocError::Unsupported("DeviceEngagement version"));
        }
        let security = cbor::get_int(entries, 1)
            .and_then(|v| v.as_array())
            .filter(|a| a.len() == 2)
            .ok_or(MdocError::Malformed("DeviceEngagement without Security"))?;
        if cbor::uint(&security[0], "cipher suite")? != 1 {
            return Err(MdocError::Unsupported("cipher suite"));
        }
        let device_key = read_public(&cbor::open24(&security[1], "EDeviceKeyBytes is #6.24")?)?;
        let secret = EphemeralSecret::random(rng);
        let reader_key_bytes = cbor::encode(&public_cose_key(&secret.public_key()));
        let transcript = SessionTranscript::for_qr(&engagement, &reader_key_bytes);
        let shared = secret.diffie_hellman(&device_key);
        let (sk_reader, sk_device) = session_keys(&shared, &transcript)?;
        Ok(ReaderSession {
            keys: (
                Sealer {
                    cipher: sk_reader,
                    identifier: READER_ID,
                    counter: 0,
                },
                Sealer {
                    cipher: sk_device,
                    identifier: DEVICE_ID,
                    counter: 0,
                },
            ),
            transcript,
            reader_key_bytes,
        })
    }

    pub fn transcript(&self) -> &SessionTranscript {
        &self.transcript
    }

    /// SessionEstablishment carrying the encrypted DeviceRequest.
    pub fn request(&mut self, device_request: &[u8]) -> Result<Vec<u8>, MdocError> {
        let data = self.keys.0.seal(device_request)?;
        Ok(cbor::encode(&Value::Map(vec![
            text_key(
                "eReaderKey",
                Value::Tag(24, Box::new(Value::Bytes(self.reader_key_bytes.clone()))),
            ),
            text_key("data", Value::Bytes(data)),
        ])))
    }

    /// Opens SessionData: the DeviceResponse bytes.
    pub fn open(&mut self, message: &[u8]) -> Result<Vec<u8>, MdocError> {
        let value = cbor::decode(message)?;
        let entries = cbor::map(&value, "SessionData is a map")?;
        if let Some(status) = cbor::get(entries, "status") {
            let status = cbor::uint(status, "a status is an unsigned integer")?;
            if cbor::get(entries, "data").is_none() {
                return Err(MdocError::ResponseStatus(status));
            }
        }
        let data = cbor::need(entries, "data", "SessionData without data")?
            .as_bytes()
            .ok_or(MdocError::Malformed("data is a byte string"))?;
        self.keys.1.open(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    #[test]
    fn both_sides_derive_the_same_keys_and_messages_cross_encrypted() {
        let mut holder = HolderSession::start(&mut OsRng);
        let qr = holder.qr_text();
        assert!(qr.starts_with("mdoc:"));
        let mut reader = ReaderSession::from_qr(&qr, &mut OsRng).unwrap();
        let (mut reader_end, mut holder_end) = MemoryTransport::pair();
        reader_end
            .send(reader.request(b"the request").unwrap())
            .unwrap();
        let establishment = holder_end.receive().unwrap();
        // The request is not readable on the wire.
        assert!(!establishment.windows(11).any(|w| w == b"the request"));
        assert_eq!(holder.establish(&establishment).unwrap(), b"the request");
        assert_eq!(holder.transcript(), Some(reader.transcript()));
        holder_end
            .send(holder.answer(b"the response").unwrap())
            .unwrap();
        assert_eq!(
            reader.open(&reader_end.receive().unwrap()).unwrap(),
            b"the response"
        );
    }

    #[test]
    fn a_tampered_or_replayed_message_does_not_decrypt() {
        let mut holder = HolderSession::start(&mut OsRng);
        let mut reader = ReaderSession::from_qr(&holder.qr_text(), &mut OsRng).unwrap();
        let mut establishment = reader.request(b"the request").unwrap();
        let last = establishment.len() - 1;
        establishment[last] ^= 1;
        assert_eq!(
            holder.establish(&establishment).unwrap_err(),
            MdocError::Decryption
        );

        let mut holder = HolderSession::start(&mut OsRng);
        let mut reader = ReaderSession::from_qr(&holder.qr_text(), &mut OsRng).unwrap();
        holder.establish(&reader.request(b"r").unwrap()).unwrap();
        let answer = holder.answer(b"first").unwrap();
        assert_eq!(reader.open(&answer).unwrap(), b"first");
        // The same message again: the counter has moved on.
        assert_eq!(reader.open(&answer).unwrap_err(), MdocError::Decryption);
    }

    /// A constant of the standard's worked example (testdata/iso18013_5_annex_d.txt).
    fn annex_d(name: &str) -> Vec<u8> {
        const TEXT: &str = include_str!("../testdata/iso18013_5_annex_d.txt");
        let key = format!("ISO_18013_5_ANNEX_D_{name}=");
        let hex = TEXT
            .lines()
            .find_map(|l| l.strip_prefix(key.as_str()))
            .unwrap_or_else(|| panic!("{name} is in the file"));
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    }

    /// ISO/IEC 18013-5 Annex D, an implementation other than ours: the same session keys from
    /// the example's ephemeral keys and transcript, the reader's request decrypted to the
    /// example's DeviceRequest, and the example's DeviceResponse encrypted to its SessionData
    /// byte for byte.
    #[test]
    fn the_standards_worked_example_gives_the_same_keys_and_messages() {
        let device = p256::SecretKey::from_slice(&annex_d("EPHEMERAL_DEVICE_KEY_D")).unwrap();
        let mut sec1 = vec![0x04];
        sec1.extend(annex_d("EPHEMERAL_READER_KEY_X"));
        sec1.extend(annex_d("EPHEMERAL_READER_KEY_Y"));
        let reader = PublicKey::from_sec1_bytes(&sec1).unwrap();
        let shared = p256::ecdh::diffie_hellman(device.to_nonzero_scalar(), reader.as_affine());
        // An NFC handover here, not a QR's null: the transcript is taken as it comes.
        let transcript =
            SessionTranscript::from_bytes(&annex_d("SESSION_TRANSCRIPT_BYTES")).unwrap();
        assert_eq!(transcript.to_bytes(), annex_d("SESSION_TRANSCRIPT_BYTES"));
        let (sk_reader, sk_device) = session_keys(&shared, &transcript).unwrap();

        let establishment = cbor::decode(&annex_d("SESSION_ESTABLISHMENT")).unwrap();
        let data = cbor::get(cbor::map(&establishment, "m").unwrap(), "data")
            .and_then(|d| d.as_bytes())
            .unwrap()
            .clone();
        let mut from_reader = Sealer {
            cipher: sk_reader,
            identifier: READER_ID,
            counter: 0,
        };
        let request = from_reader.open(&data).unwrap();
        assert_eq!(request, annex_d("DEVICE_REQUEST"));
        // Its reader authentication is not checked, but the request is read.
        let request = crate::DeviceRequest::from_bytes(&request).unwrap();
        assert!(!request.mdl().unwrap().items.is_empty());

        let to_reader = Sealer {
            cipher: sk_device,
            identifier: DEVICE_ID,
            counter: 0,
        };
        let mut holder = HolderSession {
            secret: EphemeralSecret::random(&mut OsRng),
            engagement: Vec::new(),
            keys: Some((from_reader, to_reader)),
            transcript: Some(transcript),
        };
        assert_eq!(
            holder.answer(&annex_d("DEVICE_RESPONSE")).unwrap(),
            annex_d("SESSION_DATA")
        );
    }

    #[test]
    fn a_session_that_ends_says_so_to_the_reader() {
        let holder = HolderSession::start(&mut OsRng);
        let mut reader = ReaderSession::from_qr(&holder.qr_text(), &mut OsRng).unwrap();
        assert_eq!(
            reader.open(&annex_d("SESSION_TERMINATION")).unwrap_err(),
            MdocError::ResponseStatus(SESSION_TERMINATION)
        );
    }

    #[test]
    fn a_qr_that_is_not_an_engagement_says_so() {
        for text in ["DL1:abc", "mdoc:!!!", "mdoc:oA"] {
            assert!(ReaderSession::from_qr(text, &mut OsRng).is_err(), "{text}");
        }
        let transcript = SessionTranscript::for_qr(b"\xa0", b"\xa0");
        assert_eq!(
            SessionTranscript::from_bytes(&transcript.to_bytes()).unwrap(),
            transcript
        );
    }
}
