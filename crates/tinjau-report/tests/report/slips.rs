//! Join slips read back as a person and a phone would: the text with pdftotext, the QR code
//! rendered by poppler and decoded by rqrr (a decoder nobody here wrote).

use std::process::Command;

use chrono::NaiveDate;
use tinjau_core::join::JoinSlip;
use tinjau_core::package::Role;
use tinjau_report::{SlipPage, join_slips_pdf};

fn page(name: &str, juror: &str, token: &str, pin: Option<&str>) -> SlipPage {
    SlipPage {
        name: name.into(),
        institution: "Dinas Pendidikan Provinsi Jawa Timur".into(),
        role: Role::Juror,
        visits: vec![
            "Kecamatan Junrejo, 12 Oktober 2023".into(),
            "Kecamatan Kota [Batu] #1, 13 Oktober 2023".into(),
        ],
        join: JoinSlip::new(
            "https://tinjau.jatimprov.go.id:8716",
            token,
            pin,
            "skk-jatim-2023",
            juror,
        ),
        file_name: format!("{juror}.tinjau"),
    }
}

/// The QR codes of page `index` (0-based) of `pdf`, decoded.
fn qr_codes(pdf: &[u8], index: usize) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slips.pdf");
    std::fs::write(&path, pdf).unwrap();
    let number = (index + 1).to_string();
    let output = Command::new("pdftoppm")
        .args(["-r", "150", "-gray", "-f", &number, "-l", &number])
        .arg(&path)
        .output()
        .expect("pdftoppm (poppler-utils) is needed");
    assert!(output.status.success());
    let pgm = output.stdout;
    // Binary PGM: "P5\n<w> <h>\n<max>\n" then one byte per pixel.
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while pgm[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !pgm[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8_lossy(&pgm[start..at]).to_string());
    }
    at += 1;
    assert_eq!(fields[0], "P5");
    let (width, height): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let pixels = &pgm[at..];
    let mut image =
        rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| pixels[y * width + x]);
    image
        .detect_grids()
        .into_iter()
        .map(|grid| grid.decode().expect("the QR code decodes").1)
        .collect()
}

#[test]
fn a_slip_per_juror_whose_qr_code_is_the_join_file_a_laptop_accepts() {
    let token_a = "tjk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let token_b = "tjk_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
    let pin = "ab".repeat(32);
    let slips = [
        page("Dra. Siti Aminah, M.Si.", "juri-2", token_a, Some(&pin)),
        page("Ir. Bambang <Hartono>", "juri-3", token_b, None),
    ];
    let pdf = join_slips_pdf(
        "Lomba Sinergitas Kinerja Kecamatan Jawa Timur 2023",
        Some("Tinjau lapang"),
        &slips,
        NaiveDate::from_ymd_opt(2023, 10, 9).unwrap(),
    )
    .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slips.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let text = Command::new("pdftotext")
        .arg("-layout")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is needed");
    let text = String::from_utf8(text.stdout).unwrap();
    let pages: Vec<&str> = text
        .split('\u{c}')
        .filter(|p| !p.trim().is_empty())
        .collect();
    assert_eq!(pages.len(), 2, "one A4 page per juror: {text}");
    assert!(pages[0].contains("Dra. Siti Aminah, M.Si."), "{}", pages[0]);
    assert!(pages[0].contains(token_a) && !pages[0].contains(token_b));
    assert!(
        pages[0].contains(&pin),
        "the fingerprint is printed: {}",
        pages[0]
    );
    assert!(pages[0].contains("Kecamatan Kota [Batu] #1, 13 Oktober 2023"));
    assert!(pages[1].contains("Ir. Bambang <Hartono>") && pages[1].contains(token_b));
    assert!(
        !pages[1].contains("Sidik jari"),
        "no fingerprint without TLS pinning"
    );

    for (index, slip) in slips.iter().enumerate() {
        let codes = qr_codes(&pdf, index);
        assert_eq!(codes.len(), 1, "one QR code on page {}", index + 1);
        let read = JoinSlip::parse(codes[0].as_bytes()).expect("a laptop accepts the QR code");
        assert_eq!(read, slip.join);
    }
}
