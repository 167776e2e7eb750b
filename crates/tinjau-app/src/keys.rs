//! Where a data folder's key comes from (see `docs/security.md`): `TINJAU_PASSPHRASE` when it is
//! set (scripts, tests), else the system keyring (Secret Service, Credential Manager, Keychain)
//! holding a random key, else a passphrase the person types — on a machine with no keyring, or
//! for a folder that was encrypted with one.

use std::path::Path;

use tinjau_store::crypt::{KeySource, StoreKey, Unlock, key_source};
use tinjau_store::{RandomSource, StoreError};
use zeroize::Zeroizing;

/// The environment variable a passphrase may come from.
pub const PASSPHRASE_ENV: &str = "TINJAU_PASSPHRASE";

/// The keyring entries' service name.
const SERVICE: &str = "id.tinjau.store";

/// A place that keeps secrets for this user.
pub trait Keyring {
    /// The key kept for `account`, if any; `Err` when there is no keyring to ask.
    fn get(&self, account: &str) -> Result<Option<[u8; 32]>, String>;
    fn set(&self, account: &str, key: &[u8; 32]) -> Result<(), String>;
}

/// The environment variable that turns the system keyring off (`off`): the data folder is then
/// opened with a passphrase even where a keyring exists.
pub const KEYRING_ENV: &str = "TINJAU_KEYRING";

/// The keyring to use: the system's, unless `TINJAU_KEYRING=off`.
pub fn system_keyring(setting: Option<&str>) -> Box<dyn Keyring> {
    match setting {
        Some("off") => Box::new(NoKeyring),
        _ => Box::new(SystemKeyring),
    }
}

/// No keyring at all: every folder needs a passphrase.
pub struct NoKeyring;

impl Keyring for NoKeyring {
    fn get(&self, _: &str) -> Result<Option<[u8; 32]>, String> {
        Err("the keyring is turned off (TINJAU_KEYRING=off)".into())
    }

    fn set(&self, _: &str, _: &[u8; 32]) -> Result<(), String> {
        Err("the keyring is turned off (TINJAU_KEYRING=off)".into())
    }
}

/// The operating system's keyring.
pub struct SystemKeyring;

impl Keyring for SystemKeyring {
    fn get(&self, account: &str) -> Result<Option<[u8; 32]>, String> {
        let entry = keyring::Entry::new(SERVICE, account).map_err(|e| e.to_string())?;
        match entry.get_secret() {
            Ok(secret) => {
                let secret = Zeroizing::new(secret);
                <[u8; 32]>::try_from(secret.as_slice())
                    .map(Some)
                    .map_err(|_| "the keyring's entry is not a key".to_string())
            }
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    fn set(&self, account: &str, key: &[u8; 32]) -> Result<(), String> {
        keyring::Entry::new(SERVICE, account)
            .and_then(|entry| entry.set_secret(key))
            .map_err(|e| e.to_string())
    }
}

/// How a data folder can be opened.
#[derive(Debug)]
pub enum KeyChoice {
    Ready(Unlock),
    /// Only with a passphrase from the person: `new_store` when it is being chosen now (a new or
    /// plain folder on a machine without a keyring).
    NeedPassphrase {
        new_store: bool,
    },
}

impl KeyChoice {
    /// Open with this passphrase (scripts and tests).
    pub fn passphrase(passphrase: &str) -> KeyChoice {
        KeyChoice::Ready(Unlock::Passphrase(Zeroizing::new(passphrase.to_string())))
    }
}

/// The keyring account of a data folder: its full path.
fn account(data_dir: &Path) -> String {
    std::fs::canonicalize(data_dir)
        .unwrap_or_else(|_| data_dir.to_path_buf())
        .to_string_lossy()
        .into_owned()
}

/// How to open `data_dir`: with `passphrase` when given, else by the keyring (a new key is made
/// and kept there for a folder that has none yet), else by asking the person.
pub fn choose_unlock(
    data_dir: &Path,
    passphrase: Option<String>,
    keyring: &dyn Keyring,
    random: &mut dyn RandomSource,
) -> Result<KeyChoice, StoreError> {
    if let Some(passphrase) = passphrase.filter(|p| !p.is_empty()) {
        return Ok(KeyChoice::Ready(Unlock::Passphrase(Zeroizing::new(
            passphrase,
        ))));
    }
    let account = account(data_dir);
    match key_source(data_dir)? {
        Some(KeySource::Passphrase) => Ok(KeyChoice::NeedPassphrase { new_store: false }),
        Some(KeySource::Keyring) => match keyring.get(&account) {
            Ok(Some(key)) => Ok(KeyChoice::Ready(Unlock::Keyring(StoreKey::from_bytes(key)))),
            Ok(None) => Err(StoreError::KeyMissing {
                reason: "no entry for this folder".into(),
            }),
            Err(reason) => Err(StoreError::KeyMissing { reason }),
        },
        None => match keyring.get(&account) {
            // A key kept by an earlier start that stopped before writing the key file.
            Ok(Some(key)) => Ok(KeyChoice::Ready(Unlock::Keyring(StoreKey::from_bytes(key)))),
            Ok(None) => {
                let mut key = Zeroizing::new([0u8; 32]);
                for chunk in key.chunks_mut(10) {
                    chunk.copy_from_slice(&random.random_bytes()[..chunk.len()]);
                }
                // Kept, and read back, before anything is encrypted with it.
                let kept = keyring
                    .set(&account, &key)
                    .and_then(|()| keyring.get(&account));
                match kept {
                    Ok(Some(back)) if back == *key => Ok(KeyChoice::Ready(Unlock::Keyring(
                        StoreKey::from_bytes(*key),
                    ))),
                    _ => Ok(KeyChoice::NeedPassphrase { new_store: true }),
                }
            }
            Err(reason) => {
                tracing::info!(%reason, "no system keyring: the data folder needs a passphrase");
                Ok(KeyChoice::NeedPassphrase { new_store: true })
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::HashMap;

    use tinjau_store::{OsRandom, Store, StoreOptions};

    use super::*;

    #[derive(Default)]
    struct MemoryKeyring(RefCell<HashMap<String, [u8; 32]>>, bool);

    impl Keyring for MemoryKeyring {
        fn get(&self, account: &str) -> Result<Option<[u8; 32]>, String> {
            if self.1 {
                return Err("no keyring".into());
            }
            Ok(self.0.borrow().get(account).copied())
        }

        fn set(&self, account: &str, key: &[u8; 32]) -> Result<(), String> {
            if self.1 {
                return Err("no keyring".into());
            }
            self.0.borrow_mut().insert(account.into(), *key);
            Ok(())
        }
    }

    fn open(dir: &Path, choice: KeyChoice) -> Result<Store, StoreError> {
        let KeyChoice::Ready(unlock) = choice else {
            panic!("expected a key, got {choice:?}");
        };
        Store::open(
            dir,
            StoreOptions {
                unlock: Some(unlock),
                ..StoreOptions::default()
            },
        )
    }

    #[test]
    fn a_new_folder_gets_a_keyring_key_that_opens_it_again() {
        let dir = tempfile::tempdir().unwrap();
        let keyring = MemoryKeyring::default();
        let choice = choose_unlock(dir.path(), None, &keyring, &mut OsRandom).unwrap();
        drop(open(dir.path(), choice).unwrap());
        assert_eq!(key_source(dir.path()).unwrap(), Some(KeySource::Keyring));
        let again = choose_unlock(dir.path(), None, &keyring, &mut OsRandom).unwrap();
        assert!(open(dir.path(), again).unwrap().encrypted());
        // The keyring lost its entry: the folder stays shut, in words.
        let empty = MemoryKeyring::default();
        assert!(matches!(
            choose_unlock(dir.path(), None, &empty, &mut OsRandom),
            Err(StoreError::KeyMissing { .. })
        ));
    }

    /// The key went missing from the keyring: the session says why (not a closed window and
    /// a log line) and opens once the keyring gives the key again; nothing is touched meanwhile.
    #[test]
    fn a_folder_whose_key_is_missing_says_so_and_opens_when_it_is_back() {
        let dir = tempfile::tempdir().unwrap();
        let keyring = MemoryKeyring::default();
        let choice = choose_unlock(dir.path(), None, &keyring, &mut OsRandom).unwrap();
        let mut store = open(dir.path(), choice).unwrap();
        store
            .import_package(crate::DEMO_PACKAGE.as_bytes())
            .unwrap();
        drop(store);
        let before = std::fs::read(dir.path().join(tinjau_store::crypt::KEY_FILE)).unwrap();

        let empty = MemoryKeyring::default();
        let error = choose_unlock(dir.path(), None, &empty, &mut OsRandom)
            .map(drop)
            .map_err(|e| crate::ErrorPayload::from_store(&e, None))
            .unwrap_err();
        let session = crate::Session::failed(dir.path(), error);
        let shown = session.overview().unwrap();
        assert!(shown.locked);
        let failure = shown.open_error.expect("the failure is shown");
        assert_eq!(failure.code, "key_missing");
        assert_eq!(failure.params["reason"], "no entry for this folder");
        assert!(
            session.with(|s| s.visits()).is_err(),
            "nothing opens meanwhile"
        );

        // Still missing: still said, nothing changed.
        let again = session
            .retry(choose_unlock(dir.path(), None, &empty, &mut OsRandom))
            .unwrap();
        assert_eq!(
            again.open_error.map(|e| e.code).as_deref(),
            Some("key_missing")
        );
        assert_eq!(
            std::fs::read(dir.path().join(tinjau_store::crypt::KEY_FILE)).unwrap(),
            before
        );

        // The keyring is unlocked again.
        let opened = session
            .retry(choose_unlock(dir.path(), None, &keyring, &mut OsRandom))
            .unwrap();
        assert!(!opened.locked);
        assert_eq!(opened.open_error, None);
        assert!(opened.competition.is_some());
    }

    #[test]
    fn without_a_keyring_the_person_chooses_a_passphrase_and_needs_it_again() {
        let dir = tempfile::tempdir().unwrap();
        let none = MemoryKeyring(RefCell::default(), true);
        assert!(matches!(
            choose_unlock(dir.path(), None, &none, &mut OsRandom).unwrap(),
            KeyChoice::NeedPassphrase { new_store: true }
        ));
        let chosen = choose_unlock(
            dir.path(),
            Some("kunci rahasia".into()),
            &none,
            &mut OsRandom,
        );
        drop(open(dir.path(), chosen.unwrap()).unwrap());
        assert!(matches!(
            choose_unlock(dir.path(), None, &none, &mut OsRandom).unwrap(),
            KeyChoice::NeedPassphrase { new_store: false }
        ));
        let wrong = choose_unlock(dir.path(), Some("kunci salah".into()), &none, &mut OsRandom);
        assert!(matches!(
            open(dir.path(), wrong.unwrap()),
            Err(StoreError::WrongKey)
        ));
    }
}
