//! The certificates of ISO/IEC 18013-5 Annex B: the issuing authority's root (IACA, the
//! one thing a foreign verifier must be given) and the document signer it certifies, whose key
//! signs each MSO.
//!
//! Reading and checking them is for every reader (x509-cert, pure Rust); making them is for the
//! issuer only (feature `issuer`, rcgen driven by our own P-256 keys, so no second crypto
//! library signs).

use der::asn1::ObjectIdentifier;
use der::{Decode, Encode, Tag, Tagged};
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use time::OffsetDateTime;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages};
use x509_cert::name::Name;
use x509_cert::Certificate;

use crate::MdocError;

/// id-kp-mdlDS: the extended key usage of a document signer (18013-5 Annex B).
pub const MDL_DS_EKU: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.0.18013.5.1.2");
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const COUNTRY_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.6");
const COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");

/// Longest a document signer's certificate may be valid (Annex B: 457 days).
pub const MAX_SIGNER_DAYS: i64 = 457;
/// Longest an IACA root may be valid (Annex B: 20 years).
pub const MAX_IACA_DAYS: i64 = 20 * 366;

/// The files of an mDL signing folder: what `licence keys mdoc-root` and `mdoc-signer` write,
/// and what the platform reads from its `--mdoc-dir` (and makes there for development).
pub mod folder {
    /// The IACA root's certificate (PEM): what verifiers abroad are given.
    pub const IACA_CERT: &str = "iaca.pem";
    /// The root's private key (PKCS#8 PEM); present only where the root is kept on line.
    pub const IACA_KEY: &str = "iaca.key";
    /// The document signer's private key (PKCS#8 PEM).
    pub const SIGNER_KEY: &str = "document-signer.key";
    /// The document signer's certificate (PEM), issued by the root.
    pub const SIGNER_CERT: &str = "document-signer.pem";
}

fn parse(der: &[u8]) -> Result<Certificate, MdocError> {
    Certificate::from_der(der).map_err(|_| MdocError::BadCertificate("not an X.509 certificate"))
}

/// The certificate's validity as Unix seconds.
fn period(cert: &Certificate) -> (i64, i64) {
    let v = &cert.tbs_certificate.validity;
    let secs = |t: x509_cert::time::Time| {
        i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
    };
    (secs(v.not_before), secs(v.not_after))
}

fn within(cert: &Certificate, now: OffsetDateTime) -> bool {
    let (from, until) = period(cert);
    (from..=until).contains(&now.unix_timestamp())
}

/// The P-256 key the certificate certifies.
fn public_key(cert: &Certificate) -> Result<VerifyingKey, MdocError> {
    let spki = &cert.tbs_certificate.subject_public_key_info;
    VerifyingKey::from_sec1_bytes(spki.subject_public_key.raw_bytes())
        .map_err(|_| MdocError::Unsupported("only P-256 certificate keys"))
}

/// The first value of an attribute of a name, as text.
fn attribute(name: &Name, oid: ObjectIdentifier) -> Option<String> {
    name.0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find(|atv| atv.oid == oid)
        .and_then(|atv| std::str::from_utf8(atv.value.value()).ok())
        .map(str::to_owned)
}

fn extension<T: for<'a> Decode<'a>>(cert: &Certificate, oid: &str) -> Option<T> {
    let oid = ObjectIdentifier::new(oid).ok()?;
    cert.tbs_certificate
        .extensions
        .as_ref()?
        .iter()
        .find(|e| e.extn_id == oid)
        .and_then(|e| T::from_der(e.extn_value.as_bytes()).ok())
}

/// Checks that `issuer_key` made the certificate's signature (ECDSA with SHA-256).
fn signed_by(cert: &Certificate, issuer_key: &VerifyingKey) -> Result<bool, MdocError> {
    if cert.signature_algorithm.oid != ECDSA_WITH_SHA256 {
        return Err(MdocError::Unsupported(
            "only ecdsa-with-SHA256 certificates",
        ));
    }
    let tbs = cert
        .tbs_certificate
        .to_der()
        .map_err(|_| MdocError::BadCertificate("its signed part does not encode"))?;
    let Some(signature) = cert.signature.as_bytes() else {
        return Ok(false);
    };
    let Ok(signature) = Signature::from_der(signature) else {
        return Ok(false);
    };
    Ok(issuer_key.verify(&tbs, &signature).is_ok())
}

/// An issuing authority's root certificate (IACA), as a reader trusts it.
#[derive(Clone)]
pub struct IacaRoot {
    der: Vec<u8>,
    cert: Certificate,
    key: VerifyingKey,
}

impl std::fmt::Debug for IacaRoot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IacaRoot({})", self.common_name().unwrap_or_default())
    }
}

/// What a reader learns from a document signer's certificate it accepted.
#[derive(Debug, Clone)]
pub struct SignerInfo {
    pub key: VerifyingKey,
    /// Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
    /// The certificate's country (C), which the document's `issuing_country` must repeat.
    pub country: Option<String>,
    pub common_name: Option<String>,
}

impl IacaRoot {
    /// Reads a root and checks that it is one: self-signed, a CA, allowed to sign certificates.
    pub fn from_der(der: &[u8]) -> Result<IacaRoot, MdocError> {
        let cert = parse(der)?;
        let key = public_key(&cert)?;
        if cert.tbs_certificate.issuer != cert.tbs_certificate.subject || !signed_by(&cert, &key)? {
            return Err(MdocError::BadCertificate("an IACA root is self-signed"));
        }
        let is_ca = extension::<BasicConstraints>(&cert, "2.5.29.19").is_some_and(|b| b.ca);
        let signs_certificates = extension::<KeyUsage>(&cert, "2.5.29.15")
            .is_some_and(|k| k.0.contains(KeyUsages::KeyCertSign));
        if !is_ca || !signs_certificates {
            return Err(MdocError::BadCertificate(
                "an IACA root is a CA whose key usage includes keyCertSign",
            ));
        }
        Ok(IacaRoot {
            der: der.to_vec(),
            cert,
            key,
        })
    }

    /// Reads a root from PEM text (`-----BEGIN CERTIFICATE-----`).
    pub fn from_pem(text: &str) -> Result<IacaRoot, MdocError> {
        let (label, der) = der::pem::decode_vec(text.trim().as_bytes())
            .map_err(|_| MdocError::BadCertificate("not PEM"))?;
        if label != "CERTIFICATE" {
            return Err(MdocError::BadCertificate("PEM that is not a certificate"));
        }
        IacaRoot::from_der(&der)
    }

    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The root as PEM text, the form a foreign verifier is given.
    pub fn pem(&self) -> String {
        der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &self.der)
            .expect("a certificate's DER encodes as PEM")
    }

    pub fn common_name(&self) -> Option<String> {
        attribute(&self.cert.tbs_certificate.subject, COMMON_NAME)
    }

    pub fn country(&self) -> Option<String> {
        attribute(&self.cert.tbs_certificate.subject, COUNTRY_NAME)
    }

    /// Unix seconds, both included.
    pub fn period(&self) -> (i64, i64) {
        period(&self.cert)
    }

    /// Checks a document signer's certificate against this root at `now`: issued by it (name and
    /// signature), both valid now, a document signer's extended key usage, a P-256 key, and
    /// the same country as the root.
    pub fn check_signer(&self, der: &[u8], now: OffsetDateTime) -> Result<SignerInfo, MdocError> {
        let cert = parse(der)?;
        if cert.tbs_certificate.issuer != self.cert.tbs_certificate.subject
            || !signed_by(&cert, &self.key)?
        {
            return Err(MdocError::UntrustedIssuer);
        }
        if !within(&cert, now) || !within(&self.cert, now) {
            return Err(MdocError::CertificateOutOfPeriod);
        }
        let usages = extension::<ExtendedKeyUsage>(&cert, "2.5.29.37");
        if !usages.is_some_and(|u| u.0.contains(&MDL_DS_EKU)) {
            return Err(MdocError::NotADocumentSigner);
        }
        let country = attribute(&cert.tbs_certificate.subject, COUNTRY_NAME);
        if country != self.country() {
            return Err(MdocError::CountryMismatch);
        }
        let (not_before, not_after) = period(&cert);
        Ok(SignerInfo {
            key: public_key(&cert)?,
            not_before,
            not_after,
            country,
            common_name: attribute(&cert.tbs_certificate.subject, COMMON_NAME),
        })
    }
}

/// Finds which trusted root issued `signer_der` and checks it against that root.
pub fn check_chain(
    roots: &[IacaRoot],
    signer_der: &[u8],
    now: OffsetDateTime,
) -> Result<SignerInfo, MdocError> {
    let cert = parse(signer_der)?;
    // Several roots may share a name (a root renewed with a new key): each is tried.
    let mut outcome = Err(MdocError::UntrustedIssuer);
    for root in roots
        .iter()
        .filter(|r| r.cert.tbs_certificate.subject == cert.tbs_certificate.issuer)
    {
        outcome = root.check_signer(signer_der, now);
        if !matches!(outcome, Err(MdocError::UntrustedIssuer)) {
            break;
        }
    }
    outcome
}

/// A document signer: its key, which signs MSOs, and its certificate, which goes with each.
pub struct DocumentSigner {
    key: SigningKey,
    certificate: Vec<u8>,
    /// The certificate's validity, Unix seconds (read once, when the signer is made).
    period: (i64, i64),
}

impl std::fmt::Debug for DocumentSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DocumentSigner")
    }
}

impl DocumentSigner {
    /// The key and its certificate, which must certify that key.
    pub fn new(key: SigningKey, certificate_der: Vec<u8>) -> Result<DocumentSigner, MdocError> {
        let cert = parse(&certificate_der)?;
        if public_key(&cert)? != *key.verifying_key() {
            return Err(MdocError::BadCertificate(
                "the certificate is for another key than the signer's",
            ));
        }
        Ok(DocumentSigner {
            key,
            period: period(&cert),
            certificate: certificate_der,
        })
    }

    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate
    }

    /// The certificate as PEM text.
    pub fn certificate_pem(&self) -> String {
        der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &self.certificate)
            .expect("a certificate's DER encodes as PEM")
    }

    pub(crate) fn key(&self) -> &SigningKey {
        &self.key
    }

    /// The private key, for whoever stores it (the issuer's edge).
    #[cfg(feature = "issuer")]
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// Unix seconds, both included: an MSO must be signed within them.
    pub fn period(&self) -> (i64, i64) {
        self.period
    }
}

// Kept visible to the tests of other modules, which tamper with certificates.
#[allow(dead_code)]
pub(crate) fn tag_of(der: &[u8]) -> Option<Tag> {
    der::Any::from_der(der).ok().map(|a| a.tag())
}

#[cfg(feature = "issuer")]
pub use making::{
    key_from_pem, key_to_pem, make_document_signer, make_iaca_root, CertificateSubject,
};

#[cfg(feature = "issuer")]
mod making {
    use super::*;
    use p256::ecdsa::signature::Signer;
    use rcgen::{
        BasicConstraints as RcBasicConstraints, CertificateParams, CustomExtension,
        DistinguishedName, DnType, DnValue, IsCa, Issuer, KeyIdMethod, KeyUsagePurpose,
        SerialNumber,
    };
    use sha2::Digest;

    /// A private key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), the form other tools read.
    pub fn key_to_pem(key: &SigningKey) -> String {
        use p256::pkcs8::EncodePrivateKey;
        key.to_pkcs8_pem(p256::pkcs8::LineEnding::LF)
            .map(|pem| pem.to_string())
            .expect("a P-256 key encodes as PKCS#8")
    }

    /// Reads a P-256 private key from PKCS#8 PEM.
    pub fn key_from_pem(text: &str) -> Result<SigningKey, MdocError> {
        use p256::pkcs8::DecodePrivateKey;
        SigningKey::from_pkcs8_pem(text.trim()).map_err(|_| MdocError::BadKey)
    }

    /// A P-256 key of ours as rcgen's signer.
    struct P256<'k> {
        key: Option<&'k SigningKey>,
        public: Vec<u8>,
    }

    impl<'k> P256<'k> {
        fn signing(key: &'k SigningKey) -> P256<'k> {
            P256 {
                key: Some(key),
                public: key
                    .verifying_key()
                    .to_encoded_point(false)
                    .as_bytes()
                    .to_vec(),
            }
        }

        fn public(key: &VerifyingKey) -> P256<'static> {
            P256 {
                key: None,
                public: key.to_encoded_point(false).as_bytes().to_vec(),
            }
        }

        /// RFC 7093 method 1: the first 160 bits of the SHA-256 of the key.
        fn key_id(&self) -> Vec<u8> {
            sha2::Sha256::digest(&self.public)[..20].to_vec()
        }
    }

    impl rcgen::PublicKeyData for P256<'_> {
        fn der_bytes(&self) -> &[u8] {
            &self.public
        }

        fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
            &rcgen::PKCS_ECDSA_P256_SHA256
        }
    }

    impl rcgen::SigningKey for P256<'_> {
        fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
            let key = self.key.ok_or(rcgen::Error::RemoteKeyError)?;
            let signature: Signature = key.sign(msg);
            Ok(signature.to_der().as_bytes().to_vec())
        }
    }

    /// Who a certificate is for: the country (ISO 3166-1 alpha-2, e.g. CN) and a name.
    #[derive(Debug, Clone)]
    pub struct CertificateSubject {
        pub country: String,
        pub common_name: String,
        /// Where the issuer publishes about its certificates (IssuerAltName, required by
        /// Annex B), e.g. https://122.gov.cn.
        pub issuer_url: String,
    }

    fn name(subject: &CertificateSubject) -> Result<DistinguishedName, MdocError> {
        let country = rcgen::string::PrintableString::try_from(subject.country.as_str())
            .map_err(|_| MdocError::Certificate("the country is two letters, e.g. CN".into()))?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CountryName, DnValue::PrintableString(country));
        dn.push(DnType::CommonName, subject.common_name.as_str());
        Ok(dn)
    }

    /// DER length octets.
    fn der_len(n: usize) -> Vec<u8> {
        if n < 0x80 {
            return vec![n as u8];
        }
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        let mut out = vec![0x80 | bytes.len() as u8];
        out.extend(bytes);
        out
    }

    /// IssuerAltName with one URI (GeneralNames ::= SEQUENCE { [6] IA5String }).
    fn issuer_alt_name(url: &str) -> Result<CustomExtension, MdocError> {
        if !url.is_ascii() || url.is_empty() {
            return Err(MdocError::Certificate("the issuer URL is ASCII".into()));
        }
        let mut uri = vec![0x86];
        uri.extend(der_len(url.len()));
        uri.extend(url.as_bytes());
        let mut names = vec![0x30];
        names.extend(der_len(uri.len()));
        names.extend(uri);
        Ok(CustomExtension::from_oid_content(&[2, 5, 29, 18], names))
    }

    /// ExtendedKeyUsage { id-kp-mdlDS }, critical as Annex B asks (rcgen writes it non-critical).
    fn document_signer_usage() -> CustomExtension {
        let mut eku = CustomExtension::from_oid_content(
            &[2, 5, 29, 37],
            vec![
                0x30, 0x09, 0x06, 0x07, 0x28, 0x81, 0x8C, 0x5D, 0x05, 0x01, 0x02,
            ],
        );
        eku.set_criticality(true);
        eku
    }

    fn params(
        subject: &CertificateSubject,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
        serial: [u8; 16],
        max_days: i64,
    ) -> Result<CertificateParams, MdocError> {
        if not_after <= not_before || (not_after - not_before).whole_days() > max_days {
            return Err(MdocError::Certificate(format!(
                "a validity of more than {max_days} days"
            )));
        }
        let mut p = CertificateParams::default();
        p.distinguished_name = name(subject)?;
        p.not_before = not_before;
        p.not_after = not_after;
        // Positive, at most 20 octets, unpredictable.
        let mut serial = serial;
        serial[0] &= 0x7f;
        serial[0] |= 0x01;
        p.serial_number = Some(SerialNumber::from_slice(&serial));
        p.custom_extensions
            .push(issuer_alt_name(&subject.issuer_url)?);
        Ok(p)
    }

    /// A self-signed IACA root for `key` (at most 20 years).
    pub fn make_iaca_root(
        key: &SigningKey,
        subject: &CertificateSubject,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
        serial: [u8; 16],
    ) -> Result<IacaRoot, MdocError> {
        let signer = P256::signing(key);
        let mut p = params(subject, not_before, not_after, serial, MAX_IACA_DAYS)?;
        p.is_ca = IsCa::Ca(RcBasicConstraints::Constrained(0));
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        p.key_identifier_method = KeyIdMethod::PreSpecified(signer.key_id());
        let cert = p
            .self_signed(&signer)
            .map_err(|e| MdocError::Certificate(e.to_string()))?;
        IacaRoot::from_der(cert.der())
    }

    /// The root's subject as rcgen writes an issuer: each attribute in the encoding the root
    /// used, so the signer's issuer field equals the root's subject byte for byte.
    fn issuer_name(root: &IacaRoot) -> Result<DistinguishedName, MdocError> {
        let mut dn = DistinguishedName::new();
        for atv in root
            .cert
            .tbs_certificate
            .subject
            .0
            .iter()
            .flat_map(|r| r.0.iter())
        {
            let text = std::str::from_utf8(atv.value.value())
                .map_err(|_| MdocError::Certificate("the root's name is not text".into()))?
                .to_owned();
            let kind = if atv.oid == COUNTRY_NAME {
                DnType::CountryName
            } else if atv.oid == COMMON_NAME {
                DnType::CommonName
            } else {
                let arcs: Vec<u64> = atv.oid.arcs().map(u64::from).collect();
                DnType::CustomDnType(arcs)
            };
            let value = match atv.value.tag() {
                Tag::PrintableString => DnValue::PrintableString(
                    rcgen::string::PrintableString::try_from(text)
                        .map_err(|e| MdocError::Certificate(e.to_string()))?,
                ),
                Tag::Utf8String => DnValue::Utf8String(text),
                _ => {
                    return Err(MdocError::Certificate(
                        "the root's name uses a string type other than Printable or UTF-8".into(),
                    ))
                }
            };
            dn.push(kind, value);
        }
        Ok(dn)
    }

    /// A document signer's certificate for `signer_key`, signed by the root's key (at most
    /// 457 days, and within the root's own validity).
    pub fn make_document_signer(
        root: &IacaRoot,
        root_key: &SigningKey,
        signer_key: &SigningKey,
        subject: &CertificateSubject,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
        serial: [u8; 16],
    ) -> Result<DocumentSigner, MdocError> {
        if root.key != *root_key.verifying_key() {
            return Err(MdocError::Certificate("the key is not the root's".into()));
        }
        let (root_from, root_until) = root.period();
        if not_before.unix_timestamp() < root_from || not_after.unix_timestamp() > root_until {
            return Err(MdocError::Certificate(
                "a document signer's validity lies within its root's".into(),
            ));
        }
        if Some(subject.country.as_str()) != root.country().as_deref() {
            return Err(MdocError::Certificate(
                "a document signer has its root's country".into(),
            ));
        }
        let root_signer = P256::signing(root_key);
        let mut issuer_params = CertificateParams::default();
        issuer_params.distinguished_name = issuer_name(root)?;
        issuer_params.key_identifier_method = KeyIdMethod::PreSpecified(root_signer.key_id());
        issuer_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let issuer = Issuer::new(issuer_params, root_signer);

        let public = P256::public(signer_key.verifying_key());
        let mut p = params(subject, not_before, not_after, serial, MAX_SIGNER_DAYS)?;
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.custom_extensions.push(document_signer_usage());
        p.use_authority_key_identifier_extension = true;
        p.key_identifier_method = KeyIdMethod::PreSpecified(public.key_id());
        let cert = p
            .signed_by(&public, &issuer)
            .map_err(|e| MdocError::Certificate(e.to_string()))?;
        DocumentSigner::new(signer_key.clone(), cert.der().to_vec())
    }
}

#[cfg(all(test, feature = "issuer"))]
pub(crate) mod tests {
    use super::*;
    use time::macros::datetime;

    pub(crate) const NOW: OffsetDateTime = datetime!(2026-12-06 08:00 UTC);

    pub(crate) fn subject(name: &str) -> CertificateSubject {
        CertificateSubject {
            country: "CN".into(),
            common_name: name.into(),
            issuer_url: "https://122.gov.cn".into(),
        }
    }

    /// A root and a signer valid around [`NOW`], from fixed keys.
    pub(crate) fn pki() -> (IacaRoot, SigningKey, DocumentSigner) {
        let root_key = SigningKey::from_slice(&[3; 32]).unwrap();
        let root = make_iaca_root(
            &root_key,
            &subject("公安部交通管理局 IACA"),
            NOW - time::Duration::days(30),
            NOW + time::Duration::days(3650),
            [1; 16],
        )
        .unwrap();
        let signer = make_document_signer(
            &root,
            &root_key,
            &SigningKey::from_slice(&[4; 32]).unwrap(),
            &subject("北京市公安局公安交通管理局 DS"),
            NOW - time::Duration::days(1),
            NOW + time::Duration::days(365),
            [2; 16],
        )
        .unwrap();
        (root, root_key, signer)
    }

    #[test]
    fn a_signer_made_under_a_root_checks_against_it_and_only_it() {
        let (root, _, signer) = pki();
        assert_eq!(root.country().as_deref(), Some("CN"));
        let info = check_chain(std::slice::from_ref(&root), signer.certificate_der(), NOW).unwrap();
        assert_eq!(info.country.as_deref(), Some("CN"));
        assert_eq!(info.key, *signer.key().verifying_key());
        // The PEM a foreign verifier is given reads back as the same root.
        assert_eq!(IacaRoot::from_pem(&root.pem()).unwrap().der(), root.der());

        // Another root with the very same name cannot vouch for it.
        let other_key = SigningKey::from_slice(&[5; 32]).unwrap();
        let impostor = make_iaca_root(
            &other_key,
            &subject("公安部交通管理局 IACA"),
            NOW - time::Duration::days(30),
            NOW + time::Duration::days(3650),
            [1; 16],
        )
        .unwrap();
        assert_eq!(
            check_chain(
                std::slice::from_ref(&impostor),
                signer.certificate_der(),
                NOW
            )
            .unwrap_err(),
            MdocError::UntrustedIssuer
        );
        // Trusted beside the genuine root (a renewal under the same name), it does not hide it.
        assert!(check_chain(&[impostor, root.clone()], signer.certificate_der(), NOW).is_ok());
        // Out of its period.
        assert_eq!(
            root.check_signer(signer.certificate_der(), NOW + time::Duration::days(400))
                .unwrap_err(),
            MdocError::CertificateOutOfPeriod
        );
    }

    #[test]
    fn keys_round_trip_through_pkcs8_pem_and_other_text_is_refused() {
        let key = SigningKey::from_slice(&[8; 32]).unwrap();
        let pem = key_to_pem(&key);
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert_eq!(key_from_pem(&pem).unwrap(), key);
        assert_eq!(key_from_pem("not a key").unwrap_err(), MdocError::BadKey);
    }

    #[test]
    fn a_root_is_not_a_signer_and_a_signer_is_not_a_root() {
        let (root, _, signer) = pki();
        assert!(matches!(
            IacaRoot::from_der(signer.certificate_der()),
            Err(MdocError::BadCertificate(_))
        ));
        // The root's own certificate presented as a document signer's lacks the usage.
        assert!(root.check_signer(root.der(), NOW).is_err());
    }

    #[test]
    fn making_refuses_what_annex_b_forbids() {
        let (root, root_key, _) = pki();
        let key = SigningKey::from_slice(&[6; 32]).unwrap();
        let too_long = make_document_signer(
            &root,
            &root_key,
            &key,
            &subject("DS"),
            NOW,
            NOW + time::Duration::days(500),
            [7; 16],
        );
        assert!(matches!(too_long, Err(MdocError::Certificate(_))));
        let mut abroad = subject("DS");
        abroad.country = "FR".into();
        let other_country = make_document_signer(
            &root,
            &root_key,
            &key,
            &abroad,
            NOW,
            NOW + time::Duration::days(30),
            [7; 16],
        );
        assert!(matches!(other_country, Err(MdocError::Certificate(_))));
        let wrong_key = make_document_signer(
            &root,
            &key,
            &key,
            &subject("DS"),
            NOW,
            NOW + time::Duration::days(30),
            [7; 16],
        );
        assert!(matches!(wrong_key, Err(MdocError::Certificate(_))));
    }
}
