//! `tinjau`: a juror's field visit from the command line.
//!
//! Every subcommand is a thin edge: parse arguments, call the store, print the result. A command
//! prints its success only after the store's transaction committed.

mod output;

use std::io::Write;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use tinjau_core::Verdict;
use tinjau_core::package::Method;
use tinjau_store::{Store, StoreOptions, VerifyRequest};

use crate::output::Output;

use tinjau_app::{DEMO_PACKAGE, sync_loop};

#[derive(Debug, Parser)]
#[command(
    name = "tinjau",
    version,
    about = "Tinjau: a juror's field visit (tinjau lapang), offline",
    long_about = "Tinjau: a juror's field visit (tinjau lapang), offline.\n\n\
        Import the competition package, choose who you are, then walk the claimed innovations,\n\
        record observations and evidence, score every indicator and submit your sheet.\n\
        Everything is saved on this laptop the moment a command reports success."
)]
struct Cli {
    /// Where this juror's data lives (default: the OS data directory, e.g. ~/.local/share/tinjau).
    #[arg(long, global = true, env = "TINJAU_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,

    /// Machine-readable output: JSON on stdout, errors as {"error":{"code","message"}} on stderr.
    #[arg(long, global = true)]
    json: bool,

    /// Largest evidence file accepted, in MiB.
    #[arg(long, global = true, value_name = "MIB", default_value_t = 200)]
    evidence_limit_mib: u64,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Import a competition package (or a newer revision of it): all or nothing.
    Import {
        /// The package file (tinjau-package/1 JSON).
        #[arg(required_unless_present = "demo")]
        package: Option<PathBuf>,
        /// Import the SKK Jawa Timur 2023 demo package shipped with Tinjau.
        #[arg(long, conflicts_with = "package")]
        demo: bool,
    },
    /// Choose who you are among the package's jurors.
    Init {
        #[arg(long, value_name = "JUROR_ID")]
        juror: String,
        /// Your token from your slip: registers this laptop as yours without any network, so
        /// the lead can check the sheet files you hand over (and relay them).
        #[arg(long)]
        token: Option<String>,
    },
    /// Each visit with your progress.
    Visits,
    /// Your checklist for one visit: verdicts, scores, observations, evidence, discrepancies.
    Visit { visit: String },
    /// Record what you found of one innovation.
    Verify {
        visit: String,
        innovation: String,
        #[arg(long, value_enum)]
        status: Status,
        #[arg(long)]
        note: Option<String>,
        /// A photo or document to attach (repeatable).
        #[arg(long, value_name = "FILE")]
        evidence: Vec<PathBuf>,
    },
    /// Write down an observation, optionally about one innovation.
    Observe {
        visit: String,
        #[arg(long)]
        text: String,
        #[arg(long, value_name = "INNOVATION_ID")]
        innovation: Option<String>,
        #[arg(long, value_name = "FILE")]
        evidence: Vec<PathBuf>,
    },
    /// Score one indicator on the competition's scale (decimals allowed).
    Score {
        visit: String,
        indicator: String,
        #[arg(allow_negative_numbers = true)]
        value: String,
        #[arg(long)]
        note: Option<String>,
    },
    /// Declare a conflict of interest for a participant (the lead's merge excludes you for it).
    Coi {
        participant: String,
        #[arg(long)]
        reason: String,
    },
    /// Submit your sheet for a visit; afterwards it is read-only.
    Submit { visit: String },
    /// Take back your submission of a visit's sheet while it has not left this laptop (not
    /// synced, not exported); once sent, only the lead can reopen it.
    Withdraw { visit: String },
    /// Verify the change log's hash chain; names the first broken entry.
    Audit,
    /// Exchange a juror's submitted sheet with the lead as a file (no network needed).
    #[command(subcommand)]
    Sheet(SheetCommand),
    /// The lead: decisions back to a juror on a file (a reopened sheet, a lock); the juror
    /// takes it in with `tinjau sheet import`.
    #[command(subcommand)]
    Decisions(DecisionsCommand),
    /// Results anyone can verify: one file with everything the locked results depend on.
    #[command(subcommand)]
    Bundle(BundleCommand),
    /// The lead: merged scores per participant and indicator, with disagreements.
    Merge {
        /// Show only this visit's participant.
        #[arg(long)]
        visit: Option<String>,
        /// Aggregation method (default: the competition's).
        #[arg(long, value_enum)]
        method: Option<MethodArg>,
    },
    /// The lead: the ranking under all four methods side by side.
    Ranking,
    /// The lead: reopen a juror's submitted sheet so it can be corrected.
    Reopen {
        visit: String,
        #[arg(long)]
        juror: String,
        #[arg(long)]
        reason: String,
    },
    /// The lead: order participants that share a rank.
    Tiebreak {
        /// The tied participants, first place first (comma-separated).
        #[arg(long, value_delimiter = ',', required = true)]
        order: Vec<String>,
        #[arg(long)]
        reason: String,
    },
    /// The lead: a note on an indicator of a visit (printed beside disputed indicators).
    LeadNote {
        visit: String,
        indicator: String,
        #[arg(long)]
        text: String,
    },
    /// The lead: lock a visit's result under a content hash; later changes are refused.
    Lock { visit: String },
    /// The lead: changes received but refused, with the reasons.
    Quarantine,
    /// The lead: official documents.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Send your work to the server and receive what you may see: changes first, then files.
    /// With --server and --pin of a visit's hub, syncs with the lead's laptop instead.
    Sync(SyncArgs),
    /// The lead: make this laptop the visit's hub. Jurors sync with it over the local network
    /// (`tinjau sync --server https://THIS-LAPTOP:8717 --pin "WORDS"`); it serves until stopped.
    Host {
        /// Address and port to listen on.
        #[arg(long, default_value = "0.0.0.0:8717")]
        listen: std::net::SocketAddr,
    },
    /// What is waiting to be synced, conflicts, the clock skew the server saw.
    Status,
    /// Open conflicts: the same field written differently on two devices.
    Conflicts,
    /// Resolve a conflict by picking a candidate or giving the value.
    Resolve {
        conflict: String,
        #[arg(long, value_name = "CANDIDATE_CHANGE_ID", conflicts_with = "value")]
        pick: Option<String>,
        #[arg(long)]
        value: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum DecisionsCommand {
    /// Write what `juror` may see of the lead's decisions to a file for their USB stick.
    Export {
        #[arg(long = "for", value_name = "JUROR")]
        juror: String,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum BundleCommand {
    /// The lead (after a lock): write the result bundle, e.g. hasil-skk-2023.tinjau.
    Export {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Check a result bundle: every signature and chain, the merge and every lock recomputed;
    /// prints the final scores and ranks, or names the first thing that does not verify.
    /// Needs no data folder.
    Verify { file: PathBuf },
}

#[derive(Debug, Subcommand)]
enum SheetCommand {
    /// Write your submitted sheet for a visit to a file for the lead.
    Export {
        visit: String,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Include the evidence files (photos, documents).
        #[arg(long)]
        with_evidence: bool,
    },
    /// Apply a juror's sheet file (idempotent; chain and authority checked).
    Import { file: PathBuf },
}

/// `tinjau sync`: its options.
#[derive(Debug, clap::Args)]
struct SyncArgs {
    /// The server (first time, or to change it), e.g. https://192.168.1.10:8716; or a visit's
    /// hub (the lead's laptop), which is synced with this time without changing the server.
    #[arg(long)]
    server: Option<String>,
    /// Your token from the organiser or the lead (first time; at a hub, when this laptop
    /// never synced with the central server).
    #[arg(long, requires = "server")]
    token: Option<String>,
    /// The certificate to trust: its SHA-256 fingerprint (64 hex digits), or a hub's eight
    /// words as the lead's screen shows them.
    #[arg(long, value_name = "PIN")]
    pin: Option<String>,
    /// Join with the file (`*.tinjau`) the organiser gave you, instead of --server and --token.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["server", "token", "pin"])]
    join: Option<PathBuf>,
    /// Keep syncing every INTERVAL seconds until stopped (with backoff while offline).
    #[arg(long)]
    watch: bool,
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    interval: u64,
    /// Continue this data folder as a new device, after sync found it was copied from
    /// another laptop: its unsent changes are written again under the new device.
    #[arg(long)]
    new_device: bool,
    /// When photos' originals are sent from now on (previews always go first): `now`,
    /// `when-fast` (only when this sync's previews went at 2 Mbit/s or more) or `later`
    /// (kept until `--send-originals`).
    #[arg(long, value_enum, value_name = "WHEN")]
    originals: Option<OriginalsArg>,
    /// Send every photo's original in this sync, whatever `--originals` says ("kirim asli
    /// sekarang").
    #[arg(long)]
    send_originals: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum OriginalsArg {
    Now,
    WhenFast,
    Later,
}

impl From<OriginalsArg> for tinjau_core::views::OriginalsPolicy {
    fn from(value: OriginalsArg) -> Self {
        match value {
            OriginalsArg::Now => Self::Now,
            OriginalsArg::WhenFast => Self::WhenFast,
            OriginalsArg::Later => Self::Later,
        }
    }
}

#[derive(Debug, Subcommand)]
enum ReportCommand {
    /// Berita acara tinjau lapang of one visit (PDF).
    BeritaAcara {
        visit: String,
        #[arg(long, value_name = "FILE.pdf")]
        out: PathBuf,
    },
    /// Berita acara of the ranking across all visits (PDF).
    Ranking {
        #[arg(long, value_name = "FILE.pdf")]
        out: PathBuf,
    },
    /// Rekap nilai: one sheet per visit, ranking and sensitivity (XLSX).
    Rekap {
        #[arg(long, value_name = "FILE.xlsx")]
        out: PathBuf,
    },
    /// The rekap nilai tables as CSV files in a folder, for Excel set to Indonesian (`;`,
    /// decimal comma, UTF-8 BOM), or `--plain` for programs (`,`, decimal point).
    Csv {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        #[arg(long)]
        plain: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum MethodArg {
    Mean,
    Median,
    Trimmed,
    Zscore,
}

impl From<MethodArg> for Method {
    fn from(method: MethodArg) -> Method {
        match method {
            MethodArg::Mean => Method::Mean,
            MethodArg::Median => Method::Median,
            MethodArg::Trimmed => Method::Trimmed,
            MethodArg::Zscore => Method::Zscore,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Status {
    Found,
    Partial,
    NotFound,
}

impl From<Status> for Verdict {
    fn from(status: Status) -> Verdict {
        match status {
            Status::Found => Verdict::Found,
            Status::Partial => Verdict::Partial,
            Status::NotFound => Verdict::NotFound,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let out = Output::new(cli.json);
    match run(&cli, &out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            out.error(&error);
            ExitCode::FAILURE
        }
    }
}

fn data_dir(cli: &Cli) -> Result<PathBuf> {
    match &cli.data_dir {
        Some(dir) => Ok(dir.clone()),
        None => tinjau_app::default_data_dir()
            .context("no data directory on this system: pass --data-dir DIR"),
    }
}

/// Opens the data folder encrypted at rest: with `TINJAU_PASSPHRASE` when it is set, else with
/// the key in the system keyring (made there for a new folder).
fn open_store(cli: &Cli) -> Result<Store> {
    use tinjau_app::keys::{self, KeyChoice};
    let dir = data_dir(cli)?;
    let choice = keys::choose_unlock(
        &dir,
        std::env::var(keys::PASSPHRASE_ENV).ok(),
        keys::system_keyring(std::env::var(keys::KEYRING_ENV).ok().as_deref()).as_ref(),
        &mut tinjau_store::OsRandom,
    )
    .with_context(|| format!("opening the store in {}", dir.display()))?;
    let unlock = match choice {
        KeyChoice::Ready(unlock) => unlock,
        KeyChoice::NeedPassphrase { new_store: false } => anyhow::bail!(
            "the data folder {} is encrypted with a passphrase: set {} to it",
            dir.display(),
            keys::PASSPHRASE_ENV
        ),
        KeyChoice::NeedPassphrase { new_store: true } => anyhow::bail!(
            "this machine has no system keyring to keep the key of the data folder {}: set {} to \
             a passphrase to encrypt it with (you will need it each time)",
            dir.display(),
            keys::PASSPHRASE_ENV
        ),
    };
    let options = StoreOptions {
        evidence_limit_bytes: cli.evidence_limit_mib.saturating_mul(1024 * 1024),
        unlock: Some(unlock),
        ..StoreOptions::default()
    };
    Store::open(&dir, options).with_context(|| format!("opening the store in {}", dir.display()))
}

fn read_package(path: &Path) -> Result<Vec<u8>> {
    let metadata = std::fs::metadata(path)
        .with_context(|| format!("reading the package {}", path.display()))?;
    // Refuse a huge file before reading it into memory; the core repeats the check on the bytes.
    if metadata.len() > tinjau_core::package::MAX_PACKAGE_BYTES as u64 {
        return Err(tinjau_store::StoreError::from(
            tinjau_core::PackageErrors::too_large(metadata.len()),
        ))
        .with_context(|| format!("importing {}", path.display()));
    }
    std::fs::read(path).with_context(|| format!("reading the package {}", path.display()))
}

fn run(cli: &Cli, out: &Output) -> Result<()> {
    match &cli.command {
        Command::Import { package, demo } => {
            let (bytes, source) = match package {
                Some(path) if !demo => (read_package(path)?, path.display().to_string()),
                _ => (
                    DEMO_PACKAGE.as_bytes().to_vec(),
                    "the demo package".to_string(),
                ),
            };
            let mut store = open_store(cli)?;
            let outcome = store
                .import_package(&bytes)
                .with_context(|| format!("importing {source}"))?;
            out.import(&outcome)
        }
        Command::Init { juror, token } => {
            let mut store = open_store(cli)?;
            let juror = store.init_juror(juror)?;
            if let Some(token) = token {
                store
                    .register_device(token.trim())
                    .context("registering this laptop with your token")?;
            }
            out.juror(&juror)
        }
        Command::Visits => {
            let store = open_store(cli)?;
            out.visits(&store.visits()?)
        }
        Command::Visit { visit } => {
            let store = open_store(cli)?;
            out.checklist(&store.checklist(visit)?)
        }
        Command::Verify {
            visit,
            innovation,
            status,
            note,
            evidence,
        } => {
            let mut store = open_store(cli)?;
            let request = VerifyRequest {
                visit: visit.clone(),
                innovation: innovation.clone(),
                verdict: (*status).into(),
                note: note.clone(),
                evidence: evidence.clone(),
            };
            let attached = store.verify(&request)?;
            out.verified(&request, &attached)
        }
        Command::Observe {
            visit,
            text,
            innovation,
            evidence,
        } => {
            let mut store = open_store(cli)?;
            let observation = store.observe(visit, text, innovation.as_deref(), evidence)?;
            out.observed(&observation)
        }
        Command::Score {
            visit,
            indicator,
            value,
            note,
        } => {
            let parsed: f64 = value.trim().parse().map_err(|_| {
                tinjau_store::StoreError::from(tinjau_core::RuleError::ScoreNotANumber(
                    value.clone(),
                ))
            })?;
            let mut store = open_store(cli)?;
            let score = store.score(visit, indicator, parsed, note.as_deref())?;
            out.scored(visit, indicator, &score)
        }
        Command::Coi {
            participant,
            reason,
        } => {
            let mut store = open_store(cli)?;
            store.declare_conflict(participant, reason)?;
            out.line(
                &serde_json::json!({"participant": participant, "conflict_of_interest": reason}),
                &format!("Saved: conflict of interest declared for {participant}"),
            )
        }
        Command::Submit { visit } => {
            let mut store = open_store(cli)?;
            store.submit(visit)?;
            out.line(
                &serde_json::json!({"visit": visit, "sheet": "submitted"}),
                &format!("Submitted: your sheet for {visit} is now read-only"),
            )
        }
        Command::Withdraw { visit } => {
            let mut store = open_store(cli)?;
            store.withdraw_submission(visit)?;
            out.line(
                &serde_json::json!({"visit": visit, "sheet": "draft"}),
                &format!("Withdrawn: your sheet for {visit} is a draft again"),
            )
        }
        Command::Audit => {
            let store = open_store(cli)?;
            let report = tinjau_app::audit(&store)?;
            out.line(
                &report,
                &format!(
                    "Audit OK: {} change-log entries from {} device(s), hash chains intact",
                    report.entries, report.devices
                ),
            )
        }
        Command::Bundle(BundleCommand::Export { out: path }) => {
            let store = open_store(cli)?;
            let bytes = store.export_bundle()?;
            write_file_atomically(path, &bytes)?;
            use sha2::Digest;
            let hash = tinjau_core::hex::encode(&sha2::Sha256::digest(&bytes));
            out.line(
                &serde_json::json!({"file": path, "bytes": bytes.len(), "sha256": hash}),
                &format!(
                    "Wrote the result bundle {} ({} bytes, SHA-256 {hash})",
                    path.display(),
                    bytes.len()
                ),
            )
        }
        Command::Bundle(BundleCommand::Verify { file }) => verify_bundle(out, file),
        Command::Decisions(DecisionsCommand::Export { juror, out: path }) => {
            let store = open_store(cli)?;
            let bytes = store.export_decisions(juror)?;
            write_file_atomically(path, &bytes)?;
            out.line(
                &serde_json::json!({"juror": juror, "file": path, "bytes": bytes.len()}),
                &format!(
                    "Wrote the decisions for {juror} to {} ({} bytes): they take it in with `tinjau sheet import`",
                    path.display(),
                    bytes.len()
                ),
            )
        }
        Command::Sheet(SheetCommand::Export {
            visit,
            out: path,
            with_evidence,
        }) => {
            let mut store = open_store(cli)?;
            let bytes = store.export_sheet(visit, *with_evidence)?;
            write_file_atomically(path, &bytes)?;
            // The file is on disk: the submission in it has left this laptop.
            store.record_sheet_exported(visit)?;
            out.line(
                &serde_json::json!({"visit": visit, "file": path, "bytes": bytes.len()}),
                &format!(
                    "Exported your sheet for {visit} to {} ({} bytes)",
                    path.display(),
                    bytes.len()
                ),
            )
        }
        Command::Sheet(SheetCommand::Import { file }) => {
            let metadata = std::fs::metadata(file)
                .with_context(|| format!("reading the sheet file {}", file.display()))?;
            if metadata.len() > tinjau_store::MAX_SHEET_FILE_BYTES {
                return Err(tinjau_store::StoreError::SheetFile(format!(
                    "{} is {} bytes; the limit is {} bytes",
                    file.display(),
                    metadata.len(),
                    tinjau_store::MAX_SHEET_FILE_BYTES
                ))
                .into());
            }
            let bytes = std::fs::read(file)
                .with_context(|| format!("reading the sheet file {}", file.display()))?;
            let mut store = open_store(cli)?;
            let report = store
                .import_sheet(&bytes)
                .with_context(|| format!("importing {}", file.display()))?;
            out.sheet_imported(&report)
        }
        Command::Merge { visit, method } => {
            let store = open_store(cli)?;
            let result = store.merge(method.map(Method::from))?;
            let only = match visit {
                Some(visit) => Some(
                    store
                        .package()?
                        .visit(visit)
                        .map(|v| v.participant.clone())
                        .ok_or_else(|| tinjau_store::StoreError::UnknownVisit {
                            visit: visit.clone(),
                            known: store
                                .package()
                                .map(|p| {
                                    p.visits
                                        .iter()
                                        .map(|v| v.id.clone())
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                })
                                .unwrap_or_default(),
                        })?,
                ),
                None => None,
            };
            out.merged(&result, only.as_deref())
        }
        Command::Ranking => {
            let store = open_store(cli)?;
            let (results, table) = store.ranking()?;
            out.ranking(&results, &table)
        }
        Command::Reopen {
            visit,
            juror,
            reason,
        } => {
            let mut store = open_store(cli)?;
            store.reopen(visit, juror, reason)?;
            out.line(
                &serde_json::json!({"visit": visit, "juror": juror, "sheet": "draft", "reason": reason}),
                &format!("Reopened: {juror}'s sheet for {visit} is a draft again ({reason})"),
            )
        }
        Command::Tiebreak { order, reason } => {
            let mut store = open_store(cli)?;
            store.break_tie(order, reason)?;
            out.line(
                &serde_json::json!({"order": order, "reason": reason}),
                &format!("Saved: tie broken as {} ({reason})", order.join(" > ")),
            )
        }
        Command::LeadNote {
            visit,
            indicator,
            text,
        } => {
            let mut store = open_store(cli)?;
            store.lead_note(visit, indicator, text)?;
            out.line(
                &serde_json::json!({"visit": visit, "indicator": indicator, "note": text}),
                &format!("Saved: note on {visit} {indicator}"),
            )
        }
        Command::Lock { visit } => {
            let mut store = open_store(cli)?;
            let lock = store.lock(visit)?;
            out.line(&lock, &format!("Locked {visit}: result hash {}", lock.hash))
        }
        Command::Quarantine => {
            let store = open_store(cli)?;
            out.quarantine(&store.quarantine()?)
        }
        Command::Sync(args) => sync_command(cli, out, args),
        Command::Host { listen } => host_command(cli, out, *listen),
        Command::Status => {
            let store = open_store(cli)?;
            out.status(&store.sync_status()?)
        }
        Command::Conflicts => {
            let store = open_store(cli)?;
            out.conflicts(&store.conflicts()?)
        }
        Command::Resolve {
            conflict,
            pick,
            value,
        } => {
            let parse = |text: &str| {
                uuid::Uuid::parse_str(text)
                    .map_err(|_| anyhow::anyhow!("\"{text}\" is not a conflict or change id"))
            };
            let conflict_id = parse(conflict)?;
            let pick = pick.as_deref().map(parse).transpose()?;
            let mut store = open_store(cli)?;
            let value = store.resolve_conflict(conflict_id, pick, value.as_deref())?;
            out.line(
                &serde_json::json!({"conflict": conflict_id, "value": value}),
                &format!(
                    "Resolved {conflict_id} with {value}; it reaches the server at the next sync"
                ),
            )
        }
        Command::Report(report) => {
            use tinjau_app::Document;
            let store = open_store(cli)?;
            let today = chrono::Local::now().date_naive();
            let (document, target) = match report {
                ReportCommand::BeritaAcara { visit, out } => (
                    Document::BeritaAcara {
                        visit: visit.clone(),
                    },
                    out,
                ),
                ReportCommand::Ranking { out } => (Document::Ranking, out),
                ReportCommand::Rekap { out } => (Document::Rekap, out),
                ReportCommand::Csv { out, plain } => (Document::Csv { plain: *plain }, out),
            };
            let files = tinjau_app::render(&store, &document, today)?;
            if let Document::Csv { .. } = document {
                std::fs::create_dir_all(target)
                    .with_context(|| format!("creating {}", target.display()))?;
                let mut written = Vec::new();
                for file in files {
                    let path = target.join(&file.name);
                    write_file_atomically(&path, &file.bytes)?;
                    written.push(path);
                }
                return out.line(
                    &serde_json::json!({"files": written}),
                    &format!("Wrote {} CSV files to {}", written.len(), target.display()),
                );
            }
            // Every document but the CSV tables is one file.
            let bytes = files
                .into_iter()
                .next()
                .map(|f| f.bytes)
                .unwrap_or_default();
            write_file_atomically(target, &bytes)?;
            out.line(
                &serde_json::json!({"file": target, "bytes": bytes.len()}),
                &format!("Wrote {} ({} bytes)", target.display(), bytes.len()),
            )
        }
    }
}

/// Shows sync progress on a terminal, one bar per phase.
struct TerminalProgress {
    bar: Option<indicatif::ProgressBar>,
    phase: Option<tinjau_sync::Phase>,
}

impl TerminalProgress {
    fn new(enabled: bool) -> Self {
        use std::io::IsTerminal;
        TerminalProgress {
            bar: (enabled && std::io::stderr().is_terminal()).then(indicatif::ProgressBar::hidden),
            phase: None,
        }
    }
}

impl tinjau_sync::Progress for TerminalProgress {
    fn update(&mut self, phase: tinjau_sync::Phase, done: u64, total: u64) {
        let Some(bar) = &mut self.bar else { return };
        if self.phase != Some(phase) {
            bar.finish_and_clear();
            *bar = indicatif::ProgressBar::new(total.max(done)).with_style(
                indicatif::ProgressStyle::with_template("{msg:>10} [{bar:30}] {pos}/{len}")
                    .expect("a valid template")
                    .progress_chars("=> "),
            );
            bar.set_message(match phase {
                tinjau_sync::Phase::Push => "kirim",
                tinjau_sync::Phase::Pull => "terima",
                tinjau_sync::Phase::Upload => "unggah",
                tinjau_sync::Phase::Download => "unduh",
            });
            self.phase = Some(phase);
        }
        bar.set_length(total.max(done));
        bar.set_position(done);
    }
}

impl Drop for TerminalProgress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn sync_command(cli: &Cli, out: &Output, args: &SyncArgs) -> Result<()> {
    let SyncArgs {
        server,
        token,
        pin,
        watch,
        interval,
        new_device,
        join,
        originals,
        send_originals,
    } = args;
    let slip = match join {
        Some(path) => {
            let metadata = std::fs::metadata(path)
                .with_context(|| format!("reading the join file {}", path.display()))?;
            if metadata.len() > tinjau_core::join::MAX_JOIN_BYTES as u64 || !metadata.is_file() {
                anyhow::bail!("{} is not a join file", path.display());
            }
            let bytes = std::fs::read(path)
                .with_context(|| format!("reading the join file {}", path.display()))?;
            Some(
                tinjau_core::join::JoinSlip::parse(&bytes)
                    .map_err(anyhow::Error::msg)
                    .with_context(|| format!("reading the join file {}", path.display()))?,
            )
        }
        None => None,
    };
    let (server, token, pin) = match &slip {
        Some(slip) => (
            Some(slip.server.as_str()),
            Some(slip.token.as_str()),
            slip.pin.as_deref(),
        ),
        None => (server.as_deref(), token.as_deref(), pin.as_deref()),
    };
    let (watch, interval) = (*watch, *interval);
    let mut store = open_store(cli)?;
    if *new_device {
        let device = store
            .continue_as_new_device()
            .context("continuing as a new device")?;
        tracing::info!(%device, "this data folder continues as a new device");
    }
    // A visit's hub answers `/v1/hub`; a central server does not.
    let hub = match (server, pin) {
        (Some(server), Some(pin)) if slip.is_none() => tinjau_sync::is_hub(server, pin)?,
        _ => false,
    };
    let client = match (server, token) {
        (Some(server), _) if hub => {
            let stored = store.sync_settings()?.map(|s| s.token);
            let token = token.map(str::to_string).or(stored).context(
                "this laptop has no token yet: add --token TOKEN (the one on your slip) to join \
                 the hub",
            )?;
            let pin = pin.context("a hub needs --pin")?;
            let client = tinjau_sync::Client::join_hub(&store, server, &token, pin)
                .context("joining the visit's hub")?;
            tracing::info!(%server, "joined the visit's hub");
            client
        }
        (Some(server), Some(token)) => {
            let whoami = tinjau_sync::join(&mut store, server, token, pin)?;
            tracing::info!(juror = %whoami.juror, competition = %whoami.competition, "joined the server");
            tinjau_sync::client_for(&store)?
        }
        (Some(_), None) => anyhow::bail!(
            "--server needs --token (your token from the organiser), or --pin with a visit's hub"
        ),
        (None, _) => tinjau_sync::client_for(&store)?,
    };
    if let Some(originals) = originals {
        store
            .set_originals_policy((*originals).into())
            .context("saving when originals are sent")?;
    }
    let plan = if watch {
        sync_loop::Plan::Forever {
            interval: std::time::Duration::from_secs(interval),
        }
    } else {
        sync_loop::Plan::Once { attempts: 3 }
    };
    let mut printed = Ok(());
    let outcome = sync_loop::run(
        plan,
        &mut || {
            let mut progress = TerminalProgress::new(!cli.json);
            if *send_originals {
                tinjau_sync::sync_sending_originals(&mut store, &client, &mut progress)
            } else {
                tinjau_sync::sync_once(&mut store, &client, &mut progress)
            }
        },
        &mut sync_loop::random_unit,
        &mut std::thread::sleep,
        &mut |outcome| match outcome {
            Ok(report) => {
                printed = out.synced(report);
                if printed.is_ok() {
                    ControlFlow::Continue(())
                } else {
                    ControlFlow::Break(())
                }
            }
            Err(error) if error.is_transient() => {
                tracing::warn!(%error, "offline; trying again later");
                ControlFlow::Continue(())
            }
            // Waiting will not mend it (a revoked token, a copied data folder): stop and say so.
            Err(_) => ControlFlow::Break(()),
        },
    );
    outcome?;
    printed
}

/// `tinjau bundle verify`: reads and checks the bundle, replays it into a scratch store and
/// recomputes every lock; a bundle that does not verify is an error naming its line.
fn verify_bundle(out: &Output, file: &Path) -> Result<()> {
    let metadata = std::fs::metadata(file)
        .with_context(|| format!("reading the bundle {}", file.display()))?;
    if !metadata.is_file() || metadata.len() > tinjau_core::bundle::MAX_BUNDLE_BYTES {
        anyhow::bail!("{} is not a result bundle", file.display());
    }
    let bytes =
        std::fs::read(file).with_context(|| format!("reading the bundle {}", file.display()))?;
    let limit =
        tinjau_core::change::clock_limit(chrono::Utc::now().timestamp_millis().max(0) as u64);
    let not_verified = |failure: tinjau_core::bundle::BundleFailure| {
        anyhow::anyhow!("{} does NOT verify: {failure}", file.display())
    };
    let bundle = tinjau_core::bundle::read_bundle(&bytes, limit).map_err(not_verified)?;
    let scratch = tempfile::tempdir().context("making a scratch folder to replay the bundle")?;
    let report = tinjau_store::replay_bundle(scratch.path(), &bundle).map_err(not_verified)?;
    use sha2::Digest;
    let hash = tinjau_core::hex::encode(&sha2::Sha256::digest(&bytes));
    let mut text = format!(
        "{} verifies (SHA-256 {hash}): {} signed changes from {} devices, {} withheld; \
         merge and {} lock(s) recomputed and equal\n",
        file.display(),
        report.changes,
        report.devices,
        report.withheld,
        report.locks.len()
    );
    for (_, name, lock) in &report.locks {
        text.push_str(&format!("  locked: {name} ({lock})\n"));
    }
    let ranking: Vec<serde_json::Value> = report
        .result
        .participants
        .iter()
        .map(|p| {
            text.push_str(&format!(
                "  {:>3}  {:<40} {}\n",
                p.rank.map_or("-".to_string(), |r| r.to_string()),
                p.name,
                p.total.map_or("incomplete".to_string(), |t| format!("{t:.2}"))
            ));
            serde_json::json!({"rank": p.rank, "participant": p.participant_id, "name": p.name, "total": p.total})
        })
        .collect();
    out.line(
        &serde_json::json!({
            "verified": true,
            "sha256": hash,
            "competition": report.competition,
            "changes": report.changes,
            "withheld": report.withheld,
            "devices": report.devices,
            "locks": report.locks.iter().map(|(visit, name, lock)| serde_json::json!({"visit": visit, "participant": name, "hash": lock})).collect::<Vec<_>>(),
            "ranking": ranking,
        }),
        text.trim_end(),
    )
}

/// `tinjau host`: serves the visit's hub from this laptop until the process is stopped.
fn host_command(cli: &Cli, out: &Output, listen: std::net::SocketAddr) -> Result<()> {
    let store = open_store(cli)?;
    let juror = store.juror_id()?;
    let seed = store
        .hub_seed()
        .context("reading what the hub starts from")?;
    if seed
        .package
        .juror(&juror)
        .is_none_or(|j| j.role != tinjau_core::package::Role::Lead)
    {
        anyhow::bail!(
            "only the team lead's laptop hosts the visit's hub (this laptop is \"{juror}\")"
        );
    }
    let known: std::collections::BTreeSet<&str> =
        seed.identities.iter().map(|k| k.juror.as_str()).collect();
    let missing: Vec<&str> = seed
        .package
        .jurors
        .iter()
        .map(|j| j.id.as_str())
        .filter(|j| !known.contains(j))
        .collect();
    drop(store);
    let hub = tinjau_server::hub::start(
        tinjau_server::hub::HubConfig {
            dir: data_dir(cli)?.join("hub"),
            listen,
            clock: std::sync::Arc::new(chrono::Utc::now),
            random: tinjau_server::console::os_random(),
            max_blob_bytes: tinjau_server::DEFAULT_MAX_BLOB_BYTES,
        },
        &seed,
    )
    .with_context(|| format!("starting the hub on {listen}"))?;
    let words = tinjau_core::hub::fingerprint_words(&hub.sha256);
    let address = match hub.addr.ip().is_unspecified() {
        true => format!(
            "https://{}:{}",
            tinjau_app::hub::local_address().unwrap_or_else(|| "THIS-LAPTOP".into()),
            hub.addr.port()
        ),
        false => format!("https://{}", hub.addr),
    };
    let qr = tinjau_app::hub::qr_text(&address, &hub.pin());
    let mut text = format!(
        "The visit's hub is listening on {address}\n\
         Pin (read it out to the jurors): {words}\n\
         Fingerprint: {}\n\
         Jurors join with: tinjau sync --server {address} --pin \"{words}\"\n",
        hub.pin()
    );
    if !missing.is_empty() {
        text.push_str(&format!(
            "Not able to confirm (no identity key here; sync with the central server first): {}\n",
            missing.join(", ")
        ));
    }
    text.push('\n');
    text.push_str(&qr);
    out.line(
        &serde_json::json!({
            "listen": hub.addr.to_string(),
            "address": address,
            "pin_words": words,
            "fingerprint": hub.pin(),
            "unconfirmable_jurors": missing,
        }),
        &text,
    )?;
    hub.wait();
    Ok(())
}

/// Writes a file so that a reader (or a crash) sees either the old file or the whole new one.
fn write_file_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file name", path.display()))?;
    let temp = folder.join(format!(".{}.partial", name.to_string_lossy()));
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.with_context(|| format!("writing {}", path.display()))
}

/// Writes to stdout, turning a closed pipe into an error instead of a panic.
fn write_stdout(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(printable(text).as_bytes())
        .and_then(|()| stdout.flush())
        .context("writing to standard output")
}

/// Text as it may reach a terminal: a control character that some received value carried (a
/// file name with an escape sequence, say) is shown as `?` instead of driving the terminal.
/// Line breaks and tabs stay. JSON output needs none of this: it escapes them itself.
pub(crate) fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\t'))
    {
        text.chars()
            .map(|c| {
                if c.is_control() && !matches!(c, '\n' | '\t') {
                    '?'
                } else {
                    c
                }
            })
            .collect::<String>()
            .into()
    } else {
        text.into()
    }
}
