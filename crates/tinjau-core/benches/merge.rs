//! `cargo bench -p tinjau-core --bench merge`
//!
//! Merges 102,600 scores (38 provinces × 30 participants × 10 jurors × 9 indicators, as one
//! national merge of 1,140 participants) with all four methods and Krippendorff's alpha (the
//! sensitivity table), and reports the median and worst of repeated runs.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Instant;

use tinjau_core::merge::{MergeIndicator, MergeInput, MergeParticipant, SheetScores, sensitivity};
use tinjau_core::package::Scale;

fn national_input() -> MergeInput {
    let (participants, jurors, indicators) = (38 * 30, 10, 9);
    let mut state: u64 = 0x7131_a1a5;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as f64 / (1u64 << 31) as f64
    };
    let mut sheets = Vec::with_capacity(participants * jurors);
    for p in 0..participants {
        let quality = 50.0 + 40.0 * next();
        for j in 0..jurors {
            let leniency = -8.0 + 16.0 * (j as f64 / jurors as f64);
            let scores: BTreeMap<String, f64> = (0..indicators)
                .map(|k| {
                    (
                        format!("I{k}"),
                        (quality + leniency + 10.0 * (next() - 0.5)).clamp(0.0, 100.0),
                    )
                })
                .collect();
            sheets.push(SheetScores {
                juror: format!("juri-{j}"),
                participant: format!("kecamatan-{p}"),
                submitted: true,
                scores,
            });
        }
    }
    MergeInput {
        scale: Scale {
            min: 0.0,
            max: 100.0,
        },
        disagreement_threshold: 20.0,
        indicators: (0..indicators)
            .map(|k| MergeIndicator {
                id: format!("I{k}"),
                name: format!("Indikator {k}"),
                weight: 1.0 + k as f64,
            })
            .collect(),
        participants: (0..participants)
            .map(|p| MergeParticipant {
                id: format!("kecamatan-{p}"),
                name: format!("Kecamatan {p}"),
            })
            .collect(),
        sheets,
        conflicts: vec![],
        tie_breaks: vec![],
    }
}

fn main() {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let input = national_input();
    let scores: usize = input.sheets.iter().map(|s| s.scores.len()).sum();
    let runs = if smoke { 1 } else { 21 };
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let (results, table) = sensitivity(&input);
        samples.push(started.elapsed());
        assert_eq!(results.len(), 4);
        assert_eq!(table.rows.len(), input.participants.len());
    }
    samples.sort();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "merge of {scores} scores, all four methods + alpha (sensitivity): median {:.1?}, worst {:.1?} over {runs} runs (target < 200 ms)",
        samples[samples.len() / 2],
        samples[samples.len() - 1]
    );
}
