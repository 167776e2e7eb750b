//! The desktop app's command layer is generated from the Rust commands themselves: this test
//! reads every `#[tauri::command]` in `src-tauri/src/lib.rs` (with `syn`), and writes
//! `ui/src/lib/commands.ts` — one typed function per command, its arguments named and typed as
//! in Rust, its answer typed by the generated bindings. The UI calls only these, and
//! `svelte-check` (run by `scripts/ui.sh build`) type-checks every call, so a renamed command
//! or argument, or a changed type, fails the build. The test fails when the file is stale; run
//! it with `TINJAU_UPDATE_BINDINGS=1` to write it again.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use quote::ToTokens;
use syn::{FnArg, GenericArgument, Item, PathArguments, ReturnType, Type};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// One command as the UI sees it.
struct Command {
    name: String,
    /// Arguments the UI passes by name, with their TypeScript types.
    args: Vec<(String, String)>,
    /// The command reads raw bytes (a file) from the request body, and perhaps headers.
    raw_body: bool,
    answer: String,
    doc: Vec<String>,
}

/// `snake_case` → `camelCase` (Tauri's own renaming of arguments).
fn camel(name: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(path) => path.path.segments.last(),
        _ => None,
    }
}

fn generic(segment: &syn::PathSegment) -> Option<&Type> {
    match &segment.arguments {
        PathArguments::AngleBracketed(args) => args.args.iter().find_map(|a| match a {
            GenericArgument::Type(t) => Some(t),
            _ => None,
        }),
        _ => None,
    }
}

/// The TypeScript type of a Rust type crossing IPC; named types must be generated bindings.
fn typescript(ty: &Type, imports: &mut BTreeSet<String>) -> String {
    if let Type::Tuple(tuple) = ty
        && tuple.elems.is_empty()
    {
        return "void".into();
    }
    let segment = last_segment(ty).unwrap_or_else(|| {
        panic!(
            "a command type the generator does not know: {}",
            ty.to_token_stream()
        )
    });
    let name = segment.ident.to_string();
    match name.as_str() {
        "String" => "string".into(),
        "bool" => "boolean".into(),
        "f64" | "f32" | "u64" | "i64" | "u32" | "i32" | "usize" => "number".into(),
        "Response" => "ArrayBuffer".into(),
        "Option" => format!(
            "{} | null",
            typescript(generic(segment).expect("Option<T>"), imports)
        ),
        "Vec" => format!(
            "{}[]",
            typescript(generic(segment).expect("Vec<T>"), imports)
        ),
        _ => {
            assert!(
                root().join(format!("ui/src/bindings/{name}.ts")).exists(),
                "{name} crosses IPC but has no generated binding: add it to crates/tinjau-app/tests/bindings.rs"
            );
            imports.insert(name.clone());
            name
        }
    }
}

fn commands(imports: &mut BTreeSet<String>) -> Vec<Command> {
    let source = std::fs::read_to_string(root().join("src-tauri/src/lib.rs")).unwrap();
    let file = syn::parse_file(&source).expect("src-tauri/src/lib.rs parses");
    let mut out = Vec::new();
    for item in file.items {
        let Item::Fn(function) = item else { continue };
        let is_command = function.attrs.iter().any(|a| {
            a.path()
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect::<Vec<_>>()
                == ["tauri", "command"]
        });
        if !is_command {
            continue;
        }
        let doc = function
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("doc"))
            .filter_map(|a| match &a.meta {
                syn::Meta::NameValue(nv) => match &nv.value {
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(s),
                        ..
                    }) => Some(s.value().trim().to_string()),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        let mut args = Vec::new();
        let mut raw_body = false;
        for input in &function.sig.inputs {
            let FnArg::Typed(arg) = input else { continue };
            let kind = last_segment(&arg.ty).map(|s| s.ident.to_string());
            match kind.as_deref() {
                // Handed in by Tauri, not by the UI.
                Some("State" | "AppHandle" | "Window" | "Webview") => {}
                Some("Request") => raw_body = true,
                _ => {
                    let name = arg.pat.to_token_stream().to_string();
                    args.push((camel(&name), typescript(&arg.ty, imports)));
                }
            }
        }
        let ReturnType::Type(_, answer) = &function.sig.output else {
            panic!("command {} answers nothing", function.sig.ident)
        };
        let result = last_segment(answer).expect("CommandResult<T>");
        assert_eq!(
            result.ident, "CommandResult",
            "command {} must answer CommandResult<T>",
            function.sig.ident
        );
        let answer = typescript(generic(result).expect("CommandResult<T>"), imports);
        out.push(Command {
            name: function.sig.ident.to_string(),
            args,
            raw_body,
            answer,
            doc,
        });
    }
    out
}

fn generate() -> (String, Vec<String>) {
    let mut imports = BTreeSet::new();
    let commands = commands(&mut imports);
    let mut text = String::from(
        "// Generated from the #[tauri::command] functions in src-tauri/src/lib.rs by\n\
         // tests/workspace/commands.rs. Do not edit: run TINJAU_UPDATE_BINDINGS=1 cargo test -p tinjau-tests --test workspace.\n",
    );
    for name in &imports {
        writeln!(
            text,
            "import type {{ {name} }} from \"../bindings/{name}\";"
        )
        .unwrap();
    }
    text.push_str("import { call } from \"./ipc\";\n\nexport const commands = {\n");
    for command in &commands {
        for line in &command.doc {
            writeln!(text, "  // {line}").unwrap();
        }
        let mut params: Vec<String> = Vec::new();
        if command.raw_body {
            params.push("body: Uint8Array".into());
            params.push("headers?: Record<string, string>".into());
        }
        params.extend(command.args.iter().map(|(n, t)| format!("{n}: {t}")));
        let payload = if command.raw_body {
            ", body, headers".to_string()
        } else if command.args.is_empty() {
            String::new()
        } else {
            let names: Vec<&str> = command.args.iter().map(|(n, _)| n.as_str()).collect();
            format!(", {{ {} }}", names.join(", "))
        };
        writeln!(
            text,
            "  {}: ({}): Promise<{}> => call<{}>(\"{}\"{payload}),",
            camel(&command.name),
            params.join(", "),
            command.answer,
            command.answer,
            command.name
        )
        .unwrap();
    }
    text.push_str("};\n");
    (text, commands.into_iter().map(|c| c.name).collect())
}

#[test]
fn the_ui_command_layer_is_generated_from_the_rust_commands() {
    let (text, names) = generate();
    assert!(names.len() > 20, "the commands were found: {names:?}");
    let path = root().join("ui/src/lib/commands.ts");
    if std::env::var("TINJAU_UPDATE_BINDINGS").as_deref() == Ok("1") {
        std::fs::write(&path, &text).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&path).ok().as_deref(),
        Some(text.as_str()),
        "ui/src/lib/commands.ts is stale; run TINJAU_UPDATE_BINDINGS=1 cargo test -p tinjau-tests --test workspace"
    );
    // The shell registers exactly the commands it defines.
    let lib = std::fs::read_to_string(root().join("src-tauri/src/lib.rs")).unwrap();
    let handler = &lib[lib.find("generate_handler![").unwrap()..];
    let handler = &handler["generate_handler![".len()..handler.find(']').unwrap()];
    let registered: BTreeSet<String> = handler
        .split(',')
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .collect();
    let defined: BTreeSet<String> = names.into_iter().collect();
    assert_eq!(
        registered, defined,
        "generate_handler! and the #[tauri::command] functions differ"
    );
}

#[test]
fn arguments_are_renamed_as_tauri_does() {
    assert_eq!(camel("visit"), "visit");
    assert_eq!(camel("new_device"), "newDevice");
    assert_eq!(camel("x_file_name"), "xFileName");
}
