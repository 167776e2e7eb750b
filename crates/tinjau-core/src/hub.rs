//! A visit's hub (issue #12, `docs/hub.md`): what a juror's laptop and the lead's laptop say
//! to each other on site, and how a juror checks they reached the lead's laptop and nobody else.
//!
//! The hub serves HTTPS with a certificate it made itself; a juror trusts it by its SHA-256
//! fingerprint (the pin). The lead reads the pin out as [`fingerprint_words`] (eight common
//! Indonesian words, the first 64 bits of the fingerprint) or shows it as a QR code; a juror
//! types the words or the full hex. A juror proves who they are by signing the hub's one-time
//! nonce with their identity key (`signing::hub_session_bytes`): the token never leaves the
//! juror's laptop, so the hub cannot write in their name.

use serde::{Deserialize, Serialize};

use crate::package::Package;
use crate::signing::{JurorKey, Revocation, Signature, SignedRegistration};

/// The port a hub listens on unless told otherwise.
pub const DEFAULT_HUB_PORT: u16 = 8717;
/// How many words of the fingerprint the lead reads out: 8 bytes, 64 bits. Making another
/// certificate whose fingerprint starts with the same 64 bits takes about 2^64 tries, far out of
/// reach during a visit.
pub const PIN_WORDS: usize = 8;

/// One word per byte value.
pub const WORDS: [&str; 256] = [
    "abu", "acar", "adik", "air", "ajak", "akar", "alam", "alas", "alat", "alun", "aman", "ambil",
    "anak", "anggur", "angin", "angka", "api", "arah", "arang", "asam", "asap", "atap", "awan",
    "ayah", "ayam", "bakul", "badak", "bahu", "baju", "bakso", "balok", "bambu", "bantal", "barat",
    "baru", "batu", "bawang", "bayam", "bebek", "becak", "bekal", "belut", "benang", "bensin",
    "beras", "besi", "biji", "biru", "bola", "bolu", "botol", "buah", "bubur", "bukit", "buku",
    "bulan", "bulu", "bumi", "bunga", "buntut", "burung", "busa", "cabai", "cahaya", "camar",
    "candi", "cat", "cemara", "cerah", "cermin", "cicak", "cincin", "coklat", "cumi", "dadu",
    "dagu", "dahan", "danau", "dapur", "darat", "daun", "dayung", "debu", "delima", "desa",
    "dingin", "dodol", "domba", "dompet", "duku", "durian", "ekor", "elang", "emas", "embun",
    "empat", "enam", "es", "gajah", "galah", "gambar", "garam", "garpu", "gelas", "gema", "gigi",
    "gitar", "gula", "gunung", "gurun", "hadiah", "hujan", "hutan", "ikan", "ikat", "indah",
    "intan", "itik", "jagung", "jahe", "jalan", "jambu", "jari", "jerami", "jeruk", "jubah",
    "kabut", "kaca", "kacang", "kain", "kaki", "kaktus", "kali", "kamar", "kancil", "kapal",
    "kapas", "kapur", "karang", "karet", "kasur", "katak", "kayu", "kecap", "kelapa", "kemeja",
    "kencur", "kendi", "kereta", "kertas", "ketan", "kipas", "kopi", "kota", "kuda", "kunci",
    "kuning", "kupu", "labu", "ladang", "lampu", "langit", "laut", "lebah", "lemari", "lidah",
    "lilin", "limau", "lobak", "lumut", "madu", "mangga", "mawar", "meja", "melati", "merah",
    "mie", "minyak", "melon", "muara", "nanas", "nasi", "nila", "obor", "ombak", "padi", "pagar",
    "pakis", "palu", "pantai", "papan", "pasir", "payung", "pena", "penyu", "perahu", "perak",
    "permen", "petir", "pintu", "pinus", "piring", "pisang", "pohon", "pulau", "pupuk", "rakit",
    "rambut", "rawa", "rebana", "rempah", "roda", "roti", "rumah", "rumput", "rusa", "sabun",
    "sagu", "salak", "sambal", "sampan", "sapi", "sarung", "sawah", "sawo", "sayap", "sayur",
    "segar", "semut", "senja", "serai", "siput", "sirih", "sisir", "sumur", "susu", "tahu", "tali",
    "tanah", "tapai", "tebu", "telur", "tempe", "tenda", "tikar", "timun", "tinta", "tiram",
    "tomat", "topi", "ubi", "udang", "ular", "ungu", "wajan", "warna",
];

/// A certificate pin as a juror typed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pin {
    /// All 32 bytes of the SHA-256 (64 hex digits, colons allowed).
    Full([u8; 32]),
    /// The first [`PIN_WORDS`] bytes, typed as words.
    Words([u8; PIN_WORDS]),
}

impl Pin {
    /// Reads a pin typed as hex (with or without colons) or as the lead's words (any case,
    /// spaces or dashes between them).
    pub fn parse(text: &str) -> Result<Pin, String> {
        let trimmed = text.trim();
        let hex: String = trimmed.chars().filter(|c| *c != ':').collect();
        if let Some(bytes) = crate::hex::decode_array::<32>(&hex) {
            return Ok(Pin::Full(bytes));
        }
        let typed: Vec<String> = trimmed
            .split(|c: char| c.is_whitespace() || c == '-' || c == ',')
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect();
        if typed.len() != PIN_WORDS {
            return Err(format!(
                "a hub's pin is {PIN_WORDS} words (as the lead's screen shows them) or 64 hex \
                 digits; \"{}\" is neither",
                truncate(trimmed)
            ));
        }
        let mut bytes = [0u8; PIN_WORDS];
        for (slot, word) in bytes.iter_mut().zip(&typed) {
            *slot =
                WORDS.iter().position(|w| w == word).ok_or_else(|| {
                    format!("\"{}\" is not one of the pin's words", truncate(word))
                })? as u8;
        }
        Ok(Pin::Words(bytes))
    }

    /// Whether a certificate with this SHA-256 is the one pinned.
    pub fn matches(&self, sha256: &[u8]) -> bool {
        match self {
            Pin::Full(full) => sha256 == full,
            Pin::Words(prefix) => sha256.starts_with(prefix),
        }
    }

    /// A stable name for the hub this pin stands for (a laptop keeps its place in each hub's
    /// log under it).
    pub fn hub_id(&self) -> String {
        let bytes: &[u8] = match self {
            Pin::Full(full) => &full[..PIN_WORDS],
            Pin::Words(prefix) => prefix,
        };
        crate::hex::encode(bytes)
    }
}

fn truncate(text: &str) -> String {
    text.chars().take(80).collect()
}

/// The lead's words for a fingerprint: its first [`PIN_WORDS`] bytes, one word each.
pub fn fingerprint_words(sha256: &[u8; 32]) -> String {
    sha256[..PIN_WORDS]
        .iter()
        .map(|b| WORDS[*b as usize])
        .collect::<Vec<_>>()
        .join(" ")
}

/// What a visit's hub starts from: what the lead's laptop holds of the competition (from its
/// last sync with the central server).
#[derive(Debug, Clone, PartialEq)]
pub struct HubSeed {
    pub package: Package,
    pub identities: Vec<JurorKey>,
    pub registrations: Vec<SignedRegistration>,
    pub revocations: Vec<Revocation>,
}

/// `GET /v1/hub`: the hub's competition and a one-time nonce to sign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubHello {
    pub competition: String,
    pub nonce: String,
}

/// `POST /v1/hub/session`: "I am this juror": the nonce signed with the juror's identity key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubSessionRequest {
    pub juror: String,
    pub nonce: String,
    pub proof: Signature,
}

/// The hub's answer: a session secret to use as the bearer token of this hub's sync protocol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubSession {
    pub session: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_words_are_distinct_short_and_lowercase() {
        let set: std::collections::HashSet<_> = WORDS.iter().collect();
        assert_eq!(set.len(), 256);
        assert!(
            WORDS
                .iter()
                .all(|w| (2..=7).contains(&w.len()) && w.chars().all(|c| c.is_ascii_lowercase()))
        );
    }

    #[test]
    fn a_fingerprint_read_as_words_pins_its_certificate() {
        let mut sha = [0u8; 32];
        for (i, b) in sha.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37).wrapping_add(11);
        }
        let words = fingerprint_words(&sha);
        assert_eq!(words.split(' ').count(), PIN_WORDS);
        let typed = format!("  {} ", words.to_uppercase().replace(' ', "-"));
        let pin = Pin::parse(&typed).unwrap();
        assert!(pin.matches(&sha));
        let mut other = sha;
        other[7] ^= 1;
        assert!(!pin.matches(&other));
        // The rest of the fingerprint is not read out.
        other = sha;
        other[31] ^= 1;
        assert!(pin.matches(&other));
        let hex = crate::hex::encode(&sha);
        let full = Pin::parse(&hex).unwrap();
        assert!(full.matches(&sha) && !full.matches(&other));
        assert_eq!(full.hub_id(), pin.hub_id());
    }

    #[test]
    fn a_mistyped_pin_names_the_problem() {
        assert!(Pin::parse("abu abu").unwrap_err().contains("8 words"));
        let err = Pin::parse("abu abu abu abu abu abu abu kucing").unwrap_err();
        assert!(err.contains("kucing"), "{err}");
        assert!(Pin::parse(&"zz".repeat(32)).is_err());
    }
}
