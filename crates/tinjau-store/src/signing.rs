//! The store's side of signed changes (`docs/signing.md`): this device's registration, made
//! from its juror's token, and the registry received changes are checked against — the
//! identity keys, device registrations and revocations this laptop holds, plus what arrived
//! with them.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use tinjau_core::signing::{
    JurorIdentity, JurorKey, Registration, Registry, Revocation, SignedRegistration,
};

use crate::{Result, Store, StoreError, meta_get, meta_set};

/// Where a laptop keeps the lowest `signed_from` a server ever gave it.
const SIGNED_FROM: &str = "signed_from";

impl Store {
    /// This device's registration, signed with the identity key `token` derives for this
    /// store's juror: made once per device (a folder continuing as a new device makes a new
    /// one), kept, and sent with every push. The juror's identity key is trusted from then on.
    ///
    /// A registration made earlier from another token (a typo in the slip's token, typed
    /// offline) is replaced: the one kept is always the one this token signs.
    pub fn register_device(&mut self, token: &str) -> Result<SignedRegistration> {
        let competition = self.package()?.competition.id.clone();
        let juror = self.juror_id()?;
        let identity = JurorIdentity::derive(token, &competition, &juror);
        let device_key = self.device_key()?.public();
        let held = self.own_registration()?;
        if let Some(held) = &held
            && held.verify(&identity.public(), &competition, &juror) == Ok(&device_key)
        {
            return Ok(held.clone());
        }
        let signed = identity.register(Registration::new(
            &competition,
            &juror,
            self.device_id,
            device_key,
            self.now(),
        ));
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        trust(&tx, &juror, &identity.public().to_string())?;
        if held.is_some() {
            tx.execute(
                "DELETE FROM device_registration WHERE device_id = ?1",
                [self.device_id.to_string()],
            )?;
        }
        keep(&tx, &signed)?;
        tx.commit()?;
        tracing::info!(device = %self.device_id, "registered this device to its juror");
        Ok(signed)
    }

    /// This device's registration, once made.
    pub fn own_registration(&self) -> Result<Option<SignedRegistration>> {
        registration_of(&self.conn, &self.device_id.to_string())
    }
}

/// A device's registration as this laptop holds it.
pub(crate) fn registration_of(
    conn: &Connection,
    device: &str,
) -> Result<Option<SignedRegistration>> {
    conn.query_row(
        "SELECT registration FROM device_registration WHERE device_id = ?1",
        [device],
        |r| r.get::<_, String>(0),
    )
    .optional()?
    .map(|text| {
        serde_json::from_str(&text)
            .map_err(|e| StoreError::Corrupt(format!("device registration {device}: {e}")))
    })
    .transpose()
}

fn trust(conn: &Connection, juror: &str, key: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO juror_identity (juror, public_key) VALUES (?1, ?2)
         ON CONFLICT (juror, public_key) DO NOTHING",
        params![juror, key],
    )?;
    Ok(())
}

fn keep(conn: &Connection, signed: &SignedRegistration) -> Result<()> {
    let r = &signed.registration;
    conn.execute(
        "INSERT INTO device_registration (device_id, juror, registration) VALUES (?1, ?2, ?3)
         ON CONFLICT (device_id) DO NOTHING",
        params![
            r.device_id.to_string(),
            r.juror,
            serde_json::to_string(signed).expect("a registration serialises")
        ],
    )?;
    Ok(())
}

/// How far the identity keys arriving with changes are believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdentityTrust {
    /// The central server's (or a sheet's checked against them): kept from now on.
    Keep,
    /// A visit's hub's: believed only for jurors this laptop holds no key for, for these
    /// changes only, and nothing verified by them is kept. The lead's laptop cannot replace a
    /// juror's key this laptop learnt from the central server (`docs/hub.md`).
    UnknownJurorsOnly,
}

/// The registry for changes arriving with `registrations` and `identities` (a pulled page):
/// the identity keys this laptop trusts and those the server published (kept from now on),
/// every registration it holds, and the arriving registrations that verify (kept too).
pub(crate) fn registry_for(
    conn: &Connection,
    competition: &str,
    identities: &[JurorKey],
    registrations: &[SignedRegistration],
    revocations: &[Revocation],
    arriving: IdentityTrust,
) -> Result<Registry> {
    let held_jurors: std::collections::HashSet<String> = conn
        .prepare("SELECT DISTINCT juror FROM juror_identity")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if arriving == IdentityTrust::Keep {
        for key in identities {
            trust(conn, &key.juror, &key.public_key.to_string())?;
        }
    }
    for revocation in revocations {
        conn.execute(
            "INSERT INTO device_revocation (device_id, from_seq) VALUES (?1, ?2)
             ON CONFLICT (device_id) DO UPDATE SET from_seq = MIN(from_seq, excluded.from_seq)",
            params![
                revocation.device_id.to_string(),
                revocation.from_seq.min(i64::MAX as u64) as i64
            ],
        )?;
    }
    let mut registry = Registry::new(competition);
    for key in held_identities(conn)? {
        registry.trust(&key.juror, key.public_key);
    }
    for registration in held_registrations(conn)? {
        registry.known(registration);
    }
    if arriving == IdentityTrust::UnknownJurorsOnly {
        for key in identities {
            if !held_jurors.contains(&key.juror) {
                registry.trust(&key.juror, key.public_key);
            }
        }
    }
    for signed in registrations {
        if let Ok(true) = registry.admit(signed)
            && (arriving == IdentityTrust::Keep || held_jurors.contains(&signed.registration.juror))
        {
            keep(conn, signed)?;
        }
    }
    for revocation in held_revocations(conn)? {
        registry.revoke(&revocation);
    }
    Ok(registry)
}

/// The first log position a server must have signed: the lowest it ever said (a server cannot
/// widen what it said before). A server from before signing says 0 and is not remembered: all
/// it sends must be signed.
pub(crate) fn signed_from(conn: &Connection, said: u64) -> Result<u64> {
    let held = meta_get(conn, SIGNED_FROM)?.and_then(|text| text.parse::<u64>().ok());
    if said == 0 {
        return Ok(held.unwrap_or(0));
    }
    let lowest = held.map_or(said, |held| held.min(said));
    if held != Some(lowest) {
        meta_set(conn, SIGNED_FROM, &lowest.to_string())?;
    }
    Ok(lowest)
}

impl Store {
    /// What a visit's hub on this laptop starts from (`docs/hub.md`): the package, every
    /// identity key this laptop holds, every device registration and revocation.
    pub fn hub_seed(&self) -> Result<tinjau_core::hub::HubSeed> {
        let (identities, registrations, revocations) = (
            held_identities(&self.conn)?,
            held_registrations(&self.conn)?,
            held_revocations(&self.conn)?,
        );
        Ok(tinjau_core::hub::HubSeed {
            package: self.package()?.clone(),
            identities,
            registrations,
            revocations,
        })
    }
}

/// Every identity key this laptop trusts, by juror.
fn held_identities(conn: &Connection) -> Result<Vec<JurorKey>> {
    let rows: Vec<(String, String)> = conn
        .prepare("SELECT juror, public_key FROM juror_identity ORDER BY juror, public_key")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    rows.into_iter()
        .map(|(juror, key)| {
            let public_key = tinjau_core::signing::PublicKey::parse_hex(&key)
                .map_err(|e| StoreError::Corrupt(format!("identity key of {juror}: {e}")))?;
            Ok(JurorKey { juror, public_key })
        })
        .collect()
}

/// Every device registration this laptop keeps.
fn held_registrations(conn: &Connection) -> Result<Vec<SignedRegistration>> {
    let rows: Vec<String> = conn
        .prepare("SELECT registration FROM device_registration ORDER BY device_id")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    rows.iter()
        .map(|text| {
            serde_json::from_str(text)
                .map_err(|e| StoreError::Corrupt(format!("device registration: {e}")))
        })
        .collect()
}

/// Every device revocation this laptop was told.
fn held_revocations(conn: &Connection) -> Result<Vec<Revocation>> {
    let rows: Vec<(String, i64)> = conn
        .prepare("SELECT device_id, from_seq FROM device_revocation ORDER BY device_id")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    rows.into_iter()
        .map(|(device, from_seq)| {
            Ok(Revocation {
                device_id: uuid::Uuid::parse_str(&device)
                    .map_err(|e| StoreError::Corrupt(format!("revoked device {device}: {e}")))?,
                from_seq: from_seq.max(1) as u64,
            })
        })
        .collect()
}
