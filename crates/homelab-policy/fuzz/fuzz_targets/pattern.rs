//! Pattern matching on arbitrary JSON: input is `<resource JSON>\n<pattern JSON>`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (a, b) = text.split_once('\n').unwrap_or((text, "{}"));
    let (Ok(resource), Ok(pattern)) = (serde_json::from_str(a), serde_json::from_str(b)) else {
        return;
    };
    let _ = homelab_policy::pattern::match_pattern(&resource, &pattern);
    if let Some(s) = pattern.as_str() {
        let _ = homelab_policy::pattern::validate_value(
            &resource,
            &serde_json::Value::String(s.to_string()),
        );
    }
});
