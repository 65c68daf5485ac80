//! Behaviour of the CEL environment, one test per library area.

use super::*;
use serde_json::json;

fn eval_with(src: &str, vars: serde_json::Value) -> Result<serde_json::Value, CelError> {
    let p = compile(src)?;
    let mut act = Activation::new();
    if let serde_json::Value::Object(m) = vars {
        for (k, v) in m {
            act.bind_json(&k, &v);
        }
    }
    p.eval_json(&act)
}

fn t(src: &str) -> serde_json::Value {
    eval_with(src, json!({})).unwrap_or_else(|e| panic!("{src}: {e}"))
}

fn err(src: &str) -> CelError {
    eval_with(src, json!({})).expect_err(src)
}

#[test]
fn compile_errors_are_reported() {
    assert!(matches!(compile("1 +"), Err(CelError::Compile(_))));
    assert!(matches!(compile("a.b("), Err(CelError::Compile(_))));
}

#[test]
fn macros() {
    assert_eq!(t("[1, 2, 3].all(x, x > 0)"), json!(true));
    assert_eq!(t("[1, 2, 3].exists(x, x > 2)"), json!(true));
    assert_eq!(t("[1, 2, 3].exists_one(x, x > 1)"), json!(false));
    assert_eq!(t("[1, 2, 3].map(x, x * 2)"), json!([2, 4, 6]));
    assert_eq!(t("[1, 2, 3].map(x, x > 1, x * 10)"), json!([20, 30]));
    assert_eq!(t("[1, 2, 3].filter(x, x != 2)"), json!([1, 3]));
    assert_eq!(t("{'a': 1}.all(k, k == 'a')"), json!(true));
}

#[test]
fn has_and_missing_fields() {
    let obj = json!({"object": {"spec": {"a": 1}, "metadata": {}}});
    assert_eq!(
        eval_with("has(object.spec.a)", obj.clone()).unwrap(),
        json!(true)
    );
    assert_eq!(
        eval_with("has(object.spec.b)", obj.clone()).unwrap(),
        json!(false)
    );
    assert_eq!(
        eval_with("has(object.metadata.labels)", obj.clone()).unwrap(),
        json!(false)
    );
    assert!(eval_with("object.spec.b == 1", obj.clone()).is_err());
    assert!(eval_with("object.nope.x", obj).is_err());
}

#[test]
fn optionals() {
    let obj = json!({"object": {"spec": {"a": 1, "l": [{"n": 1}]}}});
    let e = |s: &str| eval_with(s, obj.clone()).unwrap();
    assert_eq!(e("object.spec.?b.orValue(5)"), json!(5));
    assert_eq!(e("object.spec.?a.orValue(5)"), json!(1));
    assert_eq!(e("object.?spec.?x.?y.hasValue()"), json!(false));
    assert_eq!(e("object.spec.?a.hasValue()"), json!(true));
    assert_eq!(e("object.spec.l[?3].hasValue()"), json!(false));
    assert_eq!(
        e("object.spec.?l.orValue([]).all(i, i.n == 1)"),
        json!(true)
    );
    assert_eq!(t("optional.none().orValue(1)"), json!(1));
    assert_eq!(t("optional.of(2).value()"), json!(2));
    // cel-go: orValue/or on a plain value is that value.
    assert_eq!(e("object.spec.l.orValue([])"), json!([{"n": 1}]));
    assert_eq!(t("optional.none().or(optional.of(3)).value()"), json!(3));
}

#[test]
fn strings_extension() {
    assert_eq!(t("'AbC'.lowerAscii()"), json!("abc"));
    assert_eq!(t("'AbC'.upperAscii()"), json!("ABC"));
    assert_eq!(t("'a,b,c'.split(',')"), json!(["a", "b", "c"]));
    assert_eq!(t("['a', 'b'].join('-')"), json!("a-b"));
    assert_eq!(t("'hello'.replace('l', 'L')"), json!("heLLo"));
    assert_eq!(t("'hello'.substring(1, 3)"), json!("el"));
    assert_eq!(t("'hello'.indexOf('l')"), json!(2));
    assert_eq!(t("'hello'.lastIndexOf('l')"), json!(3));
    assert_eq!(t("'  x '.trim()"), json!("x"));
    assert_eq!(t("'hello'.charAt(1)"), json!("e"));
    assert_eq!(t("'%s is %d'.format(['x', 3])"), json!("x is 3"));
    assert_eq!(t("strings.quote('a\"b')"), json!("\"a\\\"b\""));
    assert_eq!(
        t("'abc'.startsWith('ab') && 'abc'.endsWith('bc') && 'abc'.contains('b')"),
        json!(true)
    );
    assert_eq!(t("'abc'.matches('^a.c$')"), json!(true));
    assert_eq!(t("size('abc')"), json!(3));
}

#[test]
fn regex_library() {
    assert_eq!(t("'abc 123 def 456'.find('[0-9]+')"), json!("123"));
    assert_eq!(t("'abc'.find('[0-9]+')"), json!(""));
    assert_eq!(
        t("'a1 b2 c3'.findAll('[a-z][0-9]')"),
        json!(["a1", "b2", "c3"])
    );
    assert_eq!(
        t("'a1 b2 c3'.findAll('[a-z][0-9]', 2)"),
        json!(["a1", "b2"])
    );
    assert!(matches!(err("'x'.find('(')"), CelError::Eval(_)));
}

#[test]
fn lists_library() {
    assert_eq!(t("[1, 2, 2, 3].isSorted()"), json!(true));
    assert_eq!(t("[3, 1].isSorted()"), json!(false));
    assert_eq!(t("[1, 2, 3].sum()"), json!(6));
    assert_eq!(t("[1.5, 2.5].sum()"), json!(4.0));
    assert_eq!(t("[4, 1, 3].min()"), json!(1));
    assert_eq!(t("[4, 1, 3].max()"), json!(4));
    assert_eq!(t("['a', 'b', 'a'].indexOf('a')"), json!(0));
    assert_eq!(t("['a', 'b', 'a'].lastIndexOf('a')"), json!(2));
    assert_eq!(t("['a'].indexOf('z')"), json!(-1));
    assert_eq!(t("[[1], [2, [3]]].flatten()"), json!([1, 2, [3]]));
    assert_eq!(t("[1, 2, 3, 4].slice(1, 3)"), json!([2, 3]));
    assert_eq!(t("[1, 2, 1].distinct()"), json!([1, 2]));
    assert_eq!(t("[3, 1, 2].sort()"), json!([1, 2, 3]));
    assert!(matches!(err("[].min()"), CelError::Eval(_)));
    assert_eq!(t("sets.contains([1, 2, 3], [3, 1])"), json!(true));
    assert_eq!(t("sets.contains([1], [2])"), json!(false));
    assert_eq!(t("sets.equivalent([1, 2, 2], [2, 1])"), json!(true));
    assert_eq!(t("sets.intersects([1, 2], [5, 2])"), json!(true));
    assert_eq!(t("sets.intersects([1], [])"), json!(false));
}

#[test]
fn quantity_library() {
    assert_eq!(t("quantity('1Gi') == quantity('1024Mi')"), json!(true));
    assert_eq!(t("quantity('500m').isLessThan(quantity('1'))"), json!(true));
    assert_eq!(
        t("quantity('2Gi').isGreaterThan(quantity('1G'))"),
        json!(true)
    );
    assert_eq!(t("quantity('1k').compareTo(quantity('1000'))"), json!(0));
    assert_eq!(t("quantity('1Ki').asInteger()"), json!(1024));
    assert_eq!(t("quantity('1.5').isInteger()"), json!(false));
    assert_eq!(t("quantity('1.5').asApproximateFloat()"), json!(1.5));
    assert_eq!(
        t("quantity('1').add(quantity('500m')).asApproximateFloat()"),
        json!(1.5)
    );
    assert_eq!(t("quantity('3').sub(1).asInteger()"), json!(2));
    assert_eq!(t("quantity('-3').sign()"), json!(-1));
    assert_eq!(t("isQuantity('10Mi') && !isQuantity('ten')"), json!(true));
    assert_eq!(t("string(quantity('10Mi'))"), json!("10Mi"));
    assert!(matches!(err("quantity('x')"), CelError::Eval(_)));
}

#[test]
fn net_library() {
    assert_eq!(t("isIP('10.0.0.1') && !isIP('10.0.0.256')"), json!(true));
    assert_eq!(t("ip('10.0.0.1').family()"), json!(4));
    assert_eq!(t("ip('::1').isLoopback()"), json!(true));
    assert_eq!(t("cidr('10.0.0.0/8').containsIP('10.1.2.3')"), json!(true));
    assert_eq!(
        t("cidr('10.0.0.0/8').containsIP(ip('11.1.2.3'))"),
        json!(false)
    );
    assert_eq!(
        t("cidr('10.0.0.0/8').containsCIDR('10.1.0.0/16')"),
        json!(true)
    );
    assert_eq!(
        t("cidr('10.1.2.3/8').masked() == cidr('10.0.0.0/8')"),
        json!(true)
    );
    assert_eq!(t("cidr('10.0.0.0/8').prefixLength()"), json!(8));
    assert_eq!(t("string(cidr('10.0.0.0/8').ip())"), json!("10.0.0.0"));
    assert_eq!(t("isCIDR('10.0.0.0/33')"), json!(false));
    assert_eq!(t("ip.isCanonical('2001:db8::1')"), json!(true));
}

#[test]
fn url_library() {
    assert_eq!(
        t("url('https://example.com:8443/a/b?x=1&x=2').getHost()"),
        json!("example.com:8443")
    );
    assert_eq!(
        t("url('https://example.com:8443/a').getHostname()"),
        json!("example.com")
    );
    assert_eq!(
        t("url('https://example.com:8443/a').getPort()"),
        json!("8443")
    );
    assert_eq!(
        t("url('https://example.com/a/b').getEscapedPath()"),
        json!("/a/b")
    );
    assert_eq!(
        t("url('https://example.com/?x=1&x=2').getQuery()"),
        json!({"x": ["1", "2"]})
    );
    assert_eq!(t("url('/path').getScheme()"), json!(""));
    assert_eq!(
        t("isURL('https://x.io') && !isURL('not a url')"),
        json!(true)
    );
}

#[test]
fn conversions_and_types() {
    assert_eq!(t("int('42') + 1"), json!(43));
    assert_eq!(t("string(42)"), json!("42"));
    assert_eq!(t("double(1) / 2.0"), json!(0.5));
    assert_eq!(t("bool('true')"), json!(true));
    assert_eq!(t("type(1) == int"), json!(true));
    assert_eq!(t("type('a') == string"), json!(true));
    assert_eq!(t("dyn(1) == 1"), json!(true));
    assert_eq!(t("duration('1h') > duration('30m')"), json!(true));
    assert_eq!(
        t("timestamp('2024-01-01T00:00:00Z') < timestamp('2024-06-01T00:00:00Z')"),
        json!(true)
    );
    assert_eq!(t("jsonpatch.escapeKey('a/b~c')"), json!("a~1b~0c"));
    assert_eq!(t("base64.encode(b'hi')"), json!("aGk="));
}

#[test]
fn host_functions_are_callable_qualified_and_as_members() {
    let p = compile("resource.Get('v1', 'configmaps', 'ns', 'cm').data.k").unwrap();
    let mut act = Activation::new();
    act.bind_function(
        "resource.Get",
        Arc::new(|_this, args| {
            assert_eq!(args.len(), 4);
            Ok(json_to_cel(&json!({"data": {"k": "v"}})))
        }),
    );
    assert_eq!(p.eval_json(&act).unwrap(), json!("v"));
    let p = compile("'x'.shout()").unwrap();
    act.bind_function(
        "shout",
        Arc::new(|this, _| match this {
            Some(Value::String(s)) => Ok(Value::String(Arc::new(s.to_uppercase()))),
            _ => Err("no target".into()),
        }),
    );
    assert_eq!(p.eval_json(&act).unwrap(), json!("X"));
}

#[test]
fn a_shared_function_library_serves_many_activations() {
    static LIBRARY: std::sync::OnceLock<FunctionLibrary> = std::sync::OnceLock::new();
    let library = LIBRARY.get_or_init(|| {
        let mut lib = FunctionLibrary::new();
        lib.bind_function(
            "resource.Get",
            Arc::new(|_this, args| match args {
                [Value::String(name)] => {
                    Ok(json_to_cel(&json!({"data": {"k": format!("v-{name}")}})))
                }
                _ => Err("one name".into()),
            }),
        );
        lib.bind_function(
            "shout",
            Arc::new(|this, _| match this {
                Some(Value::String(s)) => Ok(Value::String(Arc::new(s.to_uppercase()))),
                _ => Err("no target".into()),
            }),
        );
        lib
    });
    let p = compile("resource.Get(object.name).data.k + object.name.shout()").unwrap();
    // Each activation binds its own variables over the same functions.
    for name in ["a", "b"] {
        let mut act = Activation::with_library(library);
        act.bind_json("object", &json!({ "name": name }));
        let want = format!("v-{name}{}", name.to_uppercase());
        assert_eq!(p.eval_json(&act).unwrap(), json!(want));
    }
    // A function error is the expression's error, as with functions bound per activation.
    let mut act = Activation::with_library(library);
    act.bind_json("object", &json!({"name": 1}));
    assert!(p.eval_json(&act).is_err());
    // A function bound on top of a library would be lost: every evaluation says so.
    let mut act = Activation::with_library(library);
    act.bind_json("object", &json!({"name": "a"}));
    act.bind_function("extra", Arc::new(|_, _| Ok(Value::Bool(true))));
    let err = p.eval_json(&act).unwrap_err().to_string();
    assert!(err.contains("cannot bind function extra"), "{err}");
}

#[test]
fn typed_results() {
    let p = compile("1 + 1").unwrap();
    assert!(p.eval_bool(&Activation::new()).is_err());
    assert!(p.eval_string(&Activation::new()).is_err());
    let p = compile("'a' + 'b'").unwrap();
    assert_eq!(p.eval_string(&Activation::new()).unwrap(), "ab");
}

#[test]
fn errors_do_not_panic() {
    for src in [
        "1 / 0",
        "[1][5]",
        "{'a': 1}['b']",
        "int('x')",
        "'a' < 1",
        "null.x",
        "size(1)",
    ] {
        assert!(eval_with(src, json!({})).is_err(), "{src}");
    }
}

#[test]
fn deep_nesting_and_huge_sources_are_refused() {
    let deep = format!("{}1{}", "(".repeat(10_000), ")".repeat(10_000));
    assert!(matches!(compile(&deep), Err(CelError::Compile(_))));
    let nots = format!("{}true", "!".repeat(10_000));
    assert!(matches!(compile(&nots), Err(CelError::Compile(_))));
    for chain in [
        format!("x{}", ".y".repeat(600)),
        format!("1{}", "+1".repeat(600)),
        format!("'a'{}", ".lowerAscii()".repeat(600)),
    ] {
        assert!(matches!(compile(&chain), Err(CelError::Compile(_))));
    }
    let long = "1 + ".repeat(100_000) + "1";
    assert!(matches!(compile(&long), Err(CelError::Compile(_))));
    // Brackets inside strings do not count.
    assert_eq!(t("'((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((' != ''"), json!(true));
    assert_eq!(t("[[[[1]]]][0][0][0][0]"), json!(1));
    // Just inside the limit still parses and evaluates on a test thread's stack.
    let ok = format!(
        "{}1{}",
        "(".repeat(MAX_NESTING - 1),
        ")".repeat(MAX_NESTING - 1)
    );
    assert_eq!(t(&ok), json!(1));
    let ok = format!(
        "{}1{}",
        "[".repeat(MAX_NESTING - 1),
        "]".repeat(MAX_NESTING - 1)
    );
    assert!(compile(&ok).is_ok());
}

#[test]
fn struct_literals_are_maps() {
    assert_eq!(
        t("Object{metadata: Object.metadata{labels: {'a': 'b'}}}"),
        json!({"metadata": {"labels": {"a": "b"}}})
    );
    assert_eq!(
        t("[JSONPatch{op: 'add', path: '/spec/x', value: [1, 2].map(i, i * 2)}]"),
        json!([{"op": "add", "path": "/spec/x", "value": [2, 4]}])
    );
    assert_eq!(
        t("Object{spec: Object.spec{?x: optional.none(), y: 1}}"),
        json!({"spec": {"y": 1}})
    );
}

#[test]
fn cel_bind() {
    assert_eq!(t("cel.bind(x, 2, x * x + x)"), json!(6));
    assert_eq!(
        t("cel.bind(a, [1, 2], cel.bind(b, a.map(i, i * 10), b[1] + a[0]))"),
        json!(21)
    );
    let obj = json!({"object": {"spec": {"nodeSelector": {"k": "v"}}}});
    assert_eq!(
        eval_with("cel.bind(sel, object.spec.nodeSelector, sel.k == 'v')", obj).unwrap(),
        json!(true)
    );
}

#[test]
fn nested_comprehensions_over_the_estimated_budget_are_refused_at_compile_time() {
    // Four levels over lists of unknown size: 100^4 iterations estimated.
    let hostile = "object.a.all(w, object.a.all(x, object.a.all(y, object.a.all(z, true))))";
    match compile(hostile) {
        Err(CelError::Compile(m)) => {
            assert!(m.contains("estimated cost exceeds the budget"), "{m}")
        }
        other => panic!("expected a compile error, got {other:?}"),
    }
    // Literal ranges count their items: 3 levels of 300 = 2.7e7.
    let items = (0..300)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let literal = format!("[{items}].all(x, [{items}].all(y, [{items}].all(z, true)))");
    assert!(matches!(compile(&literal), Err(CelError::Compile(_))));
    assert!(matches!(
        compile("lists.range(1000000).all(x, lists.range(1000000).all(y, true))"),
        Err(CelError::Compile(_))
    ));
    // What real policies write stays well inside.
    let ok = "object.spec.containers.all(c, c.ports.all(p, p.containerPort > 0 && c.env.exists(e, e.name == 'x')))";
    assert!(compile(ok).is_ok());
    assert_eq!(
        t("[1, 2, 3].map(x, [1, 2].map(y, x * y))"),
        json!([[1, 2], [2, 4], [3, 6]])
    );
}

#[test]
fn runtime_cost_stops_an_expensive_evaluation_and_the_program_stays_stopped() {
    // Estimated 100 x 100 (sizes unknown before running), 4e6 iterations at run time.
    let p = compile("lists.range(object.n).all(x, lists.range(object.n).all(y, x + y >= 0))")
        .expect("within the estimate");
    let mut small = Activation::new();
    small.bind_json("object", &json!({"n": 10}));
    assert_eq!(p.eval_json(&small).unwrap(), json!(true));
    let mut big = Activation::new();
    big.bind_json("object", &json!({"n": 2000}));
    match p.eval(&big) {
        Err(CelError::Eval(m)) => assert!(m.contains("actual cost limit exceeded"), "{m}"),
        other => panic!("expected the cost limit, got {other:?}"),
    }
    // Stopped, then refused without running again.
    assert!(matches!(p.eval(&small), Err(CelError::Eval(m)) if m.contains("cost limit")));
}

#[test]
fn shared_values_evaluate_as_plain_bindings() {
    let object = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web", "tier": "front"}},
        "spec": {"replicas": 3, "template": {"spec": {"containers": [
            {"name": "a", "image": "nginx:1.25", "ports": [{"containerPort": 80}]},
            {"name": "b", "image": "busybox"}
        ]}}}
    });
    let request = json!({"operation": "CREATE", "object": object.clone()});
    let expressions = [
        "object.spec.replicas > 1",
        "object.spec.template.spec.containers.all(c, c.image.contains(':'))",
        "object.spec.template.spec.containers.exists(c, c.name == 'b')",
        "object.spec.template.spec.containers.map(c, c.name)",
        "object.spec.template.spec.containers.filter(c, has(c.ports))",
        "has(object.metadata.annotations)",
        "object.?metadata.?annotations.orValue({})",
        "size(object.metadata.labels)",
        "'app' in object.metadata.labels",
        "object.metadata.labels",
        "object",
        "object == request.object",
        "request.object == object",
        "object != oldObject",
        "[object.metadata.name, request.operation]",
        "type(object) == map",
        "object.metadata.name + '-' + string(object.spec.replicas)",
        "object.missing",
        "oldObject.spec",
        "object.spec.template.spec.containers[1].image",
    ];
    let plain = |src: &str| {
        let mut act = Activation::new();
        act.bind_json("object", &object);
        act.bind_json("oldObject", &serde_json::Value::Null);
        act.bind_json("request", &request);
        compile(src).and_then(|p| p.eval_json(&act))
    };
    let shared_object = SharedValue::from_json(&object);
    let shared_null = SharedValue::from_json(&serde_json::Value::Null);
    let shared_request = SharedValue::from_json(&request);
    for src in expressions {
        // One conversion, many activations: each sees the same values.
        for _ in 0..2 {
            let mut act = Activation::new();
            act.bind_shared("object", &shared_object);
            act.bind_shared("oldObject", &shared_null);
            act.bind_shared("request", &shared_request);
            assert_eq!(act.get("object"), Some(&json_to_cel(&object)));
            let shared = compile(src).and_then(|p| p.eval_json(&act));
            assert_eq!(shared, plain(src), "{src}");
        }
    }
    assert_eq!(plain("object.spec.replicas > 1"), Ok(json!(true)));
    assert!(plain("object.missing").is_err());
}
