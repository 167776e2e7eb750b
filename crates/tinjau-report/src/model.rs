//! Labels the documents print.

use tinjau_core::package::{Method, Role};

/// The method's name as documents print it.
pub fn method_label(method: Method) -> &'static str {
    match method {
        Method::Mean => "rata-rata (mean)",
        Method::Median => "median",
        Method::Trimmed => "rata-rata terpangkas (trimmed mean)",
        Method::Zscore => "skor-z (standardisasi per juri)",
    }
}

pub(crate) fn role_label(role: Role) -> &'static str {
    match role {
        Role::Lead => "Ketua Tim Juri",
        Role::Juror => "Anggota Tim Juri",
    }
}
