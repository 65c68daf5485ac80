//! JMESPath (with Kyverno's functions) and `{{ }}` substitution on arbitrary input:
//! `<expression>\n<data JSON>`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (expr, json) = text.split_once('\n').unwrap_or((text, "{}"));
    let Ok(value) = serde_json::from_str::<serde_json::Value>(json) else {
        return;
    };
    let _ = homelab_policy::jmes::search(expr, &value);
    if let serde_json::Value::Object(m) = value {
        let vars = homelab_policy::variables::Vars::new(m);
        let _ = vars.substitute_str(expr, homelab_policy::variables::Mode::Strict);
    }
});
