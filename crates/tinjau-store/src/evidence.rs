//! Evidence files: copied into the data directory once per content hash.
//!
//! A file is streamed into a temporary file beside its final place while it is hashed (BLAKE3),
//! then fsynced and renamed, so a crash never leaves a half-written file under a real hash.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{NaiveDate, NaiveDateTime};
use tinjau_core::change::{ContentHash, PREVIEW_MAX_SIDE};
use tinjau_core::views::GpsPoint;

use crate::crypt::{SealWriter, StoreKey};
use crate::{RandomSource, Result, StoreError};

/// Evidence files larger than this are refused unless the store is configured otherwise.
pub const DEFAULT_EVIDENCE_LIMIT_BYTES: u64 = 200 * 1024 * 1024;

const EVIDENCE_DIR: &str = "evidence";

/// A file copied into the store (or found there already).
#[derive(Debug, Clone)]
pub(crate) struct IngestedFile {
    pub hash: String,
    pub size: u64,
    pub mime: String,
    pub original_name: String,
    pub captured_at: Option<NaiveDateTime>,
    pub gps: Option<GpsPoint>,
    /// Set when this call stored the file, so a failed transaction can remove it again.
    pub newly_stored: Option<PathBuf>,
    /// A photo's preview, stored beside it under its own hash.
    pub preview: Option<StoredPreview>,
}

/// A preview made for an attached photo.
#[derive(Debug, Clone)]
pub(crate) struct StoredPreview {
    pub hash: String,
    pub size: u64,
    pub newly_stored: Option<PathBuf>,
}

/// A photo at most this big whose longest side is within [`PREVIEW_MAX_SIDE`] travels as it is.
pub const PREVIEW_NEEDED_ABOVE_BYTES: u64 = 300 * 1024;

/// Decoding a photo for its preview may allocate at most this much (a crafted file that claims
/// 60000×60000 pixels gets no preview instead of exhausting memory).
const PREVIEW_DECODE_LIMIT_BYTES: u64 = 512 * 1024 * 1024;

/// The preview of a photo, by rule: a JPEG, PNG or WebP larger than
/// [`PREVIEW_NEEDED_ABOVE_BYTES`] or wider than [`PREVIEW_MAX_SIDE`] is scaled to fit
/// [`PREVIEW_MAX_SIDE`] with its EXIF orientation applied, and encoded as a JPEG without any
/// metadata (the GPS position stays in the record alone). Any other file, or a picture that does
/// not decode within the limits, gets none and travels as it is: it is never dropped.
pub(crate) fn make_preview(path: &Path, mime: &str, size: u64) -> Option<Vec<u8>> {
    use image::ImageDecoder;
    if !matches!(mime, "image/jpeg" | "image/png" | "image/webp") {
        return None;
    }
    let file = File::open(path).ok()?;
    let mut reader = image::ImageReader::new(BufReader::new(file))
        .with_guessed_format()
        .ok()?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(PREVIEW_DECODE_LIMIT_BYTES);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().ok()?;
    let (width, height) = decoder.dimensions();
    if size <= PREVIEW_NEEDED_ABOVE_BYTES && width.max(height) <= PREVIEW_MAX_SIDE {
        return None;
    }
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let picture = image::DynamicImage::from_decoder(decoder).ok()?;
    let mut scaled = if width.max(height) > PREVIEW_MAX_SIDE {
        picture.thumbnail(PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE)
    } else {
        picture
    };
    scaled.apply_orientation(orientation);
    let rgb = scaled.into_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, PREVIEW_JPEG_QUALITY)
        .encode_image(&rgb)
        .ok()?;
    // A preview is only worth its bytes when it is smaller than what it stands for.
    (size > out.len() as u64).then_some(out)
}

const PREVIEW_JPEG_QUALITY: u8 = 80;

/// Checks that a file can be attached, before anything is written.
pub(crate) fn precheck(path: &Path, limit: u64) -> Result<()> {
    let metadata = std::fs::metadata(path).map_err(|e| StoreError::EvidenceUnreadable {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    if !metadata.is_file() {
        return Err(StoreError::EvidenceUnreadable {
            path: path.to_path_buf(),
            reason: "not a regular file".into(),
        });
    }
    if metadata.len() > limit {
        return Err(StoreError::EvidenceTooLarge {
            path: path.to_path_buf(),
            size: metadata.len(),
            limit,
        });
    }
    Ok(())
}

/// The path of a stored file with this hash. Only a well-formed hash names a file; anything else
/// (which no typed record can hold) names a place that never exists, rather than a panic or a
/// path outside the evidence folder.
pub(crate) fn stored_path(data_dir: &Path, hash: &str) -> PathBuf {
    match ContentHash::parse(hash) {
        Ok(_) => data_dir.join(EVIDENCE_DIR).join(&hash[..2]).join(hash),
        Err(_) => data_dir.join(EVIDENCE_DIR).join("not-a-hash"),
    }
}

/// Opens a file to attach without ever blocking: a path swapped for a FIFO (or a device) after
/// the precheck is refused instead of hanging the app.
fn open_regular(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    Ok(file)
}

/// How files are written into an encrypted store: the key, and randomness for the nonces.
pub(crate) type Seal<'a> = Option<(&'a StoreKey, &'a mut dyn RandomSource)>;

/// A stored file being written: plain, or sealed as it streams in.
enum Output {
    Plain(File),
    Sealed(SealWriter),
}

impl Output {
    fn create(path: &Path, seal: &mut Seal<'_>) -> std::io::Result<Output> {
        let file = File::create(path)?;
        Ok(match seal {
            Some((key, random)) => Output::Sealed(SealWriter::new(file, key, *random)?),
            None => Output::Plain(file),
        })
    }

    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Output::Plain(file) => file.write_all(bytes),
            Output::Sealed(writer) => writer.write_all(bytes),
        }
    }

    /// Flushes everything to disk.
    fn finish(self) -> std::io::Result<()> {
        match self {
            Output::Plain(file) => file.sync_all(),
            Output::Sealed(writer) => writer.finish()?.sync_all(),
        }
    }
}

/// Copies `source` into the store, hashing it on the way (and sealing it, in an encrypted
/// store: its plain bytes never touch the data folder).
pub(crate) fn ingest(
    data_dir: &Path,
    source: &Path,
    limit: u64,
    mut seal: Seal<'_>,
) -> Result<IngestedFile> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let unreadable = |e: std::io::Error| StoreError::EvidenceUnreadable {
        path: source.to_path_buf(),
        reason: e.to_string(),
    };
    let io = |context: &str| {
        let context = format!("{context} in {}", data_dir.display());
        move |source| StoreError::Io { context, source }
    };

    let evidence_dir = data_dir.join(EVIDENCE_DIR);
    std::fs::create_dir_all(&evidence_dir).map_err(io("creating the evidence folder"))?;
    let temp_path = evidence_dir.join(format!(
        ".incoming-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let mut input = open_regular(source).map_err(unreadable)?;
    let mut output =
        Output::create(&temp_path, &mut seal).map_err(io("creating a temporary evidence file"))?;
    let cleanup = |error: StoreError| {
        let _ = std::fs::remove_file(&temp_path);
        error
    };

    let mut hasher = blake3::Hasher::new();
    let mut buffer = vec![0u8; 256 * 1024];
    let mut head = Vec::new();
    let mut size = 0u64;
    loop {
        let read = input
            .read(&mut buffer)
            .map_err(|e| cleanup(unreadable(e)))?;
        if read == 0 {
            break;
        }
        size += read as u64;
        // The file may have grown since the precheck.
        if size > limit {
            return Err(cleanup(StoreError::EvidenceTooLarge {
                path: source.to_path_buf(),
                size,
                limit,
            }));
        }
        if head.len() < 8192 {
            head.extend_from_slice(&buffer[..read.min(8192 - head.len())]);
        }
        hasher.update(&buffer[..read]);
        output
            .write_all(&buffer[..read])
            .map_err(|e| cleanup(io("writing evidence")(e)))?;
    }
    output
        .finish()
        .map_err(|e| cleanup(io("flushing evidence to disk")(e)))?;

    let hash = hasher.finalize().to_hex().to_string();
    let mime = infer::get(&head)
        .map(|kind| kind.mime_type().to_string())
        .unwrap_or_else(|| "application/octet-stream".into());
    // The picture is read again for its metadata and preview: from the stored copy when it is
    // plain, from the person's own file when the store holds it sealed.
    let picture = if seal.is_some() { source } else { &temp_path };
    let (captured_at, gps) = if mime.starts_with("image/") {
        read_exif(picture)
    } else {
        (None, None)
    };

    let preview_bytes = make_preview(picture, &mime, size);
    let newly_stored = place(data_dir, &temp_path, &hash).map_err(cleanup)?;
    let preview = match preview_bytes {
        None => None,
        Some(bytes) => {
            let preview_hash = blake3::hash(&bytes).to_hex().to_string();
            match store_bytes(data_dir, &preview_hash, &bytes, seal) {
                Ok(preview_new) => Some(StoredPreview {
                    hash: preview_hash,
                    size: bytes.len() as u64,
                    newly_stored: preview_new,
                }),
                Err(error) => {
                    if let Some(path) = &newly_stored {
                        let _ = std::fs::remove_file(path);
                    }
                    return Err(error);
                }
            }
        }
    };

    Ok(IngestedFile {
        hash,
        size,
        mime,
        original_name: source
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "evidence".into()),
        captured_at,
        gps,
        newly_stored,
        preview,
    })
}

/// Moves a complete, fsynced temporary file to its content-addressed place. Returns the path
/// when this call stored it, `None` when the same content was already there.
fn place(data_dir: &Path, temp_path: &Path, hash: &str) -> Result<Option<PathBuf>> {
    let io = |context: &'static str| {
        move |source| StoreError::Io {
            context: context.into(),
            source,
        }
    };
    let final_path = stored_path(data_dir, hash);
    if final_path.exists() {
        // Same content already stored: keep one copy.
        let _ = std::fs::remove_file(temp_path);
        return Ok(None);
    }
    let folder = final_path.parent().expect("stored path has a folder");
    std::fs::create_dir_all(folder).map_err(io("creating an evidence folder"))?;
    std::fs::rename(temp_path, &final_path).map_err(io("moving evidence into place"))?;
    // Make the rename itself durable.
    crate::crypt::sync_folder(&final_path);
    Ok(Some(final_path))
}

/// Stores bytes received from elsewhere (a sheet file, sync) after checking their hash.
pub(crate) fn store_bytes(
    data_dir: &Path,
    claimed_hash: &str,
    bytes: &[u8],
    mut seal: Seal<'_>,
) -> Result<Option<PathBuf>> {
    let actual = blake3::hash(bytes).to_hex().to_string();
    if actual != claimed_hash {
        return Err(StoreError::SheetFile(format!(
            "evidence {claimed_hash} does not match its content (hash {actual})"
        )));
    }
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let evidence_dir = data_dir.join(EVIDENCE_DIR);
    let io = |context: &'static str| {
        move |source| StoreError::Io {
            context: context.into(),
            source,
        }
    };
    std::fs::create_dir_all(&evidence_dir).map_err(io("creating the evidence folder"))?;
    let temp_path = evidence_dir.join(format!(
        ".received-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = Output::create(&temp_path, &mut seal)
        .and_then(|mut output| output.write_all(bytes).and_then(|()| output.finish()));
    if let Err(source) = written {
        let _ = std::fs::remove_file(&temp_path);
        return Err(StoreError::Io {
            context: "writing received evidence".into(),
            source,
        });
    }
    place(data_dir, &temp_path, claimed_hash).inspect_err(|_| {
        let _ = std::fs::remove_file(&temp_path);
    })
}

/// Reads the capture time and GPS position from a photo's EXIF, when present. A photo without
/// EXIF, or with EXIF this reader does not understand, simply has neither.
fn read_exif(path: &Path) -> (Option<NaiveDateTime>, Option<GpsPoint>) {
    let Ok(file) = File::open(path) else {
        return (None, None);
    };
    let Ok(exif) = exif::Reader::new().read_from_container(&mut BufReader::new(file)) else {
        return (None, None);
    };
    let captured_at = [exif::Tag::DateTimeOriginal, exif::Tag::DateTime]
        .into_iter()
        .find_map(|tag| {
            let field = exif.get_field(tag, exif::In::PRIMARY)?;
            let exif::Value::Ascii(ref parts) = field.value else {
                return None;
            };
            let datetime = exif::DateTime::from_ascii(parts.first()?).ok()?;
            NaiveDate::from_ymd_opt(
                i32::from(datetime.year),
                u32::from(datetime.month),
                u32::from(datetime.day),
            )?
            .and_hms_opt(
                u32::from(datetime.hour),
                u32::from(datetime.minute),
                u32::from(datetime.second),
            )
        });
    let coordinate = |value_tag: exif::Tag, ref_tag: exif::Tag, negative: u8| -> Option<f64> {
        let field = exif.get_field(value_tag, exif::In::PRIMARY)?;
        let exif::Value::Rational(ref parts) = field.value else {
            return None;
        };
        if parts.len() < 3 || parts.iter().any(|r| r.denom == 0) {
            return None;
        }
        let degrees = parts[0].to_f64() + parts[1].to_f64() / 60.0 + parts[2].to_f64() / 3600.0;
        let sign = match exif.get_field(ref_tag, exif::In::PRIMARY).map(|f| &f.value) {
            Some(exif::Value::Ascii(refs))
                if refs.first().and_then(|r| r.first()) == Some(&negative) =>
            {
                -1.0
            }
            _ => 1.0,
        };
        Some(sign * degrees)
    };
    let gps = coordinate(exif::Tag::GPSLatitude, exif::Tag::GPSLatitudeRef, b'S')
        .zip(coordinate(
            exif::Tag::GPSLongitude,
            exif::Tag::GPSLongitudeRef,
            b'W',
        ))
        .map(|(latitude, longitude)| GpsPoint {
            latitude,
            longitude,
        });
    (captured_at, gps)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// A path swapped for a FIFO after the precheck must not hang the app: opening never
    /// blocks, and anything but a regular file is refused.
    #[test]
    fn a_fifo_swapped_in_after_the_precheck_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("photo.jpg");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let error = ingest(dir.path(), &fifo, DEFAULT_EVIDENCE_LIMIT_BYTES, None).unwrap_err();
        assert!(error.to_string().contains("not a regular file"), "{error}");
    }
}
