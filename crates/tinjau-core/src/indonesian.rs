//! Indonesian formatting for official documents and the UI: dates ("28 November 2023"), dates
//! in words as minutes write them, numbers in words (terbilang), and decimals with a comma.

use chrono::{Datelike, NaiveDate, Weekday};

const UNITS: [&str; 12] = [
    "nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan",
    "sepuluh", "sebelas",
];

/// A whole number in Indonesian words: 2023 → "dua ribu dua puluh tiga".
pub fn terbilang(n: u64) -> String {
    fn below_thousand(n: u64) -> String {
        match n {
            0..=11 => UNITS[n as usize].to_string(),
            12..=19 => format!("{} belas", UNITS[(n - 10) as usize]),
            20..=99 => join(format!("{} puluh", UNITS[(n / 10) as usize]), n % 10),
            100..=199 => join("seratus".to_string(), n % 100),
            _ => join(format!("{} ratus", UNITS[(n / 100) as usize]), n % 100),
        }
    }
    fn join(head: String, rest: u64) -> String {
        if rest == 0 {
            head
        } else {
            format!("{head} {}", below_thousand(rest))
        }
    }
    if n < 1000 {
        return below_thousand(n);
    }
    let scales = [
        (1_000_000_000_000, "triliun"),
        (1_000_000_000, "miliar"),
        (1_000_000, "juta"),
        (1_000, "ribu"),
    ];
    let mut parts = Vec::new();
    let mut rest = n;
    for (size, name) in scales {
        let count = rest / size;
        if count > 0 {
            parts.push(if size == 1_000 && count == 1 {
                "seribu".to_string()
            } else {
                format!("{} {name}", terbilang(count))
            });
            rest %= size;
        }
    }
    if rest > 0 {
        parts.push(below_thousand(rest));
    }
    parts.join(" ")
}

pub fn day_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "Senin",
        Weekday::Tue => "Selasa",
        Weekday::Wed => "Rabu",
        Weekday::Thu => "Kamis",
        Weekday::Fri => "Jumat",
        Weekday::Sat => "Sabtu",
        Weekday::Sun => "Minggu",
    }
}

pub fn month_name(month: u32) -> &'static str {
    const MONTHS: [&str; 12] = [
        "Januari",
        "Februari",
        "Maret",
        "April",
        "Mei",
        "Juni",
        "Juli",
        "Agustus",
        "September",
        "Oktober",
        "November",
        "Desember",
    ];
    MONTHS[(month.clamp(1, 12) - 1) as usize]
}

/// "28 November 2023".
pub fn format_date(date: NaiveDate) -> String {
    format!(
        "{} {} {}",
        date.day(),
        month_name(date.month()),
        date.year()
    )
}

/// "Selasa, tanggal dua puluh delapan bulan November tahun dua ribu dua puluh tiga".
pub fn date_in_words(date: NaiveDate) -> String {
    format!(
        "{}, tanggal {} bulan {} tahun {}",
        day_name(date.weekday()),
        terbilang(u64::from(date.day())),
        month_name(date.month()),
        terbilang(date.year().max(0) as u64)
    )
}

/// `value` rounded once, half up (away from zero), to `places` decimals, *as a decimal*: from
/// the shortest decimal text that reads back as the same `f64` (79.125 is 79.125, not the
/// binary 79.12499…). Returns the sign and the digits, `places` of them after the point.
fn round_decimal(value: f64, places: usize) -> (bool, String, String) {
    if !value.is_finite() {
        return (false, "0".into(), "0".repeat(places));
    }
    // Rust prints an f64 in its shortest round-trip form, without an exponent.
    let text = format!("{}", value.abs());
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let mut digits: Vec<u8> = whole
        .bytes()
        .chain(fraction.bytes().chain(std::iter::repeat(b'0')).take(places))
        .map(|b| b - b'0')
        .collect();
    let round_up = fraction.as_bytes().get(places).is_some_and(|&d| d >= b'5');
    if round_up {
        let mut i = digits.len();
        loop {
            if i == 0 {
                digits.insert(0, 1);
                break;
            }
            i -= 1;
            if digits[i] == 9 {
                digits[i] = 0;
            } else {
                digits[i] += 1;
                break;
            }
        }
    }
    let split = digits.len() - places;
    let text = |d: &[u8]| d.iter().map(|d| char::from(b'0' + d)).collect::<String>();
    let whole = text(&digits[..split]);
    let whole = whole.trim_start_matches('0');
    let whole = if whole.is_empty() {
        "0".to_string()
    } else {
        whole.to_string()
    };
    let fraction = text(&digits[split..]);
    let zero = whole == "0" && fraction.bytes().all(|b| b == b'0');
    (value < 0.0 && !zero, whole, fraction)
}

/// A number with `places` decimals, comma as the decimal separator and dots between thousands,
/// rounded once, half up, as a decimal: 1234.5 → "1.234,50"; 79.125 → "79,13".
pub fn format_decimal(value: f64, places: usize) -> String {
    let (negative, whole, fraction) = round_decimal(value, places);
    let mut grouped = String::new();
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(digit);
    }
    let sign = if negative { "-" } else { "" };
    if fraction.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped},{fraction}")
    }
}

/// A number in words as an official document writes it beside its figure with two decimals:
/// the same rounded value, the whole part in words, then "koma" and each decimal digit read
/// on its own, trailing zeros left out — 79,05 → "tujuh puluh sembilan koma nol lima",
/// 79,10 → "tujuh puluh sembilan koma satu", 80,00 → "delapan puluh". (The convention schools
/// teach, and num2words', against which a test checks thousands of values.)
pub fn decimal_in_words(value: f64, places: usize) -> String {
    let (negative, whole, fraction) = round_decimal(value, places);
    let whole: u64 = whole.parse().unwrap_or(u64::MAX);
    let mut words = terbilang(whole);
    let fraction = fraction.trim_end_matches('0');
    if !fraction.is_empty() {
        words.push_str(" koma");
        for digit in fraction.bytes() {
            words.push(' ');
            words.push_str(UNITS[usize::from(digit - b'0')]);
        }
    }
    if negative {
        format!("minus {words}")
    } else {
        words
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_words() {
        let cases = [
            (0, "nol"),
            (11, "sebelas"),
            (12, "dua belas"),
            (19, "sembilan belas"),
            (28, "dua puluh delapan"),
            (100, "seratus"),
            (111, "seratus sebelas"),
            (999, "sembilan ratus sembilan puluh sembilan"),
            (1000, "seribu"),
            (1001, "seribu satu"),
            (2023, "dua ribu dua puluh tiga"),
            (21_000, "dua puluh satu ribu"),
            (1_000_000, "satu juta"),
            (2_500_300, "dua juta lima ratus ribu tiga ratus"),
        ];
        for (n, words) in cases {
            assert_eq!(terbilang(n), words, "{n}");
        }
    }

    #[test]
    fn the_visit_day_in_words() {
        let date = NaiveDate::from_ymd_opt(2023, 11, 28).unwrap();
        assert_eq!(format_date(date), "28 November 2023");
        assert_eq!(
            date_in_words(date),
            "Selasa, tanggal dua puluh delapan bulan November tahun dua ribu dua puluh tiga"
        );
    }

    #[test]
    fn decimals_use_a_comma() {
        assert_eq!(format_decimal(78.5, 2), "78,50");
        assert_eq!(format_decimal(1234.5, 2), "1.234,50");
        assert_eq!(format_decimal(-0.001, 2), "0,00");
        assert_eq!(format_decimal(-3.456, 2), "-3,46");
        assert_eq!(format_decimal(100.0, 0), "100");
    }

    #[test]
    fn rounding_is_once_half_up_as_a_decimal_and_words_follow_the_figure() {
        // The mean of 79, 79, 79 and 79,5.
        let mean = (79.0 + 79.0 + 79.0 + 79.5) / 4.0;
        assert_eq!(format_decimal(mean, 2), "79,13");
        assert_eq!(
            decimal_in_words(mean, 2),
            "tujuh puluh sembilan koma satu tiga"
        );
        assert_eq!(
            decimal_in_words(79.05, 2),
            "tujuh puluh sembilan koma nol lima"
        );
        assert_eq!(decimal_in_words(0.01, 2), "nol koma nol satu");
        assert_eq!(decimal_in_words(79.1, 2), "tujuh puluh sembilan koma satu");
        assert_eq!(decimal_in_words(80.0, 2), "delapan puluh");
        assert_eq!(format_decimal(99.995, 2), "100,00");
        assert_eq!(decimal_in_words(99.995, 2), "seratus");
        assert_eq!(format_decimal(1.005, 2), "1,01");
    }
}
