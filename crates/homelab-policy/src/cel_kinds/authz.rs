//! Authorization ValidatingPolicies (`evaluation.mode: HTTP` or `Envoy`, Kyverno's
//! authz servers), evaluated on a test's `httpPayloads` / `envoyPayloads` (a check
//! request, bound as `object`) the way `kyverno test` does:
//! match conditions, then the variables, then PolicyExceptions (a matching one leaves
//! the request undecided), then each validation in order: the first that returns a
//! response decides. `envoy.Allowed()` / `http.Allowed()` -> pass, `envoy.Denied(code)`
//! / `http.Denied(reason)` -> fail, no response -> skip ("request does not match"), an
//! error -> error (with `failurePolicy: Ignore`, skip).
//!
//! The response builders (`WithBody`, `WithHeader`, `WithMessage`, ...) are accepted
//! and recorded; `jwt.Decode(token, secret)` verifies HMAC-signed (HS256/384/512) JSON
//! Web Tokens and reports their claims and whether their time claims hold.

use std::sync::Arc;

use base64::Engine;
use homelab_cel::{cel_to_json, json_to_cel, Activation, Value};
use serde_json::{json, Map, Value as Json};
use sha2::Digest;

use crate::context::EvalContext;
use crate::response::{RuleResponse, Status};

use super::eval;
use super::fields;

/// The kind of request an authorization policy decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Http,
    Envoy,
}

/// The authorization mode of a ValidatingPolicy, if it has one.
pub fn mode(policy: &Json) -> Option<Mode> {
    if !super::is_validating_policy(policy) {
        return None;
    }
    match policy
        .pointer("/spec/evaluation/mode")
        .and_then(Json::as_str)
    {
        Some("HTTP") => Some(Mode::Http),
        Some("Envoy") => Some(Mode::Envoy),
        _ => None,
    }
}

const MARK: &str = "@authz";

fn builder(kind: &str, extra: Json) -> Value {
    let mut m = Map::new();
    m.insert(MARK.into(), Json::String(kind.into()));
    if let Json::Object(e) = extra {
        m.extend(e);
    }
    json_to_cel(&Json::Object(m))
}

fn this_json(this: Option<&Value>, func: &str) -> Result<Map<String, Json>, String> {
    match this.map(cel_to_json) {
        Some(Json::Object(m)) if m.contains_key(MARK) => Ok(m),
        _ => Err(format!("{func}: not an authorization response")),
    }
}

fn str_arg(args: &[Value], i: usize, func: &str) -> Result<String, String> {
    match args.get(i) {
        Some(Value::String(s)) => Ok(s.to_string()),
        _ => Err(format!("{func}: argument {} must be a string", i + 1)),
    }
}

fn b64url(s: &str) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|e| format!("jwt.Decode: invalid base64url: {e}"))
}

fn hmac<D: Digest + sha2::digest::core_api::BlockSizeUser>(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let block = <D as sha2::digest::core_api::BlockSizeUser>::block_size();
    let mut k = if key.len() > block {
        D::digest(key).to_vec()
    } else {
        key.to_vec()
    };
    k.resize(block, 0);
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner = D::new().chain_update(&ipad).chain_update(msg).finalize();
    D::new()
        .chain_update(&opad)
        .chain_update(inner)
        .finalize()
        .to_vec()
}

/// `jwt.Decode(token, key)`: `{Claims, Valid}` of an HMAC-signed token; a signature
/// that does not verify is an error, `Valid` says whether exp/nbf/iat hold now.
fn jwt_decode(token: &str, key: &str) -> Result<Json, String> {
    let parts: Vec<&str> = token.split('.').collect();
    let [h, p, sig] = parts.as_slice() else {
        return Err("jwt.Decode: a token has three dot-separated parts".into());
    };
    let header: Json = serde_json::from_slice(&b64url(h)?)
        .map_err(|e| format!("jwt.Decode: invalid header: {e}"))?;
    let claims: Json = serde_json::from_slice(&b64url(p)?)
        .map_err(|e| format!("jwt.Decode: invalid claims: {e}"))?;
    let signed = format!("{h}.{p}");
    let want = b64url(sig)?;
    let got = match header.get("alg").and_then(Json::as_str) {
        Some("HS256") => hmac::<sha2::Sha256>(key.as_bytes(), signed.as_bytes()),
        Some("HS384") => hmac::<sha2::Sha384>(key.as_bytes(), signed.as_bytes()),
        Some("HS512") => hmac::<sha2::Sha512>(key.as_bytes(), signed.as_bytes()),
        other => {
            return Err(format!(
                "jwt.Decode: algorithm {other:?} needs a key set (only HMAC secrets are supported offline)"
            ))
        }
    };
    if got != want {
        return Err(
            "jwt.Decode: could not verify message using any of the signatures or keys".into(),
        );
    }
    let now = chrono::Utc::now().timestamp();
    let num = |k: &str| claims.get(k).and_then(Json::as_f64);
    let valid = num("exp").is_none_or(|e| (now as f64) < e)
        && num("nbf").is_none_or(|n| (now as f64) >= n)
        && num("iat").is_none_or(|i| (now as f64) >= i);
    Ok(json!({"Claims": claims, "Valid": valid}))
}

/// Binds the authorization libraries of `mode` (and `jwt.Decode`).
fn bind(act: &mut Activation, mode: Mode) {
    let prefix = match mode {
        Mode::Http => "http",
        Mode::Envoy => "envoy",
    };
    act.bind_function(
        &format!("{prefix}.Allowed"),
        Arc::new(|_, _| Ok(builder("ok", json!({})))),
    );
    act.bind_function(
        &format!("{prefix}.Denied"),
        Arc::new(move |_, args| match (mode, args.first()) {
            (Mode::Envoy, Some(Value::Int(code))) => Ok(builder("denied", json!({"code": code}))),
            (Mode::Http, Some(Value::String(r))) => {
                Ok(builder("denied", json!({"reason": r.to_string()})))
            }
            _ => Err(format!("{prefix}.Denied: unexpected argument")),
        }),
    );
    for name in ["Header", "QueryParam"] {
        act.bind_function(
            &format!("envoy.{name}"),
            Arc::new(|_, args| {
                let (k, v) = (
                    str_arg(args, 0, "envoy.Header")?,
                    str_arg(args, 1, "envoy.Header")?,
                );
                Ok(json_to_cel(&json!({"key": k, "value": v})))
            }),
        );
    }
    // Builder methods: recorded on the response, which they return.
    for method in [
        "WithBody",
        "WithHeader",
        "WithMessage",
        "WithMetadata",
        "WithQueryParam",
        "WithResponseHeader",
        "WithoutHeader",
        "WithoutQueryParam",
        "KeepEmptyValue",
    ] {
        act.bind_function(
            method,
            Arc::new(move |this, args| {
                if method == "KeepEmptyValue" {
                    return this
                        .cloned()
                        .ok_or_else(|| "KeepEmptyValue: no receiver".into());
                }
                let mut m = this_json(this, method)?;
                let values: Vec<Json> = args.iter().map(cel_to_json).collect();
                m.insert(method.into(), Json::Array(values));
                Ok(json_to_cel(&Json::Object(m)))
            }),
        );
    }
    act.bind_function(
        "Response",
        Arc::new(|this, _| {
            let mut m = this_json(this, "Response")?;
            m.insert("@response".into(), Json::Bool(true));
            Ok(json_to_cel(&Json::Object(m)))
        }),
    );
    if mode == Mode::Http {
        // request.attributes.Header(name) / .QueryParam(name): the values of a header
        // (case-insensitive) or query parameter
        for (method, field, fold) in [("Header", "header", true), ("QueryParam", "query", false)] {
            act.bind_function(
                method,
                Arc::new(move |this, args| {
                    let key = str_arg(args, 0, method)?;
                    let attrs = this.map(cel_to_json).unwrap_or(Json::Null);
                    let values = attrs
                        .get(field)
                        .and_then(Json::as_object)
                        .and_then(|m| {
                            m.iter()
                                .find(|(k, _)| {
                                    if fold {
                                        k.eq_ignore_ascii_case(&key)
                                    } else {
                                        **k == key
                                    }
                                })
                                .map(|(_, v)| v.clone())
                        })
                        .unwrap_or(json!([]));
                    Ok(json_to_cel(&values))
                }),
            );
        }
    }
    act.bind_function(
        "jwt.Decode",
        Arc::new(|_, args| {
            let token = str_arg(args, 0, "jwt.Decode")?;
            let key = str_arg(args, 1, "jwt.Decode")?;
            jwt_decode(&token, &key).map(|j| json_to_cel(&j))
        }),
    );
}

/// Evaluates an authorization policy on a check request payload.
pub fn evaluate(
    policy: &Json,
    mode: Mode,
    payload: &Json,
    ctx: &EvalContext,
    exceptions: &[Json],
) -> Vec<RuleResponse> {
    let name = fields::policy_name(policy);
    let respond = |status, message: String| vec![RuleResponse::new(name, status, message)];
    let Some(spec) = policy.get("spec") else {
        return respond(Status::Error, "policy has no spec".into());
    };
    let ignore = spec.get("failurePolicy").and_then(Json::as_str) == Some("Ignore");
    let failed = |e: String| {
        if ignore {
            respond(Status::Skip, "request does not match".into())
        } else {
            respond(Status::Error, e)
        }
    };
    let null = Json::Null;
    let mut act = eval::activation(payload, &null, &null, &null, ctx);
    bind(&mut act, mode);
    let no_vars = eval::Variables::default();
    if let Some(conds) = spec.get("matchConditions").and_then(Json::as_array) {
        match eval::match_conditions(conds, &act, &no_vars) {
            Ok(true) => {}
            Ok(false) => return respond(Status::Skip, "request does not match".into()),
            Err(e) => return failed(e),
        }
    }
    let vars = eval::eval_variables(fields::list(spec, "variables"), &mut act);
    match super::exceptions::first_holding(
        super::exceptions::for_policy(policy, exceptions),
        &act,
        &vars,
    ) {
        Ok(Some(_)) => return respond(Status::Skip, "request does not match".into()),
        Ok(None) => {}
        Err(e) => return failed(e),
    }
    for v in fields::list(spec, "validations") {
        let expr = v.get("expression").and_then(Json::as_str).unwrap_or("");
        match eval::eval_json(expr, &act, &vars) {
            Err(e) => return failed(e),
            Ok(Json::Null) => continue,
            Ok(Json::Object(r)) if r.get(MARK).and_then(Json::as_str) == Some("ok") => {
                return respond(Status::Pass, "request allowed".into())
            }
            Ok(Json::Object(r)) if r.get(MARK).and_then(Json::as_str) == Some("denied") => {
                let message = match mode {
                    Mode::Envoy => format!(
                        "request denied with status code {}",
                        r.get("code").cloned().unwrap_or(Json::Null)
                    ),
                    Mode::Http => format!(
                        "request denied, reason: {}",
                        r.get("reason").and_then(Json::as_str).unwrap_or("")
                    ),
                };
                return respond(Status::Fail, message);
            }
            Ok(other) => {
                return failed(format!(
                    "rule result is expected to be an authorization response, got {other}"
                ))
            }
        }
    }
    respond(Status::Skip, "request does not match".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(mode: &str, validations: Json) -> Json {
        json!({"apiVersion": "policies.kyverno.io/v1", "kind": "ValidatingPolicy", "metadata": {"name": "authz"},
               "spec": {"evaluation": {"mode": mode}, "failurePolicy": "Fail",
                        "variables": [{"name": "auth", "expression": "object.attributes.request.http.headers[?'authorization'].orValue('').split(' ')"}],
                        "validations": validations}})
    }

    fn run(p: &Json, payload: Json) -> Status {
        let m = mode(p).unwrap();
        evaluate(p, m, &payload, &EvalContext::default(), &[])[0].status
    }

    #[test]
    fn the_first_response_decides() {
        let p = policy(
            "Envoy",
            json!([{"expression": "size(variables.auth) == 2 ? null : envoy.Denied(401).WithBody('no').Response()"},
                   {"expression": "envoy.Allowed().WithHeader('x', 'y').Response()"}]),
        );
        let req = |auth: &str| json!({"attributes": {"request": {"http": {"headers": {"authorization": auth}}}}});
        assert_eq!(run(&p, req("")), Status::Fail);
        assert_eq!(run(&p, req("bearer x")), Status::Pass);
        let none = policy("Envoy", json!([{"expression": "null"}]));
        assert_eq!(run(&none, req("")), Status::Skip);
        let http = policy(
            "HTTP",
            json!([{"expression": "http.Denied('nope').Response()"}]),
        );
        assert_eq!(
            run(&http, json!({"attributes": {"method": "GET"}})),
            Status::Fail
        );
    }

    #[test]
    fn hmac_tokens_verify() {
        // {"alg":"HS256","typ":"JWT"} . {"role":"admin","exp":4102444800} signed with "secret"
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"role":"admin","exp":4102444800}"#);
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hmac::<sha2::Sha256>(
            b"secret",
            format!("{header}.{claims}").as_bytes(),
        ));
        let token = format!("{header}.{claims}.{sig}");
        let t = jwt_decode(&token, "secret").unwrap();
        assert_eq!(t["Claims"]["role"], "admin");
        assert_eq!(t["Valid"], true);
        assert!(jwt_decode(&token, "other").is_err());
    }

    #[test]
    fn rfc_4231_hmac_sha256() {
        // RFC 4231 test case 2
        let mac = hmac::<sha2::Sha256>(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
