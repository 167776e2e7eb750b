//! `tinjau-server`: serve, publish a competition package, issue or revoke tokens.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use tinjau_core::Package;
use tinjau_core::sync::AccessRole;
use tinjau_server::console::{
    Console, ConsoleOptions, issue_slips, jurors_without_token, os_random,
};
use tinjau_server::{
    AppState, Backend, DEFAULT_MAX_BLOB_BYTES, HEADER_READ_TIMEOUT, new_token, router, token_hash,
};

#[derive(Debug, Parser)]
#[command(
    name = "tinjau-server",
    version,
    about = "Tinjau's central server: sync for jurors, results for the lead"
)]
struct Cli {
    /// Where the embedded SQLite database lives (ignored with --database).
    #[arg(
        long,
        global = true,
        env = "TINJAU_SERVER_DATA_DIR",
        value_name = "DIR",
        default_value = "tinjau-server-data"
    )]
    data_dir: PathBuf,
    /// A PostgreSQL database instead of the embedded SQLite (postgres://user:pass@host/db).
    #[arg(long, global = true, env = "TINJAU_DATABASE_URL", value_name = "URL")]
    database: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the sync API.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8716")]
        listen: SocketAddr,
        /// PEM certificate chain for HTTPS.
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// PEM private key for HTTPS.
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Allow plain HTTP on an address other than loopback.
        #[arg(long)]
        insecure: bool,
        /// Largest evidence file accepted, in MiB.
        #[arg(long, default_value_t = DEFAULT_MAX_BLOB_BYTES / (1024 * 1024))]
        max_evidence_mib: u64,
        /// The address jurors reach this server at (printed on the console's join slips);
        /// defaults to the address it listens on.
        #[arg(long, value_name = "URL", env = "TINJAU_PUBLIC_URL")]
        public_url: Option<String>,
    },
    /// Load or update a competition package (validated as the client validates it): the JSON
    /// package or the organiser's workbook (.xlsx).
    Publish {
        package: PathBuf,
        /// Show what the new revision changes (participants, innovations, jurors, …) and
        /// publish nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Copy the whole database (changes, evidence, tokens) to one file while the server runs
    /// (SQLite; for PostgreSQL use pg_dump). Restore: stop the server and put the file in the
    /// data directory as tinjau-server.sqlite3.
    Backup {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// The competition workbook: a template to fill in, and conversions to and from JSON.
    #[command(subcommand)]
    Package(PackageCommand),
    /// Revoke a device (a lost or stolen laptop): its changes from a chain position on are
    /// refused here and by every laptop that pulls. Revoke the juror's token as well, and give
    /// them a new one for their new laptop.
    RevokeDevice {
        /// The device's id (`tinjau status` on the laptop, or the console's juror page).
        #[arg(long)]
        device: uuid::Uuid,
        /// The first position refused; by default the one after the last this server holds.
        #[arg(long, value_name = "SEQ")]
        from_seq: Option<u64>,
        /// The competition, when several are published.
        #[arg(long)]
        competition: Option<String>,
    },
    /// Issue a token for a juror (printed once; only its hash is kept), or revoke one.
    Token {
        #[arg(long, required_unless_present_any = ["revoke", "organiser", "all"])]
        juror: Option<String>,
        /// A token for the organiser's console (`--role organiser --juror NAME`).
        #[arg(long, value_name = "NAME", conflicts_with_all = ["juror", "all", "revoke"])]
        organiser: Option<String>,
        /// A token for every juror of the competition who holds none, with their slips.
        #[arg(long, requires = "slips", conflicts_with_all = ["juror", "revoke"])]
        all: bool,
        /// Where to write the join slips (PDF, one A4 page per juror) for `--all`.
        #[arg(long, value_name = "FILE", requires_all = ["all", "server_url"])]
        slips: Option<PathBuf>,
        /// A file with the server's TLS certificate (PEM): its SHA-256 is printed on the slips
        /// and written to join files (instead of --pin).
        #[arg(long, value_name = "PEM", conflicts_with = "pin")]
        tls_cert: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "juror")]
        role: RoleArg,
        /// The competition, when several are published.
        #[arg(long)]
        competition: Option<String>,
        /// Withdraw this token.
        #[arg(long, value_name = "TOKEN", conflicts_with = "juror")]
        revoke: Option<String>,
        /// Also write a join file (`*.tinjau`) the juror opens with `tinjau sync --join FILE`.
        #[arg(
            long,
            value_name = "FILE",
            requires = "server_url",
            conflicts_with = "revoke"
        )]
        join_file: Option<PathBuf>,
        /// The address jurors reach this server at, for the join file.
        #[arg(long, value_name = "URL")]
        server_url: Option<String>,
        /// SHA-256 of the server's self-signed certificate, for the join file.
        #[arg(long, value_name = "SHA256")]
        pin: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum PackageCommand {
    /// Write the XLSX template (every sheet with notes, the SKK Jawa Timur 2023 example).
    Template {
        #[arg(long)]
        out: PathBuf,
    },
    /// Convert a filled-in workbook into a package (all or nothing; problems by sheet, row and
    /// column, in Indonesian).
    FromXlsx {
        workbook: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Convert a package into a workbook.
    ToXlsx {
        package: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RoleArg {
    Juror,
    Lead,
    Organiser,
}

impl From<RoleArg> for AccessRole {
    fn from(role: RoleArg) -> AccessRole {
        match role {
            RoleArg::Juror => AccessRole::Juror,
            RoleArg::Lead => AccessRole::Lead,
            RoleArg::Organiser => AccessRole::Organiser,
        }
    }
}

fn say(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{text}")?;
    stdout.flush()?;
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn open_backend(cli: &Cli) -> Result<Backend> {
    match &cli.database {
        Some(url) => Backend::postgres(url)
            .await
            .context("connecting to PostgreSQL"),
        None => Backend::sqlite(&cli.data_dir)
            .with_context(|| format!("opening {}", cli.data_dir.display())),
    }
}

/// A package from a JSON file or an organiser's workbook (by its content: an XLSX is a zip).
fn read_package(path: &std::path::Path) -> Result<Package> {
    let metadata =
        std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if metadata.len() > tinjau_core::package::MAX_PACKAGE_BYTES as u64 {
        bail!(
            "{} is {} bytes; a package is at most 16 MiB",
            path.display(),
            metadata.len()
        );
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    if bytes.starts_with(b"PK") {
        return tinjau_report::workbook::from_xlsx(&bytes)
            .with_context(|| format!("reading the workbook {}", path.display()));
    }
    Package::parse(&bytes).with_context(|| format!("validating {}", path.display()))
}

/// Writes a file whole or not at all.
fn write_file(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file name", path.display()))?;
    let partial = path.with_file_name(format!(".{}.partial", name.to_string_lossy()));
    std::fs::write(&partial, bytes)
        .and_then(|()| std::fs::rename(&partial, path))
        .with_context(|| format!("writing {}", path.display()))
}

/// The workbook commands: files in, files out, no database.
fn package_command(command: &PackageCommand) -> Result<()> {
    match command {
        PackageCommand::Template { out } => {
            write_file(out, &tinjau_report::workbook::template()?)?;
            say(&format!("Wrote the template to {}", out.display()))
        }
        PackageCommand::FromXlsx { workbook, out } => {
            let package = read_package(workbook)?;
            let json = serde_json::to_string_pretty(&package)?;
            write_file(out, json.as_bytes())?;
            say(&format!(
                "Wrote {} (revision {})",
                out.display(),
                package.revision
            ))
        }
        PackageCommand::ToXlsx { package, out } => {
            let package = read_package(package)?;
            write_file(out, &tinjau_report::workbook::to_xlsx(&package)?)?;
            say(&format!("Wrote {}", out.display()))
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    if let Command::Package(command) = &cli.command {
        return package_command(command);
    }
    let backend = open_backend(&cli).await?;
    match cli.command {
        Command::Package(command) => package_command(&command),
        Command::Backup { out } => {
            let size = backend.backup(&out).await?;
            say(&format!("Backed up {size} bytes to {}", out.display()))
        }
        Command::Publish { package, dry_run } => {
            let package = read_package(&package)?;
            if dry_run {
                let id = &package.competition.id;
                return match backend.package(id).await {
                    Ok(stored) => say(&format!(
                        "revision {} → {} of {id}:\n{}",
                        stored.revision,
                        package.revision,
                        tinjau_core::package::PackageDiff::between(&stored, &package)
                    )),
                    Err(tinjau_server::BackendError::NotFound(_)) => say(&format!(
                        "{id} is not published yet: publishing adds {} participants, {} jurors, {} visits",
                        package.participants.len(),
                        package.jurors.len(),
                        package.visits.len()
                    )),
                    Err(e) => Err(e.into()),
                };
            }
            let outcome = backend.publish(&package, chrono::Utc::now()).await?;
            say(&serde_json::to_string(&outcome)?)
        }
        Command::RevokeDevice {
            device,
            from_seq,
            competition,
        } => {
            let (competition, from) = backend
                .revoke_device(competition.as_deref(), device, from_seq, chrono::Utc::now())
                .await?;
            say(&format!(
                "device {device} of {competition} revoked from its change {from} on"
            ))
        }
        Command::Token {
            juror,
            organiser,
            all,
            slips,
            tls_cert,
            role,
            competition,
            revoke,
            join_file,
            server_url,
            pin,
        } => {
            let now = chrono::Utc::now();
            if let Some(token) = revoke {
                if !backend.revoke_token(&token_hash(&token), now).await? {
                    bail!("no such token");
                }
                return say("revoked");
            }
            let pin = match tls_cert {
                Some(path) => Some(certificate_pin(&path)?),
                None => pin,
            };
            if all {
                let (path, server) = slips.zip(server_url).expect("clap requires both");
                return issue_all(
                    &backend,
                    competition.as_deref(),
                    &path,
                    &server,
                    pin.as_deref(),
                )
                .await;
            }
            let (juror, role) = match organiser {
                Some(name) => (name, AccessRole::Organiser),
                None => (
                    juror.expect("clap requires --juror without --revoke"),
                    role.into(),
                ),
            };
            let token = new_token(&(os_random())());
            let competition = backend
                .issue_token(competition.as_deref(), &juror, role, &token, now)
                .await?;
            tracing::info!(%juror, %competition, "issued a token");
            if let (Some(path), Some(server)) = (join_file, server_url) {
                let slip = tinjau_core::join::JoinSlip::new(
                    &server,
                    &token,
                    pin.as_deref(),
                    &competition,
                    &juror,
                );
                // Checked as the juror's laptop will check it, before it is handed out.
                tinjau_core::join::JoinSlip::parse(slip.encode().as_bytes())
                    .map_err(anyhow::Error::msg)
                    .context("the join file would not be accepted")?;
                write_file(&path, slip.encode().as_bytes())?;
            }
            say(&token)
        }
        Command::Serve {
            listen,
            tls_cert,
            tls_key,
            insecure,
            max_evidence_mib,
            public_url,
        } => {
            let tls = tls_cert.is_some();
            if !tls && !listen.ip().is_loopback() && !insecure {
                bail!(
                    "refusing plain HTTP on {listen}: serve HTTPS with --tls-cert and --tls-key, or pass --insecure"
                );
            }
            let pin = tls_cert.as_deref().map(certificate_pin).transpose()?;
            let listener =
                std::net::TcpListener::bind(listen).with_context(|| format!("binding {listen}"))?;
            listener.set_nonblocking(true)?;
            let scheme = if tls { "https" } else { "http" };
            let address = format!("{scheme}://{}", listener.local_addr()?);
            let console = Console::new(
                ConsoleOptions {
                    public_url: Some(public_url.unwrap_or_else(|| address.clone())),
                    pin,
                    secure_cookie: tls,
                },
                os_random(),
            );
            let state = AppState {
                backend: Arc::new(backend),
                clock: Arc::new(chrono::Utc::now),
                max_blob_bytes: max_evidence_mib.saturating_mul(1024 * 1024),
                console,
            };
            let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
            let handle = axum_server::Handle::new();
            let shutdown = handle.clone();
            tokio::spawn(async move {
                shutdown_signal().await;
                tracing::info!("shutting down: finishing requests in flight");
                shutdown.graceful_shutdown(Some(std::time::Duration::from_secs(30)));
            });
            match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => {
                    let _ = rustls::crypto::ring::default_provider().install_default();
                    let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(&cert, &key)
                        .await
                        .with_context(|| {
                            format!("loading {} and {}", cert.display(), key.display())
                        })?;
                    say(&format!("listening on {address}"))?;
                    let mut server = axum_server::from_tcp_rustls(listener, config)?;
                    server
                        .http_builder()
                        .http1()
                        .header_read_timeout(HEADER_READ_TIMEOUT);
                    server.handle(handle).serve(app).await?;
                }
                _ => {
                    say(&format!("listening on {address}"))?;
                    let mut server = axum_server::from_tcp(listener)?;
                    server
                        .http_builder()
                        .http1()
                        .header_read_timeout(HEADER_READ_TIMEOUT);
                    server.handle(handle).serve(app).await?;
                }
            }
            Ok(())
        }
    }
}

/// SHA-256 (hex) of the first certificate in a PEM file, as laptops pin it.
fn certificate_pin(path: &std::path::Path) -> Result<String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let certificate = CertificateDer::pem_file_iter(path)
        .with_context(|| format!("reading {}", path.display()))?
        .next()
        .with_context(|| format!("{} holds no certificate", path.display()))?
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(fingerprint(&certificate))
}

fn fingerprint(certificate: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(certificate)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `token --all --slips FILE`: a token and a slip for every juror who holds no token.
async fn issue_all(
    backend: &Backend,
    competition: Option<&str>,
    path: &std::path::Path,
    server: &str,
    pin: Option<&str>,
) -> Result<()> {
    // Checked before any token is issued: a slip nobody can save is a token nobody knows.
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && !folder.is_dir()
    {
        bail!(
            "{} is not a folder: the slips cannot be written there",
            folder.display()
        );
    }
    let competition = backend.competition(competition).await?;
    let jurors = jurors_without_token(backend, &competition)
        .await
        .map_err(|e| anyhow::anyhow!(e.message))?;
    if jurors.is_empty() {
        bail!("every juror of {competition} already holds a token: revoke one to issue a new slip");
    }
    let random = os_random();
    let (pages, pdf) = issue_slips(
        backend,
        &random,
        chrono::Utc::now(),
        &competition,
        &jurors,
        server,
        pin,
    )
    .await
    .map_err(|e| anyhow::anyhow!(e.message))?;
    write_file(path, &pdf)?;
    for page in &pages {
        say(&format!("{}\t{}", page.join.juror, page.join.token))?;
    }
    tracing::info!(slips = pages.len(), path = %path.display(), "wrote the join slips");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
