//! The merge: the worked example of `docs/merge.md` (golden) and the properties it must keep.

use std::collections::BTreeMap;

use proptest::prelude::*;
use tinjau_core::merge::{
    MergeIndicator, MergeInput, MergeParticipant, SheetScores, TieBreak, merge, sensitivity,
    standardised,
};
use tinjau_core::package::{Method, Scale};

fn sheet(juror: &str, participant: &str, scores: &[(&str, f64)]) -> SheetScores {
    SheetScores {
        juror: juror.into(),
        participant: participant.into(),
        submitted: true,
        scores: scores.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
    }
}

fn input(
    indicators: &[(&str, f64)],
    participants: &[&str],
    sheets: Vec<SheetScores>,
) -> MergeInput {
    MergeInput {
        scale: Scale {
            min: 0.0,
            max: 100.0,
        },
        disagreement_threshold: 20.0,
        indicators: indicators
            .iter()
            .map(|(id, w)| MergeIndicator {
                id: id.to_string(),
                name: format!("Indikator {id}"),
                weight: *w,
            })
            .collect(),
        participants: participants
            .iter()
            .map(|id| MergeParticipant {
                id: id.to_string(),
                name: format!("Kecamatan {id}"),
            })
            .collect(),
        sheets,
        conflicts: vec![],
        tie_breaks: vec![],
    }
}

/// The worked example: 3 jurors, 2 participants, 2 indicators with weights 2 and 1.
fn worked_example() -> MergeInput {
    input(
        &[("k1", 2.0), ("k2", 1.0)],
        &["P1", "P2"],
        vec![
            sheet("A", "P1", &[("k1", 80.0), ("k2", 70.0)]),
            sheet("A", "P2", &[("k1", 60.0), ("k2", 90.0)]),
            sheet("B", "P1", &[("k1", 90.0), ("k2", 60.0)]),
            sheet("B", "P2", &[("k1", 70.0), ("k2", 80.0)]),
            sheet("C", "P1", &[("k1", 40.0), ("k2", 65.0)]),
            sheet("C", "P2", &[("k1", 65.0), ("k2", 85.0)]),
        ],
    )
}

fn close(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance
}

#[test]
fn golden_worked_example_mean() {
    let result = merge(&worked_example(), Method::Mean);
    let p1 = result.participant("P1").unwrap();
    let p2 = result.participant("P2").unwrap();
    assert_eq!(p1.cells[0].aggregate, Some(70.0));
    assert_eq!(p1.cells[1].aggregate, Some(65.0));
    assert!(close(p1.total.unwrap(), 205.0 / 3.0, 1e-12));
    assert!(close(p2.total.unwrap(), 215.0 / 3.0, 1e-12));
    assert_eq!((p2.rank, p1.rank), (Some(1), Some(2)));
    assert_eq!(result.participants[0].participant_id, "P2");
    assert!(p1.cells[0].disputed, "(P1, k1) spreads 50 > 20");
    assert_eq!(p1.cells[0].spread, Some(50.0));
    assert!(!p1.cells[1].disputed);
}

#[test]
fn golden_worked_example_median() {
    let result = merge(&worked_example(), Method::Median);
    let p1 = result.participant("P1").unwrap();
    let p2 = result.participant("P2").unwrap();
    assert_eq!(p1.total, Some(75.0));
    assert!(close(p2.total.unwrap(), 215.0 / 3.0, 1e-12));
    assert_eq!((p1.rank, p2.rank), (Some(1), Some(2)));
}

#[test]
fn golden_worked_example_zscore() {
    let input = worked_example();
    let z = standardised(&input);
    assert!(close(z[0][0].unwrap(), 1.0 / 3.0, 1e-12));
    assert!(close(z[0][1].unwrap(), -1.0, 1e-12));
    let result = merge(&input, Method::Zscore);
    let p1 = result.participant("P1").unwrap();
    let p2 = result.participant("P2").unwrap();
    let expect = [
        (p1.cells[0].aggregate.unwrap(), 72.7485),
        (p1.cells[1].aggregate.unwrap(), 64.1988),
        (p1.total.unwrap(), 69.8986),
        (p2.cells[0].aggregate.unwrap(), 62.2515),
        (p2.cells[1].aggregate.unwrap(), 85.8012),
        (p2.total.unwrap(), 70.1014),
    ];
    for (got, want) in expect {
        assert!(close(got, want, 5e-5), "got {got}, want {want}");
    }
    assert_eq!((p2.rank, p1.rank), (Some(1), Some(2)));
}

#[test]
fn golden_worked_example_sensitivity_shows_the_winner_changing() {
    let (results, table) = sensitivity(&worked_example());
    assert_eq!(results.len(), 4);
    assert!(table.winner_changes);
    let p1 = table
        .rows
        .iter()
        .find(|r| r.participant_id == "P1")
        .unwrap();
    let ranks: Vec<Option<u32>> = p1.by_method.iter().map(|m| m.rank).collect();
    // mean, median, trimmed (n = 3: drop 40 and 90 → 80), zscore
    assert_eq!(ranks, [Some(2), Some(1), Some(1), Some(2)]);
}

#[test]
fn a_tied_pair_that_another_method_separates_is_an_order_change_not_a_new_top_three() {
    // P1 and P2 tie under the mean (70 each); the median puts P2 (80) before P1 (70). P3 is
    // third under every method and P4 last.
    let input = input(
        &[("k1", 1.0)],
        &["P1", "P2", "P3", "P4"],
        vec![
            sheet("A", "P1", &[("k1", 70.0)]),
            sheet("B", "P1", &[("k1", 70.0)]),
            sheet("C", "P1", &[("k1", 70.0)]),
            sheet("A", "P2", &[("k1", 50.0)]),
            sheet("B", "P2", &[("k1", 80.0)]),
            sheet("C", "P2", &[("k1", 80.0)]),
            sheet("A", "P3", &[("k1", 60.0)]),
            sheet("B", "P3", &[("k1", 60.0)]),
            sheet("C", "P3", &[("k1", 60.0)]),
            sheet("A", "P4", &[("k1", 10.0)]),
            sheet("B", "P4", &[("k1", 10.0)]),
            sheet("C", "P4", &[("k1", 10.0)]),
        ],
    );
    let (_, table) = sensitivity(&input);
    assert!(!table.top_three_change, "the same three are on top");
    assert!(table.top_three_order_changes, "but not in the same order");
}

#[test]
fn trimmed_drops_one_highest_and_one_lowest_from_three_or_more() {
    let result = merge(&worked_example(), Method::Trimmed);
    let p1 = result.participant("P1").unwrap();
    assert_eq!(p1.cells[0].aggregate, Some(80.0));
    let two = input(
        &[("k1", 1.0)],
        &["P1"],
        vec![
            sheet("A", "P1", &[("k1", 10.0)]),
            sheet("B", "P1", &[("k1", 30.0)]),
        ],
    );
    assert_eq!(
        merge(&two, Method::Trimmed).participants[0].total,
        Some(20.0)
    );
}

#[test]
fn drafts_and_conflicts_do_not_count_and_missing_cells_are_not_zero() {
    let mut data = worked_example();
    data.sheets[4].submitted = false; // C's sheet for P1 is a draft
    data.conflicts.push(("B".into(), "P2".into()));
    let result = merge(&data, Method::Mean);
    let p1 = result.participant("P1").unwrap();
    assert_eq!(p1.cells[0].n, 2);
    assert_eq!(p1.cells[0].aggregate, Some(85.0));
    let p2 = result.participant("P2").unwrap();
    assert_eq!(p2.excluded_jurors, ["B"]);
    assert_eq!(p2.cells[0].n, 2);

    // Nobody scored P3's k2: its total is incomplete and it is not ranked.
    let mut data = worked_example();
    data.participants.push(MergeParticipant {
        id: "P3".into(),
        name: "Kecamatan P3".into(),
    });
    data.sheets.push(sheet("A", "P3", &[("k1", 99.0)]));
    let result = merge(&data, Method::Mean);
    let p3 = result.participant("P3").unwrap();
    assert_eq!((p3.total, p3.rank), (None, None));
    assert_eq!(p3.missing, ["k2"]);
    assert_eq!(result.participants.last().unwrap().participant_id, "P3");
}

#[test]
fn equal_totals_share_a_rank_and_a_recorded_tie_break_orders_them() {
    let mut data = input(
        &[("k1", 1.0)],
        &["P1", "P2", "P3", "P4"],
        vec![
            sheet("A", "P1", &[("k1", 90.0)]),
            sheet("A", "P2", &[("k1", 80.0)]),
            sheet("A", "P3", &[("k1", 80.0)]),
            sheet("A", "P4", &[("k1", 70.0)]),
        ],
    );
    let result = merge(&data, Method::Mean);
    let ranks: Vec<(String, Option<u32>, bool)> = result
        .participants
        .iter()
        .map(|p| (p.participant_id.clone(), p.rank, p.tied))
        .collect();
    assert_eq!(
        ranks,
        [
            ("P1".into(), Some(1), false),
            ("P2".into(), Some(2), true),
            ("P3".into(), Some(2), true),
            ("P4".into(), Some(4), false)
        ]
    );
    data.tie_breaks.push(TieBreak {
        order: vec!["P3".into(), "P2".into()],
        reason: "Inovasi P3 lebih berdampak".into(),
    });
    let result = merge(&data, Method::Mean);
    let order: Vec<(&str, Option<u32>)> = result
        .participants
        .iter()
        .map(|p| (p.participant_id.as_str(), p.rank))
        .collect();
    assert_eq!(
        order,
        [
            ("P1", Some(1)),
            ("P3", Some(2)),
            ("P2", Some(3)),
            ("P4", Some(4))
        ]
    );
    assert_eq!(
        result.participants[1].tie_break_reason.as_deref(),
        Some("Inovasi P3 lebih berdampak")
    );
    assert!(
        result.participants[1].tied,
        "the tie stays flagged beside the decision"
    );
}

#[test]
fn krippendorff_alpha_is_one_for_perfect_agreement_and_low_for_noise() {
    let agree = input(
        &[("k1", 1.0)],
        &["P1", "P2", "P3"],
        ["A", "B", "C"]
            .iter()
            .flat_map(|j| {
                [
                    sheet(j, "P1", &[("k1", 60.0)]),
                    sheet(j, "P2", &[("k1", 75.0)]),
                    sheet(j, "P3", &[("k1", 90.0)]),
                ]
            })
            .collect(),
    );
    assert!(close(
        merge(&agree, Method::Mean).indicators[0].alpha.unwrap(),
        1.0,
        1e-12
    ));
    // Two coders, values (1,2), (2,3), (3,3): alpha = 1 − (n−1)·Σ_within δ² / Σ_all δ²
    // with ordered pairs: Σ_within = 2 + 2 + 0 = 4, Σ_all = 2·6·36 − 2·14² = 40, so 1 − 5·4/40.
    let small = input(
        &[("k1", 1.0)],
        &["u1", "u2", "u3"],
        vec![
            sheet("A", "u1", &[("k1", 1.0)]),
            sheet("B", "u1", &[("k1", 2.0)]),
            sheet("A", "u2", &[("k1", 2.0)]),
            sheet("B", "u2", &[("k1", 3.0)]),
            sheet("A", "u3", &[("k1", 3.0)]),
            sheet("B", "u3", &[("k1", 3.0)]),
        ],
    );
    let alpha = merge(&small, Method::Mean).indicators[0].alpha.unwrap();
    assert!(close(alpha, 0.5, 1e-12), "{alpha}");
    // No variation at all: undefined.
    let flat = input(
        &[("k1", 1.0)],
        &["P1"],
        vec![
            sheet("A", "P1", &[("k1", 5.0)]),
            sheet("B", "P1", &[("k1", 5.0)]),
        ],
    );
    assert_eq!(merge(&flat, Method::Mean).indicators[0].alpha, None);
}

/// Random competitions: up to 5 participants, 3 indicators, 6 jurors, some cells missing.
fn arbitrary_input() -> impl Strategy<Value = MergeInput> {
    (1usize..=5, 1usize..=3, 1usize..=6).prop_flat_map(|(participants, indicators, jurors)| {
        let cells = participants * indicators * jurors;
        (
            proptest::collection::vec(proptest::option::weighted(0.85, 0u32..=100), cells),
            proptest::collection::vec(1u32..=5, indicators),
        )
            .prop_map(move |(values, weights)| {
                let mut sheets = Vec::new();
                for j in 0..jurors {
                    for p in 0..participants {
                        let mut scores = BTreeMap::new();
                        for k in 0..indicators {
                            if let Some(v) = values[(j * participants + p) * indicators + k] {
                                scores.insert(format!("k{k}"), f64::from(v));
                            }
                        }
                        sheets.push(SheetScores {
                            juror: format!("j{j}"),
                            participant: format!("p{p}"),
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
                            id: format!("k{k}"),
                            name: format!("k{k}"),
                            weight: f64::from(weights[k]),
                        })
                        .collect(),
                    participants: (0..participants)
                        .map(|p| MergeParticipant {
                            id: format!("p{p}"),
                            name: format!("p{p}"),
                        })
                        .collect(),
                    sheets,
                    conflicts: vec![],
                    tie_breaks: vec![],
                }
            })
    })
}

proptest! {
    #[test]
    fn jurors_order_does_not_matter(data in arbitrary_input(), seed in any::<u64>()) {
        let mut shuffled = data.clone();
        // A deterministic shuffle driven by the seed.
        let mut state = seed | 1;
        for i in (1..shuffled.sheets.len()).rev() {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            shuffled.sheets.swap(i, (state % (i as u64 + 1)) as usize);
        }
        for method in Method::ALL {
            prop_assert_eq!(merge(&data, method), merge(&shuffled, method));
        }
    }

    #[test]
    fn mean_median_trimmed_lie_within_the_scores(data in arbitrary_input()) {
        for method in [Method::Mean, Method::Median, Method::Trimmed] {
            for participant in merge(&data, method).participants {
                for cell in participant.cells {
                    if let Some(a) = cell.aggregate {
                        prop_assert!(a >= cell.min.unwrap() - 1e-9 && a <= cell.max.unwrap() + 1e-9);
                    }
                }
            }
        }
    }

    #[test]
    fn zscore_standardised_values_ignore_a_jurors_affine_leniency(
        data in arbitrary_input(), a in 0.1f64..5.0, b in -50.0f64..50.0
    ) {
        let mut lenient = data.clone();
        for sheet in lenient.sheets.iter_mut().filter(|s| s.juror == "j0") {
            for value in sheet.scores.values_mut() {
                *value = a * *value + b;
            }
        }
        let before = standardised(&data);
        let after = standardised(&lenient);
        for (row_before, row_after) in before.iter().zip(&after) {
            for (z1, z2) in row_before.iter().zip(row_after) {
                match (z1, z2) {
                    (Some(z1), Some(z2)) => prop_assert!((z1 - z2).abs() < 1e-6, "{} vs {}", z1, z2),
                    (None, None) => {}
                    other => prop_assert!(false, "cells differ in presence: {:?}", other),
                }
            }
        }
    }

    #[test]
    fn identical_jurors_give_identical_results_under_every_method(
        scores in proptest::collection::vec(0u32..=100, 12), jurors in 1usize..=5
    ) {
        // 4 participants × 3 indicators, every juror giving the same scores.
        let mut sheets = Vec::new();
        for j in 0..jurors {
            for p in 0..4 {
                let s: Vec<(String, f64)> = (0..3).map(|k| (format!("k{k}"), f64::from(scores[p * 3 + k]))).collect();
                sheets.push(SheetScores {
                    juror: format!("j{j}"),
                    participant: format!("p{p}"),
                    submitted: true,
                    scores: s.into_iter().collect(),
                });
            }
        }
        let data = input(&[("k0", 1.0), ("k1", 2.0), ("k2", 3.0)], &["p0", "p1", "p2", "p3"], sheets);
        let results: Vec<_> = Method::ALL.iter().map(|&m| merge(&data, m)).collect();
        for result in &results {
            for participant in &result.participants {
                let p: usize = participant.participant_id[1..].parse().unwrap();
                for (k, cell) in participant.cells.iter().enumerate() {
                    let expected = f64::from(scores[p * 3 + k]);
                    prop_assert!((cell.aggregate.unwrap() - expected).abs() < 1e-6,
                        "{:?}: {} vs {}", result.method, cell.aggregate.unwrap(), expected);
                }
            }
            let ranks: Vec<_> = result.participants.iter().map(|p| (&p.participant_id, p.rank)).collect();
            let first: Vec<_> = results[0].participants.iter().map(|p| (&p.participant_id, p.rank)).collect();
            prop_assert_eq!(ranks, first);
        }
    }
}
