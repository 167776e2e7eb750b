//! Test vocabulary: a juror's laptop that runs the real `tinjau` binary, and a real JPEG maker.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_tinjau");
pub const VISIT: &str = "visit-junrejo";

pub fn demo_package() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/skk-jatim-2023.json")
}

pub struct Laptop {
    pub dir: tempfile::TempDir,
}

impl Laptop {
    pub fn new() -> Laptop {
        Laptop {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A laptop with the demo package imported and `juror` chosen, through the binary.
    pub fn juror(juror: &str) -> Laptop {
        let laptop = Laptop::new();
        laptop.ok(&["import", demo_package().to_str().unwrap()]);
        laptop.ok(&["init", "--juror", juror]);
        laptop
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .arg("--data-dir")
            .arg(self.data_dir())
            .args(args)
            .env_remove("RUST_LOG")
            .env_remove("TINJAU_DATA_DIR");
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Runs a command that must succeed; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "tinjau {args:?} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// Runs a command with `--json` that must succeed; returns its parsed stdout.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&self.ok(&all)).unwrap()
    }

    /// Runs a command with `--json` that must fail; returns the error's code and message.
    pub fn fails(&self, args: &[&str]) -> (String, String) {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let output = self.run(&all);
        assert!(
            !output.status.success(),
            "tinjau {args:?} should have failed"
        );
        assert!(
            output.stdout.is_empty(),
            "a failed command printed a result"
        );
        let stderr = String::from_utf8(output.stderr).unwrap();
        let error: serde_json::Value = serde_json::from_str(stderr.trim())
            .unwrap_or_else(|e| panic!("stderr is not one JSON error ({e}):\n{stderr}"));
        (
            error["error"]["code"].as_str().unwrap().to_string(),
            error["error"]["message"].as_str().unwrap().to_string(),
        )
    }

    pub fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    pub fn database(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.data_dir().join("tinjau.sqlite3")).unwrap()
    }
}

/// A real 32×24 JPEG photo whose EXIF says it was taken at `datetime` ("YYYY:MM:DD HH:MM:SS"),
/// at Junrejo's approximate position.
pub fn photo(datetime: &str) -> Vec<u8> {
    use exif::{Field, In, Rational, Tag, Value};
    let taken = Field {
        tag: Tag::DateTimeOriginal,
        ifd_num: In::PRIMARY,
        value: Value::Ascii(vec![datetime.as_bytes().to_vec()]),
    };
    let dms = |degrees: u32, minutes: u32, seconds: u32| {
        Value::Rational(vec![
            Rational::from((degrees, 1)),
            Rational::from((minutes, 1)),
            Rational::from((seconds, 1)),
        ])
    };
    let latitude = Field {
        tag: Tag::GPSLatitude,
        ifd_num: In::PRIMARY,
        value: dms(7, 54, 0),
    };
    let latitude_ref = Field {
        tag: Tag::GPSLatitudeRef,
        ifd_num: In::PRIMARY,
        value: Value::Ascii(vec![b"S".to_vec()]),
    };
    let longitude = Field {
        tag: Tag::GPSLongitude,
        ifd_num: In::PRIMARY,
        value: dms(112, 33, 0),
    };
    let longitude_ref = Field {
        tag: Tag::GPSLongitudeRef,
        ifd_num: In::PRIMARY,
        value: Value::Ascii(vec![b"E".to_vec()]),
    };
    let mut writer = exif::experimental::Writer::new();
    for field in [&taken, &latitude, &latitude_ref, &longitude, &longitude_ref] {
        writer.push_field(field);
    }
    let mut tiff = Cursor::new(Vec::new());
    writer.write(&mut tiff, false).unwrap();
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(tiff.get_ref());

    let (width, height) = (32u16, 24u16);
    let pixels: Vec<u8> = (0..u32::from(width) * u32::from(height))
        .flat_map(|i| [(i % 256) as u8, 120, (255 - i % 256) as u8])
        .collect();
    let mut jpeg = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut jpeg, 85);
    encoder.add_app_segment(1, app1).unwrap();
    encoder
        .encode(&pixels, width, height, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    jpeg
}
