//! Malformed configs: each error names platform.toml:LINE:COL, the key, and what is allowed.

use homelab_platform::{parse, DEFAULT_CONFIG};

/// Replace the first occurrence of `from` in the default config.
fn edit(from: &str, to: &str) -> String {
    assert!(
        DEFAULT_CONFIG.contains(from),
        "fixture text {from:?} not in the default"
    );
    DEFAULT_CONFIG.replacen(from, to, 1)
}

/// 1-based line of the first occurrence of `needle` in `text`.
fn line_of(text: &str, needle: &str) -> u32 {
    let idx = text.find(needle).expect("needle present");
    text[..idx].matches('\n').count() as u32 + 1
}

fn expect_error(text: &str, key: &str, needle_line: &str, message_part: &str) {
    let errors = parse(text, "platform.toml").expect_err("config must be rejected");
    let e = errors
        .0
        .iter()
        .find(|e| e.key == key)
        .unwrap_or_else(|| panic!("no error for key {key:?}: {errors}"));
    assert_eq!(e.line, line_of(text, needle_line), "line of {key}: {e}");
    assert!(e.column >= 1, "{e}");
    assert!(e.message.contains(message_part), "message of {key}: {e}");
    let shown = e.to_string();
    assert!(
        shown.starts_with(&format!("platform.toml:{}:", e.line)),
        "{shown}"
    );
    assert!(shown.contains(&format!("key '{key}'")), "{shown}");
}

#[test]
fn default_config_is_valid() {
    let c = parse(DEFAULT_CONFIG, "platform.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.nodes.len(), 2);
    assert_eq!(c.nodes[0].name, "homelab");
    assert_eq!(c.nodes[0].cores, 28);
    assert_eq!(c.nodes[0].memory_gb, 120);
    assert_eq!(c.nodes[1].gpu.as_ref().map(|g| g.vram_gb), Some(16));
    assert_eq!(c.storage.compression, "zstd:1");
    assert_eq!(c.github.auth, "github-app");
}

#[test]
fn gpu_vram_of_wrong_type() {
    let text = edit("vram_gb = 16", "vram_gb = \"x\"");
    expect_error(
        &text,
        "nodes[1].gpu.vram_gb",
        "vram_gb = \"x\"",
        "expected a non-negative integer",
    );
}

#[test]
fn unknown_key_gets_a_suggestion() {
    let text = edit("domain = \"homelab.lan\"", "domian = \"homelab.lan\"");
    let errors = parse(&text, "platform.toml").expect_err("rejected");
    let e = &errors.0[0];
    assert!(e.message.contains("unknown key `domian`"), "{e}");
    assert!(e.message.contains("did you mean `domain`"), "{e}");
    assert_eq!(e.line, line_of(&text, "domian"));
}

#[test]
fn unknown_component_is_rejected() {
    let text = format!(
        "{DEFAULT_CONFIG}\n[components.olama]\nenabled = true\nnamespace = \"x\"\nsync_wave = 1\n"
    );
    let errors = parse(&text, "platform.toml").expect_err("rejected");
    let e = &errors.0[0];
    assert!(e.message.contains("did you mean `ollama`"), "{e}");
    assert!(e.line > 0, "{e}");
}

#[test]
fn pat_auth_is_refused() {
    let text = edit("auth = \"github-app\"", "auth = \"pat\"");
    expect_error(
        &text,
        "github.auth",
        "auth = \"pat\"",
        "personal access tokens are refused",
    );
}

#[test]
fn no_storage_node_is_an_invalid_topology() {
    let text = edit(
        "roles = [\"storage\", \"general\"]",
        "roles = [\"general\"]",
    )
    .replacen("roles = [\"gpu\", \"storage\"]", "roles = [\"gpu\"]", 1);
    let errors = parse(&text, "platform.toml").expect_err("rejected");
    assert!(
        errors
            .0
            .iter()
            .any(|e| e.key == "nodes" && e.message.contains("storage")),
        "{errors}"
    );
}

#[test]
fn gpu_component_without_gpu_node() {
    let start = DEFAULT_CONFIG
        .find("[[nodes]]\nname = \"akula-prime\"")
        .expect("second node");
    let end = DEFAULT_CONFIG[start..].find("[k3s]").expect("k3s") + start;
    let text = format!("{}{}", &DEFAULT_CONFIG[..start], &DEFAULT_CONFIG[end..]);
    expect_error(
        &text,
        "components.ollama.enabled",
        "enabled = true\nnamespace = \"gpu-workloads\"\nsync_wave = 1",
        "needs a GPU node",
    );
}

#[test]
fn over_capacity_is_reported_on_the_node() {
    let text = edit("memory_gb = 120", "memory_gb = 4");
    expect_error(
        &text,
        "nodes[0].memory_gb",
        "memory_gb = 4",
        "over-committed",
    );
}

#[test]
fn bad_compression_lists_what_is_allowed() {
    let text = edit("compression = \"zstd:1\"", "compression = \"zstd:99\"");
    expect_error(
        &text,
        "storage.compression",
        "compression = \"zstd:99\"",
        "zstd:3 (SATA)",
    );
}

#[test]
fn unpinned_chart_version() {
    let text = edit("version = \"1.12.1\"", "version = \"^1.7\"");
    expect_error(
        &text,
        "components.longhorn.chart.version",
        "version = \"^1.7\"",
        "exact chart version",
    );
}

#[test]
fn latest_image_is_refused() {
    let text = edit(
        "image = \"docker.io/ollama/ollama:0.34.0\"",
        "image = \"docker.io/ollama/ollama:latest\"",
    );
    expect_error(
        &text,
        "components.ollama.image",
        "ollama:latest",
        "pinned tag",
    );
}

#[test]
fn lan_cidr_must_be_private() {
    let text = edit("lan_cidr = \"192.168.0.0/16\"", "lan_cidr = \"8.8.8.0/24\"");
    expect_error(
        &text,
        "cluster.lan_cidr",
        "lan_cidr = \"8.8.8.0/24\"",
        "RFC 1918",
    );
}

#[test]
fn syntax_error_has_a_position() {
    let text = edit("name = \"homelab\"", "name = \"homelab");
    let errors = parse(&text, "platform.toml").expect_err("rejected");
    let e = &errors.0[0];
    assert_eq!(e.line, line_of(&text, "name = \"homelab"));
    assert!(e.to_string().starts_with("platform.toml:"), "{e}");
}

#[test]
fn wave_out_of_range_and_crd_order() {
    let text = edit(
        "sync_wave = -2\nchart = { repo = \"https://kyverno",
        "sync_wave = 0\nchart = { repo = \"https://kyverno",
    );
    expect_error(
        &text,
        "components.kyverno.sync_wave",
        "sync_wave = 0\nchart = { repo = \"https://kyverno",
        "CRDs first",
    );
    let text = edit(
        "sync_wave = 1\nimage = \"docker.io/ollama",
        "sync_wave = 7\nimage = \"docker.io/ollama",
    );
    expect_error(
        &text,
        "components.ollama.sync_wave",
        "sync_wave = 7",
        "from -2 to 3",
    );
}

#[test]
fn missing_key_says_what_is_needed() {
    let text = edit("revision = \"main\"\n", "");
    let errors = parse(&text, "platform.toml").expect_err("rejected");
    assert!(
        errors.0[0]
            .message
            .contains("missing required key `revision`"),
        "{errors}"
    );
}

#[test]
fn foundation_cannot_be_switched_off() {
    let text = edit(
        "[components.argocd]\nenabled = true",
        "[components.argocd]\nenabled = false",
    );
    expect_error(
        &text,
        "components.argocd.enabled",
        "enabled = false",
        "cannot be switched off",
    );
}

#[test]
fn component_on_an_unknown_node() {
    let text = edit(
        "storage_size = \"50Gi\"",
        "storage_size = \"50Gi\"\nnode = \"nowhere\"",
    );
    expect_error(
        &text,
        "components.gitlab.node",
        "node = \"nowhere\"",
        "nodes: homelab, akula-prime",
    );
}

#[test]
fn sops_recipient_must_be_an_age_public_key() {
    let text = edit(
        "age_recipients = []",
        "age_recipients = [\"age1replace0with0your0age0public0key\"]",
    );
    expect_error(
        &text,
        "sops.age_recipients[0]",
        "age_recipients = [",
        "not an age recipient",
    );
    let text = edit(
        "age_recipients = []",
        "age_recipients = [\"age1l3nzv85220ygnk4xx3ekk39aytssuyrxtr95wsalykrysxkcf45qfkf5g2\"]",
    );
    assert!(parse(&text, "platform.toml").is_ok());
}
