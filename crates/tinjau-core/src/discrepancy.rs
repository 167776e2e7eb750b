//! Discrepancies a juror should see for a visit instead of having them hidden: claims that
//! disagree with each other or with the listed innovations, innovations not yet checked, and
//! innovations not found. None of them is an error.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::domain::Verdict;
use crate::package::{Indicator, Participant};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Discrepancy {
    /// The claimed total differs from the sum of the per-indicator claims (Junrejo: 33 vs 34).
    ClaimedTotalVsByIndicator {
        claimed_total: u32,
        by_indicator_sum: u32,
    },
    /// The claimed total differs from the number of innovations listed in the package.
    ClaimedTotalVsListed { claimed_total: u32, listed: usize },
    /// One indicator's claim differs from the innovations listed under it.
    IndicatorClaimedVsListed {
        indicator_id: String,
        claimed: u32,
        listed: usize,
    },
    /// Innovations this juror has not checked yet.
    NotChecked { innovation_ids: Vec<String> },
    /// An innovation this juror did not find.
    NotFound { innovation_id: String, name: String },
}

impl fmt::Display for Discrepancy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Discrepancy::ClaimedTotalVsByIndicator {
                claimed_total,
                by_indicator_sum,
            } => write!(
                f,
                "claimed {claimed_total} innovations in total, but {by_indicator_sum} by indicator"
            ),
            Discrepancy::ClaimedTotalVsListed {
                claimed_total,
                listed,
            } => write!(
                f,
                "claimed {claimed_total} innovations, {listed} listed in the package"
            ),
            Discrepancy::IndicatorClaimedVsListed {
                indicator_id,
                claimed,
                listed,
            } => write!(
                f,
                "indicator {indicator_id}: claimed {claimed}, {listed} listed"
            ),
            Discrepancy::NotChecked { innovation_ids } => write!(
                f,
                "{} innovation(s) not checked yet: {}",
                innovation_ids.len(),
                innovation_ids.join(", ")
            ),
            Discrepancy::NotFound {
                innovation_id,
                name,
            } => write!(f, "not found on site: {name} ({innovation_id})"),
        }
    }
}

/// The discrepancies of one participant's visit, given the juror's verdicts by innovation id.
pub fn visit_discrepancies(
    participant: &Participant,
    indicators: &[Indicator],
    verdicts: &HashMap<&str, Verdict>,
) -> Vec<Discrepancy> {
    let mut found = Vec::new();
    let listed = participant.innovations.len();
    let by_indicator_sum: u32 = participant.claimed_by_indicator.values().sum();

    if let Some(claimed_total) = participant.claimed_innovations {
        if !participant.claimed_by_indicator.is_empty() && claimed_total != by_indicator_sum {
            found.push(Discrepancy::ClaimedTotalVsByIndicator {
                claimed_total,
                by_indicator_sum,
            });
        }
        if claimed_total as usize != listed {
            found.push(Discrepancy::ClaimedTotalVsListed {
                claimed_total,
                listed,
            });
        }
    }
    for indicator in indicators {
        if let Some(&claimed) = participant.claimed_by_indicator.get(&indicator.id) {
            let listed_here = participant
                .innovations
                .iter()
                .filter(|i| i.indicator == indicator.id)
                .count();
            if claimed as usize != listed_here {
                found.push(Discrepancy::IndicatorClaimedVsListed {
                    indicator_id: indicator.id.clone(),
                    claimed,
                    listed: listed_here,
                });
            }
        }
    }
    let not_checked: Vec<String> = participant
        .innovations
        .iter()
        .filter(|i| !verdicts.contains_key(i.id.as_str()))
        .map(|i| i.id.clone())
        .collect();
    if !not_checked.is_empty() {
        found.push(Discrepancy::NotChecked {
            innovation_ids: not_checked,
        });
    }
    for innovation in &participant.innovations {
        if verdicts.get(innovation.id.as_str()) == Some(&Verdict::NotFound) {
            found.push(Discrepancy::NotFound {
                innovation_id: innovation.id.clone(),
                name: innovation.name.clone(),
            });
        }
    }
    found
}
