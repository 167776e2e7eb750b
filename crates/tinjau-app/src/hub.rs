//! What the CLI and the desktop app both show when a laptop hosts a visit's hub: the address
//! jurors reach it at, and the address with its pin as a QR code (`docs/hub.md`).

use std::net::{IpAddr, UdpSocket};

use serde::{Deserialize, Serialize};

/// A hub this laptop hosts, as the lead's screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct Hosting {
    /// The address jurors type (`https://IP:PORT`).
    pub address: String,
    /// The pin read out to the jurors: eight words.
    pub words: String,
    /// The certificate's SHA-256, in full (hex).
    pub fingerprint: String,
    /// The address and full pin as a QR code (an SVG image).
    pub qr_svg: String,
    /// Jurors the hub cannot confirm: this laptop holds no identity key of theirs.
    pub unconfirmable: Vec<String>,
}

impl Hosting {
    /// What to show for a hub listening on `listen` with a certificate of `sha256`.
    pub fn new(
        listen: std::net::SocketAddr,
        sha256: &[u8; 32],
        unconfirmable: Vec<String>,
    ) -> Hosting {
        let address = if listen.ip().is_unspecified() {
            format!(
                "https://{}:{}",
                local_address().unwrap_or_else(|| "127.0.0.1".into()),
                listen.port()
            )
        } else {
            format!("https://{listen}")
        };
        let fingerprint = tinjau_core::hex::encode(sha256);
        Hosting {
            qr_svg: qr_svg(&address, &fingerprint),
            words: tinjau_core::hub::fingerprint_words(sha256),
            address,
            fingerprint,
            unconfirmable,
        }
    }
}

/// The jurors of `seed`'s package the hub cannot confirm (no identity key held for them).
pub fn unconfirmable(seed: &tinjau_core::hub::HubSeed) -> Vec<String> {
    seed.package
        .jurors
        .iter()
        .filter(|j| !seed.identities.iter().any(|k| k.juror == j.id))
        .map(|j| j.name.clone())
        .collect()
}

/// This laptop's address on the local network (the hotspot or pocket router), when it has one:
/// the address the system would send from. Nothing is sent (a UDP socket is only connected).
pub fn local_address() -> Option<String> {
    [
        "192.168.255.255:9",
        "10.255.255.255:9",
        "172.31.255.255:9",
        "8.8.8.8:9",
    ]
    .iter()
    .find_map(|target| {
        let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
        socket.connect(target).ok()?;
        match socket.local_addr().ok()?.ip() {
            IpAddr::V4(ip) if !ip.is_loopback() && !ip.is_unspecified() => Some(ip.to_string()),
            _ => None,
        }
    })
}

/// What the hub's QR code holds: its address with the full pin.
pub fn qr_payload(address: &str, pin: &str) -> String {
    format!("{address}/#pin={pin}")
}

/// The QR code as text for a terminal (two rows of modules per line).
pub fn qr_text(address: &str, pin: &str) -> String {
    match qrcode::QrCode::with_error_correction_level(qr_payload(address, pin), qrcode::EcLevel::M)
    {
        Ok(code) => code
            .render::<qrcode::render::unicode::Dense1x2>()
            .quiet_zone(true)
            .build(),
        Err(_) => String::new(),
    }
}

/// The QR code as an SVG image (the desktop app shows it).
pub fn qr_svg(address: &str, pin: &str) -> String {
    match qrcode::QrCode::with_error_correction_level(qr_payload(address, pin), qrcode::EcLevel::M)
    {
        Ok(code) => code
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .build(),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_qr_code_holds_the_address_and_the_pin() {
        let text = qr_text("https://192.168.43.1:8717", &"ab".repeat(32));
        assert!(text.lines().count() > 10);
        let svg = qr_svg("https://192.168.43.1:8717", &"ab".repeat(32));
        assert!(svg.starts_with("<?xml") && svg.contains("<svg"));
        assert_eq!(qr_payload("https://h:8717", "ff"), "https://h:8717/#pin=ff");
    }
}
