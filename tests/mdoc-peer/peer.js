// The peer of licence-mdoc (crates/licence-mdoc/tests/peer.rs): @auth0/mdl, an ISO/IEC 18013-5
// implementation nobody here wrote.
//
//   node peer.js verify DIR   verifies every DIR/*.response.cbor against DIR/iaca.pem in the
//                             session DIR/transcript.cbor (SessionTranscriptBytes), one JSON
//                             line each: {file, valid, code, message, disclosed}
//   node peer.js issue DIR    makes its own IACA root and document signer, issues an mDL with
//                             its own keys and presents it in the session DIR/transcript.cbor:
//                             DIR/peer-iaca.pem, DIR/peer.response.cbor
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { webcrypto } = require('node:crypto');
const x509 = require('@peculiar/x509');
const { Document, MDoc, DeviceResponse, Verifier } = require('@auth0/mdl');

x509.cryptoProvider.set(webcrypto);
const subtle = webcrypto.subtle;
const EC = { name: 'ECDSA', namedCurve: 'P-256' };
const SIG = { name: 'ECDSA', hash: 'SHA-256' };
const DAY = 86400e3;

async function verify(dir) {
  const verifier = new Verifier([fs.readFileSync(path.join(dir, 'iaca.pem'), 'utf8')]);
  const transcript = fs.readFileSync(path.join(dir, 'transcript.cbor'));
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.response.cbor')).sort();
  for (const file of files) {
    const bytes = fs.readFileSync(path.join(dir, file));
    const result = { file, valid: false, code: null, message: null, disclosed: {} };
    try {
      const mdoc = await verifier.verify(bytes, { encodedSessionTranscript: transcript });
      result.valid = true;
      for (const doc of mdoc.documents) {
        for (const ns of doc.issuerSignedNameSpaces) {
          result.disclosed[ns] = Object.keys(doc.getIssuerNameSpace(ns)).sort();
        }
      }
    } catch (e) {
      result.code = e.code || e.name;
      result.message = e.message;
    }
    console.log(JSON.stringify(result));
  }
}

async function issue(dir) {
  const iacaKeys = await subtle.generateKey(EC, true, ['sign', 'verify']);
  const dsKeys = await subtle.generateKey(EC, true, ['sign', 'verify']);
  const deviceKeys = await subtle.generateKey(EC, true, ['sign', 'verify']);
  const now = Date.now();
  const iaca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'C=DE, O=Peer Test, CN=Peer Test IACA',
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 3650 * DAY),
    signingAlgorithm: SIG,
    keys: iacaKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(iacaKeys.publicKey),
    ],
  });
  const ds = await x509.X509CertificateGenerator.create({
    serialNumber: '02',
    subject: 'C=DE, O=Peer Test, CN=Peer Test Document Signer',
    issuer: iaca.subject,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 365 * DAY),
    signingAlgorithm: SIG,
    publicKey: dsKeys.publicKey,
    signingKey: iacaKeys.privateKey,
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(['1.0.18013.5.1.2'], true),
      await x509.SubjectKeyIdentifierExtension.create(dsKeys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(iacaKeys.publicKey),
    ],
  });
  // jose wants alg on every JWK; a kid keeps cose-kit from writing an undefined one.
  const dsPrivate = { ...(await subtle.exportKey('jwk', dsKeys.privateKey)), alg: 'ES256', kid: 'peer-ds' };
  const devicePrivate = { ...(await subtle.exportKey('jwk', deviceKeys.privateKey)), alg: 'ES256', kid: 'peer-device' };
  const { d, key_ops: _ops, ext: _ext, kid: _kid, ...devicePublic } = devicePrivate; // eslint-disable-line no-unused-vars

  const issued = await new Document('org.iso.18013.5.1.mDL')
    .addIssuerNameSpace('org.iso.18013.5.1', {
      family_name: 'Mustermann',
      given_name: 'Erika',
      birth_date: '1984-01-26',
      issue_date: '2024-03-01',
      expiry_date: '2039-02-28',
      issuing_country: 'DE',
      issuing_authority: 'Peer Test Authority',
      document_number: 'P1234567',
      portrait: new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]),
      un_distinguishing_sign: 'D',
      age_over_18: true,
      driving_privileges: [{ vehicle_category_code: 'B', issue_date: '2024-03-01', expiry_date: '2039-02-28' }],
    })
    .useDigestAlgorithm('SHA-256')
    .addValidityInfo({ signed: new Date(now), validFrom: new Date(now), validUntil: new Date(now + 30 * DAY) })
    .addDeviceKeyInfo({ deviceKey: devicePublic })
    .sign({ issuerPrivateKey: dsPrivate, issuerCertificate: ds.toString('pem'), alg: 'ES256' });
  const fields = ['family_name', 'given_name', 'birth_date', 'issuing_country', 'portrait', 'driving_privileges', 'age_over_18'];
  const response = await DeviceResponse.from(new MDoc([issued]).encode())
    .usingPresentationDefinition({
      id: 'licence-mdoc-peer',
      input_descriptors: [{
        id: 'org.iso.18013.5.1.mDL',
        format: { mso_mdoc: { alg: ['ES256'] } },
        constraints: {
          limit_disclosure: 'required',
          fields: fields.map((f) => ({ path: [`$['org.iso.18013.5.1']['${f}']`], intent_to_retain: false })),
        },
      }],
    })
    .usingSessionTranscriptBytes(fs.readFileSync(path.join(dir, 'transcript.cbor')))
    .authenticateWithSignature(devicePrivate, 'ES256')
    .sign();
  fs.writeFileSync(path.join(dir, 'peer-iaca.pem'), iaca.toString('pem'));
  fs.writeFileSync(path.join(dir, 'peer.response.cbor'), Buffer.from(response.encode()));
}

const [mode, dir] = process.argv.slice(2);
const run = { verify, issue }[mode];
if (!run || !dir) {
  console.error('usage: node peer.js verify|issue DIR');
  process.exit(2);
}
run(dir).catch((e) => {
  console.error(`peer ${mode} failed: ${e.stack || e}`);
  process.exit(1);
});
