//! Encryption at rest, under one 256-bit key per data folder.
//!
//! - The database is SQLCipher (AES-256, each page authenticated), keyed with the raw key; its
//!   WAL is encrypted the same way.
//! - Each evidence file is `TJE1`, a 16-byte random nonce prefix, then segments of at most
//!   [`SEGMENT`] bytes, each sealed with XChaCha20-Poly1305 under the nonce prefix followed by
//!   the segment's index, with "is this the last segment" as associated data: a segment cannot
//!   be moved, swapped between files unnoticed (the content hash is checked too), or dropped
//!   from the end. A 1 MiB upload chunk reads exactly the segments it needs.
//! - `key.json` beside the database says where the key comes from (a passphrase, with its
//!   Argon2id salt, or the system keyring) and holds a check value, so a wrong passphrase is
//!   told as such before anything is touched. It holds nothing secret.
//!
//! A plain (older) data folder is encrypted in place when it is first opened with a key:
//! evidence files one by one, then the database, each written beside the original and renamed
//! over it, so a crash at any point leaves every file whole, either plain or encrypted, and the
//! next open finishes the job.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use tinjau_core::hex::{decode as unhex, encode as hex};
use zeroize::Zeroizing;

use crate::{RandomSource, Result, StoreError};

/// The key file's name inside the data directory.
pub const KEY_FILE: &str = "key.json";
const KEY_FORMAT: &str = "tinjau-key/1";
/// Plain bytes per sealed segment of an evidence file.
pub const SEGMENT: usize = 1024 * 1024;
const MAGIC: &[u8; 4] = b"TJE1";
const HEADER: usize = 4 + 16;
const TAG: usize = 16;
const CHECK_PLAINTEXT: &[u8] = b"tinjau store key check";

/// A data folder's key. Cheap to clone; the bytes are wiped when the last clone goes.
#[derive(Clone)]
pub struct StoreKey(Arc<Zeroizing<[u8; 32]>>);

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreKey(..)")
    }
}

impl StoreKey {
    pub fn from_bytes(bytes: [u8; 32]) -> StoreKey {
        StoreKey(Arc::new(Zeroizing::new(bytes)))
    }

    /// Argon2id (19 MiB, 2 passes: the OWASP baseline) of a passphrase and a salt.
    pub fn from_passphrase(passphrase: &str, salt: &[u8]) -> Result<StoreKey> {
        let params = argon2::Params::new(19 * 1024, 2, 1, Some(32))
            .map_err(|e| StoreError::Corrupt(format!("key derivation parameters: {e}")))?;
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut key = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(passphrase.as_bytes(), salt, key.as_mut())
            .map_err(|e| StoreError::Corrupt(format!("deriving the key: {e}")))?;
        Ok(StoreKey(Arc::new(key)))
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new((&**self.0).into())
    }

    /// The SQLCipher statement that keys a connection with the raw key.
    fn pragma(&self) -> Zeroizing<String> {
        let mut hex = Zeroizing::new(String::with_capacity(64));
        for byte in self.0.iter() {
            hex.push_str(&format!("{byte:02x}"));
        }
        Zeroizing::new(format!("PRAGMA key = \"x'{}'\";", hex.as_str()))
    }
}

/// What opens an encrypted data folder.
pub enum Unlock {
    /// A passphrase a person typed (or `TINJAU_PASSPHRASE`): the key is derived from it.
    Passphrase(Zeroizing<String>),
    /// A random key kept in the system keyring.
    Keyring(StoreKey),
    /// The key a store of this folder was opened with already (a second connection).
    Opened(StoreKey),
}

impl std::fmt::Debug for Unlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Unlock::Passphrase(_) => "Unlock::Passphrase(..)",
            Unlock::Keyring(_) => "Unlock::Keyring(..)",
            Unlock::Opened(_) => "Unlock::Opened(..)",
        })
    }
}

/// Where a data folder's key comes from, as `key.json` records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeySource {
    Passphrase,
    Keyring,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    format: String,
    source: KeySource,
    /// Argon2id salt (hex), for a passphrase.
    salt: Option<String>,
    /// The check value sealed under the key: nonce ‖ ciphertext, hex.
    check: String,
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> StoreError {
    let context = context.into();
    move |source| StoreError::Io { context, source }
}

/// Where this data folder's key comes from, when it has one.
pub fn key_source(data_dir: &Path) -> Result<Option<KeySource>> {
    Ok(read_key_file(data_dir)?.map(|file| file.source))
}

fn read_key_file(data_dir: &Path) -> Result<Option<KeyFile>> {
    let path = data_dir.join(KEY_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(format!("reading {}", path.display()))(e)),
    };
    let file: KeyFile = serde_json::from_slice(&bytes)
        .map_err(|e| StoreError::Corrupt(format!("{}: {e}", path.display())))?;
    if file.format != KEY_FORMAT {
        return Err(StoreError::Corrupt(format!(
            "{} is format \"{}\"",
            path.display(),
            file.format
        )));
    }
    Ok(Some(file))
}

/// The key `unlock` gives this data folder, checked against its key file; a folder without one
/// gets one now (a new salt for a passphrase).
pub(crate) fn resolve(
    data_dir: &Path,
    unlock: &Unlock,
    random: &mut dyn RandomSource,
) -> Result<StoreKey> {
    let existing = read_key_file(data_dir)?;
    let (key, source, salt) = match (unlock, &existing) {
        (Unlock::Keyring(key), _) => (key.clone(), KeySource::Keyring, None),
        (Unlock::Opened(key), Some(file)) => (
            key.clone(),
            file.source,
            file.salt.as_deref().and_then(unhex),
        ),
        (Unlock::Opened(_), None) => return Err(StoreError::WrongKey),
        (Unlock::Passphrase(passphrase), Some(file)) => {
            let salt = file
                .salt
                .as_deref()
                .and_then(unhex)
                .ok_or(StoreError::WrongKey)?;
            (
                StoreKey::from_passphrase(passphrase, &salt)?,
                KeySource::Passphrase,
                Some(salt),
            )
        }
        (Unlock::Passphrase(passphrase), None) => {
            let mut salt = vec![0u8; 16];
            fill(random, &mut salt);
            (
                StoreKey::from_passphrase(passphrase, &salt)?,
                KeySource::Passphrase,
                Some(salt),
            )
        }
    };
    match existing {
        Some(file) => {
            let sealed = unhex(&file.check).ok_or(StoreError::WrongKey)?;
            if sealed.len() < 24 {
                return Err(StoreError::WrongKey);
            }
            let opened = key
                .cipher()
                .decrypt(XNonce::from_slice(&sealed[..24]), &sealed[24..])
                .map_err(|_| StoreError::WrongKey)?;
            if opened != CHECK_PLAINTEXT {
                return Err(StoreError::WrongKey);
            }
        }
        None => {
            let mut nonce = [0u8; 24];
            fill(random, &mut nonce);
            let mut sealed = nonce.to_vec();
            sealed.extend(
                key.cipher()
                    .encrypt(XNonce::from_slice(&nonce), CHECK_PLAINTEXT)
                    .map_err(|_| StoreError::Corrupt("sealing the key check".into()))?,
            );
            let file = KeyFile {
                format: KEY_FORMAT.into(),
                source,
                salt: salt.as_deref().map(hex),
                check: hex(&sealed),
            };
            let text = serde_json::to_vec_pretty(&file).expect("a key file serialises");
            write_atomically(&data_dir.join(KEY_FILE), &text)?;
        }
    }
    Ok(key)
}

/// Fills `out` from a source of ten random bytes at a time.
pub(crate) fn fill(random: &mut dyn RandomSource, out: &mut [u8]) {
    for chunk in out.chunks_mut(10) {
        let bytes = random.random_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
}

/// Writes a small file beside its place, fsyncs it and renames it over.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let temp = path.with_extension("writing");
    let mut file = File::create(&temp).map_err(io(format!("writing {}", temp.display())))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(io(format!("writing {}", temp.display())))?;
    drop(file);
    std::fs::rename(&temp, path).map_err(io(format!("writing {}", path.display())))?;
    sync_folder(path);
    Ok(())
}

/// Makes a rename in `path`'s folder durable (where the platform allows it).
pub(crate) fn sync_folder(path: &Path) {
    #[cfg(unix)]
    if let Some(folder) = path.parent()
        && let Ok(dir) = File::open(folder)
    {
        let _ = dir.sync_all();
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// A connection to a data folder's database opened with `unlock` (a plain folder opens as
/// it is): for tools and tests that read the database itself.
pub fn open_database(data_dir: &Path, unlock: &Unlock) -> Result<rusqlite::Connection> {
    let database = data_dir.join(crate::DATABASE_FILE);
    if is_plain_database(&database) {
        return crate::open_connection(&database);
    }
    let key = resolve(data_dir, unlock, &mut crate::OsRandom)?;
    crate::open_keyed_connection(&database, Some(&key))
}

/// Keys a connection: must be its first statement.
pub(crate) fn key_connection(conn: &rusqlite::Connection, key: &StoreKey) -> Result<()> {
    conn.execute_batch(&key.pragma())?;
    Ok(())
}

/// Whether the database file is plain SQLite (an older, unencrypted store).
pub(crate) fn is_plain_database(path: &Path) -> bool {
    let mut head = [0u8; 16];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| &head == b"SQLite format 3\0")
}

/// Encrypts a plain data folder in place (see the module's notes on crashes); a folder already
/// encrypted, or new, is left as it is.
pub(crate) fn encrypt_in_place(
    data_dir: &Path,
    database: &Path,
    key: &StoreKey,
    random: &mut dyn RandomSource,
) -> Result<()> {
    // The database is encrypted last: once it is, the evidence was done before it, and every
    // later open (each sync opens its own connection) skips the folder scan.
    if database.exists() && !is_plain_database(database) {
        return Ok(());
    }
    let leftover = database.with_extension("encrypting");
    let _ = std::fs::remove_file(&leftover);
    let evidence = data_dir.join("evidence");
    if let Ok(folders) = std::fs::read_dir(&evidence) {
        for folder in folders.flatten() {
            let Ok(files) = std::fs::read_dir(folder.path()) else {
                continue;
            };
            for file in files.flatten() {
                let path = file.path();
                let name = file.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') {
                    // A temporary file a crash left behind: never a stored file.
                    let _ = std::fs::remove_file(&path);
                } else if !is_sealed(&path) {
                    encrypt_file(&path, &name, key, random)?;
                }
            }
        }
    }
    if database.exists() {
        tracing::info!(database = %database.display(), "encrypting the store");
        let conn = rusqlite::Connection::open(database)?;
        // Everything into the main file, and no WAL left beside it.
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let mut attach = Zeroizing::new(String::new());
        attach.push_str("ATTACH DATABASE ?1 AS encrypted KEY \"x'");
        for byte in key.0.iter() {
            attach.push_str(&format!("{byte:02x}"));
        }
        attach.push_str("'\"");
        conn.execute(&attach, [leftover.to_string_lossy()])?;
        conn.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))?;
        conn.execute_batch(&format!("PRAGMA encrypted.user_version = {version};"))?;
        conn.execute_batch("DETACH DATABASE encrypted;")?;
        conn.pragma_update(None, "journal_mode", "DELETE")?;
        drop(conn);
        File::open(&leftover)
            .and_then(|f| f.sync_all())
            .map_err(io("flushing the encrypted database"))?;
        for side in ["-wal", "-shm"] {
            let mut name = database.as_os_str().to_owned();
            name.push(side);
            let _ = std::fs::remove_file(PathBuf::from(name));
        }
        std::fs::rename(&leftover, database)
            .map_err(io("moving the encrypted database into place"))?;
        sync_folder(database);
    }
    Ok(())
}

/// An evidence file already in the sealed format (its first segment opens with... a key is
/// not needed to tell: the magic, and a length a sealed file can have).
fn is_sealed(path: &Path) -> bool {
    let mut head = [0u8; 4];
    let sized = std::fs::metadata(path).is_ok_and(|m| m.len() as usize >= HEADER + TAG);
    sized
        && File::open(path)
            .and_then(|mut f| f.read_exact(&mut head))
            .is_ok_and(|()| &head == MAGIC)
}

/// Replaces a plain stored file by its sealed form, once its content matches its name.
fn encrypt_file(
    path: &Path,
    name: &str,
    key: &StoreKey,
    random: &mut dyn RandomSource,
) -> Result<()> {
    let plain = std::fs::read(path).map_err(io(format!("reading {}", path.display())))?;
    if blake3::hash(&plain).to_hex().as_str() != name {
        tracing::warn!(path = %path.display(), "a stored file does not match its name; left as it is");
        return Ok(());
    }
    // Beside it, named as a temporary file (a crash leaves it to be removed, never read).
    let temp = path.with_file_name(format!(".sealing-{name}"));
    let written = File::create(&temp).and_then(|file| {
        let mut writer = SealWriter::new(file, key, random)?;
        writer.write_all(&plain)?;
        writer.finish()?.sync_all()
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(io(format!("encrypting {}", path.display()))(e));
    }
    std::fs::rename(&temp, path).map_err(io(format!("encrypting {}", path.display())))?;
    sync_folder(path);
    Ok(())
}

fn nonce(prefix: &[u8; 16], index: u64) -> XNonce {
    let mut nonce = [0u8; 24];
    nonce[..16].copy_from_slice(prefix);
    nonce[16..].copy_from_slice(&index.to_le_bytes());
    XNonce::from(nonce)
}

/// Writes a sealed evidence file as its plain bytes stream in.
pub(crate) struct SealWriter {
    out: File,
    cipher: XChaCha20Poly1305,
    prefix: [u8; 16],
    index: u64,
    pending: Vec<u8>,
}

impl SealWriter {
    pub(crate) fn new(
        mut out: File,
        key: &StoreKey,
        random: &mut dyn RandomSource,
    ) -> std::io::Result<SealWriter> {
        let mut prefix = [0u8; 16];
        fill(random, &mut prefix);
        out.write_all(MAGIC)?;
        out.write_all(&prefix)?;
        Ok(SealWriter {
            out,
            cipher: key.cipher(),
            prefix,
            index: 0,
            pending: Vec::with_capacity(SEGMENT + 1),
        })
    }

    fn seal(&mut self, plain: &[u8], last: bool) -> std::io::Result<()> {
        let sealed = self
            .cipher
            .encrypt(
                &nonce(&self.prefix, self.index),
                Payload {
                    msg: plain,
                    aad: &[u8::from(last)],
                },
            )
            .map_err(|_| std::io::Error::other("sealing an evidence segment"))?;
        self.index += 1;
        self.out.write_all(&sealed)
    }

    /// Seals what is left as the last segment; the file is returned for fsync.
    pub(crate) fn finish(mut self) -> std::io::Result<File> {
        let rest = std::mem::take(&mut self.pending);
        self.seal(&rest, true)?;
        Ok(self.out)
    }
}

impl Write for SealWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        // A full segment is sealed only once more bytes follow it: the last one is marked.
        while self.pending.len() > SEGMENT {
            let rest = self.pending.split_off(SEGMENT);
            let segment = std::mem::replace(&mut self.pending, rest);
            self.seal(&segment, false)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// A stored evidence file, read by plain offset whether it is sealed or not.
pub struct EvidenceSource {
    file: File,
    key: Option<StoreKey>,
    /// Plain size.
    size: u64,
    segments: u64,
}

impl EvidenceSource {
    /// Opens a stored file; a sealed one needs the data folder's key.
    pub fn open(path: &Path, key: Option<&StoreKey>) -> std::io::Result<EvidenceSource> {
        let file = File::open(path)?;
        let length = file.metadata()?.len();
        match key {
            Some(key) if is_sealed(path) => {
                let body = length - HEADER as u64;
                let whole = (SEGMENT + TAG) as u64;
                let segments = body.div_ceil(whole).max(1);
                let size = body - segments * TAG as u64;
                Ok(EvidenceSource {
                    file,
                    key: Some(key.clone()),
                    size,
                    segments,
                })
            }
            _ => Ok(EvidenceSource {
                file,
                key: None,
                size: length,
                segments: 0,
            }),
        }
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Reads up to `buffer.len()` plain bytes at `offset`; 0 at the end.
    pub fn read_at(&mut self, offset: u64, buffer: &mut [u8]) -> std::io::Result<usize> {
        let Some(key) = self.key.clone() else {
            self.file.seek(SeekFrom::Start(offset))?;
            let mut filled = 0;
            while filled < buffer.len() {
                match self.file.read(&mut buffer[filled..])? {
                    0 => break,
                    read => filled += read,
                }
            }
            return Ok(filled);
        };
        let mut filled = 0;
        let mut position = offset;
        while filled < buffer.len() && position < self.size {
            let index = position / SEGMENT as u64;
            let plain = self.segment(&key, index)?;
            let within = (position - index * SEGMENT as u64) as usize;
            let take = (plain.len() - within).min(buffer.len() - filled);
            buffer[filled..filled + take].copy_from_slice(&plain[within..within + take]);
            filled += take;
            position += take as u64;
        }
        Ok(filled)
    }

    fn segment(&mut self, key: &StoreKey, index: u64) -> std::io::Result<Zeroizing<Vec<u8>>> {
        let damaged =
            || std::io::Error::new(std::io::ErrorKind::InvalidData, "damaged evidence file");
        let mut prefix = [0u8; 16];
        self.file.seek(SeekFrom::Start(4))?;
        self.file.read_exact(&mut prefix)?;
        let last = index + 1 == self.segments;
        let start = HEADER as u64 + index * (SEGMENT + TAG) as u64;
        let plain_len = if last {
            self.size - index * SEGMENT as u64
        } else {
            SEGMENT as u64
        };
        let mut sealed = vec![0u8; plain_len as usize + TAG];
        self.file.seek(SeekFrom::Start(start))?;
        self.file.read_exact(&mut sealed)?;
        key.cipher()
            .decrypt(
                &nonce(&prefix, index),
                Payload {
                    msg: &sealed,
                    aad: &[u8::from(last)],
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| damaged())
    }

    /// The whole plain content.
    pub fn read_all(&mut self) -> std::io::Result<Vec<u8>> {
        let mut out = vec![0u8; self.size as usize];
        let read = self.read_at(0, &mut out)?;
        out.truncate(read);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> StoreKey {
        StoreKey::from_bytes([7; 32])
    }

    fn sealed(plain: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("file");
        let mut writer =
            SealWriter::new(File::create(&path).unwrap(), &key(), &mut crate::OsRandom).unwrap();
        // In uneven pieces, as a stream arrives.
        for piece in plain.chunks(300_001) {
            writer.write_all(piece).unwrap();
        }
        writer.finish().unwrap().sync_all().unwrap();
        (dir, path)
    }

    #[test]
    fn sealed_files_read_back_whole_and_by_range_at_every_size() {
        for size in [
            0,
            1,
            SEGMENT - 1,
            SEGMENT,
            SEGMENT + 1,
            3 * SEGMENT + 12_345,
        ] {
            let plain: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
            let (_dir, path) = sealed(&plain);
            let mut source = EvidenceSource::open(&path, Some(&key())).unwrap();
            assert_eq!(source.size(), size as u64, "size {size}");
            assert_eq!(source.read_all().unwrap(), plain, "size {size}");
            let mut chunk = vec![0u8; SEGMENT];
            let mut offset = 0;
            let mut again = Vec::new();
            loop {
                let read = source.read_at(offset, &mut chunk).unwrap();
                if read == 0 {
                    break;
                }
                again.extend_from_slice(&chunk[..read]);
                offset += read as u64;
            }
            assert_eq!(again, plain, "size {size} by chunks");
        }
    }

    #[test]
    fn a_flipped_byte_a_dropped_segment_or_the_wrong_key_is_refused() {
        let plain = vec![5u8; 2 * SEGMENT + 10];
        let (_dir, path) = sealed(&plain);
        let bytes = std::fs::read(&path).unwrap();

        let mut flipped = bytes.clone();
        flipped[HEADER + 100] ^= 1;
        std::fs::write(&path, &flipped).unwrap();
        assert!(
            EvidenceSource::open(&path, Some(&key()))
                .unwrap()
                .read_all()
                .is_err()
        );

        // The last segment dropped: the one before is not marked last.
        std::fs::write(&path, &bytes[..HEADER + 2 * (SEGMENT + TAG)]).unwrap();
        assert!(
            EvidenceSource::open(&path, Some(&key()))
                .unwrap()
                .read_all()
                .is_err()
        );

        std::fs::write(&path, &bytes).unwrap();
        assert!(
            EvidenceSource::open(&path, Some(&StoreKey::from_bytes([8; 32])))
                .unwrap()
                .read_all()
                .is_err()
        );
    }
}
