//! Round trips and refusals over the whole object model, with keys generated here.

use crate::backup::{check_sealed_secret, Verdict};
use crate::crypto::{decode_base64_strict, encode_base64, hybrid_decrypt};
use crate::keygen::{generate, GeneratedKey};
use crate::keys::{parse_certificate, NamedKey};
use crate::scope::{Scope, ANNOTATION_CLUSTER_WIDE, ANNOTATION_NAMESPACE_WIDE};
use crate::sealed::{merge_into, seal_raw, seal_secret, unseal, SealOptions};
use serde_json::{json, Value};
use std::sync::OnceLock;
use std::time::Duration;

fn key1() -> &'static GeneratedKey {
    static K: OnceLock<GeneratedKey> = OnceLock::new();
    K.get_or_init(|| generate(2048, "sealed-secret", Duration::from_secs(86_400)).unwrap())
}

fn key2() -> &'static GeneratedKey {
    static K: OnceLock<GeneratedKey> = OnceLock::new();
    K.get_or_init(|| generate(2048, "sealed-secret", Duration::from_secs(86_400)).unwrap())
}

fn named(k: &GeneratedKey) -> NamedKey {
    NamedKey::new(k.private_key.clone(), "test")
}

fn public(k: &GeneratedKey) -> rsa::PublicKey {
    parse_certificate(k.certificate_pem.as_bytes())
        .unwrap()
        .public_key
}

fn secret() -> Value {
    let binary: Vec<u8> = (0..=255u8).collect();
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "db",
            "namespace": "app",
            "labels": {"z": "1", "a": "2"},
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": "{\"stringData\":{\"password\":\"hunter2\"}}",
                "example.com/owner": "me"
            },
            "uid": "1234",
            "resourceVersion": "9",
            "creationTimestamp": null,
            "ownerReferences": [{"kind": "X"}]
        },
        "type": "Opaque",
        "immutable": true,
        "data": {"bin": encode_base64(&binary), "empty": "", "dup": encode_base64(b"from data")},
        "stringData": {"password": "hunter2", "unicode": "Grüße, 世界 🔐 مرحبا e\u{301}", "dup": "from stringData", "blank": ""}
    })
}

fn data_of(secret: &Value, item: &str) -> Vec<u8> {
    decode_base64_strict(secret["data"][item].as_str().unwrap()).unwrap()
}

#[test]
fn seal_then_unseal_in_every_scope() {
    for scope in [Scope::Strict, Scope::NamespaceWide, Scope::ClusterWide] {
        let opts = SealOptions {
            scope: Some(scope),
            ..Default::default()
        };
        let sealed = seal_secret(&secret(), &public(key1()), &opts).unwrap();
        assert_eq!(Scope::of_object(&sealed), scope);
        let out = unseal(&sealed, &[named(key2()), named(key1())]).unwrap();
        assert_eq!(out["kind"], "Secret");
        assert_eq!(out["metadata"]["name"], "db");
        assert_eq!(out["metadata"]["namespace"], "app");
        assert_eq!(out["type"], "Opaque");
        assert_eq!(out["immutable"], true);
        assert_eq!(data_of(&out, "bin"), (0..=255u8).collect::<Vec<_>>());
        assert_eq!(data_of(&out, "empty"), b"");
        assert_eq!(data_of(&out, "blank"), b"");
        assert_eq!(data_of(&out, "password"), b"hunter2");
        assert_eq!(
            data_of(&out, "unicode"),
            "Grüße, 世界 🔐 مرحبا e\u{301}".as_bytes()
        );
        assert_eq!(
            data_of(&out, "dup"),
            b"from stringData",
            "stringData wins like Go"
        );
    }
}

#[test]
fn sealed_object_has_kubeseal_shape_and_leaks_nothing() {
    let sealed = seal_secret(&secret(), &public(key1()), &SealOptions::default()).unwrap();
    let keys: Vec<&str> = sealed
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["kind", "apiVersion", "metadata", "spec"]);
    assert_eq!(
        sealed["metadata"],
        json!({"name": "db", "namespace": "app"})
    );
    let spec_keys: Vec<&String> = sealed["spec"].as_object().unwrap().keys().collect();
    assert_eq!(spec_keys, ["template", "encryptedData"]);
    let t = &sealed["spec"]["template"];
    assert_eq!(
        t["metadata"],
        json!({"name": "db", "namespace": "app", "labels": {"a": "2", "z": "1"},
               "annotations": {"example.com/owner": "me"}})
    );
    let label_keys: Vec<&String> = t["metadata"]["labels"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(label_keys, ["a", "z"], "maps sorted like Go");
    assert_eq!(t["type"], "Opaque");
    assert_eq!(t["immutable"], true);
    let items: Vec<&String> = sealed["spec"]["encryptedData"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(
        items,
        ["bin", "blank", "dup", "empty", "password", "unicode"]
    );
    let text = serde_json::to_string(&sealed).unwrap();
    assert!(
        !text.contains("hunter2"),
        "plaintext leaked into the SealedSecret"
    );
    assert!(!text.contains("last-applied"));
    // 2048-bit key: every value starts with the u16 prefix 0x0100 -> "AQ".
    for v in sealed["spec"]["encryptedData"]
        .as_object()
        .unwrap()
        .values()
    {
        assert!(v.as_str().unwrap().starts_with("AQ"));
    }
}

#[test]
fn scope_comes_from_annotations_unless_given() {
    let mut s = secret();
    s["metadata"]["annotations"][ANNOTATION_NAMESPACE_WIDE] = json!("true");
    let sealed = seal_secret(&s, &public(key1()), &SealOptions::default()).unwrap();
    assert_eq!(
        sealed["metadata"]["annotations"],
        json!({ANNOTATION_NAMESPACE_WIDE: "true"})
    );
    // An explicit scope replaces both annotations.
    let opts = SealOptions {
        scope: Some(Scope::ClusterWide),
        ..Default::default()
    };
    let sealed = seal_secret(&s, &public(key1()), &opts).unwrap();
    assert_eq!(
        sealed["metadata"]["annotations"],
        json!({ANNOTATION_CLUSTER_WIDE: "true"})
    );
    let tann = &sealed["spec"]["template"]["metadata"]["annotations"];
    assert_eq!(tann[ANNOTATION_CLUSTER_WIDE], "true");
    assert!(tann.get(ANNOTATION_NAMESPACE_WIDE).is_none());
}

#[test]
fn namespace_rules_and_empty_data() {
    let pk = public(key1());
    let mut s = secret();
    s["metadata"].as_object_mut().unwrap().remove("namespace");
    let err = seal_secret(&s, &pk, &SealOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("must declare a namespace"), "{err}");
    let opts = SealOptions {
        namespace: Some("other".into()),
        ..Default::default()
    };
    let sealed = seal_secret(&s, &pk, &opts).unwrap();
    assert_eq!(sealed["metadata"]["namespace"], "other");
    let err = seal_secret(&secret(), &pk, &opts).unwrap_err().to_string();
    assert!(err.contains("namespace mismatch"), "{err}");
    // cluster-wide without a namespace is fine
    let opts = SealOptions {
        scope: Some(Scope::ClusterWide),
        ..Default::default()
    };
    let sealed = seal_secret(&s, &pk, &opts).unwrap();
    assert!(sealed["metadata"].get("namespace").is_none());
    assert!(unseal(&sealed, &[named(key1())]).is_ok());

    let empty = json!({"kind": "Secret", "metadata": {"name": "e", "namespace": "n"}});
    let err = seal_secret(&empty, &pk, &SealOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("--allow-empty-data"), "{err}");
    let opts = SealOptions {
        allow_empty_data: true,
        ..Default::default()
    };
    let sealed = seal_secret(&empty, &pk, &opts).unwrap();
    assert_eq!(sealed["spec"]["encryptedData"], json!({}));

    let bad = json!({"kind": "Secret", "metadata": {"name": "e", "namespace": true}, "stringData": {"a": "b"}});
    let err = seal_secret(&bad, &pk, &SealOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("metadata.namespace must be a string"), "{err}");
    let bad = json!({"kind": "ConfigMap", "metadata": {"name": "e", "namespace": "n"}});
    assert!(seal_secret(&bad, &pk, &SealOptions::default()).is_err());
    let bad = json!({"kind": "Secret", "metadata": {"name": "e", "namespace": "n"}, "data": {"a": "***"}});
    let err = seal_secret(&bad, &pk, &SealOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("data.a") && !err.contains("***"), "{err}");
}

#[test]
fn raw_values_use_the_scope_label() {
    let pk = public(key1());
    let k = &key1().private_key;
    let v = seal_raw(&pk, Scope::Strict, Some("bar"), Some("mysecret"), b"foo\n").unwrap();
    let bytes = decode_base64_strict(&v).unwrap();
    assert_eq!(
        hybrid_decrypt(&[k], b"bar/mysecret", &bytes).unwrap().0,
        b"foo\n"
    );
    let v = seal_raw(&pk, Scope::NamespaceWide, Some("bar"), None, b"x").unwrap();
    assert!(hybrid_decrypt(&[k], b"bar", &decode_base64_strict(&v).unwrap()).is_ok());
    let v = seal_raw(&pk, Scope::ClusterWide, None, None, b"").unwrap();
    assert!(hybrid_decrypt(&[k], b"", &decode_base64_strict(&v).unwrap()).is_ok());
    assert!(seal_raw(&pk, Scope::Strict, Some("bar"), None, b"x").is_err());
    assert!(seal_raw(&pk, Scope::NamespaceWide, None, None, b"x").is_err());
}

#[test]
fn merge_into_adds_and_replaces_items() {
    let pk = public(key1());
    let opts = SealOptions {
        scope: Some(Scope::NamespaceWide),
        ..Default::default()
    };
    let existing = seal_secret(&secret(), &pk, &opts).unwrap();
    let update = json!({
        "kind": "Secret",
        "metadata": {"name": "ignored", "labels": {"new": "label"}},
        "stringData": {"password": "changed", "added": "new item"}
    });
    let merged = merge_into(&existing, &update, &pk, &SealOptions::default()).unwrap();
    assert_eq!(merged["metadata"], existing["metadata"]);
    assert_eq!(
        merged["spec"]["template"]["metadata"]["labels"]["new"],
        "label"
    );
    assert_eq!(merged["spec"]["template"]["metadata"]["labels"]["a"], "2");
    assert_eq!(
        merged["spec"]["encryptedData"]["bin"],
        existing["spec"]["encryptedData"]["bin"]
    );
    let out = unseal(&merged, &[named(key1())]).unwrap();
    assert_eq!(data_of(&out, "password"), b"changed");
    assert_eq!(data_of(&out, "added"), b"new item");
    assert_eq!(data_of(&out, "bin"), (0..=255u8).collect::<Vec<_>>());
    let err = merge_into(
        &existing,
        &update,
        &pk,
        &SealOptions {
            scope: Some(Scope::Strict),
            ..Default::default()
        },
    );
    assert!(err.is_err());
}

fn verdicts(sealed: &Value, keys: &[NamedKey]) -> Vec<Verdict> {
    check_sealed_secret(sealed, keys)
        .items
        .into_iter()
        .map(|i| i.verdict)
        .collect()
}

#[test]
fn refusals_say_why() {
    let pk = public(key1());
    let sealed = seal_secret(&secret(), &pk, &SealOptions::default()).unwrap();
    let keys = [named(key1())];
    assert!(check_sealed_secret(&sealed, &keys).recoverable());

    // renamed under strict scope
    let mut renamed = sealed.clone();
    renamed["metadata"]["name"] = json!("db2");
    let err = unseal(&renamed, &keys).unwrap_err().to_string();
    assert!(
        err.contains("wrong scope") && err.contains("app/db"),
        "{err}"
    );
    assert!(matches!(
        verdicts(&renamed, &keys)[0],
        Verdict::WrongScope { .. }
    ));

    // wrong key
    let other = [named(key2())];
    let err = unseal(&sealed, &other).unwrap_err().to_string();
    assert!(err.contains("wrong key"), "{err}");
    assert!(matches!(
        verdicts(&sealed, &other)[0],
        Verdict::WrongKey {
            sizes_mismatch: false,
            ..
        }
    ));

    // tampered GCM tag
    let mut tampered = sealed.clone();
    let v = tampered["spec"]["encryptedData"]["password"]
        .as_str()
        .unwrap();
    let mut bytes = decode_base64_strict(v).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    tampered["spec"]["encryptedData"]["password"] = json!(encode_base64(&bytes));
    let err = unseal(&tampered, &keys).unwrap_err().to_string();
    assert!(
        err.contains("tampered") && err.contains("password"),
        "{err}"
    );
    assert!(!err.contains("hunter2"));
    let report = check_sealed_secret(&tampered, &keys);
    assert!(!report.recoverable());
    let bad: Vec<_> = report
        .items
        .iter()
        .filter(|i| !matches!(i.verdict, Verdict::Recoverable { .. }))
        .collect();
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].item, "password");
    assert!(matches!(bad[0].verdict, Verdict::Tampered { key: 0 }));

    // scope annotation dropped from a namespace-wide object
    let opts = SealOptions {
        scope: Some(Scope::NamespaceWide),
        ..Default::default()
    };
    let mut nsw = seal_secret(&secret(), &pk, &opts).unwrap();
    nsw["metadata"]["annotations"][ANNOTATION_NAMESPACE_WIDE] = json!("True");
    let err = unseal(&nsw, &keys).unwrap_err().to_string();
    assert!(
        err.contains("wrong scope") && err.contains("namespace-wide"),
        "{err}"
    );

    // unpadded base64 and short blobs
    let mut broken = sealed.clone();
    broken["spec"]["encryptedData"]["password"] = json!("AQAB");
    broken["spec"]["encryptedData"]["blank"] = json!("AQA");
    let err = unseal(&broken, &keys).unwrap_err().to_string();
    assert!(err.contains("malformed"), "{err}");
}

#[test]
fn template_data_renders_the_simple_subset() {
    let pk = public(key1());
    let mut sealed = seal_secret(&secret(), &pk, &SealOptions::default()).unwrap();
    sealed["spec"]["template"]["data"] =
        json!({"dsn": "user:{{ .password }}@db/{{ index . \"blank\" }}x"});
    let out = unseal(&sealed, &[named(key1())]).unwrap();
    assert_eq!(data_of(&out, "dsn"), b"user:hunter2@db/x");
    sealed["spec"]["template"]["data"] = json!({"dsn": "{{ .password | b64enc }}"});
    let err = unseal(&sealed, &[named(key1())]).unwrap_err().to_string();
    assert!(err.contains("not supported"), "{err}");
}

#[test]
fn owner_references_only_with_a_uid() {
    let pk = public(key1());
    let mut sealed = seal_secret(&secret(), &pk, &SealOptions::default()).unwrap();
    let out = unseal(&sealed, &[named(key1())]).unwrap();
    assert!(out["metadata"].get("ownerReferences").is_none());
    sealed["metadata"]["uid"] = json!("abc");
    let out = unseal(&sealed, &[named(key1())]).unwrap();
    assert_eq!(out["metadata"]["ownerReferences"][0]["uid"], "abc");
    assert_eq!(
        out["metadata"]["ownerReferences"][0]["kind"],
        "SealedSecret"
    );
}

#[test]
fn deprecated_v1_blob_is_checked_but_not_unsealed() {
    let pk = public(key1());
    let inner = serde_json::to_vec(&secret()).unwrap();
    let blob = crate::crypto::seal_value(&pk, b"app/db", &inner).unwrap();
    let sealed = json!({"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
        "metadata": {"name": "db", "namespace": "app"}, "spec": {"data": blob}});
    let report = check_sealed_secret(&sealed, &[named(key1())]);
    assert!(report.recoverable(), "{report:?}");
    let report = check_sealed_secret(&sealed, &[named(key2())]);
    assert!(!report.recoverable());
    let err = unseal(&sealed, &[named(key1())]).unwrap_err().to_string();
    assert!(err.contains("deprecated"), "{err}");
}

#[test]
fn non_sealed_secret_shapes_are_problems_not_panics() {
    for bad in [
        json!({"kind": "SealedSecret", "metadata": {"name": "x"}}),
        json!({"kind": "SealedSecret", "metadata": {"name": "x"}, "spec": {"encryptedData": "nope"}}),
        json!({"kind": "SealedSecret", "metadata": {"name": "x"}, "spec": {"encryptedData": {"a": 5}}}),
    ] {
        assert!(!check_sealed_secret(&bad, &[named(key1())]).recoverable());
        assert!(unseal(&bad, &[named(key1())]).is_err());
    }
}
