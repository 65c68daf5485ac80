//! Kubernetes resource quantities (`resource.Quantity`), exactly.
//!
//! The API server reads `<sign><digits>[.<digits>]<suffix>` where the suffix is a binary SI
//! unit (`Ki` .. `Ei`), a decimal SI unit (`n u m "" k M G T P E`) or a decimal exponent
//! (`e3`, `E-2`, `e+6`). It keeps the value with nano precision, rounds any finer value away
//! from zero to the next nano, and caps the magnitude at 2^63-1 units. A [`Quantity`] holds
//! exactly that value as a count of nano-units in an `i128`, so `1Gi == 1073741824`,
//! `0.5 == 500m` and `1E < 2Ei` hold without any float rounding.
//!
//! Quirks of the grammar are kept on purpose, because they are what the cluster accepts:
//! `5.`, `.5`, `1.G` and even `.` (zero) are quantities; `1K` and `1 Gi` are not; `1E` is
//! 10^18 while `1E3` is 1000.

use serde_json::Value;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

const NANOS_PER_UNIT: i128 = 1_000_000_000;
/// The largest magnitude a parsed quantity keeps: 2^63-1 units, in nanos.
const MAX_NANOS: i128 = i64::MAX as i128 * NANOS_PER_UNIT;
/// Decimal digits that always fit an `i128` (10^38 - 1 < 2^127).
const I128_DIGITS: i64 = 38;

/// How a quantity was written, which decides how it prints back (`1536Mi`, `1500`, `1e3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// `n u m k M G T P E` or no suffix.
    DecimalSI,
    /// `Ki Mi Gi Ti Pi Ei`.
    BinarySI,
    /// `e<exponent>` / `E<exponent>`.
    DecimalExponent,
}

/// Why a string is not a quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuantityError {
    Empty,
    /// Characters outside `[+-]digits[.digits][suffix letters][+-][digits]`.
    Format,
    /// A suffix that is none of the known units or exponents (`K`, `Gb`, `mi`).
    Suffix,
}

impl fmt::Display for QuantityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            QuantityError::Empty => "an empty string is not a quantity",
            QuantityError::Format => {
                "not a quantity: expected a number with an optional unit (e.g. 500m, 2Gi, 1.5, 1e3)"
            }
            QuantityError::Suffix => {
                "unknown unit: use n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or an exponent such as e3"
            }
        })
    }
}

impl std::error::Error for QuantityError {}

/// A resource quantity: an exact value (nano-unit precision) and the format it prints in.
/// Equality, ordering and hashing look at the value only (`1Gi == 1073741824`).
#[derive(Debug, Clone, Copy)]
pub struct Quantity {
    nanos: i128,
    format: Format,
}

impl Quantity {
    /// Parses the text of a quantity exactly as the API server does (no surrounding spaces:
    /// see [`Quantity::from_value`] for manifest values).
    pub fn parse(text: &str) -> Result<Quantity, QuantityError> {
        let scanned = scan(text)?;
        let (exp10, exp2, format) = interpret(scanned.suffix)?;
        let magnitude = magnitude_nanos(scanned.integer, scanned.fraction, exp10, exp2);
        let nanos = if scanned.negative {
            -magnitude
        } else {
            magnitude
        };
        Ok(Quantity { nanos, format })
    }

    /// A manifest value as a quantity: a string (surrounding whitespace ignored, as the API
    /// server's JSON decoding does) or a number. `None` for other JSON types.
    pub fn from_value(value: &Value) -> Option<Result<Quantity, QuantityError>> {
        match value {
            Value::String(s) => Some(Quantity::parse(s.trim())),
            Value::Number(n) => Some(Quantity::parse(&n.to_string())),
            _ => None,
        }
    }

    /// A quantity of `nanos` billionths of a unit (no cap: sums may exceed a parsed value's).
    pub fn from_nanos(nanos: i128, format: Format) -> Quantity {
        Quantity { nanos, format }
    }

    /// A whole number of units.
    pub fn from_units(units: i64, format: Format) -> Quantity {
        Quantity {
            nanos: i128::from(units) * NANOS_PER_UNIT,
            format,
        }
    }

    /// The exact value in billionths of a unit (bytes, cores, ...).
    pub fn nanos(&self) -> i128 {
        self.nanos
    }

    pub fn format(&self) -> Format {
        self.format
    }

    pub fn is_zero(&self) -> bool {
        self.nanos == 0
    }

    /// -1, 0 or 1.
    pub fn signum(&self) -> i32 {
        self.nanos.signum() as i32
    }

    /// The value as an integer, when it is one and fits an `i64` (`1.5` and `500m` are not).
    pub fn to_i64(&self) -> Option<i64> {
        if self.nanos % NANOS_PER_UNIT != 0 {
            return None;
        }
        i64::try_from(self.nanos / NANOS_PER_UNIT).ok()
    }

    /// Whole units, rounded away from zero (`Value()` of Kubernetes: `1.2` -> 2): bytes of a
    /// memory quantity, for budgets.
    pub fn units_rounded_up(&self) -> i128 {
        div_away_from_zero(self.nanos, NANOS_PER_UNIT)
    }

    /// Thousandths of a unit, rounded away from zero (`MilliValue()`): millicores of CPU.
    pub fn millis_rounded_up(&self) -> i128 {
        div_away_from_zero(self.nanos, 1_000_000)
    }

    /// The nearest float (for display and for callers that only need an approximation).
    pub fn as_f64(&self) -> f64 {
        let units = self.nanos / NANOS_PER_UNIT;
        let rest = self.nanos % NANOS_PER_UNIT;
        units as f64 + rest as f64 / 1e9
    }

    /// `self + other`, in the format of `self` (`None` on `i128` overflow).
    pub fn checked_add(&self, other: &Quantity) -> Option<Quantity> {
        Some(Quantity {
            nanos: self.nanos.checked_add(other.nanos)?,
            format: self.format,
        })
    }

    /// `self - other`, in the format of `self` (`None` on `i128` overflow).
    pub fn checked_sub(&self, other: &Quantity) -> Option<Quantity> {
        Some(Quantity {
            nanos: self.nanos.checked_sub(other.nanos)?,
            format: self.format,
        })
    }
}

fn div_away_from_zero(value: i128, divisor: i128) -> i128 {
    let quotient = value / divisor;
    if value % divisor == 0 {
        quotient
    } else {
        quotient + value.signum()
    }
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.nanos == other.nanos
    }
}

impl Eq for Quantity {}

impl Hash for Quantity {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.nanos.hash(state);
    }
}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> Ordering {
        self.nanos.cmp(&other.nanos)
    }
}

impl FromStr for Quantity {
    type Err = QuantityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Quantity::parse(s)
    }
}

/// The canonical form Kubernetes prints (`1536Mi` for `1.5Gi`, `500m` for `0.5`, `1e3`):
/// binary quantities as the largest exact binary unit (decimal below 1024 or when not whole),
/// decimal ones with the exponent rounded down to a multiple of three.
impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nanos == 0 {
            return f.write_str("0");
        }
        let binary = self.format == Format::BinarySI
            && self.nanos.abs() >= 1024 * NANOS_PER_UNIT
            && self.nanos % NANOS_PER_UNIT == 0;
        if binary {
            let mut units = self.nanos / NANOS_PER_UNIT;
            let mut power = 0;
            while power < 6 && units % 1024 == 0 {
                units /= 1024;
                power += 1;
            }
            let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][power];
            return write!(f, "{units}{suffix}");
        }
        let (mut mantissa, mut exponent) = (self.nanos, -9i32);
        while mantissa % 10 == 0 {
            mantissa /= 10;
            exponent += 1;
        }
        let mut target = exponent.div_euclid(3) * 3;
        if self.format != Format::DecimalExponent {
            // `E` is the largest decimal unit; sums beyond it print as a number of E.
            target = target.min(18);
        }
        match scale_up(mantissa, exponent - target) {
            Some(m) => {
                mantissa = m;
                exponent = target;
            }
            // Too large to shift: the plain nano count is exact and still a valid quantity.
            None => return write!(f, "{}n", self.nanos),
        }
        if self.format == Format::DecimalExponent {
            if exponent == 0 {
                write!(f, "{mantissa}")
            } else {
                write!(f, "{mantissa}e{exponent}")
            }
        } else {
            let suffix = match exponent {
                -9 => "n",
                -6 => "u",
                -3 => "m",
                0 => "",
                3 => "k",
                6 => "M",
                9 => "G",
                12 => "T",
                15 => "P",
                _ => "E",
            };
            write!(f, "{mantissa}{suffix}")
        }
    }
}

fn scale_up(mantissa: i128, by: i32) -> Option<i128> {
    mantissa.checked_mul(10i128.checked_pow(u32::try_from(by).ok()?)?)
}

/// The parts of a quantity's text: sign, integer and fraction digits (the integer part
/// without leading zeros), and the suffix.
struct Scanned<'a> {
    negative: bool,
    integer: &'a str,
    fraction: &'a str,
    suffix: &'a str,
}

fn scan(text: &str) -> Result<Scanned<'_>, QuantityError> {
    if text.is_empty() {
        return Err(QuantityError::Empty);
    }
    let bytes = text.as_bytes();
    let end = bytes.len();
    let mut pos = 0;
    let negative = match bytes[0] {
        b'-' => {
            pos = 1;
            true
        }
        b'+' => {
            pos = 1;
            false
        }
        _ => false,
    };
    while pos < end && bytes[pos] == b'0' {
        pos += 1;
    }
    let start = pos;
    while pos < end && bytes[pos].is_ascii_digit() {
        pos += 1;
    }
    let integer = &text[start..pos];
    let mut fraction = "";
    if pos < end && bytes[pos] == b'.' {
        pos += 1;
        let start = pos;
        while pos < end && bytes[pos].is_ascii_digit() {
            pos += 1;
        }
        fraction = &text[start..pos];
    }
    let suffix_start = pos;
    while pos < end && b"eEinumkKMGTP".contains(&bytes[pos]) {
        pos += 1;
    }
    if pos < end && matches!(bytes[pos], b'+' | b'-') {
        pos += 1;
    }
    while pos < end && bytes[pos].is_ascii_digit() {
        pos += 1;
    }
    if pos < end {
        return Err(QuantityError::Format);
    }
    Ok(Scanned {
        negative,
        integer,
        fraction,
        suffix: &text[suffix_start..],
    })
}

/// A suffix as (power of ten, power of two, format).
fn interpret(suffix: &str) -> Result<(i64, u32, Format), QuantityError> {
    let decimal = match suffix {
        "n" => Some(-9),
        "u" => Some(-6),
        "m" => Some(-3),
        "" => Some(0),
        "k" => Some(3),
        "M" => Some(6),
        "G" => Some(9),
        "T" => Some(12),
        "P" => Some(15),
        "E" => Some(18),
        _ => None,
    };
    if let Some(exp10) = decimal {
        return Ok((exp10, 0, Format::DecimalSI));
    }
    let binary = match suffix {
        "Ki" => Some(10),
        "Mi" => Some(20),
        "Gi" => Some(30),
        "Ti" => Some(40),
        "Pi" => Some(50),
        "Ei" => Some(60),
        _ => None,
    };
    if let Some(exp2) = binary {
        return Ok((0, exp2, Format::BinarySI));
    }
    let exponent = suffix
        .strip_prefix(['e', 'E'])
        .filter(|rest| !rest.is_empty())
        .ok_or(QuantityError::Suffix)?;
    let parsed: i64 = exponent.parse().map_err(|_| QuantityError::Suffix)?;
    // The API server keeps the exponent as a 32-bit integer (wrapping, like its `int32()`).
    Ok((i64::from(parsed as i32), 0, Format::DecimalExponent))
}

/// |value| in nanos: `digits × 10^exp10 × 2^exp2` where digits = integer.fraction, rounded
/// up to the next nano and capped at [`MAX_NANOS`].
fn magnitude_nanos(integer: &str, fraction: &str, exp10: i64, exp2: u32) -> i128 {
    let digits: Vec<u8> = integer
        .bytes()
        .chain(fraction.bytes())
        .skip_while(|d| *d == b'0')
        .collect();
    if digits.is_empty() {
        return 0;
    }
    let product = times_power_of_two(&digits, exp2);
    let len = product.len() as i64;
    // value in nanos = product × 10^shift
    let shift = exp10 - fraction.len() as i64 + 9;
    if shift >= 0 {
        if len + shift > I128_DIGITS {
            return MAX_NANOS;
        }
        return decimal(&product)
            .checked_mul(10i128.pow(shift as u32))
            .map_or(MAX_NANOS, |v| v.min(MAX_NANOS));
    }
    let dropped = -shift;
    if len <= dropped {
        // Non-zero but below one nano: rounds up to one.
        return 1;
    }
    let kept = (len - dropped) as usize;
    if kept as i64 > I128_DIGITS {
        return MAX_NANOS;
    }
    let round_up = product[kept..].iter().any(|d| *d != b'0');
    (decimal(&product[..kept]) + i128::from(round_up)).min(MAX_NANOS)
}

/// The value of at most 38 ASCII digits.
fn decimal(digits: &[u8]) -> i128 {
    digits
        .iter()
        .fold(0i128, |acc, d| acc * 10 + i128::from(d - b'0'))
}

/// ASCII decimal digits (no leading zero) times 2^exp2 (exp2 <= 60), as ASCII digits.
fn times_power_of_two(digits: &[u8], exp2: u32) -> Vec<u8> {
    if exp2 == 0 {
        return digits.to_vec();
    }
    const LIMB: u128 = 1_000_000_000;
    // Little-endian limbs of nine digits.
    let mut limbs: Vec<u128> = digits
        .rchunks(9)
        .map(|chunk| {
            chunk
                .iter()
                .fold(0u128, |acc, d| acc * 10 + u128::from(d - b'0'))
        })
        .collect();
    let factor = 1u128 << exp2;
    let mut carry = 0u128;
    for limb in &mut limbs {
        let v = *limb * factor + carry;
        *limb = v % LIMB;
        carry = v / LIMB;
    }
    while carry > 0 {
        limbs.push(carry % LIMB);
        carry /= LIMB;
    }
    let mut out = String::with_capacity(limbs.len() * 9);
    let mut iter = limbs.iter().rev();
    if let Some(top) = iter.next() {
        out.push_str(&top.to_string());
    }
    for limb in iter {
        out.push_str(&format!("{limb:09}"));
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    fn nanos(s: &str) -> i128 {
        q(s).nanos()
    }

    const GI: i128 = 1 << 30;
    const N: i128 = NANOS_PER_UNIT;

    #[test]
    fn every_suffix() {
        assert_eq!(nanos("1n"), 1);
        assert_eq!(nanos("1u"), 1_000);
        assert_eq!(nanos("1m"), 1_000_000);
        assert_eq!(nanos("1"), N);
        assert_eq!(nanos("1k"), 1_000 * N);
        assert_eq!(nanos("1M"), 1_000_000 * N);
        assert_eq!(nanos("1G"), 1_000_000_000 * N);
        assert_eq!(nanos("1T"), 10i128.pow(12) * N);
        assert_eq!(nanos("1P"), 10i128.pow(15) * N);
        assert_eq!(nanos("1E"), 10i128.pow(18) * N);
        assert_eq!(nanos("1Ki"), 1024 * N);
        assert_eq!(nanos("1Mi"), (1 << 20) * N);
        assert_eq!(nanos("1Gi"), GI * N);
        assert_eq!(nanos("1Ti"), (1 << 40) * N);
        assert_eq!(nanos("1Pi"), (1 << 50) * N);
        assert_eq!(nanos("1Ei"), (1 << 60) * N);
        assert_eq!(nanos("2Ei"), (1 << 61) * N);
        assert_eq!(q("1E").format(), Format::DecimalSI);
        assert_eq!(q("2Ei").format(), Format::BinarySI);
    }

    #[test]
    fn exponents() {
        assert_eq!(nanos("1e3"), 1_000 * N);
        assert_eq!(nanos("1E3"), 1_000 * N);
        assert_eq!(nanos("1e+3"), 1_000 * N);
        assert_eq!(nanos("15e-1"), 1_500_000_000);
        assert_eq!(nanos("1e-9"), 1);
        assert_eq!(q("1e3").format(), Format::DecimalExponent);
        assert_eq!(Quantity::parse("1e"), Err(QuantityError::Suffix));
        assert_eq!(Quantity::parse("1e3.5"), Err(QuantityError::Format));
        assert_eq!(Quantity::parse("1Ee3"), Err(QuantityError::Suffix));
    }

    #[test]
    fn numbers_the_api_server_accepts() {
        assert_eq!(nanos("2.5Gi"), 5 * GI / 2 * N);
        assert_eq!(nanos("0.5"), 500_000_000);
        assert_eq!(nanos(".5"), 500_000_000);
        assert_eq!(nanos("5."), 5 * N);
        assert_eq!(nanos("1.G"), 1_000_000_000 * N);
        assert_eq!(nanos("."), 0);
        assert_eq!(nanos("+1"), N);
        assert_eq!(nanos("-1.5"), -1_500_000_000);
        assert_eq!(nanos("000"), 0);
        assert_eq!(nanos("007k"), 7_000 * N);
        assert_eq!(nanos("-"), 0);
    }

    #[test]
    fn text_that_is_not_a_quantity() {
        for bad in [
            "", " 1", "1 ", "1 Gi", "abc", "0x10", "1.2.3", "--1", "1e--3",
        ] {
            assert!(Quantity::parse(bad).is_err(), "{bad:?} parsed");
        }
        for bad_format in ["1Gb", "1KiB", "1 Gi", "1,5"] {
            assert_eq!(
                Quantity::parse(bad_format),
                Err(QuantityError::Format),
                "{bad_format}"
            );
        }
        for bad_unit in ["1K", "1mi", "1Mi5", "++1", "1kM"] {
            assert_eq!(
                Quantity::parse(bad_unit),
                Err(QuantityError::Suffix),
                "{bad_unit}"
            );
        }
    }

    #[test]
    fn finer_than_a_nano_rounds_away_from_zero() {
        assert_eq!(nanos("0.1n"), 1);
        assert_eq!(nanos("1.1n"), 2);
        assert_eq!(nanos("-0.1n"), -1);
        assert_eq!(nanos("1e-30"), 1);
        assert_eq!(nanos("0.0000000001Ki"), 103); // 102.4 nanos
    }

    #[test]
    fn the_int64_cap() {
        let max = i64::MAX as i128 * N;
        assert_eq!(nanos("8Ei"), max);
        assert_eq!(nanos("10E"), max);
        assert_eq!(nanos("1e100"), max);
        assert_eq!(nanos("-1e100"), -max);
        assert_eq!(nanos(&"9".repeat(500)), max);
        assert_eq!(nanos("9223372036854775807"), max);
        assert_eq!(nanos("7Ei"), 7 * (1 << 60) * N);
    }

    #[test]
    fn comparisons_are_exact() {
        assert_eq!(q("1Gi"), q("1073741824"));
        assert_eq!(q("0.5"), q("500m"));
        assert_eq!(q("1k"), q("1000"));
        assert!(q("1Mi") > q("1M"));
        assert!(q("100m") < q("1"));
        assert!(q("1E") < q("1Ei"));
        assert!(q("1Ei") < q("2Ei"));
        // Floats cannot tell these apart.
        assert!(q("9007199254740993") > q("9007199254740992"));
        assert!(q("1.000000001") > q("1"));
    }

    #[test]
    fn manifest_values() {
        let v = |j: Value| Quantity::from_value(&j).map(|r| r.map(|q| q.nanos()));
        assert_eq!(v(serde_json::json!(" 2Gi ")), Some(Ok(2 * GI * N)));
        assert_eq!(v(serde_json::json!(2)), Some(Ok(2 * N)));
        assert_eq!(v(serde_json::json!(0.25)), Some(Ok(250_000_000)));
        assert_eq!(v(serde_json::json!(true)), None);
        assert_eq!(
            v(serde_json::json!("lots")),
            Some(Err(QuantityError::Format))
        );
    }

    #[test]
    fn rounding_helpers() {
        assert_eq!(q("300m").millis_rounded_up(), 300);
        assert_eq!(q("1.5").millis_rounded_up(), 1500);
        assert_eq!(q("1n").millis_rounded_up(), 1);
        assert_eq!(q("2.5Gi").units_rounded_up(), 5 * GI / 2);
        assert_eq!(q("1.2").units_rounded_up(), 2);
        assert_eq!(q("-1.2").units_rounded_up(), -2);
        assert_eq!(q("1Ki").to_i64(), Some(1024));
        assert_eq!(q("1.5").to_i64(), None);
        assert_eq!(q("500m").as_f64(), 0.5);
    }

    #[test]
    fn canonical_form() {
        let c = |s: &str| q(s).to_string();
        assert_eq!(c("1.5Gi"), "1536Mi");
        assert_eq!(c("0.5Gi"), "512Mi");
        assert_eq!(c("10Mi"), "10Mi");
        assert_eq!(c("2Ei"), "2Ei");
        assert_eq!(c("1000Ki"), "1000Ki");
        assert_eq!(c("1Ki"), "1Ki");
        assert_eq!(c("0.5Ki"), "512");
        assert_eq!(c("0.5"), "500m");
        assert_eq!(c("1000m"), "1");
        assert_eq!(c("1500"), "1500");
        assert_eq!(c("100k"), "100k");
        assert_eq!(c("1E"), "1E");
        assert_eq!(c("1e3"), "1e3");
        assert_eq!(c("1e-3"), "1e-3");
        assert_eq!(c("12e2"), "1200");
        assert_eq!(c("0"), "0");
        assert_eq!(c("-250m"), "-250m");
        assert_eq!(c("8Ei"), "9223372036854775807");
    }

    #[test]
    fn arithmetic() {
        let sum = q("1").checked_add(&q("500m")).unwrap();
        assert_eq!(sum.to_string(), "1500m");
        assert_eq!(q("1Ki").checked_sub(&q("24")).unwrap().to_string(), "1k");
        let huge = Quantity::from_nanos(i128::MAX, Format::DecimalSI);
        assert!(huge.checked_add(&q("1n")).is_none());
    }

    /// A reference model over small numbers, computed directly in i128.
    fn reference(negative: bool, int: u64, frac: &str, suffix: &str) -> Option<i128> {
        let (mult_num, mult_den): (i128, i128) = match suffix {
            "n" => (1, 1_000_000_000),
            "u" => (1, 1_000_000),
            "m" => (1, 1_000),
            "" => (1, 1),
            "k" => (1_000, 1),
            "M" => (1_000_000, 1),
            "G" => (1_000_000_000, 1),
            "Ki" => (1 << 10, 1),
            "Mi" => (1 << 20, 1),
            "Gi" => (1 << 30, 1),
            "Ti" => (1 << 40, 1),
            "e2" => (100, 1),
            "e-2" => (1, 100),
            _ => return None,
        };
        let scale = 10i128.pow(frac.len() as u32);
        let frac_value: i128 = if frac.is_empty() {
            0
        } else {
            frac.parse().ok()?
        };
        let numerator = (i128::from(int) * scale + frac_value) * mult_num * N;
        let denominator = scale * mult_den;
        let magnitude = ((numerator + denominator - 1) / denominator).min(MAX_NANOS);
        Some(if negative { -magnitude } else { magnitude })
    }

    proptest! {
        #[test]
        fn agrees_with_the_reference_model(
            negative in any::<bool>(),
            int in 0u64..1_000_000,
            frac in "[0-9]{0,9}",
            suffix in prop::sample::select(vec!["n", "u", "m", "", "k", "M", "G", "Ki", "Mi", "Gi", "Ti", "e2", "e-2"]),
        ) {
            let text = format!("{}{int}{}{frac}{suffix}", if negative { "-" } else { "" }, if frac.is_empty() { "" } else { "." });
            let expected = reference(negative, int, &frac, suffix).unwrap();
            prop_assert_eq!(Quantity::parse(&text).unwrap().nanos(), expected, "{}", text);
        }

        #[test]
        fn canonical_text_reads_back_to_the_same_value(
            int in any::<i64>(),
            frac in "[0-9]{0,9}",
            suffix in prop::sample::select(vec!["n", "u", "m", "", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "e5", "e-4"]),
        ) {
            let text = format!("{int}.{frac}{suffix}");
            let parsed = Quantity::parse(&text).unwrap();
            let canonical = parsed.to_string();
            prop_assert_eq!(Quantity::parse(&canonical).unwrap(), parsed, "{} -> {}", text, canonical);
        }

        #[test]
        fn order_agrees_with_integer_order(a in any::<i64>(), b in any::<i64>()) {
            let (qa, qb) = (Quantity::parse(&a.to_string()).unwrap(), Quantity::parse(&b.to_string()).unwrap());
            prop_assert_eq!(qa.cmp(&qb), a.cmp(&b));
            prop_assert_eq!(qa.to_i64(), Some(a));
        }

        #[test]
        fn units_are_interchangeable(x in 0u64..1_000_000_000_000) {
            prop_assert_eq!(Quantity::parse(&format!("{x}k")).unwrap(), Quantity::parse(&format!("{x}000")).unwrap());
            prop_assert_eq!(Quantity::parse(&format!("{x}Ki")).unwrap(), Quantity::parse(&(u128::from(x) * 1024).to_string()).unwrap());
            prop_assert_eq!(Quantity::parse(&format!("{x}m")).unwrap(), Quantity::parse(&format!("{x}e-3")).unwrap());
        }

        #[test]
        fn never_panics_on_any_text(text in "\\PC{0,40}") {
            let _ = Quantity::parse(&text).map(|q| q.to_string());
        }

        #[test]
        fn never_panics_on_quantity_shaped_text(text in "[-+]?[0-9.]{0,60}[eEinumkKMGTP]{0,3}[-+]?[0-9]{0,12}") {
            if let Ok(q) = Quantity::parse(&text) {
                prop_assert!(q.nanos().abs() <= MAX_NANOS);
                let _ = q.to_string();
            }
        }
    }
}
