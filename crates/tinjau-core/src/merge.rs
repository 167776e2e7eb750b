//! The team lead's merge, exactly as `docs/merge.md` defines it.
//!
//! The same inputs give the same result on every machine: the CLI, the desktop app and the
//! server all call [`merge`] and [`sensitivity`]. Nothing here rounds; display rounds to two
//! decimals. Missing cells are reported, never read as 0.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::package::{Method, Package, Scale};

/// Totals equal within this are ties.
pub const TIE_EPSILON: f64 = 1e-9;

/// One juror's sheet for one participant's visit, as the lead's store holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct SheetScores {
    pub juror: String,
    pub participant: String,
    /// Drafts never count.
    pub submitted: bool,
    /// Indicator id → score.
    pub scores: BTreeMap<String, f64>,
}

/// The lead's recorded decision on a tie: the tied participants in the order decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TieBreak {
    pub order: Vec<String>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeIndicator {
    pub id: String,
    pub name: String,
    pub weight: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeParticipant {
    pub id: String,
    pub name: String,
}

/// Everything the merge needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeInput {
    pub scale: Scale,
    /// In scale points.
    pub disagreement_threshold: f64,
    pub indicators: Vec<MergeIndicator>,
    pub participants: Vec<MergeParticipant>,
    pub sheets: Vec<SheetScores>,
    /// (juror, participant) pairs with a declared conflict of interest.
    pub conflicts: Vec<(String, String)>,
    pub tie_breaks: Vec<TieBreak>,
}

impl MergeInput {
    /// The competition's indicators and participants, with no sheets yet.
    pub fn from_package(package: &Package) -> MergeInput {
        MergeInput {
            scale: package.competition.scale,
            disagreement_threshold: package.disagreement_threshold(),
            indicators: package
                .indicators
                .iter()
                .map(|i| MergeIndicator {
                    id: i.id.clone(),
                    name: i.name.clone(),
                    weight: i.weight,
                })
                .collect(),
            participants: package
                .participants
                .iter()
                .map(|p| MergeParticipant {
                    id: p.id.clone(),
                    name: p.name.clone(),
                })
                .collect(),
            sheets: Vec::new(),
            conflicts: Vec::new(),
            tie_breaks: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct JurorScore {
    pub juror: String,
    pub value: f64,
}

/// One participant × indicator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct CellResult {
    pub indicator_id: String,
    pub n: usize,
    /// `None` when no juror scored it: the participant's total is then incomplete.
    pub aggregate: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub spread: Option<f64>,
    pub disputed: bool,
    /// The scores that counted, by juror id.
    pub scores: Vec<JurorScore>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct ParticipantResult {
    pub participant_id: String,
    pub name: String,
    pub cells: Vec<CellResult>,
    /// Weighted total on the scale; `None` when any indicator is missing.
    pub total: Option<f64>,
    /// Competition ranking (1, 2, 2, 4); `None` for an incomplete participant.
    pub rank: Option<u32>,
    /// Shares its total with another participant (before any tie-break).
    pub tied: bool,
    /// The lead's reason, when a recorded tie-break set this rank.
    pub tie_break_reason: Option<String>,
    /// Indicators nobody scored.
    pub missing: Vec<String>,
    /// Jurors excluded for a declared conflict of interest.
    pub excluded_jurors: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct IndicatorResult {
    pub indicator_id: String,
    pub name: String,
    pub weight: f64,
    /// Krippendorff's alpha (interval) over participants × jurors; `None` when undefined
    /// (fewer than two pairable values, or no variation at all).
    pub alpha: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct MergeResult {
    pub method: Method,
    pub scale: Scale,
    pub disagreement_threshold: f64,
    pub indicators: Vec<IndicatorResult>,
    /// Ranked participants first (by rank), then incomplete ones in package order.
    pub participants: Vec<ParticipantResult>,
}

impl MergeResult {
    pub fn participant(&self, id: &str) -> Option<&ParticipantResult> {
        self.participants.iter().find(|p| p.participant_id == id)
    }
}

/// The scores that count, indexed densely: `cells[p][k]` holds (juror index, score) pairs.
struct Grid {
    jurors: Vec<String>,
    excluded: Vec<Vec<String>>,
    cells: Vec<Vec<Vec<(usize, f64)>>>,
}

fn grid(input: &MergeInput) -> Grid {
    let participant_index: HashMap<&str, usize> = input
        .participants
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.as_str(), i))
        .collect();
    let indicator_index: HashMap<&str, usize> = input
        .indicators
        .iter()
        .enumerate()
        .map(|(i, k)| (k.id.as_str(), i))
        .collect();
    let conflicts: HashSet<(&str, &str)> = input
        .conflicts
        .iter()
        .map(|(j, p)| (j.as_str(), p.as_str()))
        .collect();
    // Jurors are indexed in sorted order so the input's order cannot matter.
    let mut jurors: Vec<String> = input
        .sheets
        .iter()
        .filter(|s| s.submitted)
        .map(|s| s.juror.clone())
        .collect();
    jurors.sort();
    jurors.dedup();
    let juror_index: HashMap<&str, usize> = jurors
        .iter()
        .enumerate()
        .map(|(i, j)| (j.as_str(), i))
        .collect();

    let mut cells = vec![vec![Vec::new(); input.indicators.len()]; input.participants.len()];
    let mut excluded = vec![Vec::new(); input.participants.len()];
    for sheet in input.sheets.iter().filter(|s| s.submitted) {
        let Some(&p) = participant_index.get(sheet.participant.as_str()) else {
            continue;
        };
        if conflicts.contains(&(sheet.juror.as_str(), sheet.participant.as_str())) {
            excluded[p].push(sheet.juror.clone());
            continue;
        }
        let j = juror_index[sheet.juror.as_str()];
        for (indicator, &value) in &sheet.scores {
            if let Some(&k) = indicator_index.get(indicator.as_str())
                && value.is_finite()
            {
                cells[p][k].push((j, value));
            }
        }
    }
    for row in &mut cells {
        for cell in row {
            cell.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        }
    }
    for list in &mut excluded {
        list.sort();
        list.dedup();
    }
    Grid {
        jurors,
        excluded,
        cells,
    }
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

fn population_sd(values: &[f64]) -> f64 {
    let m = mean(values);
    (values.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / values.len() as f64).sqrt()
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

fn trimmed(sorted: &[f64]) -> f64 {
    if sorted.len() >= 3 {
        mean(&sorted[1..sorted.len() - 1])
    } else {
        mean(sorted)
    }
}

/// Per-indicator statistics the z-score method needs.
struct ZStats {
    /// `juror_stats[k][j]` = (mean, population sd) of juror j's scores on k.
    juror_stats: Vec<Vec<Option<(f64, f64)>>>,
    /// `all_stats[k]` = (M_k, S_k) over all scores on k.
    all_stats: Vec<Option<(f64, f64)>>,
}

fn z_stats(grid: &Grid, indicators: usize) -> ZStats {
    let mut per_juror: Vec<Vec<Vec<f64>>> = vec![vec![Vec::new(); grid.jurors.len()]; indicators];
    let mut all: Vec<Vec<f64>> = vec![Vec::new(); indicators];
    for row in &grid.cells {
        for (k, cell) in row.iter().enumerate() {
            for &(j, value) in cell {
                per_juror[k][j].push(value);
                all[k].push(value);
            }
        }
    }
    let stats =
        |values: &Vec<f64>| (!values.is_empty()).then(|| (mean(values), population_sd(values)));
    ZStats {
        juror_stats: per_juror
            .iter()
            .map(|by_juror| by_juror.iter().map(stats).collect())
            .collect(),
        all_stats: all.iter().map(stats).collect(),
    }
}

/// `Z_pk` for every participant × indicator (`None` where nobody scored): each juror's score
/// standardised against that juror's own scores on the indicator, averaged over the jurors.
pub fn standardised(input: &MergeInput) -> Vec<Vec<Option<f64>>> {
    let grid = grid(input);
    let stats = z_stats(&grid, input.indicators.len());
    grid.cells
        .iter()
        .map(|row| {
            row.iter()
                .enumerate()
                .map(|(k, cell)| z_of_cell(cell, k, &stats))
                .collect()
        })
        .collect()
}

fn z_of_cell(cell: &[(usize, f64)], k: usize, stats: &ZStats) -> Option<f64> {
    if cell.is_empty() {
        return None;
    }
    let sum: f64 = cell
        .iter()
        .map(|&(j, value)| {
            let (mu, sigma) = stats.juror_stats[k][j].expect("a juror with a score has stats");
            // A juror who gave one value throughout has no spread to standardise against; the
            // tolerance keeps rounding noise in `sigma` from being read as spread.
            if sigma <= 1e-12 * mu.abs().max(1.0) {
                0.0
            } else {
                (value - mu) / sigma
            }
        })
        .sum();
    Some(sum / cell.len() as f64)
}

/// Krippendorff's alpha, interval metric, for one indicator: units are participants, coders
/// are jurors, missing cells allowed.
fn krippendorff_interval(units: impl Iterator<Item = Vec<f64>>) -> Option<f64> {
    // Only units with at least two values are pairable.
    let mut n = 0.0;
    let mut observed = 0.0;
    let (mut sum, mut sum_squares) = (0.0, 0.0);
    for values in units.filter(|u| u.len() >= 2) {
        let m = values.len() as f64;
        let s: f64 = values.iter().sum();
        let s2: f64 = values.iter().map(|v| v * v).sum();
        // Σ over ordered pairs i≠j in the unit of (v_i − v_j)² = 2mΣv² − 2(Σv)².
        observed += (2.0 * m * s2 - 2.0 * s * s) / (m - 1.0);
        n += m;
        sum += s;
        sum_squares += s2;
    }
    if n < 2.0 {
        return None;
    }
    let observed = observed / n;
    let expected = (2.0 * n * sum_squares - 2.0 * sum * sum) / (n * (n - 1.0));
    // Relative tolerance: no variation at all leaves only rounding noise.
    if expected <= 1e-12 * (sum_squares / n).max(1.0) {
        return None;
    }
    Some(1.0 - observed / expected)
}

/// Merges the submitted sheets with one method.
pub fn merge(input: &MergeInput, method: Method) -> MergeResult {
    let grid = grid(input);
    let stats = (method == Method::Zscore).then(|| z_stats(&grid, input.indicators.len()));
    let weight_sum: f64 = input.indicators.iter().map(|k| k.weight).sum();

    let mut participants: Vec<ParticipantResult> = Vec::with_capacity(input.participants.len());
    let mut sorted = Vec::new();
    for (p, participant) in input.participants.iter().enumerate() {
        let mut cells = Vec::with_capacity(input.indicators.len());
        let mut weighted = 0.0;
        let mut missing = Vec::new();
        for (k, indicator) in input.indicators.iter().enumerate() {
            let cell = &grid.cells[p][k];
            sorted.clear();
            sorted.extend(cell.iter().map(|&(_, v)| v));
            sorted.sort_by(f64::total_cmp);
            let aggregate = if sorted.is_empty() {
                None
            } else {
                Some(match method {
                    Method::Mean => mean(&sorted),
                    Method::Median => median(&sorted),
                    Method::Trimmed => trimmed(&sorted),
                    Method::Zscore => {
                        let stats = stats.as_ref().expect("computed for zscore");
                        let z = z_of_cell(cell, k, stats).expect("cell is not empty");
                        let (m, s) = stats.all_stats[k].expect("cell is not empty");
                        (m + s * z).clamp(input.scale.min, input.scale.max)
                    }
                })
            };
            match aggregate {
                Some(a) => weighted += indicator.weight * a,
                None => missing.push(indicator.id.clone()),
            }
            let (min, max) = (sorted.first().copied(), sorted.last().copied());
            let spread = min.zip(max).map(|(lo, hi)| hi - lo);
            cells.push(CellResult {
                indicator_id: indicator.id.clone(),
                n: sorted.len(),
                aggregate,
                min,
                max,
                spread,
                disputed: spread.is_some_and(|s| s > input.disagreement_threshold),
                scores: cell
                    .iter()
                    .map(|&(j, value)| JurorScore {
                        juror: grid.jurors[j].clone(),
                        value,
                    })
                    .collect(),
            });
        }
        participants.push(ParticipantResult {
            participant_id: participant.id.clone(),
            name: participant.name.clone(),
            cells,
            total: (missing.is_empty() && weight_sum > 0.0).then(|| weighted / weight_sum),
            rank: None,
            tied: false,
            tie_break_reason: None,
            missing,
            excluded_jurors: grid.excluded[p].clone(),
        });
    }
    rank(&mut participants, &input.tie_breaks);

    let indicators = input
        .indicators
        .iter()
        .enumerate()
        .map(|(k, indicator)| IndicatorResult {
            indicator_id: indicator.id.clone(),
            name: indicator.name.clone(),
            weight: indicator.weight,
            alpha: krippendorff_interval(
                grid.cells
                    .iter()
                    .map(|row| row[k].iter().map(|&(_, v)| v).collect()),
            ),
        })
        .collect();
    MergeResult {
        method,
        scale: input.scale,
        disagreement_threshold: input.disagreement_threshold,
        indicators,
        participants,
    }
}

/// Ranks complete participants by total (competition style), applies recorded tie-breaks, and
/// orders the list: ranked first, incomplete after, each stable in package order.
fn rank(participants: &mut Vec<ParticipantResult>, tie_breaks: &[TieBreak]) {
    let mut order: Vec<usize> = (0..participants.len())
        .filter(|&i| participants[i].total.is_some())
        .collect();
    order.sort_by(|&a, &b| {
        let (ta, tb) = (
            participants[a].total.unwrap(),
            participants[b].total.unwrap(),
        );
        tb.total_cmp(&ta).then(a.cmp(&b))
    });
    let mut position = 0;
    while position < order.len() {
        let leader = participants[order[position]].total.unwrap();
        let group_end = order[position..]
            .iter()
            .position(|&i| (leader - participants[i].total.unwrap()).abs() > TIE_EPSILON)
            .map_or(order.len(), |offset| position + offset);
        let group: Vec<usize> = order[position..group_end].to_vec();
        let shared_rank = position as u32 + 1;
        let tied = group.len() > 1;
        let ids: HashSet<&str> = group
            .iter()
            .map(|&i| participants[i].participant_id.as_str())
            .collect();
        let decision = tied
            .then(|| {
                tie_breaks.iter().find(|t| {
                    t.order.len() == ids.len() && t.order.iter().all(|id| ids.contains(id.as_str()))
                })
            })
            .flatten();
        for &i in &group {
            participants[i].tied = tied;
            participants[i].rank = Some(shared_rank);
        }
        if let Some(decision) = decision {
            for (offset, id) in decision.order.iter().enumerate() {
                let i = group
                    .iter()
                    .copied()
                    .find(|&i| participants[i].participant_id == *id)
                    .expect("tie-break covers the group");
                participants[i].rank = Some(shared_rank + offset as u32);
                participants[i].tie_break_reason = Some(decision.reason.clone());
            }
            // Keep the decided order in the list too.
            let mut decided = group.clone();
            decided.sort_by_key(|&i| participants[i].rank);
            order[position..group_end].copy_from_slice(&decided);
        }
        position = group_end;
    }
    let incomplete = (0..participants.len()).filter(|&i| participants[i].total.is_none());
    let final_order: Vec<usize> = order.into_iter().chain(incomplete).collect();
    let mut taken: Vec<Option<ParticipantResult>> = participants.drain(..).map(Some).collect();
    participants.extend(final_order.into_iter().map(|i| taken[i].take().unwrap()));
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct MethodRank {
    pub method: Method,
    pub total: Option<f64>,
    pub rank: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct SensitivityRow {
    pub participant_id: String,
    pub name: String,
    /// In [`Method::ALL`] order.
    pub by_method: Vec<MethodRank>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Sensitivity {
    /// In the order of the first method's ranking.
    pub rows: Vec<SensitivityRow>,
    /// Who is in the top three differs between at least two methods.
    pub top_three_change: bool,
    /// The same three are on top under every method, but their ranks among themselves differ
    /// (a tied pair that one method separates, say).
    pub top_three_order_changes: bool,
    /// The winner differs between at least two methods.
    pub winner_changes: bool,
}

/// The ranking under each of the four methods side by side.
pub fn sensitivity(input: &MergeInput) -> (Vec<MergeResult>, Sensitivity) {
    let results: Vec<MergeResult> = Method::ALL.iter().map(|&m| merge(input, m)).collect();
    let rows = results[0]
        .participants
        .iter()
        .map(|p| SensitivityRow {
            participant_id: p.participant_id.clone(),
            name: p.name.clone(),
            by_method: results
                .iter()
                .map(|r| {
                    let q = r.participant(&p.participant_id).expect("same participants");
                    MethodRank {
                        method: r.method,
                        total: q.total,
                        rank: q.rank,
                    }
                })
                .collect(),
        })
        .collect();
    /// The participants ranked `n` or better, with their ranks, in id order: a set, so two
    /// methods that list tied participants in another order still agree.
    fn top(result: &MergeResult, n: u32) -> Vec<(&str, u32)> {
        let mut top: Vec<(&str, u32)> = result
            .participants
            .iter()
            .filter_map(|p| {
                p.rank
                    .filter(|&rank| rank <= n)
                    .map(|rank| (p.participant_id.as_str(), rank))
            })
            .collect();
        top.sort_unstable();
        top
    }
    fn who(top: Vec<(&str, u32)>) -> Vec<&str> {
        top.into_iter().map(|(id, _)| id).collect()
    }
    let top_three_change = results
        .windows(2)
        .any(|w| who(top(&w[0], 3)) != who(top(&w[1], 3)));
    let top_three_order_changes =
        !top_three_change && results.windows(2).any(|w| top(&w[0], 3) != top(&w[1], 3));
    let winner_changes = results
        .windows(2)
        .any(|w| who(top(&w[0], 1)) != who(top(&w[1], 1)));
    let sensitivity = Sensitivity {
        rows,
        top_three_change,
        top_three_order_changes,
        winner_changes,
    };
    (results, sensitivity)
}

/// What a lock seals: the inputs and outputs of one visit's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct LockedResult {
    pub visit_id: String,
    pub method: Method,
    /// The submitted sheets that counted, sorted by juror.
    pub inputs: Vec<SheetScores>,
    /// Jurors of the visit excluded for a conflict of interest.
    pub excluded_jurors: Vec<String>,
    /// Jurors of the visit whose sheet was not submitted when the result was locked.
    pub not_submitted: Vec<String>,
    pub result: ParticipantResult,
}

impl LockedResult {
    /// BLAKE3 over the canonical JSON of the whole locked result (inputs and outputs).
    pub fn content_hash(&self) -> String {
        let canonical = serde_json::to_vec(self).expect("a locked result always serialises");
        blake3::hash(&canonical).to_hex().to_string()
    }
}

/// A lock as recorded: the sealed result and its hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Lock {
    pub hash: String,
    pub locked: LockedResult,
}

/// The ranking under every method with its sensitivity table, as the app shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Ranking {
    pub results: Vec<MergeResult>,
    pub sensitivity: Sensitivity,
}
