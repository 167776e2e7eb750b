//! The organiser's workbook from the command line: from the template to a published
//! competition without writing JSON, and a workbook with a mistake refused in Indonesian,
//! naming the sheet, the row and the column, with nothing published.

use std::process::Command;

use tinjau_core::Package;
use tinjau_tests::{DEMO, Db, Server, bin};

fn run(command: &mut Command) -> (bool, String, String) {
    let output = command.output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn package_command(args: &[&std::ffi::OsStr]) -> (bool, String, String) {
    run(Command::new(bin("tinjau-server")).arg("package").args(args))
}

fn the_organiser_publishes_from_a_workbook(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("kompetisi.xlsx");
    let json = dir.path().join("paket.json");
    let again = dir.path().join("lagi.xlsx");
    let (ok, _, err) =
        package_command(&["template".as_ref(), "--out".as_ref(), template.as_os_str()]);
    assert!(ok, "{err}");
    let (ok, _, err) = package_command(&[
        "from-xlsx".as_ref(),
        template.as_os_str(),
        "--out".as_ref(),
        json.as_os_str(),
    ]);
    assert!(ok, "{err}");
    let demo = Package::parse(DEMO.as_bytes()).unwrap();
    assert_eq!(
        Package::parse(&std::fs::read(&json).unwrap()).unwrap(),
        demo
    );
    let (ok, _, err) = package_command(&[
        "to-xlsx".as_ref(),
        json.as_os_str(),
        "--out".as_ref(),
        again.as_os_str(),
    ]);
    assert!(ok, "{err}");
    assert_eq!(
        tinjau_report::workbook::from_xlsx(&std::fs::read(&again).unwrap()).unwrap(),
        demo,
        "package → workbook → package is lossless"
    );

    // A server publishes the workbook itself; the same content is "unchanged".
    let (server, _) = Server::start(db, &[("ketua", "lead")]);
    let (ok, out, err) = run(server.admin_command().arg("publish").arg(&template));
    assert!(ok && out.contains("unchanged"), "{out}{err}");

    // A new revision shows what it changes before it is published, and publishes nothing.
    let mut next = demo.clone();
    next.revision += 1;
    next.jurors.retain(|j| j.id != "dindik");
    for visit in &mut next.visits {
        visit.jurors.retain(|j| j != "dindik");
    }
    let next_path = dir.path().join("revisi-2.xlsx");
    std::fs::write(&next_path, tinjau_report::workbook::to_xlsx(&next).unwrap()).unwrap();
    let (ok, out, err) = run(server
        .admin_command()
        .args(["publish", "--dry-run"])
        .arg(&next_path));
    assert!(
        ok && out.contains("revision 1 → 2") && out.contains("jurors removed: dindik"),
        "{out}{err}"
    );
    let (ok, out, err) = run(server.admin_command().arg("publish").arg(&json));
    assert!(
        ok && out.contains("unchanged"),
        "the dry run published nothing: {out}{err}"
    );

    // A mistake: an innovation claimed under an indicator that does not exist.
    let mut broken = demo.clone();
    broken.revision += 1;
    broken.participants[0].innovations[0].indicator = "I9".into();
    let broken_path = dir.path().join("salah.xlsx");
    std::fs::write(
        &broken_path,
        tinjau_report::workbook::to_xlsx(&broken).unwrap(),
    )
    .unwrap();
    let (ok, _, err) = run(server.admin_command().arg("publish").arg(&broken_path));
    assert!(!ok);
    assert!(
        err.contains("Sheet Inovasi, baris 2, kolom C: indikator I9 tidak ada di sheet Indikator"),
        "{err}"
    );
    // Nothing was published: the revision is still the first.
    let (ok, out, err) = run(server.admin_command().arg("publish").arg(&json));
    assert!(ok && out.contains("unchanged"), "{out}{err}");
}

tinjau_tests::per_backend!(the_organiser_publishes_from_a_workbook);

fn a_juror_joins_with_the_file_the_organiser_gave(db: Db) {
    let (server, _) = Server::start(db, &[("ketua", "lead")]);
    let dir = tempfile::tempdir().unwrap();
    let slip = dir.path().join("akademisi.tinjau");
    let token = server.join_file("akademisi", &slip);
    let text = std::fs::read_to_string(&slip).unwrap();
    assert!(
        text.contains("tinjau-join/1") && text.contains(token.trim()),
        "{text}"
    );

    let laptop = dir.path().join("laptop");
    let tinjau = || {
        let mut command = tinjau_tests::tinjau_cli();
        command
            .arg("--data-dir")
            .arg(&laptop)
            .env_remove("TINJAU_DATA_DIR");
        command
    };
    let (ok, out, err) = run(tinjau().args(["sync", "--join"]).arg(&slip));
    assert!(ok, "{out}{err}");
    let store = tinjau_tests::open_app_store(&laptop);
    assert_eq!(store.juror_id().unwrap(), "akademisi");
    drop(store);

    // Something else passed off as a join file is refused in words, and joins nothing.
    let fake = dir.path().join("palsu.tinjau");
    let elsewhere = dir.path().join("elsewhere");
    for content in [
        &b"{\"format\":\"tinjau-join/1\"}"[..],
        b"\x00\x01garbage",
        &[b'x'; 20_000],
    ] {
        std::fs::write(&fake, content).unwrap();
        let (ok, _, err) = run(tinjau_tests::tinjau_cli()
            .arg("--data-dir")
            .arg(&elsewhere)
            .args(["sync", "--join"])
            .arg(&fake));
        assert!(!ok && err.contains("join file"), "{err}");
    }
    assert!(
        tinjau_store::Store::open(
            &elsewhere,
            tinjau_store::StoreOptions {
                unlock: Some(tinjau_tests::test_unlock()),
                ..tinjau_store::StoreOptions::default()
            }
        )
        .map(|s| s.package().is_err())
        .unwrap_or(true),
        "a refused join file imports nothing"
    );
}

tinjau_tests::per_backend!(a_juror_joins_with_the_file_the_organiser_gave);
