//! Kubernetes' IP and CIDR libraries: `ip(s)`, `isIP(s)`, `ip.isCanonical(s)`,
//! `cidr(s)`, `isCIDR(s)` and their methods (`family`, `isLoopback`,
//! `isUnspecified`, `isLinkLocalUnicast`, `isLinkLocalMulticast`,
//! `isGlobalUnicast`, `containsIP`, `containsCIDR`, `ip`, `masked`, `prefixLength`).

use std::net::IpAddr;
use std::sync::Arc;

use cel::common::types::{DYN_TYPE, STRING_TYPE};
use cel::objects::Opaque;
use cel::{DeclarationError, Env, ExecutionError, Value};

use super::{global, member, opaque, opaque_arg, opaque_type, string_arg};

const IP_TYPE: &str = "net.IP";
const CIDR_TYPE: &str = "net.IPPrefix";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ip(IpAddr);

impl Opaque for Ip {
    fn runtime_type_name(&self) -> &str {
        IP_TYPE
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Opaque for Cidr {
    fn runtime_type_name(&self) -> &str {
        CIDR_TYPE
    }
}

/// Kubernetes rejects IPv4-mapped IPv6 and zones; std's parser rejects zones already.
fn parse_ip(s: &str) -> Option<IpAddr> {
    let ip: IpAddr = s.parse().ok()?;
    if let IpAddr::V6(v6) = ip {
        if v6.to_ipv4_mapped().is_some() {
            return None;
        }
    }
    Some(ip)
}

fn parse_cidr(s: &str) -> Option<Cidr> {
    let (a, p) = s.split_once('/')?;
    let addr = parse_ip(a)?;
    let prefix: u8 = p.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if prefix > max || p.starts_with('+') || (p.len() > 1 && p.starts_with('0')) {
        return None;
    }
    Some(Cidr { addr, prefix })
}

fn bits(ip: &IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v) => u128::from(u32::from(*v)),
        IpAddr::V6(v) => u128::from(*v),
    }
}

fn mask(c: &Cidr) -> u128 {
    let width = if c.addr.is_ipv4() { 32 } else { 128 };
    if c.prefix == 0 {
        0
    } else {
        let ones = u128::MAX << (128 - u32::from(c.prefix));
        ones >> (128 - width)
    }
}

fn masked_addr(c: &Cidr) -> IpAddr {
    let b = bits(&c.addr) & mask(c);
    match c.addr {
        IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::from(b as u32)),
        IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::from(b)),
    }
}

fn contains(c: &Cidr, ip: &IpAddr) -> bool {
    c.addr.is_ipv4() == ip.is_ipv4() && (bits(ip) & mask(c)) == (bits(&c.addr) & mask(c))
}

pub(super) fn display(o: &dyn Opaque) -> Option<String> {
    if let Some(ip) = o.downcast_ref::<Ip>() {
        return Some(ip.0.to_string());
    }
    o.downcast_ref::<Cidr>()
        .map(|c| format!("{}/{}", c.addr, c.prefix))
}

fn err(f: &str, m: impl ToString) -> ExecutionError {
    ExecutionError::function_error(f, m)
}

fn ip(a: &[Value]) -> Result<Value, ExecutionError> {
    let s = string_arg("ip", a, 0)?;
    parse_ip(s)
        .map(|i| opaque(Ip(i)))
        .ok_or_else(|| err("ip", format!("IP Address {s:?} parse error")))
}
fn is_ip(a: &[Value]) -> Result<Value, ExecutionError> {
    Ok(Value::Bool(parse_ip(string_arg("isIP", a, 0)?).is_some()))
}
fn is_canonical(a: &[Value]) -> Result<Value, ExecutionError> {
    let s = string_arg("ip.isCanonical", a, 0)?;
    let ip = parse_ip(s)
        .ok_or_else(|| err("ip.isCanonical", format!("IP Address {s:?} parse error")))?;
    Ok(Value::Bool(ip.to_string() == s))
}
fn cidr(a: &[Value]) -> Result<Value, ExecutionError> {
    let s = string_arg("cidr", a, 0)?;
    parse_cidr(s)
        .map(opaque)
        .ok_or_else(|| err("cidr", format!("network address {s:?} parse error")))
}
fn is_cidr(a: &[Value]) -> Result<Value, ExecutionError> {
    Ok(Value::Bool(
        parse_cidr(string_arg("isCIDR", a, 0)?).is_some(),
    ))
}

fn this_ip(a: &[Value]) -> Result<IpAddr, ExecutionError> {
    opaque_arg::<Ip>(a, 0)
        .map(|i| i.0)
        .ok_or_else(|| err("ip", "receiver is not an IP"))
}
fn this_cidr(a: &[Value]) -> Result<Cidr, ExecutionError> {
    opaque_arg::<Cidr>(a, 0)
        .cloned()
        .ok_or_else(|| err("cidr", "receiver is not a CIDR"))
}

fn family(a: &[Value]) -> Result<Value, ExecutionError> {
    Ok(Value::Int(if this_ip(a)?.is_ipv4() { 4 } else { 6 }))
}
fn is_loopback(a: &[Value]) -> Result<Value, ExecutionError> {
    Ok(Value::Bool(this_ip(a)?.is_loopback()))
}
fn is_unspecified(a: &[Value]) -> Result<Value, ExecutionError> {
    Ok(Value::Bool(this_ip(a)?.is_unspecified()))
}
fn is_link_local_unicast(a: &[Value]) -> Result<Value, ExecutionError> {
    Ok(Value::Bool(match this_ip(a)? {
        IpAddr::V4(v) => v.is_link_local(),
        IpAddr::V6(v) => (v.segments()[0] & 0xffc0) == 0xfe80,
    }))
}
fn is_link_local_multicast(a: &[Value]) -> Result<Value, ExecutionError> {
    Ok(Value::Bool(match this_ip(a)? {
        IpAddr::V4(v) => v.octets()[0] == 224 && v.octets()[1] == 0 && v.octets()[2] == 0,
        IpAddr::V6(v) => (v.segments()[0] & 0xff0f) == 0xff02,
    }))
}
fn is_global_unicast(a: &[Value]) -> Result<Value, ExecutionError> {
    let ip = this_ip(a)?;
    let g = match ip {
        IpAddr::V4(v) => {
            !(v.is_unspecified()
                || v.is_loopback()
                || v.is_multicast()
                || v.is_link_local()
                || v.is_broadcast())
        }
        IpAddr::V6(v) => {
            !(v.is_unspecified()
                || v.is_loopback()
                || v.is_multicast()
                || (v.segments()[0] & 0xffc0) == 0xfe80)
        }
    };
    Ok(Value::Bool(g))
}
fn ip_string(a: &[Value]) -> Result<Value, ExecutionError> {
    if let Some(ip) = opaque_arg::<Ip>(a, 0) {
        return Ok(Value::String(Arc::new(ip.0.to_string())));
    }
    let c = this_cidr(a)?;
    Ok(Value::String(Arc::new(format!("{}/{}", c.addr, c.prefix))))
}
fn contains_ip(a: &[Value]) -> Result<Value, ExecutionError> {
    let c = this_cidr(a)?;
    let ip = match a.get(1) {
        Some(Value::String(s)) => {
            parse_ip(s).ok_or_else(|| err("containsIP", format!("IP Address {s:?} parse error")))?
        }
        _ => opaque_arg::<Ip>(a, 1)
            .map(|i| i.0)
            .ok_or_else(|| err("containsIP", "argument is not an IP"))?,
    };
    Ok(Value::Bool(contains(&c, &ip)))
}
fn contains_cidr(a: &[Value]) -> Result<Value, ExecutionError> {
    let c = this_cidr(a)?;
    let other = match a.get(1) {
        Some(Value::String(s)) => parse_cidr(s)
            .ok_or_else(|| err("containsCIDR", format!("network address {s:?} parse error")))?,
        _ => opaque_arg::<Cidr>(a, 1)
            .cloned()
            .ok_or_else(|| err("containsCIDR", "argument is not a CIDR"))?,
    };
    Ok(Value::Bool(
        other.prefix >= c.prefix && contains(&c, &other.addr),
    ))
}
fn cidr_ip(a: &[Value]) -> Result<Value, ExecutionError> {
    Ok(opaque(Ip(this_cidr(a)?.addr)))
}
fn cidr_masked(a: &[Value]) -> Result<Value, ExecutionError> {
    let c = this_cidr(a)?;
    Ok(opaque(Cidr {
        addr: masked_addr(&c),
        prefix: c.prefix,
    }))
}
fn prefix_length(a: &[Value]) -> Result<Value, ExecutionError> {
    Ok(Value::Int(i64::from(this_cidr(a)?.prefix)))
}

pub(super) fn register(env: &mut Env) -> Result<(), DeclarationError> {
    let ipt = || opaque_type(IP_TYPE);
    let cidrt = || opaque_type(CIDR_TYPE);
    global!(env, "ip", "string_to_ip", vec![STRING_TYPE], ip)?;
    global!(env, "isIP", "is_ip", vec![STRING_TYPE], is_ip)?;
    global!(
        env,
        "ip.isCanonical",
        "ip_is_canonical",
        vec![STRING_TYPE],
        is_canonical
    )?;
    global!(env, "cidr", "string_to_cidr", vec![STRING_TYPE], cidr)?;
    global!(env, "isCIDR", "is_cidr", vec![STRING_TYPE], is_cidr)?;
    global!(env, "string", "ip_to_string", vec![ipt()], ip_string)?;
    global!(env, "string", "cidr_to_string", vec![cidrt()], ip_string)?;
    member!(env, "family", "ip_family", ipt(), vec![], family)?;
    member!(
        env,
        "isLoopback",
        "ip_is_loopback",
        ipt(),
        vec![],
        is_loopback
    )?;
    member!(
        env,
        "isUnspecified",
        "ip_is_unspecified",
        ipt(),
        vec![],
        is_unspecified
    )?;
    member!(
        env,
        "isLinkLocalUnicast",
        "ip_llu",
        ipt(),
        vec![],
        is_link_local_unicast
    )?;
    member!(
        env,
        "isLinkLocalMulticast",
        "ip_llm",
        ipt(),
        vec![],
        is_link_local_multicast
    )?;
    member!(
        env,
        "isGlobalUnicast",
        "ip_gu",
        ipt(),
        vec![],
        is_global_unicast
    )?;
    member!(
        env,
        "containsIP",
        "cidr_contains_ip",
        cidrt(),
        vec![DYN_TYPE],
        contains_ip
    )?;
    member!(
        env,
        "containsCIDR",
        "cidr_contains_cidr",
        cidrt(),
        vec![DYN_TYPE],
        contains_cidr
    )?;
    member!(env, "ip", "cidr_ip", cidrt(), vec![], cidr_ip)?;
    member!(env, "masked", "cidr_masked", cidrt(), vec![], cidr_masked)?;
    member!(
        env,
        "prefixLength",
        "cidr_prefix_length",
        cidrt(),
        vec![],
        prefix_length
    )?;
    Ok(())
}
