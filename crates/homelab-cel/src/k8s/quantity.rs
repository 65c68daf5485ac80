//! Kubernetes' quantity library: `quantity("1Gi")`, `isQuantity(s)` and the
//! methods `isInteger`, `asInteger`, `asApproximateFloat`, `sign`, `add`, `sub`,
//! `compareTo`, `isGreaterThan`, `isLessThan`, `equals`.
//!
//! A quantity is held as an exact decimal (mantissa × 10^exp, i128) so that
//! comparisons of `1Gi` and `1073741824` or `500m` and `0.5` are exact.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use cel::common::types::{DYN_TYPE, INT_TYPE, STRING_TYPE};
use cel::objects::Opaque;
use cel::{DeclarationError, Env, ExecutionError, Value};

use super::{global, member, opaque, opaque_arg, opaque_type, string_arg};

const TYPE_NAME: &str = "kubernetes.Quantity";

/// A parsed Kubernetes resource quantity.
#[derive(Debug, Clone)]
pub struct Quantity {
    mantissa: i128,
    exp: i32,
    text: String,
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.cmp_value(other) == Ordering::Equal
    }
}
impl Eq for Quantity {}

impl Opaque for Quantity {
    fn runtime_type_name(&self) -> &str {
        TYPE_NAME
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Quantity {
    /// Parses the Kubernetes quantity syntax: a signed decimal number and an
    /// optional suffix (binary `Ki`..`Ei`, decimal `n u m k M G T P E`, or an
    /// exponent `e3`/`E-2`).
    pub fn parse(s: &str) -> Option<Quantity> {
        let t = s.trim();
        if t.is_empty() || t != s {
            return None;
        }
        let (sign, rest) = match t.as_bytes()[0] {
            b'+' => (1i128, &t[1..]),
            b'-' => (-1i128, &t[1..]),
            _ => (1i128, t),
        };
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, suffix) = rest.split_at(num_end);
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return None;
        }
        let (int_part, frac_part) = num.split_once('.').unwrap_or((num, ""));
        let digits = format!("{int_part}{frac_part}");
        let digits = digits.trim_start_matches('0');
        if digits.len() > 30 {
            return None;
        }
        let mut mantissa: i128 = if digits.is_empty() {
            0
        } else {
            digits.parse().ok()?
        };
        let mut exp: i32 = -(frac_part.len() as i32);
        match suffix {
            "" => {}
            "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" => {
                let power = match suffix {
                    "Ki" => 1,
                    "Mi" => 2,
                    "Gi" => 3,
                    "Ti" => 4,
                    "Pi" => 5,
                    _ => 6,
                };
                mantissa = mantissa.checked_mul(1024i128.checked_pow(power)?)?;
            }
            "n" => exp -= 9,
            "u" => exp -= 6,
            "m" => exp -= 3,
            "k" => exp += 3,
            "M" => exp += 6,
            "G" => exp += 9,
            "T" => exp += 12,
            "P" => exp += 15,
            "E" => exp += 18,
            _ => {
                let e = suffix.strip_prefix(['e', 'E'])?;
                let e: i32 = e.parse().ok()?;
                if !(-100..=100).contains(&e) {
                    return None;
                }
                exp += e;
            }
        }
        Some(Quantity {
            mantissa: sign * mantissa,
            exp,
            text: s.to_string(),
        })
    }

    fn from_parts(mantissa: i128, exp: i32) -> Quantity {
        let mut q = Quantity {
            mantissa,
            exp,
            text: String::new(),
        };
        q.normalize();
        q.text = q.canonical();
        q
    }

    fn normalize(&mut self) {
        while self.mantissa != 0 && self.mantissa % 10 == 0 && self.exp < 0 {
            self.mantissa /= 10;
            self.exp += 1;
        }
    }

    /// A plain decimal rendering (no suffix), used for computed quantities.
    fn canonical(&self) -> String {
        if self.exp >= 0 {
            if self.exp <= 18 {
                if let Some(v) = self.mantissa.checked_mul(10i128.pow(self.exp as u32)) {
                    return v.to_string();
                }
            }
            return format!("{}e{}", self.mantissa, self.exp);
        }
        let neg = self.mantissa < 0;
        let digits = self.mantissa.unsigned_abs().to_string();
        let scale = (-self.exp) as usize;
        let padded = if digits.len() <= scale {
            format!("{}{digits}", "0".repeat(scale - digits.len() + 1))
        } else {
            digits
        };
        let (i, f) = padded.split_at(padded.len() - scale);
        format!("{}{i}.{f}", if neg { "-" } else { "" })
    }

    /// Both mantissas scaled to a common exponent (None on overflow).
    fn aligned(&self, other: &Quantity) -> Option<(i128, i128, i32)> {
        let exp = self.exp.min(other.exp);
        let a = self
            .mantissa
            .checked_mul(10i128.checked_pow((self.exp - exp) as u32)?)?;
        let b = other
            .mantissa
            .checked_mul(10i128.checked_pow((other.exp - exp) as u32)?)?;
        Some((a, b, exp))
    }

    fn cmp_value(&self, other: &Quantity) -> Ordering {
        match self.aligned(other) {
            Some((a, b, _)) => a.cmp(&b),
            None => self
                .as_f64()
                .partial_cmp(&other.as_f64())
                .unwrap_or(Ordering::Equal),
        }
    }

    pub fn as_f64(&self) -> f64 {
        self.mantissa as f64 * 10f64.powi(self.exp)
    }

    fn as_integer(&self) -> Option<i64> {
        if self.exp >= 0 {
            let v = self
                .mantissa
                .checked_mul(10i128.checked_pow(self.exp as u32)?)?;
            return i64::try_from(v).ok();
        }
        let div = 10i128.checked_pow((-self.exp) as u32)?;
        if self.mantissa % div != 0 {
            return None;
        }
        i64::try_from(self.mantissa / div).ok()
    }

    fn add(&self, other: &Quantity, sign: i128) -> Option<Quantity> {
        let (a, b, exp) = self.aligned(other)?;
        Some(Quantity::from_parts(a.checked_add(sign * b)?, exp))
    }
}

fn this(func: &str, a: &[Value]) -> Result<Quantity, ExecutionError> {
    opaque_arg::<Quantity>(a, 0)
        .cloned()
        .ok_or_else(|| ExecutionError::function_error(func, "receiver is not a quantity"))
}

/// The second argument as a quantity: a quantity or an int.
fn other(func: &str, a: &[Value]) -> Result<Quantity, ExecutionError> {
    if let Some(q) = opaque_arg::<Quantity>(a, 1) {
        return Ok(q.clone());
    }
    match a.get(1) {
        Some(Value::Int(i)) => Ok(Quantity::from_parts(i128::from(*i), 0)),
        _ => Err(ExecutionError::function_error(
            func,
            "argument is not a quantity",
        )),
    }
}

fn quantity(a: &[Value]) -> Result<Value, ExecutionError> {
    let s = string_arg("quantity", a, 0)?;
    Quantity::parse(s).map(opaque).ok_or_else(|| {
        ExecutionError::function_error("quantity", format!("invalid quantity {s:?}"))
    })
}

fn is_quantity(a: &[Value]) -> Result<Value, ExecutionError> {
    let s = string_arg("isQuantity", a, 0)?;
    Ok(Value::Bool(Quantity::parse(s).is_some()))
}

fn is_integer(a: &[Value]) -> Result<Value, ExecutionError> {
    Ok(Value::Bool(this("isInteger", a)?.as_integer().is_some()))
}

fn as_integer(a: &[Value]) -> Result<Value, ExecutionError> {
    this("asInteger", a)?
        .as_integer()
        .map(Value::Int)
        .ok_or_else(|| {
            ExecutionError::function_error("asInteger", "cannot convert value to integer")
        })
}

fn as_approximate_float(a: &[Value]) -> Result<Value, ExecutionError> {
    Ok(Value::Float(this("asApproximateFloat", a)?.as_f64()))
}

fn sign(a: &[Value]) -> Result<Value, ExecutionError> {
    Ok(Value::Int(this("sign", a)?.mantissa.signum() as i64))
}

fn add(a: &[Value]) -> Result<Value, ExecutionError> {
    let q = this("add", a)?;
    q.add(&other("add", a)?, 1)
        .map(opaque)
        .ok_or_else(|| ExecutionError::function_error("add", "quantity overflow"))
}

fn sub(a: &[Value]) -> Result<Value, ExecutionError> {
    let q = this("sub", a)?;
    q.add(&other("sub", a)?, -1)
        .map(opaque)
        .ok_or_else(|| ExecutionError::function_error("sub", "quantity overflow"))
}

fn compare_to(a: &[Value]) -> Result<Value, ExecutionError> {
    let ord = this("compareTo", a)?.cmp_value(&other("compareTo", a)?);
    Ok(Value::Int(ord as i64))
}

fn is_greater_than(a: &[Value]) -> Result<Value, ExecutionError> {
    let ord = this("isGreaterThan", a)?.cmp_value(&other("isGreaterThan", a)?);
    Ok(Value::Bool(ord == Ordering::Greater))
}

fn is_less_than(a: &[Value]) -> Result<Value, ExecutionError> {
    let ord = this("isLessThan", a)?.cmp_value(&other("isLessThan", a)?);
    Ok(Value::Bool(ord == Ordering::Less))
}

fn equals(a: &[Value]) -> Result<Value, ExecutionError> {
    let ord = this("equals", a)?.cmp_value(&other("equals", a)?);
    Ok(Value::Bool(ord == Ordering::Equal))
}

fn to_string(a: &[Value]) -> Result<Value, ExecutionError> {
    Ok(Value::String(Arc::new(this("string", a)?.to_string())))
}

pub(super) fn register(env: &mut Env) -> Result<(), DeclarationError> {
    let q = || opaque_type(TYPE_NAME);
    global!(
        env,
        "quantity",
        "string_to_quantity",
        vec![STRING_TYPE],
        quantity
    )?;
    global!(
        env,
        "isQuantity",
        "is_quantity_string",
        vec![STRING_TYPE],
        is_quantity
    )?;
    global!(env, "string", "quantity_to_string", vec![q()], to_string)?;
    member!(
        env,
        "isInteger",
        "quantity_is_integer",
        q(),
        vec![],
        is_integer
    )?;
    member!(
        env,
        "asInteger",
        "quantity_get_integer",
        q(),
        vec![],
        as_integer
    )?;
    member!(
        env,
        "asApproximateFloat",
        "quantity_get_float",
        q(),
        vec![],
        as_approximate_float
    )?;
    member!(env, "sign", "quantity_sign", q(), vec![], sign)?;
    member!(env, "add", "quantity_add_quantity", q(), vec![q()], add)?;
    member!(env, "sub", "quantity_sub_quantity", q(), vec![q()], sub)?;
    member!(
        env,
        "compareTo",
        "quantity_compare_to",
        q(),
        vec![q()],
        compare_to
    )?;
    member!(
        env,
        "isGreaterThan",
        "quantity_gt",
        q(),
        vec![q()],
        is_greater_than
    )?;
    member!(
        env,
        "isLessThan",
        "quantity_lt",
        q(),
        vec![q()],
        is_less_than
    )?;
    member!(env, "add", "quantity_add_int", q(), vec![INT_TYPE], add)?;
    member!(env, "sub", "quantity_sub_int", q(), vec![INT_TYPE], sub)?;
    member!(
        env,
        "equals",
        "quantity_equals",
        q(),
        vec![DYN_TYPE],
        equals
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap()
    }

    #[test]
    fn parses_suffixes() {
        assert_eq!(q("1Gi").as_integer(), Some(1 << 30));
        assert_eq!(q("500m").as_f64(), 0.5);
        assert_eq!(q("1.5k").as_integer(), Some(1500));
        assert_eq!(q("2e3").as_integer(), Some(2000));
        assert_eq!(q("-1").as_integer(), Some(-1));
        assert!(Quantity::parse("1 Gi").is_none());
        assert!(Quantity::parse("abc").is_none());
        assert!(Quantity::parse("1Xi").is_none());
        assert!(Quantity::parse("").is_none());
    }

    #[test]
    fn compares_exactly() {
        assert_eq!(q("1Gi"), q("1073741824"));
        assert_eq!(q("0.5"), q("500m"));
        assert_eq!(q("1Mi").cmp_value(&q("1M")), Ordering::Greater);
        assert_eq!(q("100m").cmp_value(&q("1")), Ordering::Less);
    }

    #[test]
    fn arithmetic() {
        assert_eq!(q("1").add(&q("500m"), 1).unwrap().to_string(), "1.5");
        assert_eq!(q("1Ki").add(&q("24"), -1).unwrap().to_string(), "1000");
        assert_eq!(q("1.5").as_integer(), None);
    }
}
