//! No panic on any prefix or byte-flip of a valid config: every input gives Ok or an error
//! with a position.

use homelab_platform::{parse, DEFAULT_CONFIG};

#[test]
fn every_prefix_of_the_default_parses_or_errors_without_panic() {
    let text = DEFAULT_CONFIG;
    for cut in (0..text.len()).step_by(13) {
        if !text.is_char_boundary(cut) {
            continue;
        }
        if let Err(errors) = parse(&text[..cut], "platform.toml") {
            assert!(!errors.0.is_empty());
            for e in &errors.0 {
                assert!(!e.message.is_empty());
            }
        }
    }
}

#[test]
fn byte_flips_never_panic() {
    let bytes = DEFAULT_CONFIG.as_bytes();
    let replacements = [b'"', b'=', b'[', b']', b'\n', b'0', b'x', b'-', b'{', b'.'];
    for (i, pos) in (0..bytes.len()).step_by(23).enumerate() {
        let mut mutated = bytes.to_vec();
        mutated[pos] = replacements[i % replacements.len()];
        if let Ok(text) = String::from_utf8(mutated) {
            if let Err(errors) = parse(&text, "platform.toml") {
                assert!(errors.0.iter().all(|e| !e.message.is_empty()));
            } else {
                // A mutation that is still valid must still render.
                let cfg = parse(&text, "platform.toml").expect("valid");
                homelab_platform::render(&cfg).expect("a valid config always renders");
            }
        }
    }
}
