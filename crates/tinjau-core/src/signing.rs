//! Signed changes: the keys and statements of `docs/signing.md` (issue #12).
//!
//! Pure, like the rest of the core: a device key's seed and a registration's time are passed
//! in. What is here: a juror's **identity key**, derived from their token (never stored); a
//! **device key**; a device's **registration**, signed by the identity key, which binds the
//! device to its juror without any server; and a change's **signature** by its device over the
//! change's canonical bytes (the bytes its chain hash covers); and the [`Registry`] a receiver
//! checks changes against (a push at the server, a pulled page at a laptop).

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, Utc};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use crate::chain::ChangeEntry;
use crate::change::{Refusal, RefusalCode};

/// The HKDF salt of a juror's identity key.
const IDENTITY_SALT: &[u8] = b"tinjau-juror-identity/1";
/// A registration's `format`.
pub const REGISTRATION_FORMAT: &str = "tinjau-device/1";
/// What a juror signs to open a session at a visit's hub.
const HUB_SESSION_FORMAT: &str = "tinjau-hub-session/1";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature does not verify")]
    BadSignature,
    #[error("not a public key: {0}")]
    MalformedKey(String),
    #[error("the registration is for {found}, not {expected}")]
    ForeignDevice { expected: String, found: String },
    #[error("the registration's format is \"{0}\"")]
    UnknownFormat(String),
}

/// An Ed25519 public key (32 bytes, hex on the wire).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey([u8; 32]);

impl PublicKey {
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A key that is a valid curve point (a key that is not could never verify anything).
    pub fn parse_hex(text: &str) -> Result<PublicKey, SignatureError> {
        let bytes: [u8; 32] = crate::hex::decode_array(text).ok_or_else(|| {
            SignatureError::MalformedKey(format!("{text:?} is not 64 hex digits"))
        })?;
        VerifyingKey::from_bytes(&bytes)
            .map_err(|e| SignatureError::MalformedKey(e.to_string()))?;
        Ok(PublicKey(bytes))
    }

    fn verifying(&self) -> Result<VerifyingKey, SignatureError> {
        VerifyingKey::from_bytes(&self.0).map_err(|e| SignatureError::MalformedKey(e.to_string()))
    }

    /// Checks `signature` over `message` (strictly: no malleable or small-order forms).
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), SignatureError> {
        let key = self.verifying()?;
        let signature = ed25519_dalek::Signature::from_bytes(&signature.0);
        key.verify_strict(message, &signature)
            .map_err(|_| SignatureError::BadSignature)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", crate::hex::encode(&self.0))
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::hex::encode(&self.0))
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&crate::hex::encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        PublicKey::parse_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// An Ed25519 signature (64 bytes, hex on the wire).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature([u8; 64]);

impl Signature {
    pub fn parse_hex(text: &str) -> Option<Signature> {
        crate::hex::decode_array(text).map(Signature)
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({self})")
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::hex::encode(&self.0))
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&crate::hex::encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Signature::parse_hex(&text)
            .ok_or_else(|| serde::de::Error::custom("a signature is 128 hex digits"))
    }
}

/// A juror's identity key: derived from their token for one competition, never stored. Its
/// public half is what the organiser publishes; holding the server's database (token hashes and
/// public keys) is not enough to make it.
pub struct JurorIdentity(SigningKey);

impl JurorIdentity {
    /// `HKDF-SHA256(ikm = the token's text, salt = "tinjau-juror-identity/1", info =
    /// competition ‖ 0x00 ‖ juror)`: the same token gives another key for another juror or
    /// competition.
    pub fn derive(token: &str, competition: &str, juror: &str) -> JurorIdentity {
        let mut info = Vec::with_capacity(competition.len() + 1 + juror.len());
        info.extend_from_slice(competition.as_bytes());
        info.push(0);
        info.extend_from_slice(juror.as_bytes());
        let mut seed = [0u8; 32];
        hkdf::Hkdf::<sha2::Sha256>::new(Some(IDENTITY_SALT), token.as_bytes())
            .expand(&info, &mut seed)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        JurorIdentity(SigningKey::from_bytes(&seed))
    }

    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key().to_bytes())
    }

    /// Proves to a visit's hub that this juror holds their token, without giving the token
    /// away: a signature over the hub's one-time `nonce` ([`hub_session_bytes`]).
    pub fn sign_hub_session(&self, competition: &str, juror: &str, nonce: &str) -> Signature {
        Signature(
            self.0
                .sign(&hub_session_bytes(competition, juror, nonce))
                .to_bytes(),
        )
    }

    /// Binds a device to this juror.
    pub fn register(&self, registration: Registration) -> SignedRegistration {
        let signature = Signature(self.0.sign(&registration.canonical_bytes()).to_bytes());
        SignedRegistration {
            registration,
            signature,
        }
    }
}

/// A device's own key, from 32 random bytes made when the device is set up.
pub struct DeviceKey(SigningKey);

impl DeviceKey {
    pub fn from_seed(seed: [u8; 32]) -> DeviceKey {
        DeviceKey(SigningKey::from_bytes(&seed))
    }

    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key().to_bytes())
    }

    /// Signs a change over its canonical bytes.
    pub fn sign_change(&self, entry: &ChangeEntry) -> Signature {
        Signature(self.0.sign(&entry.canonical_bytes()).to_bytes())
    }
}

/// "This device writes for this juror in this competition."
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    pub format: String,
    pub competition: String,
    pub juror: String,
    pub device_id: Uuid,
    pub device_key: PublicKey,
    pub issued_at: DateTime<Utc>,
}

impl Registration {
    pub fn new(
        competition: &str,
        juror: &str,
        device_id: Uuid,
        device_key: PublicKey,
        issued_at: DateTime<Utc>,
    ) -> Registration {
        Registration {
            format: REGISTRATION_FORMAT.into(),
            competition: competition.into(),
            juror: juror.into(),
            device_id,
            device_key,
            issued_at,
        }
    }

    /// The signed bytes: every field length-prefixed, as the chain hashes a change.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut field = |bytes: &[u8]| crate::chain::length_prefixed(&mut out, bytes);
        field(self.format.as_bytes());
        field(self.competition.as_bytes());
        field(self.juror.as_bytes());
        field(self.device_id.as_bytes());
        field(self.device_key.as_bytes());
        field(
            self.issued_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                .as_bytes(),
        );
        out
    }
}

/// A registration with its juror's signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedRegistration {
    pub registration: Registration,
    pub signature: Signature,
}

impl SignedRegistration {
    /// The device key this registration binds to `juror` of `competition`, when `identity`
    /// (that juror's published public key) signed it.
    pub fn verify(
        &self,
        identity: &PublicKey,
        competition: &str,
        juror: &str,
    ) -> Result<&PublicKey, SignatureError> {
        let r = &self.registration;
        if r.format != REGISTRATION_FORMAT {
            return Err(SignatureError::UnknownFormat(r.format.clone()));
        }
        if r.competition != competition || r.juror != juror {
            return Err(SignatureError::ForeignDevice {
                expected: format!("{juror} in {competition}"),
                found: format!("{} in {}", r.juror, r.competition),
            });
        }
        identity.verify(&r.canonical_bytes(), &self.signature)?;
        Ok(&r.device_key)
    }
}

/// The bytes a juror signs to open a session at a hub: the format, the competition, the juror
/// and the hub's nonce, each length-prefixed. The nonce is the hub's, used once: a signature
/// overheard (or handed to another hub) opens nothing.
pub fn hub_session_bytes(competition: &str, juror: &str, nonce: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for field in [HUB_SESSION_FORMAT, competition, juror, nonce] {
        crate::chain::length_prefixed(&mut out, field.as_bytes());
    }
    out
}

/// Checks a change's signature by its device's key.
pub fn verify_change(
    entry: &ChangeEntry,
    device_key: &PublicKey,
    signature: &Signature,
) -> Result<(), SignatureError> {
    device_key.verify(&entry.canonical_bytes(), signature)
}

/// A juror's identity public key, as a server or a hub publishes it. A juror has one per token
/// they were ever given (a revoked token's key still proves the devices it registered).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JurorKey {
    pub juror: String,
    pub public_key: PublicKey,
}

/// "This device's changes from chain position `from_seq` on are not to be accepted": the
/// organiser's word about a lost or stolen laptop. Earlier changes, already accepted, stay
/// valid; the juror goes on from another laptop (a new device).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revocation {
    pub device_id: Uuid,
    pub from_seq: u64,
}

/// The most identity keys one juror may have (one per token ever issued to them).
pub const MAX_KEYS_PER_JUROR: usize = 64;

/// What a receiver checks signed changes against: the identity keys it trusts, and the device
/// registrations they verified. One per check (a push, a pulled page, a sheet file), filled
/// from what the receiver holds and what arrived with the changes.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    competition: String,
    identities: HashMap<String, Vec<PublicKey>>,
    devices: HashMap<Uuid, SignedRegistration>,
    /// Registrations that arrived and did not verify, by device: why its changes are refused.
    refused: HashMap<Uuid, Refusal>,
    /// Revoked devices, from which chain position.
    revoked: HashMap<Uuid, u64>,
}

impl Registry {
    pub fn new(competition: &str) -> Registry {
        Registry {
            competition: competition.to_string(),
            ..Registry::default()
        }
    }

    /// Trusts `key` as an identity key of `juror` (beside any other it has).
    pub fn trust(&mut self, juror: &str, key: PublicKey) {
        let keys = self.identities.entry(juror.to_string()).or_default();
        if !keys.contains(&key) && keys.len() < MAX_KEYS_PER_JUROR {
            keys.push(key);
        }
    }

    /// Refuses a device's changes from `revocation.from_seq` on (the earliest position wins
    /// when a device is revoked twice).
    pub fn revoke(&mut self, revocation: &Revocation) {
        self.revoked
            .entry(revocation.device_id)
            .and_modify(|from| *from = (*from).min(revocation.from_seq))
            .or_insert(revocation.from_seq);
    }

    /// Whether an identity key of `juror` is trusted here.
    pub fn knows(&self, juror: &str) -> bool {
        self.identities
            .get(juror)
            .is_some_and(|keys| !keys.is_empty())
    }

    /// A registration already verified (read back from the receiver's own records).
    pub fn known(&mut self, registration: SignedRegistration) {
        self.devices
            .insert(registration.registration.device_id, registration);
    }

    /// Admits a registration that arrived from elsewhere when one of its juror's identity keys
    /// signed it for this competition. Returns whether it is new here. A device already bound
    /// to another juror or another key stays bound as it was: the second registration is
    /// refused (a device has one key and one juror for ever).
    pub fn admit(&mut self, signed: &SignedRegistration) -> Result<bool, Refusal> {
        let result = self.check_registration(signed);
        let device = signed.registration.device_id;
        match &result {
            Err(refusal) if !self.devices.contains_key(&device) => {
                self.refused.insert(device, refusal.clone());
            }
            Ok(true) => {
                self.refused.remove(&device);
                self.devices.insert(device, signed.clone());
            }
            _ => {}
        }
        result
    }

    fn check_registration(&self, signed: &SignedRegistration) -> Result<bool, Refusal> {
        let r = &signed.registration;
        if let Some(held) = self.devices.get(&r.device_id) {
            let (a, b) = (&held.registration, r);
            return if a.juror == b.juror && a.device_key == b.device_key {
                Ok(false)
            } else {
                Err(Refusal::new(
                    RefusalCode::ForeignDevice,
                    format!(
                        "device {} is already registered to \"{}\" with another key",
                        r.device_id, a.juror
                    ),
                ))
            };
        }
        let keys = self
            .identities
            .get(&r.juror)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        if keys.is_empty() {
            return Err(Refusal::new(
                RefusalCode::ForeignDevice,
                format!(
                    "no identity key of \"{}\" is known here to check the registration of device {}",
                    r.juror, r.device_id
                ),
            ));
        }
        let mut last = SignatureError::BadSignature;
        for key in keys {
            match signed.verify(key, &self.competition, &r.juror) {
                Ok(_) => return Ok(true),
                Err(e) => last = e,
            }
        }
        Err(match last {
            SignatureError::BadSignature => Refusal::new(
                RefusalCode::BadSignature,
                format!(
                    "the registration of device {} is not signed by an identity key of \"{}\"",
                    r.device_id, r.juror
                ),
            ),
            other => Refusal::new(
                RefusalCode::ForeignDevice,
                format!("the registration of device {}: {other}", r.device_id),
            ),
        })
    }

    /// The verified registration of a device.
    pub fn registration(&self, device: &Uuid) -> Option<&SignedRegistration> {
        self.devices.get(device)
    }

    /// Whether a change is signed by a device registered to its author: `Unsigned`,
    /// `ForeignDevice` or `BadSignature` when it is not.
    pub fn check(&self, entry: &ChangeEntry) -> Result<(), Refusal> {
        let Some(signature) = &entry.signature else {
            return Err(Refusal::new(
                RefusalCode::Unsigned,
                format!(
                    "change {} carries no signature of its device",
                    entry.change_id
                ),
            ));
        };
        let Some(signed) = self.devices.get(&entry.device_id) else {
            return Err(self
                .refused
                .get(&entry.device_id)
                .cloned()
                .unwrap_or_else(|| {
                    Refusal::new(
                        RefusalCode::ForeignDevice,
                        format!(
                            "no registration binds device {} to \"{}\"",
                            entry.device_id, entry.author
                        ),
                    )
                }));
        };
        let r = &signed.registration;
        if r.juror != entry.author {
            return Err(Refusal::new(
                RefusalCode::ForeignDevice,
                format!(
                    "device {} is registered to \"{}\", not to \"{}\"",
                    entry.device_id, r.juror, entry.author
                ),
            ));
        }
        verify_change(entry, &r.device_key, signature).map_err(|_| {
            Refusal::new(
                RefusalCode::BadSignature,
                format!(
                    "the signature of change {} is not its device's ({})",
                    entry.change_id, entry.device_id
                ),
            )
        })?;
        match self.revoked.get(&entry.device_id) {
            Some(from) if entry.seq >= *from => Err(Refusal::new(
                RefusalCode::RevokedDevice,
                format!(
                    "device {} was revoked from its change {from} on (a lost or stolen laptop); \
                     this is its change {}",
                    entry.device_id, entry.seq
                ),
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::chain::GENESIS_HASH;

    const TOKEN: &str = "tjk_3q2-7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    fn change(value: &str) -> ChangeEntry {
        crate::chain::tests::entry(1, value).seal(GENESIS_HASH)
    }

    fn registration(device: &DeviceKey) -> Registration {
        Registration::new(
            "skk-jatim-2023",
            "akademisi",
            Uuid::from_u128(7),
            device.public(),
            Utc.with_ymd_and_hms(2023, 11, 28, 8, 0, 0).unwrap(),
        )
    }

    /// A hub session proof holds for its juror, competition and nonce only.
    #[test]
    fn a_hub_session_proof_is_bound_to_its_juror_competition_and_nonce() {
        let identity = JurorIdentity::derive(TOKEN, "skk-jatim-2023", "akademisi");
        let proof = identity.sign_hub_session("skk-jatim-2023", "akademisi", "n-1");
        let public = identity.public();
        assert!(
            public
                .verify(
                    &hub_session_bytes("skk-jatim-2023", "akademisi", "n-1"),
                    &proof
                )
                .is_ok()
        );
        for (competition, juror, nonce) in [
            ("skk-jatim-2023", "akademisi", "n-2"),
            ("skk-jatim-2023", "bappeda", "n-1"),
            ("skk-jatim-2024", "akademisi", "n-1"),
        ] {
            assert_eq!(
                public.verify(&hub_session_bytes(competition, juror, nonce), &proof),
                Err(SignatureError::BadSignature)
            );
        }
    }

    /// RFC 8032, section 7.1, test 1: the device key is standard Ed25519.
    #[test]
    fn device_keys_and_signatures_are_standard_ed25519() {
        let seed: [u8; 32] = crate::hex::decode_array(
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        )
        .unwrap();
        let key = DeviceKey::from_seed(seed);
        assert_eq!(
            key.public().to_string(),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        let signature = Signature::parse_hex(
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        )
        .unwrap();
        assert_eq!(key.public().verify(b"", &signature), Ok(()));
        assert_eq!(
            key.public().verify(b"x", &signature),
            Err(SignatureError::BadSignature)
        );
    }

    #[test]
    fn an_identity_key_is_the_same_from_the_same_token_and_another_for_anyone_else() {
        let key = JurorIdentity::derive(TOKEN, "skk-jatim-2023", "akademisi").public();
        assert_eq!(
            key,
            JurorIdentity::derive(TOKEN, "skk-jatim-2023", "akademisi").public()
        );
        for other in [
            JurorIdentity::derive(TOKEN, "skk-jatim-2023", "dinkes"),
            JurorIdentity::derive(TOKEN, "skk-jatim-2024", "akademisi"),
            JurorIdentity::derive(&format!("{TOKEN}x"), "skk-jatim-2023", "akademisi"),
            // The separator keeps "a" + "bc" apart from "ab" + "c".
            JurorIdentity::derive(TOKEN, "skk-jatim-2023a", "kademisi"),
        ] {
            assert_ne!(other.public(), key);
        }
    }

    #[test]
    fn a_registration_binds_a_device_to_its_juror_and_nothing_else() {
        let identity = JurorIdentity::derive(TOKEN, "skk-jatim-2023", "akademisi");
        let device = DeviceKey::from_seed([5; 32]);
        let signed = identity.register(registration(&device));
        let public = identity.public();
        assert_eq!(
            signed.verify(&public, "skk-jatim-2023", "akademisi"),
            Ok(&device.public())
        );
        // It travels as JSON and still verifies.
        let json = serde_json::to_string(&signed).unwrap();
        let back: SignedRegistration = serde_json::from_str(&json).unwrap();
        assert_eq!(
            back.verify(&public, "skk-jatim-2023", "akademisi"),
            Ok(&device.public())
        );

        // Signed by another juror's identity (a hub, a server, anyone without the token).
        let forged = JurorIdentity::derive(TOKEN, "skk-jatim-2023", "dinkes")
            .register(registration(&device));
        assert_eq!(
            forged.verify(&public, "skk-jatim-2023", "akademisi"),
            Err(SignatureError::BadSignature)
        );
        // Claimed for another juror or competition.
        assert!(matches!(
            signed.verify(&public, "skk-jatim-2023", "dinkes"),
            Err(SignatureError::ForeignDevice { .. })
        ));
        // Another device key swapped in.
        let mut swapped = signed.clone();
        swapped.registration.device_key = DeviceKey::from_seed([6; 32]).public();
        assert_eq!(
            swapped.verify(&public, "skk-jatim-2023", "akademisi"),
            Err(SignatureError::BadSignature)
        );
        let mut later = signed.clone();
        later.registration.issued_at += chrono::Duration::milliseconds(1);
        assert_eq!(
            later.verify(&public, "skk-jatim-2023", "akademisi"),
            Err(SignatureError::BadSignature)
        );
        let mut format = signed;
        format.registration.format = "tinjau-device/2".into();
        assert!(matches!(
            format.verify(&public, "skk-jatim-2023", "akademisi"),
            Err(SignatureError::UnknownFormat(_))
        ));
    }

    #[test]
    fn a_change_is_signed_over_the_bytes_its_hash_covers() {
        let device = DeviceKey::from_seed([5; 32]);
        let entry = change("80.5");
        let signature = device.sign_change(&entry);
        assert_eq!(verify_change(&entry, &device.public(), &signature), Ok(()));
        assert_eq!(
            entry.hash,
            blake3::hash(&entry.canonical_bytes()).to_hex().to_string()
        );

        let edited = change("85.5");
        assert_eq!(
            verify_change(&edited, &device.public(), &signature),
            Err(SignatureError::BadSignature)
        );
        let other = DeviceKey::from_seed([6; 32]);
        assert_eq!(
            verify_change(&entry, &other.public(), &signature),
            Err(SignatureError::BadSignature)
        );
    }

    #[test]
    fn keys_and_signatures_from_outside_are_parsed_or_refused() {
        assert!(PublicKey::parse_hex("zz").is_err());
        assert!(PublicKey::parse_hex(&"0".repeat(63)).is_err());
        assert!(
            PublicKey::parse_hex("ééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé")
                .is_err()
        );
        assert!(serde_json::from_str::<PublicKey>("\"00\"").is_err());
        assert!(Signature::parse_hex(&"a".repeat(127)).is_none());
        assert!(serde_json::from_str::<Signature>(&format!("\"{}\"", "b".repeat(128))).is_ok());
        let unknown = r#"{"registration":{"format":"tinjau-device/1","competition":"c","juror":"j","device_id":"00000000-0000-0000-0000-000000000007","device_key":"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a","issued_at":"2023-11-28T08:00:00Z","extra":1},"signature":""}"#;
        assert!(serde_json::from_str::<SignedRegistration>(unknown).is_err());
    }
}
