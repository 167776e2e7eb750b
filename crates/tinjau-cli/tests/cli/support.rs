//! Test vocabulary: a juror's laptop that runs the real `tinjau` binary, and a real JPEG maker.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_tinjau");
pub const VISIT: &str = "visit-junrejo";

pub fn demo_package() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/skk-jatim-2023.json")
}

pub struct Terminal {
    pub dir: tempfile::TempDir,
}

impl Terminal {
    pub fn new() -> Terminal {
        Terminal {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A laptop with the demo package imported and `juror` chosen, through the binary.
    pub fn juror(juror: &str) -> Terminal {
        let laptop = Terminal::new();
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
            .env_remove("TINJAU_DATA_DIR")
            .env("TINJAU_PASSPHRASE", tinjau_tests::TEST_PASSPHRASE);
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
        tinjau_tests::app_database(&self.data_dir())
    }
}

pub use tinjau_tests::photo;
