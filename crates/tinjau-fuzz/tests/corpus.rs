//! Replays every committed fuzz input (`fuzz/corpus/TARGET/*`, and `fuzz/artifacts/` when
//! present) through its target's body on the stable toolchain: what the fuzzer once found, or
//! reached, stays fixed in every test run.

use std::path::Path;

#[test]
fn every_committed_fuzz_input_passes_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut replayed = 0;
    for (target, body) in tinjau_fuzz::TARGETS {
        for folder in ["corpus", "artifacts"] {
            let dir = root.join(folder).join(target);
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                let data = std::fs::read(&path).unwrap();
                let result = std::panic::catch_unwind(|| body(&data));
                assert!(result.is_ok(), "{target}: {} panics", path.display());
                replayed += 1;
            }
        }
    }
    // Every target has a committed corpus: an empty replay would prove nothing.
    for (target, _) in tinjau_fuzz::TARGETS {
        let dir = root.join("corpus").join(target);
        let count = std::fs::read_dir(&dir).map_or(0, |d| d.count());
        assert!(count > 0, "fuzz/corpus/{target} is empty");
    }
    assert!(replayed > 0);
}
