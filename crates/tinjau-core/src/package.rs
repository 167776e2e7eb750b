//! The competition package (`tinjau-package/1`): parsing and validation.
//!
//! Parsing is strict (unknown fields are rejected so a typo never silently drops data) and every
//! problem is reported with the JSON path it concerns, e.g. `indicators[2].weight`. Validation
//! collects every rule violation instead of stopping at the first, so an organiser can fix a
//! package in one pass.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The only format this version of Tinjau accepts.
pub const FORMAT: &str = "tinjau-package/1";

/// Packages larger than this are refused before parsing.
pub const MAX_PACKAGE_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Package {
    pub format: String,
    pub revision: i64,
    pub competition: Competition,
    pub indicators: Vec<Indicator>,
    pub participants: Vec<Participant>,
    pub jurors: Vec<Juror>,
    pub visits: Vec<Visit>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Competition {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    pub scale: Scale,
    #[serde(default)]
    pub method: Method,
    /// In scale points; `None` means the default, 20% of the scale's range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disagreement_threshold: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct Scale {
    pub min: f64,
    pub max: f64,
}

impl Scale {
    pub fn contains(&self, value: f64) -> bool {
        value.is_finite() && value >= self.min && value <= self.max
    }

    pub fn range(&self) -> f64 {
        self.max - self.min
    }
}

/// How the team lead's merge aggregates jurors' scores (see `docs/merge.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    #[default]
    Mean,
    Median,
    Trimmed,
    Zscore,
}

impl Method {
    pub const ALL: [Method; 4] = [
        Method::Mean,
        Method::Median,
        Method::Trimmed,
        Method::Zscore,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Mean => "mean",
            Method::Median => "median",
            Method::Trimmed => "trimmed",
            Method::Zscore => "zscore",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct Indicator {
    pub id: String,
    pub name: String,
    pub weight: f64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rubric: Vec<RubricBand>,
}

impl Indicator {
    /// A score's band is the last band whose `from` is at most the score (bands may have gaps,
    /// and scores may be decimals: 59.5 on a 0–59 / 60–79 rubric is still "Kurang").
    pub fn band_for(&self, score: f64) -> Option<&RubricBand> {
        self.rubric
            .iter()
            .filter(|band| band.from <= score)
            .max_by(|a, b| a.from.total_cmp(&b.from))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct RubricBand {
    pub from: f64,
    pub to: f64,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Participant {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_innovations: Option<u32>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub claimed_by_indicator: BTreeMap<String, u32>,
    #[serde(default)]
    pub innovations: Vec<Innovation>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Innovation {
    pub id: String,
    pub indicator: String,
    pub name: String,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub flagship: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Lead,
    Juror,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct Juror {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub institution: String,
    pub role: Role,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Visit {
    pub id: String,
    pub participant: String,
    pub date: String,
    pub jurors: Vec<String>,
}

impl Visit {
    /// The visit date; always valid in a validated package.
    pub fn date(&self) -> Option<NaiveDate> {
        parse_iso_date(&self.date)
    }
}

/// One rule violation, with the JSON path it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageError {
    pub path: String,
    pub problem: String,
}

impl fmt::Display for PackageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.problem)
        } else {
            write!(f, "{}: {}", self.path, self.problem)
        }
    }
}

/// Every violation found in a package; never empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub struct PackageErrors(pub Vec<PackageError>);

impl fmt::Display for PackageErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.0.len();
        write!(
            f,
            "invalid competition package ({count} problem{}):",
            if count == 1 { "" } else { "s" }
        )?;
        for error in &self.0 {
            write!(f, "\n  - {error}")?;
        }
        Ok(())
    }
}

impl PackageErrors {
    fn single(path: impl Into<String>, problem: impl Into<String>) -> Self {
        PackageErrors(vec![PackageError {
            path: path.into(),
            problem: problem.into(),
        }])
    }

    /// The error for a package of `size` bytes, over [`MAX_PACKAGE_BYTES`].
    pub fn too_large(size: u64) -> Self {
        PackageErrors::single(
            "",
            format!("the package is {size} bytes; the limit is {MAX_PACKAGE_BYTES} bytes (16 MiB)"),
        )
    }

    /// The paths named, in order; handy for tests and UIs that highlight fields.
    pub fn paths(&self) -> Vec<&str> {
        self.0.iter().map(|e| e.path.as_str()).collect()
    }
}

impl Package {
    /// Parses and validates a package from the bytes of its file.
    pub fn parse(bytes: &[u8]) -> Result<Package, PackageErrors> {
        if bytes.len() > MAX_PACKAGE_BYTES {
            return Err(PackageErrors::too_large(bytes.len() as u64));
        }
        if let Err(e) = std::str::from_utf8(bytes) {
            return Err(PackageErrors::single(
                "",
                format!(
                    "the package is not valid UTF-8 text (bad byte at offset {})",
                    e.valid_up_to()
                ),
            ));
        }
        let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
        let package: Package = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            let inner = e.into_inner();
            let problem = match inner.classify() {
                serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                    format!("the file is not valid JSON: {inner}")
                }
                _ => inner.to_string(),
            };
            PackageErrors::single(path, problem)
        })?;
        package.validate()?;
        Ok(package)
    }

    /// Checks every rule of `package-format.md` that the types alone cannot express.
    pub fn validate(&self) -> Result<(), PackageErrors> {
        let mut errors = Vec::new();
        let mut push = |path: String, problem: String| errors.push(PackageError { path, problem });

        if self.format != FORMAT {
            push(
                "format".into(),
                format!("must be \"{FORMAT}\", found \"{}\"", self.format),
            );
        }
        if self.revision < 1 {
            push(
                "revision".into(),
                format!("must be a positive integer, found {}", self.revision),
            );
        }

        let c = &self.competition;
        check_id(&c.id, "competition.id", &mut push);
        check_text(&c.name, "competition.name", &mut push);
        if !c.scale.min.is_finite() || !c.scale.max.is_finite() || c.scale.min >= c.scale.max {
            push(
                "competition.scale".into(),
                format!(
                    "min must be less than max, found min {} and max {}",
                    c.scale.min, c.scale.max
                ),
            );
        }
        if let Some(t) = c.disagreement_threshold
            && (!t.is_finite() || t < 0.0)
        {
            push(
                "competition.disagreement_threshold".into(),
                format!("must be a number >= 0 (in scale points), found {t}"),
            );
        }

        if self.indicators.is_empty() {
            push(
                "indicators".into(),
                "must list at least one indicator".into(),
            );
        }
        let indicator_ids = unique_ids(
            self.indicators.iter().map(|i| i.id.as_str()),
            "indicators",
            &mut push,
        );
        for (i, indicator) in self.indicators.iter().enumerate() {
            let path = format!("indicators[{i}]");
            check_text(&indicator.name, &format!("{path}.name"), &mut push);
            if !(indicator.weight.is_finite() && indicator.weight > 0.0) {
                push(
                    format!("{path}.weight"),
                    format!("must be greater than 0, found {}", indicator.weight),
                );
            }
            check_rubric(&indicator.rubric, &c.scale, &path, &mut push);
        }

        let participant_ids = unique_ids(
            self.participants.iter().map(|p| p.id.as_str()),
            "participants",
            &mut push,
        );
        for (p, participant) in self.participants.iter().enumerate() {
            let path = format!("participants[{p}]");
            check_text(&participant.name, &format!("{path}.name"), &mut push);
            for key in participant.claimed_by_indicator.keys() {
                if !indicator_ids.contains(key.as_str()) {
                    push(
                        format!("{path}.claimed_by_indicator.{key}"),
                        format!("\"{key}\" is not an indicator id"),
                    );
                }
            }
            unique_ids(
                participant.innovations.iter().map(|i| i.id.as_str()),
                &format!("{path}.innovations"),
                &mut push,
            );
            for (n, innovation) in participant.innovations.iter().enumerate() {
                let path = format!("{path}.innovations[{n}]");
                check_text(&innovation.name, &format!("{path}.name"), &mut push);
                if !indicator_ids.contains(innovation.indicator.as_str()) {
                    push(
                        format!("{path}.indicator"),
                        format!(
                            "refers to indicator \"{}\", which does not exist",
                            innovation.indicator
                        ),
                    );
                }
            }
        }

        unique_ids(
            self.jurors.iter().map(|j| j.id.as_str()),
            "jurors",
            &mut push,
        );
        let roles: HashMap<&str, Role> = self
            .jurors
            .iter()
            .map(|j| (j.id.as_str(), j.role))
            .collect();
        for (j, juror) in self.jurors.iter().enumerate() {
            check_text(&juror.name, &format!("jurors[{j}].name"), &mut push);
        }

        unique_ids(
            self.visits.iter().map(|v| v.id.as_str()),
            "visits",
            &mut push,
        );
        for (v, visit) in self.visits.iter().enumerate() {
            let path = format!("visits[{v}]");
            if !participant_ids.contains(visit.participant.as_str()) {
                push(
                    format!("{path}.participant"),
                    format!(
                        "refers to participant \"{}\", which does not exist",
                        visit.participant
                    ),
                );
            }
            if parse_iso_date(&visit.date).is_none() {
                push(
                    format!("{path}.date"),
                    format!(
                        "must be an ISO 8601 calendar date (YYYY-MM-DD), found \"{}\"",
                        visit.date
                    ),
                );
            }
            if visit.jurors.is_empty() {
                push(
                    format!("{path}.jurors"),
                    "must list at least one juror".into(),
                );
            }
            let mut seen = HashSet::new();
            let mut leads = 0;
            for (j, juror) in visit.jurors.iter().enumerate() {
                match roles.get(juror.as_str()) {
                    None => push(
                        format!("{path}.jurors[{j}]"),
                        format!("refers to juror \"{juror}\", which does not exist"),
                    ),
                    Some(Role::Lead) => leads += 1,
                    Some(Role::Juror) => {}
                }
                if !seen.insert(juror.as_str()) {
                    push(
                        format!("{path}.jurors[{j}]"),
                        format!("juror \"{juror}\" is listed twice"),
                    );
                }
            }
            if !visit.jurors.is_empty() && leads != 1 {
                push(
                    format!("{path}.jurors"),
                    format!("exactly one juror of a visit must have role \"lead\", found {leads}"),
                );
            }
        }

        if errors.is_empty() {
            Ok(())
        } else {
            Err(PackageErrors(errors))
        }
    }

    /// The disagreement threshold in scale points (default: 20% of the scale's range).
    pub fn disagreement_threshold(&self) -> f64 {
        self.competition
            .disagreement_threshold
            .unwrap_or(0.2 * self.competition.scale.range())
    }

    pub fn indicator(&self, id: &str) -> Option<&Indicator> {
        self.indicators.iter().find(|i| i.id == id)
    }

    pub fn participant(&self, id: &str) -> Option<&Participant> {
        self.participants.iter().find(|p| p.id == id)
    }

    pub fn juror(&self, id: &str) -> Option<&Juror> {
        self.jurors.iter().find(|j| j.id == id)
    }

    pub fn visit(&self, id: &str) -> Option<&Visit> {
        self.visits.iter().find(|v| v.id == id)
    }
}

impl Participant {
    pub fn innovation(&self, id: &str) -> Option<&Innovation> {
        self.innovations.iter().find(|i| i.id == id)
    }
}

/// Parses a strict `YYYY-MM-DD` date (chrono alone would accept `2023-1-5`).
pub fn parse_iso_date(text: &str) -> Option<NaiveDate> {
    let bytes = text.as_bytes();
    let shape_ok = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if !shape_ok {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// Whether `text` is a valid id: 1 to 128 bytes (what a change can carry), only `[A-Za-z0-9._-]`.
pub fn is_valid_id(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= crate::change::MAX_ID_BYTES
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn check_id(id: &str, path: &str, push: &mut impl FnMut(String, String)) {
    if !is_valid_id(id) {
        push(
            path.to_string(),
            format!(
                "must be an id of 1 to {} letters, digits, '.', '_' or '-', found \"{id}\"",
                crate::change::MAX_ID_BYTES
            ),
        );
    }
}

fn check_text(text: &str, path: &str, push: &mut impl FnMut(String, String)) {
    if text.trim().is_empty() {
        push(path.to_string(), "must not be empty".into());
    }
}

/// Checks each id of a list and that none repeats; returns the set of ids.
fn unique_ids<'a>(
    ids: impl Iterator<Item = &'a str>,
    list_path: &str,
    push: &mut impl FnMut(String, String),
) -> HashSet<&'a str> {
    let mut seen = HashSet::new();
    for (i, id) in ids.enumerate() {
        let path = format!("{list_path}[{i}].id");
        check_id(id, &path, push);
        if !seen.insert(id) {
            push(path, format!("id \"{id}\" is used more than once"));
        }
    }
    seen
}

fn check_rubric(
    rubric: &[RubricBand],
    scale: &Scale,
    indicator_path: &str,
    push: &mut impl FnMut(String, String),
) {
    for (b, band) in rubric.iter().enumerate() {
        let path = format!("{indicator_path}.rubric[{b}]");
        if band.label.trim().is_empty() {
            push(format!("{path}.label"), "must not be empty".into());
        }
        if !(band.from.is_finite() && band.to.is_finite()) || band.from > band.to {
            push(
                path.clone(),
                format!(
                    "from must not be greater than to, found from {} and to {}",
                    band.from, band.to
                ),
            );
        }
        if band.from < scale.min || band.to > scale.max {
            push(
                path.clone(),
                format!(
                    "band {}–{} lies outside the scale {}–{}",
                    band.from, band.to, scale.min, scale.max
                ),
            );
        }
        for (other_index, other) in rubric.iter().enumerate().take(b) {
            if band.from <= other.to && other.from <= band.to {
                push(
                    path.clone(),
                    format!(
                        "band {}–{} overlaps band {}–{} ({indicator_path}.rubric[{other_index}])",
                        band.from, band.to, other.from, other.to
                    ),
                );
            }
        }
    }
}

/// What storing a package does, given the revision already stored (if any).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevisionStep {
    /// Nothing stored yet.
    New,
    /// The same revision with the same content: nothing to do.
    Unchanged,
    /// A newer revision replaces the stored one.
    Update { from: i64 },
}

/// Why a package cannot replace the stored one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevisionRefusal {
    /// Older than what is stored.
    Older { have: i64 },
    /// The stored revision, but with other content: the organiser must raise the revision.
    ContentChanged,
}

/// The revision rule shared by a juror's import and the server's publish: a newer revision
/// replaces the stored package, the same one must be identical, an older one is refused.
/// `stored` is the stored (revision, package text); `text` the new package's text.
pub fn revision_step(
    stored: Option<(i64, &str)>,
    revision: i64,
    text: &str,
) -> Result<RevisionStep, RevisionRefusal> {
    match stored {
        None => Ok(RevisionStep::New),
        Some((have, _)) if have > revision => Err(RevisionRefusal::Older { have }),
        Some((have, stored)) if have == revision => {
            if stored == text {
                Ok(RevisionStep::Unchanged)
            } else {
                Err(RevisionRefusal::ContentChanged)
            }
        }
        Some((have, _)) => Ok(RevisionStep::Update { from: have }),
    }
}

/// What a new revision changes, list by list (by id): shown before it is published.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct PackageDiff {
    pub indicators_added: Vec<String>,
    pub indicators_removed: Vec<String>,
    pub participants_added: Vec<String>,
    pub participants_removed: Vec<String>,
    /// `participant/innovation`.
    pub innovations_added: Vec<String>,
    pub innovations_removed: Vec<String>,
    pub jurors_added: Vec<String>,
    pub jurors_removed: Vec<String>,
    pub visits_added: Vec<String>,
    pub visits_removed: Vec<String>,
    /// Ids present in both whose content differs (names, weights, dates, teams, …).
    pub changed: Vec<String>,
}

impl PackageDiff {
    pub fn between(old: &Package, new: &Package) -> PackageDiff {
        fn lists<T: PartialEq>(
            old: &[T],
            new: &[T],
            id: impl Fn(&T) -> String,
            added: &mut Vec<String>,
            removed: &mut Vec<String>,
            changed: &mut Vec<String>,
        ) {
            for item in new {
                match old.iter().find(|o| id(o) == id(item)) {
                    None => added.push(id(item)),
                    Some(before) if before != item => changed.push(id(item)),
                    Some(_) => {}
                }
            }
            for item in old {
                if !new.iter().any(|n| id(n) == id(item)) {
                    removed.push(id(item));
                }
            }
        }
        let mut d = PackageDiff::default();
        let mut changed = Vec::new();
        lists(
            &old.indicators,
            &new.indicators,
            |i| i.id.clone(),
            &mut d.indicators_added,
            &mut d.indicators_removed,
            &mut changed,
        );
        let strip = |p: &Participant| Participant {
            innovations: Vec::new(),
            ..p.clone()
        };
        let (old_p, new_p): (Vec<_>, Vec<_>) = (
            old.participants.iter().map(strip).collect(),
            new.participants.iter().map(strip).collect(),
        );
        lists(
            &old_p,
            &new_p,
            |p| p.id.clone(),
            &mut d.participants_added,
            &mut d.participants_removed,
            &mut changed,
        );
        let innovations = |package: &Package| -> Vec<(String, Innovation)> {
            package
                .participants
                .iter()
                .flat_map(|p| {
                    p.innovations
                        .iter()
                        .map(|i| (format!("{}/{}", p.id, i.id), i.clone()))
                })
                .collect()
        };
        lists(
            &innovations(old),
            &innovations(new),
            |(id, _)| id.clone(),
            &mut d.innovations_added,
            &mut d.innovations_removed,
            &mut changed,
        );
        lists(
            &old.jurors,
            &new.jurors,
            |j| j.id.clone(),
            &mut d.jurors_added,
            &mut d.jurors_removed,
            &mut changed,
        );
        lists(
            &old.visits,
            &new.visits,
            |v| v.id.clone(),
            &mut d.visits_added,
            &mut d.visits_removed,
            &mut changed,
        );
        if old.competition != new.competition {
            changed.push(format!("competition {}", new.competition.id));
        }
        d.changed = changed;
        d
    }

    pub fn is_empty(&self) -> bool {
        *self == PackageDiff::default()
    }
}

impl fmt::Display for PackageDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return write!(f, "no change");
        }
        for (what, ids) in [
            ("indicators added", &self.indicators_added),
            ("indicators removed", &self.indicators_removed),
            ("participants added", &self.participants_added),
            ("participants removed", &self.participants_removed),
            ("innovations added", &self.innovations_added),
            ("innovations removed", &self.innovations_removed),
            ("jurors added", &self.jurors_added),
            ("jurors removed", &self.jurors_removed),
            ("visits added", &self.visits_added),
            ("visits removed", &self.visits_removed),
            ("changed", &self.changed),
        ] {
            if !ids.is_empty() {
                writeln!(f, "{what}: {}", ids.join(", "))?;
            }
        }
        Ok(())
    }
}
