//! Figures and numbers in words, against an independent reference: `num2words-id.tsv` holds
//! 6,000 values (jury means, exact halves at the third decimal, large numbers) with the figure
//! rounded once, half up, as a decimal, and the words num2words gives for that figure
//! (`scripts/reference-num2words.py` writes it).

use tinjau_core::indonesian::{decimal_in_words, format_decimal};

#[test]
fn figures_and_words_match_num2words_over_thousands_of_values() {
    let table = include_str!("num2words-id.tsv");
    let mut checked = 0;
    for line in table.lines().skip(1) {
        let mut columns = line.split('\t');
        let (Some(value), Some(figure), Some(words)) =
            (columns.next(), columns.next(), columns.next())
        else {
            panic!("a malformed line: {line}");
        };
        let value: f64 = value.parse().unwrap();
        assert_eq!(format_decimal(value, 2), figure, "figure of {value}");
        assert_eq!(decimal_in_words(value, 2), words, "words of {value}");
        checked += 1;
    }
    assert!(checked >= 5000, "only {checked} values");
}
